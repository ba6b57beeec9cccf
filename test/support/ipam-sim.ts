import { peerNameFromNumber, type PeerName } from '../../src/net/index.js';
import { parseUniverse, type Universe } from '../../src/ipam/address.js';
import { decodeState, decodeUnicast, encodeState, encodeUnicast } from '../../src/ipam/codec.js';
import { IpamCore, type Outgoing } from '../../src/ipam/core.js';
import { applyRecord, emptyState, type PersistedState } from '../../src/ipam/records.js';
import type { IpamInit } from '../../src/ipam/types.js';

/**
 * Deterministic in-process network of IpamCores for tests: seeded PRNG, no sockets, no timers;
 * time is a number advanced by the driver. Every message goes through the real codec.
 * Broadcasts reach every peer in the sender's partition, unicasts only their destination,
 * gossip a few random neighbours (whose deltas are relayed further, as the mesh does).
 * Messages are delayed randomly (reordering) and may be lost or duplicated. Each peer keeps
 * its persisted state in memory (records applied as the store would), so a peer can be
 * restarted from it.
 */

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Peer name number i (1-based), e.g. 02:00:00:00:00:2a. */
export function simName(i: number): PeerName {
  return peerNameFromNumber(0x02_00_0000_0000 + i);
}

export interface SimPeer {
  readonly name: PeerName;
  core: IpamCore;
  alive: boolean;
  partition: number;
  readonly init: IpamInit;
  /** What the store would hold (records applied in order). */
  disk: PersistedState;
}

interface InFlight {
  at: number;
  seq: number;
  to: PeerName;
  from: PeerName;
  kind: 'unicast' | 'broadcast' | 'gossip';
  buf: Buffer;
}

/** Min-heap of in-flight messages ordered by (at, seq). */
class MessageHeap {
  private readonly a: InFlight[] = [];
  get size(): number {
    return this.a.length;
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i]!;
    const y = this.a[j]!;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
  private swap(i: number, j: number): void {
    [this.a[i], this.a[j]] = [this.a[j]!, this.a[i]!];
  }
  push(m: InFlight): void {
    this.a.push(m);
    for (let i = this.a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  peek(): InFlight | undefined {
    return this.a[0];
  }
  pop(): InFlight | undefined {
    const top = this.a[0];
    const last = this.a.pop();
    if (this.a.length > 0 && last) {
      this.a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.a.length && this.less(l, m)) m = l;
        if (r < this.a.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

export interface SimOptions {
  seed: number;
  range?: string;
  /** Probability that a message is lost / delivered twice. */
  loss?: number;
  dup?: number;
  /** Max random delivery delay. ms */
  maxDelayMs?: number;
  /** Periodic full-state gossip interval (0: only on new connections and gossipRound()). ms */
  gossipEveryMs?: number;
  /** Passed to every core (automatic reclaim). ms */
  autoReclaimAfterMs?: number;
}

export class SimNetwork {
  readonly universe: Universe;
  readonly peers = new Map<PeerName, SimPeer>();
  readonly rnd: () => number;
  now = 1_000_000;
  private readonly queue = new MessageHeap();
  private seq = 0;
  delivered = 0;
  private readonly loss: number;
  private readonly dup: number;
  private readonly maxDelay: number;
  private readonly gossipEvery: number;
  private readonly autoReclaimAfterMs: number | undefined;
  private readonly reach = new Map<PeerName, Set<PeerName>>();

  constructor(opts: SimOptions) {
    this.universe = parseUniverse(opts.range ?? '10.32.0.0/12');
    this.rnd = prng(opts.seed);
    this.loss = opts.loss ?? 0;
    this.dup = opts.dup ?? 0;
    this.maxDelay = opts.maxDelayMs ?? 50;
    this.gossipEvery = opts.gossipEveryMs ?? 5_000;
    this.autoReclaimAfterMs = opts.autoReclaimAfterMs;
  }

  private makeCore(name: PeerName, init: IpamInit, disk?: PersistedState): IpamCore {
    const auto = this.autoReclaimAfterMs !== undefined ? { autoReclaimAfterMs: this.autoReclaimAfterMs } : {};
    return new IpamCore({ self: name, nickname: `host-${name.slice(-5).replace(':', '')}`, universe: this.universe, init, now: this.now, ...auto }, disk);
  }

  /** Start a peer (not yet connected: partition -1 means alone). */
  add(name: PeerName, init: IpamInit, partition = 0): SimPeer {
    const p: SimPeer = { name, core: this.makeCore(name, init), alive: true, partition, init, disk: emptyState(this.universe.cidr, name) };
    this.peers.set(name, p);
    this.refreshReachability();
    this.flush(p);
    return p;
  }

  /** Restart a peer from what it persisted (after a crash at any point: only flushed records exist). */
  restart(name: PeerName): SimPeer {
    const p = this.peers.get(name)!;
    p.core = this.makeCore(name, p.init, p.disk);
    p.alive = true;
    this.refreshReachability();
    p.core.tick(this.now);
    this.flush(p);
    return p;
  }

  kill(name: PeerName): void {
    this.peers.get(name)!.alive = false;
    this.refreshReachability();
  }

  live(): SimPeer[] {
    return [...this.peers.values()].filter((p) => p.alive);
  }

  reachableFrom(p: SimPeer): Set<PeerName> {
    const out = new Set<PeerName>();
    if (p.partition < 0) return out;
    for (const q of this.peers.values()) if (q !== p && q.alive && q.partition === p.partition) out.add(q.name);
    return out;
  }

  /**
   * Tell every live core whom it can reach (the mesh's onPeersChanged). Newly connected peers
   * exchange full states with up to 3 of their new neighbours, as the mesh sends gossip() down
   * new connections (the peer with more new neighbours starts the exchange, so a newcomer
   * talks to 3 peers rather than all of them); the rest spreads by deltas and periodic gossip.
   */
  refreshReachability(): void {
    const fresh = new Map<PeerName, PeerName[]>();
    for (const p of this.live()) {
      const now = this.reachableFrom(p);
      const before = this.reach.get(p.name) ?? new Set();
      if (now.size === before.size && [...now].every((n) => before.has(n))) continue;
      this.reach.set(p.name, now);
      p.core.setReachable(now, this.now);
      this.flush(p);
      fresh.set(p.name, [...now].filter((n) => !before.has(n)));
    }
    for (const p of this.peers.values()) if (!p.alive) this.reach.delete(p.name);
    for (const [name, list] of fresh) {
      const mine = list.filter((c) => {
        const theirs = fresh.get(c)?.length ?? 0;
        return list.length > theirs || (list.length === theirs && name < c);
      });
      for (let i = 0; i < Math.min(3, mine.length); i++) {
        const c = mine.splice(Math.floor(this.rnd() * mine.length), 1)[0]!;
        const [a, b] = [this.peers.get(name)!, this.peers.get(c)!];
        this.enqueue(a, b.name, 'gossip', encodeState(a.core.fullState()));
        this.enqueue(b, a.name, 'gossip', encodeState(b.core.fullState()));
      }
    }
  }

  setPartition(names: Iterable<PeerName>, partition: number): void {
    for (const n of names) this.peers.get(n)!.partition = partition;
    this.refreshReachability();
  }

  /** Persist, then send: what the daemon wrapper does after every input. */
  flush(p: SimPeer): void {
    for (const r of p.core.takeChanges().records) applyRecord(p.disk, r);
    p.core.takeEvents();
    for (const o of p.core.takeOutgoing()) this.send(p, o);
  }

  private enqueue(from: SimPeer, to: PeerName, kind: InFlight['kind'], buf: Buffer): void {
    if (this.rnd() < this.loss) return;
    const copies = this.rnd() < this.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.queue.push({ at: this.now + 1 + Math.floor(this.rnd() * this.maxDelay), seq: this.seq++, to, from: from.name, kind, buf });
    }
  }

  private send(from: SimPeer, o: Outgoing): void {
    if (o.kind === 'unicast') {
      if (this.reachableFrom(from).has(o.dst)) this.enqueue(from, o.dst, 'unicast', encodeUnicast(o.msg));
      return;
    }
    const buf = encodeState(o.msg);
    for (const q of this.reachableFrom(from)) this.enqueue(from, q, 'broadcast', buf);
  }

  /** Periodic gossip: every live peer sends its full state to `fanout` random reachable peers. */
  gossipRound(fanout = 2): void {
    for (const p of this.live()) {
      const targets = [...this.reachableFrom(p)];
      if (targets.length === 0) continue;
      const buf = encodeState(p.core.fullState());
      for (let i = 0; i < fanout; i++) this.enqueue(p, targets[Math.floor(this.rnd() * targets.length)]!, 'gossip', buf);
    }
  }

  private deliver(m: InFlight): void {
    const p = this.peers.get(m.to);
    const from = this.peers.get(m.from);
    // a message in flight across a partition that formed meanwhile is lost
    if (!p || !p.alive || !from || from.partition !== p.partition || p.partition < 0) return;
    this.delivered++;
    if (m.kind === 'unicast') {
      p.core.onUnicast(m.from, decodeUnicast(m.buf), this.now);
    } else {
      const delta = p.core.onState(decodeState(m.buf), this.now);
      if (m.kind === 'gossip' && delta) {
        const targets = [...this.reachableFrom(p)].filter((n) => n !== m.from);
        const buf = encodeState(delta);
        for (let i = 0; i < 2 && targets.length; i++) this.enqueue(p, targets[Math.floor(this.rnd() * targets.length)]!, 'gossip', buf);
      }
    }
    this.flush(p);
  }

  /**
   * Advance time by `ms`: deliver due messages in time order, tick every core each simulated
   * second, then run `check` (so the invariant is checked after every simulated second).
   */
  run(ms: number, check?: () => void): void {
    const end = this.now + ms;
    while (this.now < end) {
      const step = Math.min(end, Math.floor(this.now / 1000) * 1000 + 1000);
      while ((this.queue.peek()?.at ?? Infinity) <= step) {
        const m = this.queue.pop()!;
        this.now = Math.max(this.now, m.at);
        this.deliver(m);
      }
      this.now = step;
      if (this.gossipEvery > 0 && step % this.gossipEvery === 0) this.gossipRound();
      if (step % 1000 === 0) {
        for (const p of this.live()) {
          p.core.tick(this.now);
          this.flush(p);
        }
        check?.();
      }
    }
  }

  get inFlight(): number {
    return this.queue.size;
  }

  /** Run until no message is in flight (bounded). */
  settle(maxMs = 60_000, check?: () => void): void {
    const stop = this.now + maxMs;
    while (this.queue.size > 0 && this.now < stop) this.run(1000, check);
  }

  /** Allocate on `name` and report the outcome through the returned holder. */
  allocate(name: PeerName, owner: string, address: number | null = null): { done: boolean; offset?: number; error?: string } {
    const p = this.peers.get(name)!;
    const out: { done: boolean; offset?: number; error?: string } = { done: false };
    p.core.allocate(owner, address, this.now, (err, offset) => {
      out.done = true;
      if (err) out.error = `${err.code}: ${err.message}`;
      else out.offset = offset!;
    });
    this.flush(p);
    return out;
  }
}

/**
 * The safety invariant: among live peers that still act (in a ring, not removed, not left), no
 * address is believed owned by two peers, no address is allocated twice, and every allocation
 * lies in its peer's own ranges. `ignore`: peers the cluster considers dead (a test that
 * removes a live peer on purpose). Throws a description of the first violation.
 */
export function checkInvariant(net: SimNetwork, ignore: ReadonlySet<PeerName> = new Set()): void {
  const owned: Array<[number, number, PeerName]> = [];
  const allocated = new Map<number, PeerName>();
  for (const p of net.live()) {
    if (ignore.has(p.name)) continue;
    const c = p.core;
    if (!c.ring || c.removed || c.left) continue;
    const mine = c.ring.rangesOf(p.name);
    for (const r of mine) owned.push([r.start, r.end, p.name]);
    for (const [, o] of c.allocs.entries()) {
      const other = allocated.get(o);
      if (other) throw new Error(`address ${net.universe.format(o)} allocated on ${other} and ${p.name}`);
      allocated.set(o, p.name);
      if (!mine.some((r) => r.start <= o && o < r.end)) throw new Error(`${p.name} holds ${net.universe.format(o)} outside its ranges`);
    }
  }
  owned.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < owned.length; i++) {
    if (owned[i - 1]![1] > owned[i]![0]) {
      throw new Error(`${owned[i - 1]![2]} and ${owned[i]![2]} both own ${net.universe.format(owned[i]![0])}`);
    }
  }
}
