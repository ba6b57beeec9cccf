import { WeftError, IPAM_CHANNEL, type Logger } from '../common/index.js';
import { API_ROUTES, type ApiServer, type AllocateReply } from '../api/index.js';
import { Ipam } from '../ipam/index.js';
import type { MeshRouter, PeerName } from '../mesh/index.js';
import type { Registry } from '../metrics/index.js';
import type { DaemonConfig } from './config.js';
import type { AddressSource } from './dataplane-service.js';
import type { PodAddressSource } from './attach-service.js';

/**
 * The daemon's IPAM: the CRDT ring on the mesh's "ipam" gossip channel, persisted in the
 * data dir, and its API (allocate / release / lookup / gc / list / status / rmpeer).
 * Lifecycle: construct, attach(router) before the router starts, start(), stop().
 *
 * Default bootstrap when --ipalloc-init is not given: consensus among the peers named at
 * launch plus ourselves (like Weave), so a lone first peer forms the ring at once and later
 * peers adopt it through gossip.
 */
export class IpamService implements AddressSource, PodAddressSource {
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

  /** The owner's addresses ([] when it has none). */
  lookup(owner: string): { address: string; prefixLength: number }[] {
    return this.ipam.lookup(owner).map((a) => ({ address: a.address, prefixLength: a.prefixLength }));
  }

  /** Release every owner under `ownerPrefix` not in `keep` (CNI GC). */
  gc(ownerPrefix: string, keep: string[]): { owner: string; address: string }[] {
    const keepSet = new Set(keep);
    const released: { owner: string; address: string }[] = [];
    for (const a of this.ipam.list()) {
      if (!a.owner.startsWith(ownerPrefix) || keepSet.has(a.owner)) continue;
      this.ipam.free(a.owner, a.address);
      released.push({ owner: a.owner, address: a.address });
    }
    return released;
  }

  /** IPAM state for CNI STATUS ("ready", or why not). */
  state(): { status: string; reason?: string } {
    const s = this.ipam.status();
    return { status: s.status, ...(s.reason ? { reason: s.reason } : {}) };
  }

  /** Readiness for /readyz and CNI STATUS. */
  readiness(): { ready: boolean; reason?: string } {
    const s = this.ipam.status();
    return s.status === 'ready' ? { ready: true } : { ready: false, reason: `IPAM ${s.status}${s.reason ? `: ${s.reason}` : ''}` };
  }

  /** Serve the IPAM routes (requests arrive validated against their schemas). */
  registerRoutes(api: ApiServer): void {
    api.handle(API_ROUTES.ipamAllocate, ({ request }) => this.allocate(request.owner, request.address));
    api.handle(API_ROUTES.ipamRelease, async ({ request }) => ({ released: await this.release(request.owner, request.address) }));
    api.handle(API_ROUTES.ipamLookup, ({ request: { owner } }) => {
      const held = this.ipam.lookup(owner);
      if (held.length === 0) throw new WeftError('WEFT_ERR_NOT_FOUND', `no address is allocated to ${owner}`);
      return { owner, addresses: held.map((a) => ({ address: a.address, prefixLength: a.prefixLength, cidr: `${a.address}/${a.prefixLength}` })) };
    });
    api.handle(API_ROUTES.ipamGc, ({ request: { ownerPrefix, keep } }) => ({ released: this.gc(ownerPrefix, keep) }));
    api.handle(API_ROUTES.ipamAllocations, () => ({ allocations: this.ipam.list() }));
    api.handle(API_ROUTES.ipamStatus, () => this.ipam.status());
    api.handle(API_ROUTES.ipamRmpeer, ({ request }) => this.ipam.rmpeer(request.peer));
  }
}
