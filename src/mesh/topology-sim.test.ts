/**
 * Deterministic in-process simulation of topology gossip at scale: no sockets, no timers, a
 * seeded PRNG. Each round every live peer (1) handles the messages sent to it last round —
 * replies go back to the sender next round; (2) relays the records that were new to it (one
 * coalesced UPDATE) to min(2·log2 N, degree) random neighbours; (3) every SUMMARY_EVERY rounds
 * (staggered) sends its anti-entropy summary to one random neighbour; and every GC_EVERY rounds
 * runs removeUnreachable. A round stands for one TOPOLOGY_UPDATE_DEFER_MS tick, so anti-entropy
 * runs far more often than the real GOSSIP_INTERVAL_MS: the byte counts are pessimistic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerName } from './gossip-types.js';
import { peerNameFromBytes } from '../net/index.js';
import { Topology } from './topology.js';

/** GC ~1 s (PEER_GC_DEFER_MS) and anti-entropy ~1 s apart when a round is ~200 ms (30× more often than GOSSIP_INTERVAL_MS). */
const GC_EVERY = 5;
const SUMMARY_EVERY = 5;
const MAX_ROUNDS = 60;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Msg { from: number; buf: Buffer }

class Sim {
  readonly rnd: () => number;
  readonly names: PeerName[];
  readonly topo: Topology[];
  readonly adj: Set<number>[];
  readonly alive: boolean[];
  private inbox: Msg[][];
  /** Records to relay, each with the neighbour that brought it (-1: our own change). */
  private pending: Map<PeerName, number>[];
  bytes = 0;
  round = 0;

  /** n peers; the graph keeps each half [0, n/2) and [n/2, n) connected on its own. */
  constructor(readonly n: number, seed: number, readonly maxDegree = 8) {
    this.rnd = mulberry32(seed);
    this.names = Array.from({ length: n }, (_, i) => peerNameFromBytes(Buffer.from([0x02, 0x5e, (i * 7919) & 255, (i >> 8) & 255, i & 255, 1]), 0));
    this.topo = this.names.map((name, i) => new Topology(name, `host-${i}`, BigInt(1 + Math.floor(this.rnd() * 2 ** 48)) * 1000n + BigInt(i)));
    this.adj = this.names.map(() => new Set<number>());
    this.alive = this.names.map(() => true);
    this.inbox = this.names.map(() => []);
    this.pending = this.names.map(() => new Map());
    const half = n >> 1;
    const link = (a: number, b: number): boolean => {
      if (a === b || this.adj[a]!.has(b) || this.adj[a]!.size >= maxDegree || this.adj[b]!.size >= maxDegree) return false;
      this.adj[a]!.add(b);
      this.adj[b]!.add(a);
      return true;
    };
    for (const [lo, hi] of [[0, half], [half, n]] as const) {
      for (let i = lo + 1; i < hi; i++) {
        while (!link(i, lo + Math.floor(this.rnd() * (i - lo)))) { /* retry another parent */ }
      }
    }
    // extra random links up to ~5 average degree: like two sites, the halves are joined by few links
    for (let k = 0; k < 4 + n / 50; k++) link(Math.floor(this.rnd() * half), half + Math.floor(this.rnd() * (n - half)));
    for (let k = 0; k < n * 3; k++) {
      const a = Math.floor(this.rnd() * n);
      link(a, a < half ? Math.floor(this.rnd() * half) : half + Math.floor(this.rnd() * (n - half)));
    }
    for (let i = 0; i < n; i++) this.syncLocal(i);
  }

  address(i: number): string {
    return `198.18.${i >> 8}.${i & 255}:6783`;
  }

  /** Make peer i's record reflect adj[i]; queue its record for relay when it changed. */
  syncLocal(i: number, established = (_j: number) => true): void {
    const changed = this.topo[i]!.setLocalConnections([...this.adj[i]!].map((j) => ({
      peer: this.names[j]!, address: this.address(j), outbound: i < j, established: established(j),
    })));
    if (changed) this.pending[i]!.set(this.names[i]!, -1);
  }

  unlink(a: number, b: number): void {
    this.adj[a]!.delete(b);
    this.adj[b]!.delete(a);
  }

  private send(from: number, to: number, buf: Buffer): void {
    this.bytes += buf.length;
    if (this.alive[to]) this.inbox[to]!.push({ from, buf });
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
    const fanout = Math.ceil(2 * Math.log2(this.n));
    for (let i = 0; i < this.n; i++) {
      if (!this.alive[i]) continue;
      const t = this.topo[i]!;
      for (const m of inbox[i]!) {
        const r = t.handleMessage(m.buf);
        for (const reply of r.replies) this.send(i, m.from, reply);
        for (const c of r.changed) if (!this.pending[i]!.has(c)) this.pending[i]!.set(c, c === t.name ? -1 : m.from);
      }
    }
    for (let i = 0; i < this.n; i++) {
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

interface Measured { joinRounds: number; joinBytesPerPeer: number; steadyBytesPerPeerRound: number; stateBytes: number }

function joinAndSteady(n: number, seed: number): { sim: Sim; m: Measured } {
  const sim = new Sim(n, seed);
  const joinRounds = sim.runUntil(() => sim.converged());
  const joinBytesPerPeer = sim.bytes / n;
  // steady state: 2 links flap (established toggles at both ends) per round, anti-entropy runs
  const rounds = 12;
  const before = sim.bytes;
  const down = new Set<string>();
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < 2; k++) {
      const a = Math.floor(sim.rnd() * n);
      const [b] = [...sim.adj[a]!];
      if (b === undefined) continue;
      const key = `${Math.min(a, b)}-${Math.max(a, b)}`;
      if (down.has(key)) down.delete(key); else down.add(key);
      for (const x of [a, b]) sim.syncLocal(x, (j) => !down.has(`${Math.min(x, j)}-${Math.max(x, j)}`));
    }
    sim.step();
  }
  const steadyBytesPerPeerRound = (sim.bytes - before) / n / rounds;
  sim.runUntil(() => sim.converged());
  const stateBytes = sim.topo[0]!.encodeFull().length;
  return { sim, m: { joinRounds, joinBytesPerPeer, steadyBytesPerPeerRound, stateBytes } };
}

function report(n: number, m: Measured): void {
  console.log(`sim N=${n}: joined in ${m.joinRounds} rounds, ${(m.joinBytesPerPeer / 1024).toFixed(1)} KiB/peer to join `
    + `(full state ${(m.stateBytes / 1024).toFixed(1)} KiB = ${(m.stateBytes / n).toFixed(0)} B/peer); `
    + `steady state with 2 link flaps/round: ${m.steadyBytesPerPeerRound.toFixed(0)} B/peer/round`);
}

test('simulation: 250 vs 1000 peers converge; steady-state gossip per peer stays flat as N grows 4×', () => {
  const small = joinAndSteady(250, 7).m;
  report(250, small);
  const { sim, m: big } = joinAndSteady(1000, 11);
  report(1000, big);
  assert.ok(big.joinRounds <= 40);
  const ratio = big.steadyBytesPerPeerRound / small.steadyBytesPerPeerRound;
  console.log(`sim: steady bytes/peer/round ratio N=1000 vs N=250: ${ratio.toFixed(2)}`);
  assert.ok(ratio <= 2, `ratio ${ratio}`);

  // a peer leaves: its neighbours drop it; everyone garbage-collects it and it stays gone
  const n = sim.n;
  const leaver = [...Array(n).keys()].find((i) => i > 0 && i < n / 2 && stillConnectedWithout(sim, i))!;
  const neighbours = [...sim.adj[leaver]!];
  sim.alive[leaver] = false;
  for (const j of neighbours) {
    sim.unlink(leaver, j);
    sim.syncLocal(j);
  }
  const gone = sim.names[leaver]!;
  const leaveRounds = sim.runUntil(() => sim.liveIds().every((i) => sim.topo[i]!.get(gone) === undefined));
  console.log(`sim N=${n}: departed peer garbage-collected everywhere after ${leaveRounds} rounds`);
  for (let r = 0; r < 3 * GC_EVERY; r++) sim.step();
  assert.ok(sim.liveIds().every((i) => sim.topo[i]!.get(gone) === undefined), 'departed peer resurrected');
  assert.ok(sim.converged());

  // a partition into the two halves, then it heals
  const half = n >> 1;
  const cross: [number, number][] = [];
  for (let a = 0; a < half; a++) for (const b of sim.adj[a]!) if (b >= half) cross.push([a, b]);
  for (const [a, b] of cross) sim.unlink(a, b);
  for (const [a, b] of cross) { sim.syncLocal(a); sim.syncLocal(b); }
  const left = sim.liveIds().filter((i) => i < half);
  const right = sim.liveIds().filter((i) => i >= half);
  const splitRounds = sim.runUntil(() => sim.converged(left) && sim.converged(right));
  console.log(`sim N=${n}: partition (${cross.length} links cut): each half dropped the other after ${splitRounds} rounds`);
  for (const [a, b] of cross) { sim.adj[a]!.add(b); sim.adj[b]!.add(a); }
  for (const [a, b] of cross) { sim.syncLocal(a); sim.syncLocal(b); }
  const healRounds = sim.runUntil(() => sim.converged());
  console.log(`sim N=${n}: partition healed, all ${sim.liveIds().length} peers converged after ${healRounds} rounds`);
});

/** True when removing peer x leaves the whole graph, and x's half on its own, connected. */
function stillConnectedWithout(sim: Sim, x: number): boolean {
  const half = sim.n >> 1;
  const reach = (from: number, keep: (j: number) => boolean): number => {
    const seen = new Set([from]);
    const queue = [from];
    while (queue.length > 0) {
      for (const j of sim.adj[queue.pop()!]!) if (j !== x && keep(j) && !seen.has(j)) { seen.add(j); queue.push(j); }
    }
    return seen.size;
  };
  const inHalf = (j: number): boolean => (j < half) === (x < half);
  const start = [...Array(sim.n).keys()].find((j) => j !== x && inHalf(j))!;
  return reach(start, () => true) === sim.n - 1 && reach(start, inHalf) === (x < half ? half : sim.n - half) - 1;
}
