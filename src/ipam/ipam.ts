import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { WeftError, IPAM_TICK_INTERVAL_MS, describeError, type Logger, type Startable } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { GossipChannel, Gossiper } from '../mesh/index.js';
import { parseUniverse, type Universe } from './address.js';
import { decodeState, decodeUnicast, encodeState, encodeUnicast } from './codec.js';
import { IpamCore } from './core.js';
import { validateInit } from './init.js';
import { createIpamMetrics, type IpamMetrics } from './metrics.js';
import { emptyState, type StoreRecord } from './records.js';
import { IpamStore } from './store.js';
import type { AllocateOptions, IpamAllocation, IpamInit, IpamStatus, LeaveResult, RmpeerResult } from './types.js';
import { isPeerName } from './wire.js';

export interface IpamOptions {
  self: PeerName;
  nickname: string;
  /** Allocation range, e.g. DEFAULT_IPALLOC_RANGE. */
  range: string;
  init: IpamInit;
  /** The daemon's data dir; the IPAM keeps its files in `<dataDir>/ipam`. */
  dataDir: string;
  log: Logger;
  registry?: Registry;
  /** Wall clock (tests). ms since epoch */
  now?: () => number;
  /** Reclaim peers unreachable this long, while we reach a majority of owners (off by default). ms */
  autoReclaimAfterMs?: number;
}

const MAX_OWNER_BYTES = 256;

/**
 * The daemon's IPAM: a {@link IpamCore} wired to the store, the "ipam" gossip channel, a
 * housekeeping timer and metrics.
 *
 * Lifecycle: construct (validates range and init: WEFT_ERR_BAD_CONFIG), `setChannel()`,
 * `start()` (loads `<dataDir>/ipam`; WEFT_ERR_BAD_CONFIG if it holds another range or peer,
 * WEFT_ERR_DATA_DIR if unusable), then gossip/peer events and API calls, `stop()` (idempotent:
 * pending allocations fail with WEFT_ERR_CLOSED, a final snapshot is written, files closed).
 *
 * Guarantees: every state change is written (fsync'ed when it matters) before any message
 * that reveals it is sent and before an allocation is reported; gossip callbacks throw only
 * WEFT_ERR_DECODE for malformed input (which then changed nothing) — conflicting updates are
 * resolved, logged and counted, never thrown; API calls never block indefinitely: they fail
 * fast with WEFT_ERR_IPAM_NOT_READY (and the reason) when no ring is usable, and a pending
 * allocation completes within IPAM_ALLOCATION_TIMEOUT_MS.
 */
export class Ipam implements Startable, Gossiper {
  private readonly universe: Universe;
  private readonly init: IpamInit;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly metrics: IpamMetrics | null;
  private channel: GossipChannel | null = null;
  private core: IpamCore | null = null;
  private store: IpamStore | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Records not yet durable (the store failed): nothing is sent until they are. */
  private unwritten: StoreRecord[] = [];
  private unwrittenSync = false;
  private held: Array<() => void> = [];

  constructor(private readonly opts: IpamOptions) {
    if (!isPeerName(opts.self)) throw new WeftError('WEFT_ERR_BAD_CONFIG', `IPAM: bad peer name ${JSON.stringify(opts.self)}`);
    this.universe = parseUniverse(opts.range);
    this.init = validateInit(opts.init);
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.metrics = opts.registry ? createIpamMetrics(opts.registry, () => this.core?.status() ?? null) : null;
  }

  setChannel(channel: GossipChannel): void {
    this.channel = channel;
  }

  start(): void {
    if (this.core || this.stopped) throw new WeftError('WEFT_ERR_CLOSED', 'IPAM already started or stopped');
    const store = new IpamStore(join(this.opts.dataDir, 'ipam'), this.log);
    let persisted = store.open();
    try {
      if (persisted && persisted.self !== this.opts.self) {
        throw new WeftError('WEFT_ERR_BAD_CONFIG', `IPAM data in ${store.dir} belongs to peer ${persisted.self}, not ${this.opts.self}; run \`weft reset\``);
      }
      if (persisted && persisted.cidr !== this.universe.cidr) {
        throw new WeftError('WEFT_ERR_BAD_CONFIG',
          `IPAM data in ${store.dir} is for range ${persisted.cidr} but --ipalloc-range is ${this.universe.cidr}; use --ipalloc-range ${persisted.cidr} or run \`weft reset\``);
      }
      persisted ??= emptyState(this.universe.cidr, this.opts.self);
      const now = this.now();
      this.core = new IpamCore({
        self: this.opts.self, nickname: this.opts.nickname, universe: this.universe, init: this.init, now,
        ...(this.opts.autoReclaimAfterMs !== undefined ? { autoReclaimAfterMs: this.opts.autoReclaimAfterMs } : {}),
      }, persisted);
      this.core.takeChanges();
      store.compact(this.core.snapshot());
    } catch (e) {
      store.close();
      throw e;
    }
    this.store = store;
    const st = this.core.status();
    this.log.info({ range: st.range, mode: st.mode, status: st.status, owned: st.owned, allocated: st.allocated }, 'IPAM started');
    this.core.tick(this.now());
    this.flush();
    this.timer = setInterval(() => this.input((c) => c.tick(this.now())), IPAM_TICK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const core = this.core;
    if (core) {
      core.pending.failAll(new WeftError('WEFT_ERR_CLOSED', 'IPAM stopped'));
      this.flush();
      try {
        if (this.unwritten.length === 0) this.store?.compact(core.snapshot());
      } catch (e) {
        this.log.warn({ err: describeError(e) }, 'IPAM: final snapshot failed (the log still holds everything)');
      }
    }
    this.store?.close();
    this.core = null;
    this.channel = null;
  }

  // ───────────────────────────── plumbing ─────────────────────────────

  private running(): IpamCore {
    if (this.core) return this.core;
    throw this.stopped ? new WeftError('WEFT_ERR_CLOSED', 'IPAM stopped') : new WeftError('WEFT_ERR_IPAM_NOT_READY', 'IPAM not started yet');
  }

  /** Run one input against the core, then persist and send what it produced. */
  private input<T>(f: (core: IpamCore) => T): T {
    const r = f(this.running());
    this.flush();
    return r;
  }

  /** Durable before visible: append (fsync if needed), then send messages, then complete promises. */
  private flush(): void {
    const core = this.core;
    if (!core || !this.store) return;
    const { records, sync } = core.takeChanges();
    this.unwritten.push(...records);
    this.unwrittenSync ||= sync;
    for (const e of core.takeEvents()) {
      this.log[e.level](e.conflict ? { conflict: e.conflict } : {}, e.msg);
      if (e.conflict) this.metrics?.conflict(e.conflict);
    }
    const out = core.takeOutgoing();
    for (const o of out) this.held.push(() => this.send(o.kind === 'unicast' ? { dst: o.dst, buf: encodeUnicast(o.msg) } : { buf: encodeState(o.msg) }));
    if (this.unwritten.length) {
      try {
        this.store.append(this.unwritten, this.unwrittenSync);
        this.unwritten = [];
        this.unwrittenSync = false;
      } catch (e) {
        this.log.error({ err: describeError(e), queued: this.unwritten.length }, 'IPAM: cannot persist state; holding updates back until the disk works again');
        return;
      }
    }
    const held = this.held;
    this.held = [];
    for (const h of held) h();
    if (this.store.needsCompaction) {
      try {
        this.store.compact(core.snapshot());
      } catch (e) {
        this.log.warn({ err: describeError(e) }, 'IPAM: compaction failed; will retry');
      }
    }
  }

  private send(m: { dst?: PeerName; buf: Buffer }): void {
    const ch = this.channel;
    if (!ch) return;
    try {
      if (m.dst !== undefined) ch.unicast(m.dst, m.buf);
      else ch.broadcast(m.buf);
    } catch (e) {
      this.log.debug({ err: describeError(e), dst: m.dst }, 'IPAM: gossip send failed');
    }
  }

  // ───────────────────────────── Gossiper ─────────────────────────────

  onGossipUnicast(src: PeerName, msg: Buffer): void {
    const m = decodeUnicast(msg);
    if (this.core) this.input((c) => c.onUnicast(src, m, this.now()));
  }

  onGossipBroadcast(_src: PeerName, update: Buffer): Buffer | null {
    const m = decodeState(update);
    if (this.core) this.input((c) => c.onState(m, this.now()));
    return update;
  }

  onGossip(update: Buffer): Buffer | null {
    const m = decodeState(update);
    if (!this.core) return null;
    const delta = this.input((c) => c.onState(m, this.now()));
    return delta ? encodeState(delta) : null;
  }

  gossip(): Buffer | null {
    if (!this.core || this.unwritten.length) return null;
    return encodeState(this.core.fullState());
  }

  onPeersChanged(reachable: ReadonlySet<PeerName>): void {
    if (this.core) this.input((c) => c.setReachable(reachable, this.now()));
  }

  onPeerGone(name: PeerName): void {
    if (this.core) this.input((c) => c.peerGone(name, this.now()));
  }

  // ───────────────────────────── API ─────────────────────────────

  private offset(address: string): number {
    const o = this.universe.offsetOf(address);
    if (o === null) throw new WeftError('WEFT_ERR_BAD_ARGS', `address ${JSON.stringify(address).slice(0, 40)} is not in the allocation range ${this.universe.cidr}`);
    return o;
  }

  private allocation(owner: string, offset: number): IpamAllocation {
    return { owner, address: this.universe.format(offset), prefixLength: this.universe.prefixLength };
  }

  /**
   * An address for `owner` (container ID or "containerID/ifname"). Idempotent: an owner that
   * already holds an address gets it again. With `address`, claims exactly that address
   * (WEFT_ERR_IPAM_IN_USE if someone else holds it). Resolves once the allocation is durable.
   */
  allocate(owner: string, opts: AllocateOptions = {}): Promise<{ address: string; prefixLength: number }> {
    if (typeof owner !== 'string' || owner.length === 0 || Buffer.byteLength(owner) > MAX_OWNER_BYTES) {
      return Promise.reject(new WeftError('WEFT_ERR_BAD_ARGS', `owner must be a non-empty string of at most ${MAX_OWNER_BYTES} bytes`));
    }
    return new Promise((resolve, reject) => {
      try {
        const core = this.running();
        const want = opts.address !== undefined ? this.offset(opts.address) : null;
        if (want !== null && this.universe.isReserved(want)) throw new WeftError('WEFT_ERR_BAD_ARGS', `${opts.address} is the network or broadcast address of ${this.universe.cidr}`);
        core.allocate(owner, want, this.now(), (err, offset) => {
          // settled after the next flush, i.e. once the allocation is on disk
          this.held.push(() => (err ? reject(err) : resolve({ address: this.universe.format(offset!), prefixLength: this.universe.prefixLength })));
        });
        this.flush();
      } catch (e) {
        reject(e);
      }
    });
  }

  /** Addresses held by `owner` (empty if none). */
  lookup(owner: string): IpamAllocation[] {
    return this.running().allocs.offsetsOf(owner).map((o) => this.allocation(owner, o));
  }

  /** Every allocation on this peer, in address order. */
  list(): IpamAllocation[] {
    return this.running().allocs.entries().map(([owner, o]) => this.allocation(owner, o));
  }

  /** Release `owner`'s address (or all of them). Returns how many were released (0 is fine). */
  free(owner: string, address?: string): number {
    const off = address !== undefined ? this.offset(address) : null;
    return this.input((c) => c.free(owner, off, this.now()));
  }

  freeAll(owner: string): number {
    return this.free(owner);
  }

  /**
   * CNI garbage collection: release every owner not in `validOwners`. An owner
   * "containerID/ifname" is kept when either it or its container ID is listed.
   */
  freeAllExcept(validOwners: Iterable<string>): number {
    const keep = new Set(validOwners);
    return this.input((c) => {
      let n = 0;
      for (const owner of c.allocs.owners()) {
        if (keep.has(owner) || keep.has(owner.split('/', 1)[0] ?? owner)) continue;
        n += c.free(owner, null, this.now());
      }
      return n;
    });
  }

  /**
   * Remove a dead peer (by name or nickname) and reclaim its ranges for their deterministic
   * heirs. Idempotent and safe to run on several hosts at once. Refuses a reachable peer.
   */
  rmpeer(nameOrNickname: string): RmpeerResult {
    return this.input((c) => c.rmpeer(nameOrNickname, this.now()));
  }

  /**
   * Hand every range to a live peer and stop allocating (before `weft reset`, which must then
   * remove `<dataDir>/ipam`). Idempotent. WEFT_ERR_IPAM_NOT_READY when no peer is reachable.
   */
  leave(): LeaveResult {
    return this.input((c) => c.leave(this.now()));
  }

  status(): IpamStatus {
    return this.running().status();
  }
}
