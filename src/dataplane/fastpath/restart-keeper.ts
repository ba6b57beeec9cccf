/**
 * RestartKeeper: the switch's restart bookkeeping with its timers. It adopts what a previous
 * daemon left in the kernel (kept through a grace that ends once every peer it points at is
 * connected and settled, or after the grace), and keeps the last paths of peers whose
 * connection closed while on a kernel path ("lingering") until they are back and settled, are
 * reachable another way, or the grace ran out. See docs/fastpath.md, "Restarts".
 */
import { describeError, type Logger } from '../../common/index.js';
import type { PeerName } from '../../mesh/index.js';
import type { FastConnection } from './fast-connection.js';
import type { PeerPaths } from './kernel-state.js';
import type { KernelSync } from './kernel-sync.js';
import type { PodRecord } from './pod-directory.js';
import { Lingering, adoptedKernel, kernelSize, peersOf, type KernelReadback } from './restart.js';

/** Constructor options of {@link RestartKeeper}. */
export interface RestartKeeperOptions {
  log: Logger;
  kernel: KernelSync;
  /** How long adopted or lingering state is kept at most. ms */
  graceMs: number;
  /** The pod record of a peer (the switch's directory). */
  record(peer: PeerName): PodRecord | undefined;
  /** Something this keeper decided changes the desired kernel state. */
  changed(): void;
}

/**
 * Lifecycle: `adopt()` once at start (before the first kernel apply), `update()` on every change,
 * `closed()` when a connection closes, `stop()` (idempotent) cancels the timers.
 */
export class RestartKeeper {
  private readonly lingering = new Lingering();
  private lingerTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private adoptedPeers = new Set<string>();
  private stopped = false;

  constructor(private readonly o: RestartKeeperOptions) {}

  /** Read what a previous daemon left and take it as applied (kept through the grace). */
  async adopt(read: () => Promise<KernelReadback>): Promise<void> {
    let state;
    try {
      state = adoptedKernel(await read());
    } catch (e) {
      this.o.log.warn({ err: describeError(e) }, 'fastpath: cannot read the kernel state left by a previous daemon; starting from scratch');
      return;
    }
    if (kernelSize(state) === 0) return;
    this.o.kernel.adopt(state);
    this.adoptedPeers = peersOf(state);
    this.o.log.info({
      vxlanEntries: state.unicast.size, flood: state.flood.size, routes: state.routes.size, forwards: state.forwards.size,
      localPods: state.local.size, peers: [...this.adoptedPeers], graceMs: this.o.graceMs,
    }, 'fastpath: adopted the kernel state of the previous daemon; reconciling once its peers are back');
    this.graceTimer = setTimeout(() => this.endGrace('grace expired'), this.o.graceMs);
    this.graceTimer.unref();
  }

  /** Lingering peers (status). */
  get lingeringCount(): number {
    return this.lingering.size;
  }

  isLingering(peer: PeerName): boolean {
    return this.lingering.has(peer);
  }

  /** The kept record of a lingering peer (after the directory forgot it). */
  record(peer: PeerName): PodRecord | undefined {
    return this.lingering.record(peer);
  }

  /** Lingering paths to program (see {@link Lingering.paths}). */
  lingeringPaths(connected: (p: PeerName) => boolean, reachableOtherwise: (p: PeerName) => boolean): PeerPaths[] {
    return this.lingering.paths(connected, reachableOtherwise);
  }

  /**
   * On every change: drop lingering peers whose new connection settled; end the adoption grace
   * once local pods were scanned and every adopted peer is connected and settled.
   */
  update(conns: Iterable<FastConnection>, localScanned: boolean): void {
    const list = [...conns];
    for (const c of list) if (c.settled && this.lingering.drop(c.peer)) this.o.log.info({ peer: c.peer }, 'fastpath: peer back; its lingering kernel entries reconciled');
    if (!this.o.kernel.adopting || !localScanned) return;
    for (const ip of this.adoptedPeers) {
      const c = list.find((x) => x.underlayIp === ip);
      if (!c || !c.settled || (c.mode !== 'sleeve' && !this.o.record(c.peer))) return;
    }
    this.endGrace('every adopted peer is back');
  }

  /** A connection on a kernel path (`paths`) closed: keep programming them for a while. */
  closed(paths: PeerPaths | null, mode: string): void {
    if (this.stopped || paths === null || (paths.l2 !== 'vxlan' && !paths.hostGw)) return;
    this.lingering.keep(paths, this.o.record(paths.peer), Date.now() + this.o.graceMs);
    this.o.log.info({ peer: paths.peer, mode, graceMs: this.o.graceMs }, 'fastpath: connection closed; keeping its kernel entries while the peer may be restarting');
    this.armLinger();
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.lingerTimer, this.graceTimer]) if (t) clearTimeout(t);
    this.lingerTimer = this.graceTimer = null;
  }

  private endGrace(why: string): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    if (this.stopped || !this.o.kernel.adopting) return;
    this.o.log.info({ reason: why }, 'fastpath: reconciling adopted kernel state (leftovers removed)');
    void this.o.kernel.endGrace();
  }

  private armLinger(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    const at = this.lingering.nextExpiry();
    if (at === Infinity || this.stopped) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      const gone = this.lingering.expire(Date.now());
      if (gone.length > 0) this.o.log.info({ peers: gone }, 'fastpath: lingering peers did not come back; their kernel entries are removed');
      this.armLinger();
      this.o.changed();
    }, Math.max(0, at - Date.now()));
    this.lingerTimer.unref();
  }
}
