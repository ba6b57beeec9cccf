import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInvariant, SimNetwork, simName, type SimPeer } from '../../test/support/ipam-sim.js';

/**
 * Deterministic simulation of 200 peers (seeded PRNG, no sockets, no timers; time is a number).
 * The invariant — no address owned or allocated by two live peers — is checked after every
 * simulated second and after every scenario step.
 */

const N = 200;
const names = Array.from({ length: N }, (_, i) => simName(i + 1));

function ringIds(net: SimNetwork): Set<string> {
  return new Set(net.live().flatMap((p) => (p.core.ring ? [p.core.ring.id] : [])));
}

function views(net: SimNetwork): string[] {
  return net.live().map((p) => JSON.stringify(p.core.ring?.all() ?? null));
}

/** Every live peer's view of the ring is identical (the CRDT converged). */
function assertConverged(net: SimNetwork): void {
  const [first, ...rest] = views(net);
  for (const r of rest) assert.equal(r, first, 'ring views differ after convergence');
}

/** Anti-entropy rounds until every view is identical (bounded). */
function converge(net: SimNetwork, check: () => void): void {
  net.settle(120_000, check);
  for (let i = 0; i < 12 && new Set(views(net)).size > 1; i++) {
    net.gossipRound(3);
    net.settle(120_000, check);
  }
}

/** Allocate `count` times on random live peers, run until all finish, return the results. */
function allocateMany(net: SimNetwork, peers: SimPeer[], count: number, tag: string, check: () => void) {
  const res = [];
  for (let i = 0; i < count; i++) {
    const p = peers[Math.floor(net.rnd() * peers.length)]!;
    res.push({ peer: p.name, r: net.allocate(p.name, `${tag}-${i}`) });
    if (i % 20 === 19) net.run(200, check);
  }
  // bounded: every allocation completes within IPAM_ALLOCATION_TIMEOUT_MS (lost requests time out)
  for (let t = 0; t < 60 && res.some(({ r }) => !r.done); t++) net.run(1000, check);
  net.settle(120_000, check);
  return res;
}

test('200 peers, consensus=200, joining one by one; allocate, partition and heal, kill and concurrent rmpeer', () => {
  const net = new SimNetwork({ seed: 42, loss: 0.01, dup: 0.01, gossipEveryMs: 30_000 });
  const check = (): void => checkInvariant(net);

  // join one by one: no ring may exist before a majority (101) has joined, then exactly one
  for (let i = 0; i < N; i++) {
    net.add(names[i]!, { consensus: N });
    net.run(1000, check);
    const ids = ringIds(net);
    if (i + 1 < Math.floor(N / 2) + 1) assert.equal(ids.size, 0, `ring created with only ${i + 1} peers`);
    assert.ok(ids.size <= 1, 'two rings');
    if (i === 50) {
      const st = net.peers.get(names[0]!)!.core.status();
      assert.equal(st.status, 'awaiting-consensus');
      assert.equal(st.quorum, 101);
      assert.match(st.reason!, /awaiting consensus: \d+ of 200 expected peers known/);
    }
  }
  converge(net, check);
  assert.equal(ringIds(net).size, 1);
  for (const p of net.live()) assert.equal(p.core.status().status, 'ready', `${p.name}: ${p.core.status().reason}`);
  assertConverged(net);

  // allocate everywhere (non-members of the consensus get space by donation)
  const first = allocateMany(net, net.live(), 400, 'a', check);
  for (const { r } of first) assert.ok(r.done && r.offset !== undefined, r.error);
  // idempotent: the same owner asking again gets the same address
  const again = net.allocate(first[0]!.peer, 'a-0');
  assert.equal(again.offset, first[0]!.r.offset);

  // partition into two halves; both sides keep allocating; heal
  const [left, right] = [net.live().slice(0, N / 2), net.live().slice(N / 2)];
  net.setPartition(right.map((p) => p.name), 1);
  net.run(2000, check);
  const during = [...allocateMany(net, left, 100, 'l', check), ...allocateMany(net, right, 100, 'r', check)];
  for (const { r } of during) assert.ok(r.done && r.offset !== undefined, r.error);
  net.setPartition(right.map((p) => p.name), 0);
  converge(net, check);
  assertConverged(net);

  // kill 10 peers; once their last state has spread, rmpeer each on 3 live peers at the same time
  const victims = net.live().filter((_, i) => i % 20 === 7).map((p) => p.name);
  for (const v of victims) net.kill(v);
  converge(net, check);
  for (const v of victims) {
    const issuers = net.live().filter(() => net.rnd() < 0.5).slice(0, 3);
    for (const q of issuers) {
      const res = q.core.rmpeer(v, net.now);
      assert.equal(res.name, v);
      net.flush(q);
    }
    check();
  }
  converge(net, check);
  assertConverged(net);
  const anyView = net.live()[0]!.core.ring!;
  for (const e of anyView.all()) assert.ok(!victims.includes(e.owner), `range ${e.start} still owned by removed ${e.owner}`);
  // rmpeer again is idempotent
  assert.equal(net.live()[1]!.core.rmpeer(victims[0]!, net.now).alreadyRemoved, true);

  // crash and restart a few peers: they keep their ranges and allocations
  const restarted = net.live().slice(5, 8);
  const before = restarted.map((p) => ({ alloc: p.core.allocs.entries(), owned: p.core.ownedCount() }));
  for (const p of restarted) net.kill(p.name);
  net.run(3000, check);
  restarted.forEach((p, i) => {
    net.restart(p.name);
    assert.deepEqual(p.core.allocs.entries(), before[i]!.alloc);
    assert.ok(p.core.ownedCount() >= before[i]!.owned - 1);
  });
  converge(net, check);

  // and allocation still works everywhere after all of that
  const after = allocateMany(net, net.live(), 100, 'z', check);
  for (const { r } of after) assert.ok(r.done && r.offset !== undefined, r.error);
  check();
});

test('200 peers, seed mode, joining one by one: non-seeds receive the ring, nobody guesses', () => {
  const net = new SimNetwork({ seed: 7, gossipEveryMs: 30_000 });
  const check = (): void => checkInvariant(net);
  const seeds = [names[150]!, names[3]!, names[77]!];
  // a non-seed that starts alone claims nothing
  net.add(names[0]!, { seeds });
  net.run(3000, check);
  assert.equal(net.peers.get(names[0]!)!.core.ring, null);
  assert.equal(net.peers.get(names[0]!)!.core.status().status, 'idle');
  const early = net.allocate(names[0]!, 'c');
  assert.match(early.error ?? '', /WEFT_ERR_IPAM_NOT_READY: waiting to receive the ring from the seeds/);
  for (let i = 1; i < N; i++) {
    net.add(names[i]!, { seeds });
    net.run(500, check);
  }
  converge(net, check);
  assert.equal(ringIds(net).size, 1);
  assertConverged(net);
  const owners = new Set(net.live()[0]!.core.ring!.all().map((e) => e.owner));
  assert.deepEqual([...owners].sort(), [...seeds].sort());
  const res = allocateMany(net, net.live(), 300, 's', check);
  for (const { r } of res) assert.ok(r.done && r.offset !== undefined, r.error);
});

test('consensus cannot split: two halves of 100 (consensus=200) form no ring until they meet', () => {
  const net = new SimNetwork({ seed: 3, gossipEveryMs: 30_000 });
  const check = (): void => checkInvariant(net);
  for (let i = 0; i < N; i++) net.add(names[i]!, { consensus: N }, i < N / 2 ? 0 : 1);
  net.run(20_000, check);
  assert.equal(ringIds(net).size, 0);
  const st = net.live()[0]!.core.status();
  assert.equal(st.status, 'awaiting-consensus');
  assert.ok(st.known! <= 100);
  net.setPartition(names.slice(N / 2), 0);
  converge(net, check);
  assert.equal(ringIds(net).size, 1);
  for (const p of net.live()) assert.equal(p.core.status().status, 'ready');
});
