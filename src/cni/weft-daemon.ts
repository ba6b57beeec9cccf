/**
 * The plugins' view of the weft daemon: the IPAM and network calls of its API socket, with
 * replies checked and failures turned into CNI errors that say which daemon and what to do.
 * The API client is imported lazily so VERSION and config errors never load it.
 */
import {
  CNI_ALLOCATE_TIMEOUT_MS, CNI_DAEMON_TIMEOUT_MS, WeftError, isWeftError,
} from '../common/index.js';
import type { ApiClient, NetworkInfo, RequestOf, ReplyOf, Routes, RouteSpec } from '../api/index.js';
import { CniError, toCniError } from './cni-error.js';

/** One address held by an owner, as the daemon reports it. */
export interface OwnedAddress {
  owner: string;
  /** "10.32.0.5" */
  address: string;
  prefixLength: number;
}

/** The daemon's IPAM readiness (`GET /ipam/status`, only the fields the plugins use). */
export interface IpamReadiness {
  status: string;
  reason?: string;
}

/**
 * Thin, stateless client of one daemon socket. Every call goes through a route of the API
 * contract (src/api/routes.ts) and its reply is checked against the route's schema. Every
 * method throws a CniError: 11 while the daemon is down, slow or IPAM is not ready (the
 * runtime retries), 999 for anything else.
 */
export class WeftDaemon {
  private constructor(
    readonly socket: string,
    private readonly api: ApiClient,
    private readonly routes: Routes,
  ) {}

  static async connect(socket: string): Promise<WeftDaemon> {
    const { ApiClient: Client, ROUTES } = await import('../api/index.js');
    return new WeftDaemon(socket, new Client({ socketPath: socket, timeoutMs: CNI_DAEMON_TIMEOUT_MS }), ROUTES);
  }

  /** `GET /status`: resolves when the daemon answers at all. */
  async alive(): Promise<void> {
    await this.call('checking the weft daemon', this.routes.status, {}, { unchecked: true });
  }

  /** `GET /network`: bridge, MTU, overlay range, gateway, tx checksum setting (checked). */
  network(): Promise<NetworkInfo> {
    return this.call('asking the weft daemon for its network', this.routes.network, {});
  }

  /** `POST /ipam/allocate` (idempotent per owner: asking again returns the same address). */
  async allocate(owner: string): Promise<OwnedAddress> {
    const a = await this.call(`allocating an address for ${owner}`, this.routes.allocate, { owner }, { timeoutMs: CNI_ALLOCATE_TIMEOUT_MS });
    return { owner: a.owner, address: a.address, prefixLength: a.prefixLength };
  }

  /** `POST /ipam/release`: every address of `owner`; resolves with the released addresses. */
  async release(owner: string): Promise<string[]> {
    return (await this.call(`releasing the address of ${owner}`, this.routes.release, { owner })).released;
  }

  /** `GET /ipam/lookup?owner=`: the owner's addresses ([] when it holds none). */
  async lookup(owner: string): Promise<OwnedAddress[]> {
    try {
      const r = await this.call(`looking up the address of ${owner}`, this.routes.lookup, { owner });
      return r.addresses.map((a) => ({ owner, address: a.address, prefixLength: a.prefixLength }));
    } catch (e) {
      if (e instanceof CniError && e.details === 'WEFT_ERR_NO_ALLOCATION') return [];
      throw e;
    }
  }

  /** `POST /ipam/gc`: release every owner under `prefix` not in `keep`. */
  async gc(ownerPrefix: string, keep: string[]): Promise<{ owner: string; address: string }[]> {
    const r = await this.call(`collecting stale allocations under ${ownerPrefix}`, this.routes.gc, { ownerPrefix, keep });
    return r.released.map((x) => ({ owner: x.owner, address: x.address.split('/')[0]! }));
  }

  /** `GET /ipam/status`: readiness and its reason. */
  async ipamStatus(): Promise<IpamReadiness> {
    const v = await this.call('asking the weft daemon for its IPAM status', this.routes.ipamStatus, {});
    return { status: v.status, ...(v.reason !== undefined ? { reason: v.reason } : {}) };
  }

  /**
   * STATUS: 50 when the daemon does not answer (or cannot tell its IPAM state), 51 when it
   * answers but its IPAM is not ready (with the daemon's reason). `ipam: false` checks only
   * that the daemon is alive (a delegated IPAM plugin is asked separately).
   */
  async ready(opts: { ipam: boolean }): Promise<void> {
    try {
      await this.alive();
    } catch (e) {
      throw new CniError(50, `weft daemon not available: ${(e as Error).message}`);
    }
    if (!opts.ipam) return;
    let s: IpamReadiness;
    try {
      s = await this.ipamStatus();
    } catch (e) {
      throw new CniError(50, `weft IPAM not available: ${(e as Error).message}`);
    }
    if (s.status !== 'ready') throw new CniError(51, `weft IPAM is not ready (${s.status})${s.reason ? `: ${s.reason}` : ''}`);
  }

  /** One route call; the reply is checked against the route's schema unless `unchecked`. */
  private async call<R extends RouteSpec>(what: string, spec: R, input: RequestOf<R>,
    opts: { timeoutMs?: number; unchecked?: boolean } = {}): Promise<ReplyOf<R>> {
    try {
      return opts.unchecked ? await this.api.call(spec, input, opts) : await this.api.callChecked(spec, input, opts);
    } catch (e) {
      throw this.fail(what, e, spec);
    }
  }

  private fail(what: string, e: unknown, spec: RouteSpec): CniError {
    if (isWeftError(e, 'WEFT_ERR_NOT_RUNNING')) {
      return new CniError(11, `weft daemon is not running (no API socket at ${this.socket}); start it with "weft launch" or fix "socket" in the network configuration`, e.code);
    }
    if (isWeftError(e, 'WEFT_ERR_NO_ENDPOINT') || isWeftError(e, 'WEFT_ERR_BAD_METHOD')) {
      return new CniError(999, `the weft daemon at ${this.socket} does not serve ${spec.method} ${spec.path}: it is too old for the CNI plugins (upgrade weft)`, e.code);
    }
    if (e instanceof WeftError && e.code === 'WEFT_ERR_DECODE') return new CniError(999, e.message, e.code);
    return toCniError(e, what);
  }
}
