/**
 * The plugins' view of the weft daemon: the IPAM and network calls of its API socket, with
 * replies checked and failures turned into CNI errors that say which daemon and what to do.
 * The API client is imported lazily so VERSION and config errors never load it; the route
 * schemas (typebox) are never loaded here: requests and replies are typed from them at
 * compile time, the daemon validates requests, and the replies the plugins rely on are
 * checked below.
 */
import {
  CNI_ALLOCATE_TIMEOUT_MS, CNI_DAEMON_TIMEOUT_MS, isWeftError,
} from '../common/index.js';
import type { ApiClient, NetworkInfo, RouteRef, API_ROUTES as ApiRoutes } from '../api/index.js';
import { CniError, toCniError } from './cni-error.js';
import { isCidr, isIp } from '../net/index.js';
import { isObj } from './cni-result.js';
import type { CniAnswer, CniInvocation } from './cni-server.js';

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
 * Thin, stateless client of one daemon socket. Every method throws a CniError: 11 while the
 * daemon is down, slow or IPAM is not ready (the runtime retries), 999 for anything else.
 */
export class WeftDaemon {
  private constructor(
    readonly socket: string,
    private readonly api: ApiClient,
    private readonly slow: ApiClient,
    private readonly routes: typeof ApiRoutes,
  ) {}

  static async connect(socket: string): Promise<WeftDaemon> {
    const { ApiClient: Client, API_ROUTES } = await import('../api/index.js');
    return new WeftDaemon(socket, new Client({ socketPath: socket, timeoutMs: CNI_DAEMON_TIMEOUT_MS }),
      new Client({ socketPath: socket, timeoutMs: CNI_ALLOCATE_TIMEOUT_MS }), API_ROUTES);
  }

  /** `GET /status`: resolves when the daemon answers at all. */
  async alive(): Promise<void> {
    await this.call('checking the weft daemon', this.routes.status, () => this.api.call(this.routes.status));
  }

  /** `GET /network`: bridge, MTU, overlay range, gateway, tx checksum setting (checked). */
  async network(): Promise<NetworkInfo> {
    const v: unknown = await this.call('asking the weft daemon for its network', this.routes.network, () => this.api.call(this.routes.network));
    if (!isObj(v) || typeof v.bridge !== 'string' || v.bridge === '' || !Number.isInteger(v.mtu) || typeof v.range !== 'string' || !isCidr(v.range)
      || (v.gateway !== undefined && (typeof v.gateway !== 'string' || !isIp(v.gateway))) || typeof v.txChecksumOff !== 'boolean') {
      throw new CniError(999, `the weft daemon at ${this.socket} sent an unexpected /network reply: ${JSON.stringify(v).slice(0, 200)}`);
    }
    return {
      bridge: v.bridge, mtu: v.mtu as number, range: v.range, txChecksumOff: v.txChecksumOff,
      ...(typeof v.gateway === 'string' ? { gateway: v.gateway } : {}),
    };
  }

  /** `POST /ipam/allocate` (idempotent per owner: asking again returns the same address). */
  async allocate(owner: string): Promise<OwnedAddress> {
    const v: unknown = await this.call(`allocating an address for ${owner}`, this.routes.ipamAllocate, () => this.slow.call(this.routes.ipamAllocate, { owner }));
    const a = asAddress(v, owner);
    if (!a) throw new CniError(999, `the weft daemon at ${this.socket} sent an unexpected allocation reply: ${JSON.stringify(v).slice(0, 200)}`);
    return a;
  }

  /** `POST /ipam/release`: every address of `owner`; resolves with the released addresses. */
  async release(owner: string): Promise<string[]> {
    const v: unknown = await this.call(`releasing the address of ${owner}`, this.routes.ipamRelease, () => this.api.call(this.routes.ipamRelease, { owner }));
    return isObj(v) && Array.isArray(v.released) ? v.released.filter((x): x is string => typeof x === 'string') : [];
  }

  /** `GET /ipam/lookup?owner=`: the owner's addresses ([] when it has none). */
  async lookup(owner: string): Promise<OwnedAddress[]> {
    let v: unknown;
    try {
      v = await this.api.call(this.routes.ipamLookup, { owner });
    } catch (e) {
      if (isWeftError(e, 'WEFT_ERR_NOT_FOUND')) return [];
      throw this.fail(`looking up the address of ${owner}`, e, this.routes.ipamLookup);
    }
    return addressList(v, owner);
  }

  /** `POST /ipam/gc`: release every owner under `prefix` not in `keep`. */
  async gc(ownerPrefix: string, keep: string[]): Promise<{ owner: string; address: string }[]> {
    const v: unknown = await this.call(`collecting stale allocations under ${ownerPrefix}`, this.routes.ipamGc, () => this.api.call(this.routes.ipamGc, { ownerPrefix, keep }));
    if (!isObj(v) || !Array.isArray(v.released)) return [];
    return v.released.filter((r): r is { owner: string; address: string } => isObj(r) && typeof r.owner === 'string' && typeof r.address === 'string')
      .map((r) => ({ owner: r.owner, address: r.address.split('/')[0]! }));
  }

  /**
   * `POST /cni`: one forwarded weft-net invocation; the daemon runs the verb and answers with
   * what to print and the exit code. STATUS while the daemon is unreachable is 50.
   */
  async cni(inv: CniInvocation): Promise<CniAnswer> {
    const what = `forwarding CNI ${inv.env.CNI_COMMAND ?? ''} to the weft daemon`;
    let v: unknown;
    try {
      v = await this.slow.call(this.routes.cni, inv);
    } catch (e) {
      const err = this.fail(what, e, this.routes.cni);
      if (inv.env.CNI_COMMAND === 'STATUS') throw new CniError(50, `weft daemon not available: ${err.message}`, err.details);
      throw err;
    }
    if (!isObj(v) || (v.exitCode !== 0 && v.exitCode !== 1) || typeof v.output !== 'string') {
      throw new CniError(999, `the weft daemon at ${this.socket} sent an unexpected /cni reply: ${JSON.stringify(v).slice(0, 200)}`);
    }
    return { exitCode: v.exitCode, output: v.output };
  }

  /** `GET /ipam/status`: readiness and its reason. */
  async ipamStatus(): Promise<IpamReadiness> {
    const v: unknown = await this.call('asking the weft daemon for its IPAM status', this.routes.ipamStatus, () => this.api.call(this.routes.ipamStatus));
    if (!isObj(v) || typeof v.status !== 'string') {
      throw new CniError(999, `the weft daemon at ${this.socket} sent an unexpected /ipam/status reply`);
    }
    return { status: v.status, ...(typeof v.reason === 'string' ? { reason: v.reason } : {}) };
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

  private async call<T>(what: string, route: RouteRef, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.fail(what, e, route);
    }
  }

  private fail(what: string, e: unknown, route: RouteRef): CniError {
    if (isWeftError(e, 'WEFT_ERR_NOT_RUNNING')) {
      return new CniError(11, `weft daemon is not running (no API socket at ${this.socket}); start it with "weft launch" or fix "socket" in the network configuration`, e.code);
    }
    if (isWeftError(e, 'WEFT_ERR_NO_API_ROUTE')) {
      return new CniError(999, `the weft daemon at ${this.socket} does not serve ${route.method} ${route.path}: it is too old for the CNI plugins (upgrade weft)`, e.code);
    }
    return toCniError(e, what);
  }
}

function asAddress(v: unknown, owner?: string): OwnedAddress | null {
  if (!isObj(v) || typeof v.address !== 'string' || !isIp(v.address)) return null;
  let prefixLength = v.prefixLength;
  if (!Number.isInteger(prefixLength) && typeof v.cidr === 'string') prefixLength = Number(v.cidr.split('/')[1]);
  if (!Number.isInteger(prefixLength)) return null;
  const o = typeof v.owner === 'string' ? v.owner : owner ?? '';
  return { owner: o, address: v.address, prefixLength: prefixLength as number };
}

/** A lookup reply: a list, `{ allocations | addresses: [...] }` or one allocation. */
function addressList(v: unknown, owner: string): OwnedAddress[] {
  const list = Array.isArray(v) ? v
    : isObj(v) && Array.isArray(v.allocations) ? v.allocations
      : isObj(v) && Array.isArray(v.addresses) ? v.addresses
        : v === undefined || v === null ? [] : [v];
  return list.map((x) => (typeof x === 'string' && isCidr(x)
    ? { owner, address: x.split('/')[0]!, prefixLength: Number(x.split('/')[1]) }
    : asAddress(x, owner))).filter((x): x is OwnedAddress => x !== null && x.owner === owner);
}
