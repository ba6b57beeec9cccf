/**
 * The topology simulation's rounds on version vectors, for N beyond what holding a real
 * Topology per peer allows (~530·N² B: 13 GB at N = 5,000). Same seeded graph
 * ({@link simGraph}), same rules as {@link Sim}: new records relayed once, coalesced, to
 * min(2·log2 N, degree) random neighbours (not back to a sole bringer); a summary to one
 * random neighbour every SUMMARY_EVERY rounds (staggered); on a new link both ends send their
 * full state up to FULL_ON_CONNECT_MAX_PEERS records, else a summary. A peer's state is one
 * Int32Array of the versions it holds; a record's size is the real encoding's
 * (`encodeRecord` of its current connections), an UPDATE's is the real header plus its records.
 *
 * Modelled, not run: an anti-entropy exchange between two differing peers is charged the real
 * summary size per level it descends (log16 N), 15 B per differing digest entry and the records
 * sent, and completes in the next round (the real one needs up to 2·depth round trips). The join
 * scenario has no departures, so there is no GC. Checked against the real {@link Sim} at the
 * sizes both can run (topology-sim.test.ts).
 */
import { encodeRecord } from '../../src/mesh/topology-codec.js';
import { Topology } from '../../src/mesh/topology.js';
import { FULL_ON_CONNECT_MAX_PEERS } from '../../src/mesh/topology-keeper.js';
import { prng } from './ipam-sim.js';
import { MAX_ROUNDS, SUMMARY_EVERY, pickContacts, simAddress, simGraph, simPeerName, type JoinCost } from './topology-sim.js';

/** UPDATE header: kind u8 · sender name(6) · count varint (≤ 3 bytes here). */
const UPDATE_HEADER = 1 + 6 + 2;
/** Flat digest entry: name 6 + uid 8 + version varint. */
const DIGEST_ENTRY = 15;
/** A summary's size once every top bucket holds records (its size at any larger N). */
const SUMMARY_BYTES = ((): number => {
  const t = new Topology(simPeerName(0), 'x', 1n);
  for (let i = 1; i < 200; i++) t.applyUpdate(new Topology(simPeerName(i), 'x', 1n).encodeSubset([])!);
  return t.encodeSummary().length;
})();

interface ModelMsg { from: number; kind: 'update' | 'summary'; ids: number[]; vers: number[] }

export class ModelSim {
  readonly rnd: () => number;
  readonly adj: Set<number>[];
  readonly alive: boolean[];
  /** held[i][j]: the version of j's record peer i holds (0: none). */
  readonly held: Int32Array[];
  /** Current version and record size of each peer's own record. */
  readonly version: Int32Array;
  readonly recSize: Int32Array;
  readonly recvBytes: Float64Array;
  readonly recvMsgs: Float64Array;
  private inbox: ModelMsg[][];
  private pending: Map<number, number>[];
  bytes = 0;
  round = 0;

  /** n peers, already converged (every peer holds every record); `joiners` more waiting. */
  constructor(readonly n: number, seed: number, readonly maxDegree = 8, readonly joiners = 0) {
    const cap = n + joiners;
    this.rnd = prng(seed);
    // the real Sim draws one uid per peer first: keep the PRNG streams aligned
    for (let i = 0; i < cap; i++) this.rnd();
    this.adj = simGraph(n, this.rnd, maxDegree, cap);
    this.alive = Array.from({ length: cap }, (_, i) => i < n);
    this.held = Array.from({ length: cap }, () => new Int32Array(cap));
    this.version = new Int32Array(cap).fill(1);
    this.recSize = new Int32Array(cap);
    this.recvBytes = new Float64Array(cap);
    this.recvMsgs = new Float64Array(cap);
    this.inbox = Array.from({ length: cap }, () => []);
    this.pending = Array.from({ length: cap }, () => new Map());
    for (let i = 0; i < cap; i++) {
      this.refreshRecord(i, i < n ? 2 : 1);
      this.held[i]![i] = this.version[i]!;
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) this.held[i]![j] = this.version[j]!;
  }

  get size(): number {
    return this.alive.length;
  }

  private refreshRecord(i: number, version: number): void {
    this.version[i] = version;
    const conns = new Map([...this.adj[i]!].map((j) => [simPeerName(j), { address: simAddress(j), outbound: i < j, established: true }] as const));
    this.recSize[i] = encodeRecord({ name: simPeerName(i), nickname: `host-${i}`, uid: 1n << 50n, version, connections: conns }).length;
  }

  /** Peer i's connections changed: bump its record and queue it for relay. */
  private bump(i: number): void {
    this.refreshRecord(i, this.version[i]! + 1);
    this.held[i]![i] = this.version[i]!;
    this.pending[i]!.set(i, -1);
  }

  private updateBytes(ids: readonly number[]): number {
    let b = UPDATE_HEADER;
    for (const id of ids) b += this.recSize[id]!;
    return b;
  }

  private deliver(from: number, to: number, msg: ModelMsg, bytes: number): void {
    this.bytes += bytes;
    if (!this.alive[to]) return;
    this.recvBytes[to]! += bytes;
    this.recvMsgs[to]! += 1;
    this.inbox[to]!.push(msg);
  }

  private sendUpdate(from: number, to: number, ids: number[]): void {
    if (ids.length === 0) return;
    this.deliver(from, to, { from, kind: 'update', ids, vers: ids.map((id) => this.held[from]![id]!) }, this.updateBytes(ids));
  }

  private heldIds(i: number): number[] {
    const out: number[] = [];
    const h = this.held[i]!;
    for (let j = 0; j < h.length; j++) if (h[j]! > 0) out.push(j);
    return out;
  }

  link(a: number, b: number): void {
    this.adj[a]!.add(b);
    this.adj[b]!.add(a);
    this.bump(a);
    this.bump(b);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const ids = this.heldIds(x);
      if (ids.length <= FULL_ON_CONNECT_MAX_PEERS) this.sendUpdate(x, y, ids);
      else this.deliver(x, y, { from: x, kind: 'summary', ids: [], vers: [] }, SUMMARY_BYTES);
    }
  }

  join(j: number, contacts: number[]): void {
    this.alive[j] = true;
    for (const c of contacts) this.link(j, c);
  }

  /** Anti-entropy between `to` (received a summary) and `from`: each ends up with the newer of every record. */
  private exchange(to: number, from: number): void {
    const a = this.held[to]!;
    const b = this.held[from]!;
    const toFrom: number[] = [];
    const fromTo: number[] = [];
    for (let j = 0; j < a.length; j++) {
      if (a[j]! > b[j]!) toFrom.push(j);
      else if (b[j]! > a[j]!) fromTo.push(j);
    }
    const d = toFrom.length + fromTo.length;
    if (d === 0) return;
    const levels = Math.max(1, Math.ceil(Math.log(Math.max(2, a.length)) / Math.log(16)) - 1);
    // deeper summaries and digests of the differing buckets, both ways
    const overhead = levels * SUMMARY_BYTES + d * DIGEST_ENTRY;
    this.bytes += overhead;
    this.recvBytes[from]! += overhead / 2;
    this.recvBytes[to]! += overhead / 2;
    this.sendUpdate(to, from, toFrom);
    this.sendUpdate(from, to, fromTo);
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
    this.inbox = this.alive.map(() => []);
    let live = 0;
    for (const a of this.alive) if (a) live++;
    const fanout = Math.ceil(2 * Math.log2(Math.max(2, live)));
    for (let i = 0; i < this.size; i++) {
      if (!this.alive[i]) continue;
      const h = this.held[i]!;
      for (const m of inbox[i]!) {
        if (m.kind === 'summary') {
          this.exchange(i, m.from);
          continue;
        }
        for (let k = 0; k < m.ids.length; k++) {
          const id = m.ids[k]!;
          const v = m.vers[k]!;
          if (id === i || v <= h[id]!) continue;
          h[id] = v;
          if (!this.pending[i]!.has(id)) this.pending[i]!.set(id, m.from);
        }
      }
    }
    for (let i = 0; i < this.size; i++) {
      if (!this.alive[i]) continue;
      const p = this.pending[i]!;
      if (p.size > 0) {
        const ids = [...p.keys()];
        if (!p.has(i)) ids.push(i);
        ids.sort((x, y) => x - y);
        const only = new Set(p.values());
        for (const j of this.pick(i, fanout)) if (!(only.size === 1 && only.has(j))) this.sendUpdate(i, j, ids);
        p.clear();
      }
      if ((this.round + i) % SUMMARY_EVERY === 0) {
        const [j] = this.pick(i, 1);
        if (j !== undefined) this.deliver(i, j, { from: i, kind: 'summary', ids: [], vers: [] }, SUMMARY_BYTES);
      }
    }
    this.round++;
  }

  converged(): boolean {
    for (let i = 0; i < this.size; i++) {
      if (!this.alive[i]) continue;
      const h = this.held[i]!;
      for (let j = 0; j < this.size; j++) if (h[j] !== (this.alive[j] ? this.version[j] : 0)) return false;
    }
    return true;
  }

  runUntil(done: () => boolean, limit = MAX_ROUNDS): number {
    for (let r = 1; r <= limit; r++) {
      this.step();
      if (done()) return r;
    }
    throw new Error(`model not converged after ${limit} rounds`);
  }
}

/** {@link measureJoin} on the model: n converged peers, then `joiners` at once. */
export function modelJoin(n: number, joiners: number, seed: number, contacts = 2): JoinCost {
  const sim = new ModelSim(n, seed, 8, joiners);
  for (let j = n; j < n + joiners; j++) {
    sim.join(j, pickContacts(sim.rnd, (i) => sim.alive[i]!, (i) => sim.adj[i]!.size, n, contacts, sim.maxDegree + 2));
  }
  const rounds = sim.runUntil(() => sim.converged());
  let sum = 0;
  let max = 0;
  let msgs = 0;
  for (let i = 0; i < n; i++) {
    sum += sim.recvBytes[i]!;
    max = Math.max(max, sim.recvBytes[i]!);
    msgs += sim.recvMsgs[i]!;
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
