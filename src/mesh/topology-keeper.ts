import {
  describeError, isWeftError, type Logger,
  ROUTE_RECALC_DEFER_MS, TOPOLOGY_UPDATE_DEFER_MS, PEER_GC_DEFER_MS,
} from '../common/index.js';
import type { MeshMetrics } from '../metrics/index.js';
import type { PeerName } from './gossip-types.js';
import type { GossipHub } from './gossip-hub.js';
import { Topology } from './topology.js';
import { computeRoutes, type Routes } from './routes.js';
import { CloneDetector } from './topology-clone.js';
import type { LocalConnection } from './topology-types.js';

/** How long we watch for stale records of a collected peer coming back. ms */
const RESURRECTION_WATCH_MS = 60_000;
/** Up to this many peers a new connection gets our full state, beyond it a summary. count */
export const FULL_ON_CONNECT_MAX_PEERS = 64;
/** Most collected peers watched at once. count */
const MAX_WATCHED_REMOVALS = 4096;

/** The topology gossip channel's name. */
export const TOPOLOGY_CHANNEL = 'topology';

export interface TopologyKeeperOptions {
  self: PeerName;
  nickname: string;
  uid: bigint;
  log: Logger;
  metrics: MeshMetrics;
  /** Routes were recomputed (also after GC). */
  onRoutes(): void;
  onPeerGone(name: PeerName): void;
  /** A live clone of us is likely (keeps bumping past our record). */
  onSelfConflict(what: string): void;
  /** Send a topology message to one neighbour (replies to digests/requests). */
  sendTo(peer: PeerName, payload: Buffer): void;
  /** Our current neighbours (for GC). */
  neighbours(): ReadonlySet<PeerName>;
}

/**
 * The I/O glue around the pure {@link Topology}: debounces local changes into updates,
 * answers anti-entropy messages, relays deltas to a few neighbours, recomputes routes (debounced)
 * and garbage-collects unreachable peers ~1 s after changes. Lifecycle: start()/stop() (timers).
 */
export class TopologyKeeper {
  readonly topology: Topology;
  routes: Routes;
  private hub: GossipHub | null = null;
  private readonly clones = new CloneDetector();
  private updateTimer: NodeJS.Timeout | null = null;
  private recalcTimer: NodeJS.Timeout | null = null;
  private gcTimer: NodeJS.Timeout | null = null;
  private running = false;
  /** Peers garbage-collected recently → when we stop watching for their stale records. ms */
  private readonly recentlyRemoved = new Map<PeerName, number>();

  constructor(private readonly opts: TopologyKeeperOptions) {
    this.topology = new Topology(opts.self, opts.nickname, opts.uid);
    this.routes = computeRoutes(this.topology, opts.self);
  }

  attachHub(hub: GossipHub): void {
    this.hub = hub;
  }

  get size(): number {
    return this.topology.size;
  }

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    for (const t of [this.updateTimer, this.recalcTimer, this.gcTimer]) if (t) clearTimeout(t);
  }

  /** Our connections changed: update our record, announce it (debounced), recompute routes. */
  localConnectionsChanged(conns: LocalConnection[]): void {
    if (!this.topology.setLocalConnections(conns)) return;
    this.scheduleRecalc();
    if (this.updateTimer || !this.running) return;
    this.updateTimer = setTimeout(() => {
      this.updateTimer = null;
      const u = this.topology.encodeSubset([]);
      if (u) this.hub?.gossipRaw(TOPOLOGY_CHANNEL, u, null);
    }, TOPOLOGY_UPDATE_DEFER_MS);
  }

  /**
   * Bring a new neighbour up to date: everything we know while that is small (fast joins),
   * else the constant-size summary, from which it pulls only what it lacks.
   */
  sendFullTo(peer: PeerName): void {
    this.opts.sendTo(peer, this.topology.size <= FULL_ON_CONNECT_MAX_PEERS ? this.topology.encodeFull() : this.topology.encodeSummary());
  }

  /** Periodic anti-entropy: a constant-size summary to a few neighbours. */
  gossipDigest(): void {
    this.hub?.gossipRaw(TOPOLOGY_CHANNEL, this.topology.encodeSummary(), null);
  }

  /** A topology message from neighbour `from`. Malformed input is counted and dropped. */
  onGossip(from: PeerName, payload: Buffer, bytes: number): void {
    this.opts.metrics.gossip(TOPOLOGY_CHANNEL, 'gossip', 'in', bytes);
    let r;
    try {
      r = this.topology.handleMessage(payload);
    } catch (e) {
      this.opts.metrics.badInput('gossip', isWeftError(e) ? 'malformed_topology' : 'exception');
      this.opts.log.warn({ from, err: describeError(e) }, 'topology message dropped');
      return;
    }
    for (const reply of r.replies) this.opts.sendTo(from, reply);
    if (this.collectResurrected(r.changed)) return; // stale records of departed peers: dropped again, not relayed
    if (r.delta) this.hub?.gossipRaw(TOPOLOGY_CHANNEL, r.delta, from);
    if (r.selfConflict && this.clones.note(r.selfConflict, Date.now())) {
      this.opts.onSelfConflict(`another live peer keeps announcing our name with uid ${r.selfConflict.uid.toString(16)}`);
    }
    if (r.changed.length > 0) this.scheduleRecalc();
  }

  /** Peer list for status. */
  statusPeers() {
    return this.topology.peers().map((p) => ({
      name: p.name, nickname: p.nickname, uid: p.uid.toString(16), version: p.version,
      connections: [...p.connections].map(([name, c]) => ({ name, address: c.address, outbound: c.outbound, established: c.established })),
    }));
  }

  /** Extra detail for `weft report`. */
  report() {
    const r = this.routes;
    const broadcast: Record<string, readonly string[]> = {};
    for (const p of this.topology.peers()) broadcast[p.name] = r.broadcastNextHops(p.name);
    return {
      unicast: Object.fromEntries(r.unicast),
      unicastAll: Object.fromEntries(r.unicastAll),
      broadcast,
      reachable: [...r.reachable].sort(),
      cloneConflicts: this.clones.count,
    };
  }

  /** Peer → dialable addresses other peers report for it, for peers we are not connected to. */
  discoverableAddresses(connected: ReadonlySet<PeerName>): Map<PeerName, string[]> {
    const out = new Map<PeerName, string[]>();
    for (const q of this.topology.peers()) {
      for (const [p, c] of q.connections) {
        if (p === this.opts.self || connected.has(p) || !c.address) continue;
        const list = out.get(p) ?? [];
        if (!list.includes(c.address)) list.push(c.address);
        out.set(p, list);
      }
    }
    return out;
  }

  /**
   * A neighbour that has not collected a departed peer yet can hand its stale record back to
   * us (and we to it, and so on: two peers can keep a departed cluster alive between them).
   * When an update brings back a peer we collected recently, collect at once instead of a
   * second later; if it is really reachable again, it stays. Returns true if anything was
   * dropped again.
   */
  private collectResurrected(changed: readonly PeerName[]): boolean {
    const now = Date.now();
    for (const [n, until] of this.recentlyRemoved) if (until < now) this.recentlyRemoved.delete(n);
    if (!changed.some((n) => this.recentlyRemoved.has(n))) return false;
    const again = this.topology.removeUnreachable(this.opts.neighbours());
    if (again.length === 0) return false;
    this.recalc();
    return true;
  }

  private scheduleRecalc(): void {
    if (this.recalcTimer || !this.running) {
      if (!this.running) this.recalc();
      return;
    }
    this.recalcTimer = setTimeout(() => {
      this.recalcTimer = null;
      this.recalc();
      this.scheduleGc();
    }, ROUTE_RECALC_DEFER_MS);
  }

  private recalc(): void {
    this.routes = computeRoutes(this.topology, this.opts.self);
    this.opts.onRoutes();
  }

  private scheduleGc(): void {
    if (this.gcTimer || !this.running) return;
    this.gcTimer = setTimeout(() => {
      this.gcTimer = null;
      const removed = this.topology.removeUnreachable(this.opts.neighbours());
      if (removed.length === 0) return;
      this.opts.log.info({ peers: removed }, 'removed unreachable peers from the topology');
      const until = Date.now() + RESURRECTION_WATCH_MS;
      for (const name of removed) {
        if (this.recentlyRemoved.size < MAX_WATCHED_REMOVALS) this.recentlyRemoved.set(name, until);
        this.opts.onPeerGone(name);
      }
      this.recalc();
    }, PEER_GC_DEFER_MS);
  }
}
