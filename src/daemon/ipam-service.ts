import { WeftError, IPAM_CHANNEL, type Logger } from '../common/index.js';
import {
  IPAM_PATHS, type ApiServer, type AllocateReply, type ReleaseReply, type GcReply,
} from '../api/index.js';
import { Ipam } from '../ipam/index.js';
import type { MeshRouter, PeerName } from '../mesh/index.js';
import type { Registry } from '../metrics/index.js';
import type { DaemonConfig } from './config.js';
import type { AddressSource } from './dataplane-service.js';

const MAX_OWNER = 256;

function ownerOf(body: unknown): string {
  const o = (body as { owner?: unknown }).owner;
  if (typeof o !== 'string' || o.length === 0 || Buffer.byteLength(o) > MAX_OWNER) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `"owner" must be a non-empty string of at most ${MAX_OWNER} bytes`);
  }
  return o;
}

function optString(body: unknown, name: string): string | undefined {
  const v = (body as Record<string, unknown>)[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new WeftError('WEFT_ERR_BAD_ARGS', `"${name}" must be a non-empty string`);
  return v;
}

/**
 * The daemon's IPAM: the CRDT ring on the mesh's "ipam" gossip channel, persisted in the
 * data dir, and its API (allocate / release / lookup / gc / list / status / rmpeer).
 * Lifecycle: construct, attach(router) before the router starts, start(), stop().
 *
 * Default bootstrap when --ipalloc-init is not given: consensus among the peers named at
 * launch plus ourselves (like Weave), so a lone first peer forms the ring at once and later
 * peers adopt it through gossip.
 */
export class IpamService implements AddressSource {
  readonly ipam: Ipam;

  constructor(config: DaemonConfig, self: PeerName, log: Logger, registry: Registry) {
    const init = config.ipallocInit.consensus || config.ipallocInit.seeds
      ? config.ipallocInit
      : { consensus: config.peers.length + 1 };
    this.ipam = new Ipam({
      self, nickname: config.nickname, range: config.ipallocRange, init, dataDir: config.dataDir, log, registry,
      autoReclaimAfterMs: config.ipallocReclaimAfterMs,
    });
  }

  get range(): string {
    return this.ipam.status().range;
  }

  attach(router: MeshRouter): void {
    this.ipam.setChannel(router.newGossip(IPAM_CHANNEL, this.ipam));
  }

  start(): void {
    this.ipam.start();
  }

  stop(): void {
    this.ipam.stop();
  }

  async allocate(owner: string, address?: string): Promise<AllocateReply> {
    const a = await this.ipam.allocate(owner, address ? { address } : undefined);
    return { owner, address: a.address, prefixLength: a.prefixLength, cidr: `${a.address}/${a.prefixLength}` };
  }

  async release(owner: string, address?: string): Promise<string[]> {
    const held = this.ipam.lookup(owner).map((a) => a.address).filter((a) => !address || a === address);
    if (address) this.ipam.free(owner, address);
    else this.ipam.freeAll(owner);
    return held;
  }

  /** Readiness for /readyz and CNI STATUS. */
  readiness(): { ready: boolean; reason?: string } {
    const s = this.ipam.status();
    return s.status === 'ready' ? { ready: true } : { ready: false, reason: `IPAM ${s.status}${s.reason ? `: ${s.reason}` : ''}` };
  }

  registerRoutes(api: ApiServer): void {
    api.route('POST', IPAM_PATHS.allocate, ({ body }) => this.allocate(ownerOf(body), optString(body, 'address')));
    api.route('POST', IPAM_PATHS.release, async ({ body }): Promise<ReleaseReply> =>
      ({ released: await this.release(ownerOf(body), optString(body, 'address')) }));
    api.route('GET', IPAM_PATHS.lookup, ({ query }) => {
      const owner = query.get('owner');
      if (!owner) throw new WeftError('WEFT_ERR_BAD_ARGS', 'missing query parameter "owner"');
      const held = this.ipam.lookup(owner);
      if (held.length === 0) throw new WeftError('WEFT_ERR_NOT_FOUND', `no address is allocated to ${owner}`);
      return { owner, addresses: held.map((a) => ({ address: a.address, prefixLength: a.prefixLength, cidr: `${a.address}/${a.prefixLength}` })) };
    });
    api.route('POST', IPAM_PATHS.gc, ({ body }): GcReply => {
      const prefix = optString(body, 'ownerPrefix');
      const keep = (body as { keep?: unknown }).keep;
      if (!prefix) throw new WeftError('WEFT_ERR_BAD_ARGS', '"ownerPrefix" is required (GC never touches other owners)');
      if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) throw new WeftError('WEFT_ERR_BAD_ARGS', '"keep" must be an array of owner strings');
      const keepSet = new Set(keep as string[]);
      const released: { owner: string; address: string }[] = [];
      for (const a of this.ipam.list()) {
        if (!a.owner.startsWith(prefix) || keepSet.has(a.owner)) continue;
        this.ipam.free(a.owner, a.address);
        released.push({ owner: a.owner, address: a.address });
      }
      return { released };
    });
    api.route('GET', IPAM_PATHS.list, () => ({ allocations: this.ipam.list() }));
    api.route('GET', IPAM_PATHS.status, () => this.ipam.status());
    api.route('POST', '/ipam/rmpeer', ({ body }) => {
      const peer = optString(body, 'peer');
      if (!peer) throw new WeftError('WEFT_ERR_BAD_ARGS', '"peer" (name or nickname) is required');
      return this.ipam.rmpeer(peer);
    });
  }
}
