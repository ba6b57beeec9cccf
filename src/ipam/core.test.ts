import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInvariant, SimNetwork, simName } from '../../test/support/ipam-sim.js';

/** Scenarios of the pure core on a small simulated network (see sim.ts). */

const names = Array.from({ length: 5 }, (_, i) => simName(i + 1));

function seeded(opts: { autoReclaimAfterMs?: number } = {}): { net: SimNetwork; check: () => void } {
  const net = new SimNetwork({ seed: 11, range: '10.9.0.0/24', ...opts });
  const check = (): void => checkInvariant(net);
  for (const n of names) net.add(n, { seeds: names });
  net.settle(30_000, check);
  return { net, check };
}

test('a specific address owned by another peer is claimed from it; in-use and unreachable owners are refused', () => {
  const { net, check } = seeded();
  const [a, b] = [net.peers.get(names[0]!)!, net.peers.get(names[1]!)!];
  const target = a.core.ring!.rangesOf(a.name)[0]!.start + 10;
  const r = net.allocate(b.name, 'claim', target);
  net.run(3000, check);
  assert.equal(r.offset, target, r.error);
  assert.equal(b.core.ring!.ownerOf(target), b.name);
  assert.equal(a.core.ring!.ownerOf(target), b.name);
  const held = net.allocate(a.name, 'mine');
  const taken = net.allocate(b.name, 'other', held.offset!);
  net.run(3000, check);
  assert.match(taken.error ?? '', /WEFT_ERR_IPAM_IN_USE: .*in use by mine/);
  net.kill(names[2]!);
  const far = net.peers.get(names[2]!)!.core.ring!.rangesOf(names[2]!)[0]!.start + 1;
  const away = net.allocate(b.name, 'away', far);
  assert.match(away.error ?? '', /WEFT_ERR_IPAM_NOT_READY: .*owned by unreachable peer .*weft rmpeer/);
});

test('auto-reclaim takes a dead peer\'s ranges, but a minority partition never reclaims', () => {
  const { net, check } = seeded({ autoReclaimAfterMs: 10_000 });
  net.kill(names[4]!);
  net.run(15_000, check);
  net.settle(30_000, check);
  for (const p of net.live()) {
    assert.deepEqual(p.core.status().removedPeers, [names[4]]);
    assert.ok(!p.core.ring!.all().some((e) => e.owner === names[4]));
  }
  // split 2 | 2: neither side reaches a strict majority of the 4 live owners
  net.setPartition([names[2]!, names[3]!], 1);
  net.run(30_000, check);
  for (const p of net.live()) assert.deepEqual(p.core.status().removedPeers, [names[4]], `${p.name} reclaimed in a minority`);
  assert.equal(net.peers.get(names[0]!)!.core.status().unreachable.length, 2);
});

test('a peer removed while it was only partitioned learns it on healing, stops allocating and says why', () => {
  const { net, check } = seeded();
  const victim = net.peers.get(names[3]!)!;
  // misuse on purpose: the victim is alive, so until it learns of its removal it still owns
  // its ranges; the rest of the cluster must stay consistent meanwhile
  const others = (): void => checkInvariant(net, new Set([victim.name]));
  net.setPartition([victim.name], 1);
  net.run(2000, check);
  const issuer = net.peers.get(names[0]!)!;
  issuer.core.rmpeer(victim.name, net.now);
  net.flush(issuer);
  net.settle(30_000, others);
  net.setPartition([victim.name], 0);
  net.gossipRound(4);
  net.settle(30_000, others);
  check();
  const st = victim.core.status();
  assert.equal(st.status, 'removed');
  assert.match(st.reason!, /removed with rmpeer on .*run `weft reset` on this host/);
  assert.match(net.allocate(victim.name, 'x').error ?? '', /WEFT_ERR_IPAM_NOT_READY/);
  assert.equal(victim.core.conflicts.get('removed'), 1);
});

test('status explains no-range and awaiting reclaim', () => {
  const { net, check } = seeded();
  const late = net.add(simName(99), {});
  net.settle(10_000, check);
  for (const n of names.slice(1)) net.kill(n);
  // the late joiner owns nothing and only one (full) donor would be left: take its space first
  const a = net.peers.get(names[0]!)!;
  for (let i = 0; a.core.freeCount() > 0 && i < 300; i++) net.allocate(a.name, `fill-${i}`);
  net.run(2000, check);
  const st = late.core.status();
  assert.equal(st.status, 'no-range');
  assert.match(st.reason!, /owned by unreachable peers .*weft rmpeer/);
  assert.equal(st.unreachable.length, 4);
  assert.match(net.allocate(late.name, 'c').error ?? '', /WEFT_ERR_IPAM_EXHAUSTED: no free address .*unreachable peers/);
  a.core.rmpeer(names[1]!, net.now);
  net.flush(a);
  net.settle(10_000, check);
  // the dead peer's heir may itself be dead: then status names it
  for (const w of a.core.status().awaitingReclaim) assert.ok(names.slice(2).includes(w.heir!), `unexpected heir ${w.heir}`);
  for (const n of names.slice(2)) a.core.rmpeer(n, net.now);
  net.flush(a);
  net.settle(10_000, check);
  assert.deepEqual(a.core.status().awaitingReclaim, []);
  assert.equal(a.core.ownedCount() + late.core.ownedCount(), 256);
  const got = net.allocate(late.name, 'after');
  net.run(3000, check);
  assert.ok(got.offset !== undefined, got.error);
});
