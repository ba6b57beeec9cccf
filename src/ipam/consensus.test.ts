import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Consensus, type ElectorState } from './consensus.js';
import { prng, simName } from '../../test/support/ipam-sim.js';

const RETRY = 3_000;

/**
 * Electors joining one by one over a lossy, duplicating, reordering network, with partitions:
 * every decision any elector ever learns must be the same one; once everyone is connected and
 * messages flow, a decision is reached.
 */
function run(seed: number, n: number, extra: number): void {
  const rnd = prng(seed);
  const total = n + extra; // a few more peers than N may start (N says who is expected, not a cap)
  const names = Array.from({ length: total }, (_, i) => simName(i + 1));
  const electors: Consensus[] = [];
  const partition: number[] = [];
  let pool: Array<{ to: number; states: ElectorState[] }> = [];
  let decided: string | null = null;
  let now = 0;
  const reach = (i: number): Set<string> =>
    new Set(electors.map((_, j) => j).filter((j) => j !== i && partition[j] === partition[i]).map((j) => names[j]!));
  const observe = (c: Consensus): void => {
    const d = c.decision();
    if (!d) return;
    // Paxos may choose the same value at several ballots; the value must be unique
    const key = d.members.join(',');
    if (decided === null) decided = key;
    assert.equal(key, decided, 'two different values were chosen');
  };
  const think = (i: number): void => {
    const c = electors[i]!;
    if (c.think(reach(i), now, RETRY)) {
      for (const j of reach(i)) pool.push({ to: names.indexOf(j), states: [c.mine()] });
    }
    observe(c);
  };
  for (let step = 0; step < 400; step++) {
    now += Math.floor(rnd() * 400);
    const r = rnd();
    if (electors.length < total && (r < 0.05 || step % 25 === 0)) {
      const i = electors.length;
      electors.push(new Consensus(names[i]!, n));
      partition.push(rnd() < 0.3 ? 1 : 0);
      // a new connection: full states both ways with a random reachable peer
      const peers = [...reach(i)];
      if (peers.length) {
        const j = names.indexOf(peers[Math.floor(rnd() * peers.length)]!);
        pool.push({ to: j, states: electors[i]!.all() }, { to: i, states: electors[j]!.all() });
      }
      think(i);
    } else if (r < 0.12 && electors.length) {
      // partitions form and heal
      const i = Math.floor(rnd() * electors.length);
      partition[i] = partition[i] === 0 ? 1 : 0;
    } else if (r < 0.8 && pool.length) {
      const k = Math.floor(rnd() * pool.length);
      const m = pool[k]!;
      const fate = rnd();
      if (fate < 0.85) pool.splice(k, 1); // otherwise: delivered again later (duplication)
      if (fate > 0.08) {
        electors[m.to]!.merge(m.states);
        think(m.to);
      }
    } else if (electors.length) {
      // periodic gossip: full state to a random reachable peer, and a tick
      const i = Math.floor(rnd() * electors.length);
      const peers = [...reach(i)];
      if (peers.length) pool.push({ to: names.indexOf(peers[Math.floor(rnd() * peers.length)]!), states: electors[i]!.all() });
      think(i);
    }
  }
  // heal everything and let gossip run: a decision must be reached
  partition.fill(0);
  while (electors.length < total) electors.push(new Consensus(names[electors.length]!, n));
  for (let round = 0; round < 40 && electors.some((c) => c.decision() === null); round++) {
    now += RETRY;
    for (const m of pool) electors[m.to]!.merge(m.states);
    pool = [];
    for (let i = 0; i < total; i++) for (let j = 0; j < total; j++) if (i !== j) electors[j]!.merge(electors[i]!.all());
    for (let i = 0; i < total; i++) think(i);
  }
  for (const c of electors) assert.ok(c.decision(), 'no decision after healing');
}

test('consensus: one value at most, whatever the join order, loss, duplication, reordering and partitions', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 9 }), (seed, n) => run(seed, n, 0)), { numRuns: 300, includeErrorInReport: true });
});

test('consensus: the quorum is a strict majority of N and the value is the promisers', () => {
  const a = new Consensus(simName(1), 4);
  assert.equal(a.quorum, 3);
  const b = new Consensus(simName(2), 4);
  const c = new Consensus(simName(3), 4);
  const all = [a, b, c];
  const reach = (x: Consensus): Set<string> => new Set(all.filter((y) => y !== x).map((y) => y.self));
  for (let round = 0; round < 5; round++) {
    for (const x of all) for (const y of all) if (x !== y) y.merge(x.all());
    for (const x of all) x.think(reach(x), round, RETRY);
  }
  const d = a.decision();
  assert.ok(d);
  assert.deepEqual(d.members, [simName(1), simName(2), simName(3)]);
  assert.equal(d.ballot.proposer, simName(1));
  // an elector with another N is ignored and reported
  const odd = new Consensus(simName(9), 5);
  a.merge(odd.all());
  assert.deepEqual(a.mismatched().map((s) => s.name), [simName(9)]);
});
