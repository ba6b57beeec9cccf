/**
 * Deterministic in-process simulation of topology gossip at scale, on the real {@link Topology}
 * (real codec, real merge, real anti-entropy): no sockets, no timers, a seeded PRNG. Each round
 * every live peer (1) handles the messages sent to it last round — replies go back to the sender
 * next round; (2) relays the records that were new to it (one coalesced UPDATE) to
 * min(2·log2 N, degree) random neighbours, as GossipHub does; (3) every SUMMARY_EVERY rounds
 * (staggered) sends its anti-entropy summary to one random neighbour; and every GC_EVERY rounds
 * runs removeUnreachable. A new link makes both ends send what TopologyKeeper.sendFullTo sends
 * (everything up to FULL_ON_CONNECT_MAX_PEERS records, else the summary). A round stands for one
 * TOPOLOGY_UPDATE_DEFER_MS tick plus a hop, so anti-entropy runs far more often than the real
 * GOSSIP_INTERVAL_MS: the byte counts are pessimistic.
 *
 * Every peer holds a full Topology (~530 B per record), so N peers cost ~530·N² B: fine up to
 * ~1,100 peers. {@link ModelSim} (topology-model.ts) runs the same rounds on version vectors for
 * larger N and is checked against this one.
 */
import assert from 'node:assert/strict';
import type { PeerName } from '../../src/mesh/index.js';
import { peerNameFromBytes } from '../../src/net/index.js';
import { Topology } from '../../src/mesh/topology.js';
import { FULL_ON_CONNECT_MAX_PEERS } from '../../src/mesh/topology-keeper.js';
import { prng } from './ipam-sim.js';

/** GC ~1 s (PEER_GC_DEFER_MS) and anti-entropy ~1 s apart when a round is ~200 ms. */
export const GC_EVERY = 5;
export const SUMMARY_EVERY = 5;
export const MAX_ROUNDS = 60;

interface Msg { from: number; buf: Buffer }

/** The peer name of simulated peer i (distinct, spread over the hash buckets). */
export function simPeerName(i: number): PeerName {
  return peerNameFromBytes(Buffer.from([0x02, 0x5e, (i * 7919) & 255, (i >> 8) & 255, i & 255, 1]), 0);
}

/** Simulated address of peer i. */
export function simAddress(i: number): string {
  return `198.18.${i >> 8}.${i & 255}:6783`;
}

/**
 * The seeded graph: each half [0, n/2) and [n/2, n) is a random tree plus random links, the
 * halves joined by few links (two sites), degree ≤ maxDegree, average ~5.
 */
export function simGraph(n: number, rnd: () => number, maxDegree: number, capacity = n): Set<number>[] {
  const adj = Array.from({ length: capacity }, () => new Set<number>());
  const half = n >> 1;
  const link = (a: number, b: number): boolean => {
    if (a === b || adj[a]!.has(b) || adj[a]!.size >= maxDegree || adj[b]!.size >= maxDegree) return false;
    adj[a]!.add(b);
    adj[b]!.add(a);
    return true;
  };
  for (const [lo, hi] of [[0, half], [half, n]] as const) {
    for (let i = lo + 1; i < hi; i++) {
      while (!link(i, lo + Math.floor(rnd() * (i - lo)))) { /* retry another parent */ }
    }
  }
  for (let k = 0; k < 4 + n / 50; k++) link(Math.floor(rnd() * half), half + Math.floor(rnd() * (n - half)));
  for (let k = 0; k < n * 3; k++) {
    const a = Math.floor(rnd() * n);
    link(a, a < half ? Math.floor(rnd() * half) : half + Math.floor(rnd() * (n - half)));
  }
  return adj;
}

/** `k` distinct existing peers for joiner `j` to link to: alive, below `maxDegree`, seeded. */
export function pickContacts(rnd: () => number, alive: (i: number) => boolean, degree: (i: number) => number, existing: number, k: number, maxDegree: number): number[] {
  const out: number[] = [];
  for (let tries = 0; out.length < k && tries < 100 * k; tries++) {
    const c = Math.floor(rnd() * existing);
    if (alive(c) && degree(c) < maxDegree && !out.includes(c)) out.push(c);
  }
  return out;
}

export class Sim {
  readonly rnd: () => number;
  readonly names: PeerName[];
  readonly topo: Topology[];
  readonly adj: Set<number>[];
  readonly alive: boolean[];
  private inbox: Msg[][];
  /** Records to relay, each with the neighbour that brought it (-1: our own change). */
  private pending: Map<PeerName, number>[];
  /** Bytes / messages every peer received. */
  readonly recvBytes: number[];
  readonly recvMsgs: number[];
  bytes = 0;
  round = 0;

  /**
   * n peers alive and linked (see {@link simGraph}); `joiners` more peers exist but are not
   * running yet (see {@link join}).
   */
  constructor(readonly n: number, seed: number, readonly maxDegree = 8, readonly joiners = 0) {
    const cap = n + joiners;
    this.rnd = prng(seed);
    this.names = Array.from({ length: cap }, (_, i) => simPeerName(i));
    this.topo = this.names.map((name, i) => new Topology(name, `host-${i}`, BigInt(1 + Math.floor(this.rnd() * 2 ** 48)) * 1000n + BigInt(i)));
    this.adj = simGraph(n, this.rnd, maxDegree, cap);
    this.alive = this.names.map((_, i) => i < n);
    this.inbox = this.names.map(() => []);
    this.pending = this.names.map(() => new Map());
    this.recvBytes = this.names.map(() => 0);
    this.recvMsgs = this.names.map(() => 0);
    for (let i = 0; i < n; i++) this.syncLocal(i);
  }

  get size(): number {
    return this.names.length;
  }

  /** Make peer i's record reflect adj[i]; queue its record for relay when it changed. */
  syncLocal(i: number, established = (_j: number) => true): void {
    const changed = this.topo[i]!.setLocalConnections([...this.adj[i]!].map((j) => ({
      peer: this.names[j]!, address: simAddress(j), outbound: i < j, established: established(j),
    })));
    if (changed) this.pending[i]!.set(this.names[i]!, -1);
  }

  unlink(a: number, b: number): void {
    this.adj[a]!.delete(b);
    this.adj[b]!.delete(a);
  }

  /** A new connection a–b: both records change, and each end sends the other its connect-time state. */
  link(a: number, b: number): void {
    this.adj[a]!.add(b);
    this.adj[b]!.add(a);
    this.syncLocal(a);
    this.syncLocal(b);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const t = this.topo[x]!;
      this.send(x, y, t.size <= FULL_ON_CONNECT_MAX_PEERS ? t.encodeFull() : t.encodeSummary());
    }
  }

  /** Start joiner `j` (≥ n) and link it to `contacts`. */
  join(j: number, contacts: number[]): void {
    assert.ok(j >= this.n && !this.alive[j], `peer ${j} is not a waiting joiner`);
    this.alive[j] = true;
    for (const c of contacts) this.link(j, c);
  }

  private send(from: number, to: number, buf: Buffer): void {
    this.bytes += buf.length;
    if (!this.alive[to]) return;
    this.recvBytes[to]! += buf.length;
    this.recvMsgs[to]! += 1;
    this.inbox[to]!.push({ from, buf });
  }

  private pick(i: number, k: number): number[] {
    const all = [...this.adj[i]!];
    for (let x = all.length - 1; x > 0; x--) {
      const y = Math.floor(this.rnd() * (x + 1));
      [all[x], all[y]] = [all[y]!, all[x]!];
    }
    return all.slice(0, k);
  }

  step(): void {
    const inbox = this.inbox;
    this.inbox = this.names.map(() => []);
    const live = this.alive.reduce((a, v) => a + (v ? 1 : 0), 0);
    const fanout = Math.ceil(2 * Math.log2(Math.max(2, live)));
    for (let i = 0; i < this.size; i++) {
      if (!this.alive[i]) continue;
      const t = this.topo[i]!;
      for (const m of inbox[i]!) {
        const r = t.handleMessage(m.buf);
        for (const reply of r.replies) this.send(i, m.from, reply);
        for (const c of r.changed) if (!this.pending[i]!.has(c)) this.pending[i]!.set(c, c === t.name ? -1 : m.from);
      }
    }
    for (let i = 0; i < this.size; i++) {
      if (!this.alive[i]) continue;
      const t = this.topo[i]!;
      if (this.round % GC_EVERY === GC_EVERY - 1) {
        for (const gone of t.removeUnreachable(new Set([...this.adj[i]!].map((j) => this.names[j]!)))) this.pending[i]!.delete(gone);
      }
      const p = this.pending[i]!;
      if (p.size > 0) {
        // one coalesced UPDATE to a random neighbour subset, skipping a neighbour that brought
        // every one of these records (per-neighbour encodings cost more than they save)
        const u = t.encodeSubset(p.keys(), { includeSelf: p.has(t.name) });
        const only = new Set(p.values());
        for (const j of this.pick(i, fanout)) if (u !== null && !(only.size === 1 && only.has(j))) this.send(i, j, u);
        p.clear();
      }
      if ((this.round + i) % SUMMARY_EVERY === 0) {
        const [j] = this.pick(i, 1);
        if (j !== undefined) this.send(i, j, t.encodeSummary());
      }
    }
    this.round++;
  }

  /** True when every live peer holds exactly the records of the live peers in `group` (default: all live). */
  converged(members: number[] = this.liveIds()): boolean {
    const ref = this.topo[members[0]!]!;
    if (ref.size !== members.length) return false;
    for (const i of members) {
      const own = this.topo[i]!.self;
      const seen = ref.get(own.name);
      if (seen === undefined || seen.uid !== own.uid || seen.version !== own.version) return false;
    }
    const sig = ref.encodeSummary().subarray(7);
    return members.every((i) => this.topo[i]!.encodeSummary().subarray(7).equals(sig));
  }

  liveIds(): number[] {
    return this.alive.flatMap((a, i) => (a ? [i] : []));
  }

  /** Run rounds until `done()` (checked after each round); returns the rounds taken. */
  runUntil(done: () => boolean, limit = MAX_ROUNDS): number {
    for (let r = 1; r <= limit; r++) {
      this.step();
      if (done()) return r;
    }
    assert.fail(`not done after ${limit} rounds`);
  }
}

/** What {@link measureJoin} found. */
export interface JoinCost {
  n: number;
  joiners: number;
  /** Rounds from the simultaneous joins until every peer holds every record. */
  rounds: number;
  /** Bytes / messages an existing peer received during the join, per joiner (mean over existing peers). */
  bytesPerExistingPerJoin: number;
  msgsPerExistingPerJoin: number;
  /** The most any one existing peer received, per joiner (a contact pays a joiner's bootstrap). */
  maxBytesPerExistingPerJoin: number;
  /** Bytes a joiner received until converged (mean). */
  bytesPerJoiner: number;
  /** Bytes per peer per round in steady state (anti-entropy only, no changes), after the join. */
  idleBytesPerPeerRound: number;
}

/** Converge n peers from scratch, then start `joiners` peers at once, each linked to `contacts` existing peers. */
export function measureJoin(n: number, joiners: number, seed: number, contacts = 2): JoinCost {
  const sim = new Sim(n, seed, 8, joiners);
  sim.runUntil(() => sim.converged());
  const before = sim.recvBytes.slice();
  const beforeMsgs = sim.recvMsgs.slice();
  for (let j = n; j < n + joiners; j++) {
    sim.join(j, pickContacts(sim.rnd, (i) => sim.alive[i]!, (i) => sim.adj[i]!.size, n, contacts, sim.maxDegree + 2));
  }
  const rounds = sim.runUntil(() => sim.converged());
  let sum = 0;
  let max = 0;
  let msgs = 0;
  for (let i = 0; i < n; i++) {
    const d = sim.recvBytes[i]! - before[i]!;
    sum += d;
    max = Math.max(max, d);
    msgs += sim.recvMsgs[i]! - beforeMsgs[i]!;
  }
  let joinerBytes = 0;
  for (let j = n; j < n + joiners; j++) joinerBytes += sim.recvBytes[j]!;
  const idle0 = sim.bytes;
  const idleRounds = 2 * SUMMARY_EVERY;
  for (let r = 0; r < idleRounds; r++) sim.step();
  return {
    n, joiners, rounds,
    bytesPerExistingPerJoin: sum / n / joiners,
    msgsPerExistingPerJoin: msgs / n / joiners,
    maxBytesPerExistingPerJoin: max / joiners,
    bytesPerJoiner: joinerBytes / joiners,
    idleBytesPerPeerRound: (sim.bytes - idle0) / sim.size / idleRounds,
  };
}
