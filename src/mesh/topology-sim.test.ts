/**
 * The topology simulation (test/support/topology-sim.ts: real Topology per peer, seeded, no
 * I/O) and its version-vector model (test/support/topology-model.ts, for N up to 5,000):
 * convergence from scratch, steady state, departures, partitions, and the cost of joins —
 * as deterministic property tests (fixed seeds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GC_EVERY, Sim, measureJoin, type JoinCost } from '../../test/support/topology-sim.js';
import { modelJoin } from '../../test/support/topology-model.js';

interface Measured { joinRounds: number; joinBytesPerPeer: number; steadyBytesPerPeerRound: number; stateBytes: number }

function joinAndSteady(n: number, seed: number, joiners = 0): { sim: Sim; m: Measured } {
  const sim = new Sim(n, seed, 8, joiners);
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
  const { sim, m: big } = joinAndSteady(1000, 11, 100);
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

  // 100 peers join at once, each linked to 2 existing peers: the target is ≤ 12 rounds
  const before = sim.bytes;
  for (let j = n; j < n + 100; j++) {
    const contacts = [0, 1].map(() => { for (;;) { const c = Math.floor(sim.rnd() * n); if (sim.alive[c] && !sim.adj[j]!.has(c)) return c; } });
    sim.join(j, contacts);
  }
  const joinRounds = sim.runUntil(() => sim.converged());
  console.log(`sim N=${n}: 100 simultaneous joins converged after ${joinRounds} rounds, ${((sim.bytes - before) / sim.liveIds().length / 100).toFixed(0)} B per peer per join`);
  assert.ok(joinRounds <= 12, `${joinRounds} rounds`);
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

// ───────────── joins: cost per existing peer does not grow with N ─────────────

function joinLine(kind: string, r: JoinCost): string {
  return `${kind} N=${r.n}, ${r.joiners} joining at once: converged after ${r.rounds} rounds; per existing peer per join `
    + `${r.bytesPerExistingPerJoin.toFixed(0)} B in ${r.msgsPerExistingPerJoin.toFixed(2)} messages (most for one peer `
    + `${r.maxBytesPerExistingPerJoin.toFixed(0)} B); a joiner received ${(r.bytesPerJoiner / 1024).toFixed(1)} KiB`;
}

/**
 * What a join costs an existing peer: the records that change (the joiner's and its contacts'),
 * each arriving once per neighbour that relays it (≤ degree), plus its share of anti-entropy.
 * Bound per changed record: 2,500 B (a ~250 B record × ≤ 10 neighbours).
 */
const BYTES_PER_CHANGED_RECORD = 2_500;

test('property (model, fixed seed): any join of 1–100 peers into 60–400 converges within 12 rounds at bounded cost per existing peer', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 60, max: 400 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 3 }),
    (seed, n, joiners, contacts) => {
      const r = modelJoin(n, joiners, seed, contacts);
      assert.ok(r.rounds <= 12, `rounds ${r.rounds}`);
      assert.ok(r.bytesPerExistingPerJoin <= (contacts + 1) * BYTES_PER_CHANGED_RECORD, `bytes ${r.bytesPerExistingPerJoin}`);
      assert.ok(r.msgsPerExistingPerJoin <= (contacts + 1) * 10, `messages ${r.msgsPerExistingPerJoin}`);
    }), { seed: 17, numRuns: 25, includeErrorInReport: true });
});

test('the model agrees with the real simulation on a join (N=100 and 250, 100 joining)', () => {
  for (const [n, seed] of [[100, 101], [250, 251]] as const) {
    const real = measureJoin(n, 100, seed);
    const model = modelJoin(n, 100, seed);
    console.log(joinLine('sim  ', real));
    console.log(joinLine('model', model));
    assert.ok(Math.abs(real.rounds - model.rounds) <= 2, `rounds ${real.rounds} vs ${model.rounds}`);
    const ratio = model.bytesPerExistingPerJoin / real.bytesPerExistingPerJoin;
    assert.ok(ratio > 0.75 && ratio < 1.33, `bytes per existing peer per join: model/real ${ratio.toFixed(2)}`);
  }
});

test('100 simultaneous joins at N=100, 1,000 and 5,000 (model): ≤ 12 rounds, join bytes per existing peer ≤ 2× those at 100', () => {
  const at = [100, 1_000, 5_000].map((n) => modelJoin(n, 100, n + 1));
  for (const r of at) console.log(joinLine('model', r));
  const [small, mid, big] = at as [JoinCost, JoinCost, JoinCost];
  for (const r of [mid, big]) {
    assert.ok(r.rounds <= 12, `N=${r.n}: ${r.rounds} rounds`);
    const ratio = r.bytesPerExistingPerJoin / small.bytesPerExistingPerJoin;
    console.log(`model: join bytes per existing peer, N=${r.n} vs N=100: ${ratio.toFixed(2)}×`);
    assert.ok(ratio <= 2, `ratio ${ratio}`);
    assert.ok(r.msgsPerExistingPerJoin <= small.msgsPerExistingPerJoin * 2, 'messages per existing peer per join grow with N');
  }
});
