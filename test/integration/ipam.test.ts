/**
 * Distributed IPAM through real daemons in network namespaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { at } from '../../src/common/index.js';
import { parseIpv4 } from '../../src/net/index.js';
import { Lab, isRoot, type LabHost, type LabHosts } from '../support/lab.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;

interface Alloc { owner: string; address: string }

async function allocate(h: LabHost, owner: string): Promise<string> {
  const r = (await h.client.request('POST', '/ipam/allocate', { owner })) as { address: string };
  return r.address;
}

async function allocations(h: LabHost): Promise<Alloc[]> {
  return ((await h.client.request('GET', '/ipam/allocations')) as { allocations: Alloc[] }).allocations;
}

async function ipamStatus(h: LabHost): Promise<{ status: string; entries: { start: string; end: string; owner: string }[]; removedPeers: string[] }> {
  return (await h.client.request('GET', '/ipam/status')) as never;
}

function assertUnique(all: Alloc[]): void {
  const seen = new Map<string, string>();
  for (const a of all) {
    assert.ok(!seen.has(a.address), `address ${a.address} given to both ${seen.get(a.address)} and ${a.owner}`);
    seen.set(a.address, a.owner);
  }
}

/**
 * `n` hosts whose daemons form one ring: host 1 starts alone, each later host is given host 1
 * (`peers: 'first'`) or every earlier host (`'all'`); returns once IPAM is ready everywhere.
 */
async function startRing<N extends number>(lab: Lab, n: N, peers: 'first' | 'all'): Promise<LabHosts<N>> {
  const hosts = lab.addHosts(n);
  hosts.forEach((h, i) => lab.launch(h, { peers: hosts.slice(0, peers === 'first' ? Math.min(i, 1) : i).map((o) => o.ip) }));
  await readyRing(lab, hosts);
  return hosts;
}

async function readyRing(lab: Lab, hosts: LabHost[]): Promise<void> {
  await lab.until('IPAM ready everywhere', 15_000, async () => {
    for (const h of hosts) if ((await ipamStatus(h)).status !== 'ready') return false;
    return true;
  });
}

test('3 daemons allocate 50 addresses each, concurrently: all unique', { skip, timeout: 90_000 }, async () => {
  const lab = new Lab();
  try {
    const hosts = await startRing(lab, 3, 'first');
    const got = await Promise.all(hosts.map((h) =>
      Promise.all(Array.from({ length: 50 }, (_, i) => allocate(h, `c-${h.index}-${i}`)))));
    assert.equal(got.flat().length, 150);
    assert.equal(new Set(got.flat()).size, 150, 'every allocated address is unique');
    const all = (await Promise.all(hosts.map(allocations))).flat();
    assert.equal(all.length, 150);
    assertUnique(all);
    // Asking again for the same owner is idempotent.
    assert.equal(await allocate(hosts[1], 'c-2-7'), got[1]?.[7]);
  } finally {
    lab.destroy();
  }
});

test('SIGKILL mid-allocation and restart: nothing lost, nothing duplicated', { skip, timeout: 90_000 }, async () => {
  const lab = new Lab();
  try {
    const hosts = await startRing(lab, 2, 'first');
    const acked: Alloc[] = [{ owner: 'warm', address: await allocate(hosts[1], 'warm') }];
    // 16 clients allocate in a loop; the host is SIGKILLed from inside the 150th reply.
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && next < 1000) {
        const owner = `k-${next++}`;
        try {
          const address = await allocate(hosts[1], owner);
          acked.push({ owner, address });
          if (acked.length >= 150 && !killed) { killed = true; lab.kill(hosts[1]); }
        } catch { return; }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.ok(killed, 'the kill landed mid-allocation');
    lab.launch(hosts[1], { peers: [hosts[0].ip] });
    await readyRing(lab, hosts);
    const after = await allocations(hosts[1]);
    for (const a of acked) {
      assert.ok(after.some((b) => b.owner === a.owner && b.address === a.address), `acknowledged ${a.owner}=${a.address} survived the crash`);
    }
    // New allocations on both peers never reuse a surviving address.
    await Promise.all(Array.from({ length: 20 }, (_, i) => allocate(hosts[0], `n0-${i}`)));
    await Promise.all(Array.from({ length: 20 }, (_, i) => allocate(hosts[1], `n1-${i}`)));
    assertUnique([...(await allocations(hosts[0])), ...(await allocations(hosts[1]))]);
    console.log(`# ${acked.length} allocations were acknowledged before SIGKILL (with 16 in flight); all survived`);
  } finally {
    lab.destroy();
  }
});

test('partition one host away, allocate on both sides, heal: no duplicates', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  try {
    const hosts = await startRing(lab, 3, 'all');
    const [h1, h2, h3] = hosts;
    // Every host has pods (and so address space) before the partition.
    for (const h of hosts) await allocate(h, `pre-${h.index}`);
    const block = (flag: '-A' | '-D') => {
      for (const o of [h1, h2]) {
        lab.exec(h3, 'iptables', [flag, 'INPUT', '-s', o.ip, '-j', 'DROP']);
        lab.exec(h3, 'iptables', [flag, 'OUTPUT', '-d', o.ip, '-j', 'DROP']);
      }
    };
    block('-A');
    await lab.until('h3 is cut off', 20_000, async () => (await lab.status(h3)).connections.every((c) => c.state !== 'established'));
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => allocate(h1, `a-${i}`)),
      ...Array.from({ length: 30 }, (_, i) => allocate(h2, `b-${i}`)),
      ...Array.from({ length: 30 }, (_, i) => allocate(h3, `c-${i}`)),
    ]);
    block('-D');
    await lab.until('h3 rejoins', 30_000, async () => (await lab.status(h1)).connections.some((c) => c.state === 'established' && c.nickname === 'host3'));
    let all: Alloc[] = [];
    await lab.until('all 93 allocations visible', 15_000, async () => {
      all = (await Promise.all(hosts.map(allocations))).flat();
      return all.length >= 93;
    }).catch(() => undefined); // the assertion below reports the count
    assert.equal(all.length, 93);
    assertUnique(all);
    // And the rings agree on who owns what.
    await lab.until('ring views converge', 10_000, async () => {
      const v = await Promise.all(hosts.map(async (h) => JSON.stringify((await ipamStatus(h)).entries)));
      return v.every((x) => x === v[0]);
    });
  } finally {
    lab.destroy();
  }
});

test('rmpeer of a stopped host, run on two hosts at once: its range is reclaimed exactly once', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  try {
    const hosts = await startRing(lab, 3, 'all');
    const [h1, h2, h3] = hosts;
    const dead = (await lab.status(h3)).name;
    await Promise.all(Array.from({ length: 5 }, (_, i) => allocate(h3, `d-${i}`)));
    const deadRanges = (await ipamStatus(h1)).entries.filter((e) => e.owner === dead);
    assert.ok(deadRanges.length > 0, 'the dead host owned ranges');
    lab.kill(h3);
    await lab.until('h3 gone from the topology', 20_000, async () => !(await lab.status(h1)).peers.some((p) => p.name === dead));
    const [r1, r2] = await Promise.all([
      h1.client.request('POST', '/ipam/rmpeer', { peer: dead }),
      h2.client.request('POST', '/ipam/rmpeer', { peer: dead }),
    ]) as { addresses: number; alreadyRemoved: boolean }[];
    // Both calls succeed. Each removes the peer itself, unless the other's tombstone reached it
    // first (then it reports alreadyRemoved, and its view may already show the ranges reclaimed).
    const replies = [r1, r2].map((r) => r ?? assert.fail('an rmpeer call returned nothing'));
    assert.ok(replies.some((r) => !r.alreadyRemoved && r.addresses > 0), `one call removed the peer and its addresses: ${JSON.stringify(replies)}`);
    assert.ok(replies.every((r) => r.alreadyRemoved || r.addresses > 0), `a call that removed the peer saw its addresses: ${JSON.stringify(replies)}`);
    await lab.until('rings agree and nothing is owned by the dead peer', 15_000, async () => {
      const [s1, s2] = await Promise.all([ipamStatus(h1), ipamStatus(h2)]);
      return JSON.stringify(s1.entries) === JSON.stringify(s2.entries) && !s1.entries.some((e) => e.owner === dead);
    });
    const s = await ipamStatus(h1);
    // Each former range of the dead peer now has exactly one owner, and owners never overlap.
    const toNum = (ip: string) => parseIpv4(ip) ?? assert.fail(`bad address ${ip} in the IPAM status`);
    const sorted = [...s.entries].sort((a, b) => toNum(a.start) - toNum(b.start));
    sorted.slice(1).forEach((e, i) => assert.ok(toNum(e.start) > toNum(at(sorted, i).end), 'ranges do not overlap'));
    assert.ok(s.removedPeers.includes(dead));
    // Run again: idempotent.
    const again = (await h1.client.request('POST', '/ipam/rmpeer', { peer: dead })) as { alreadyRemoved: boolean };
    assert.equal(again.alreadyRemoved, true);
    // Allocation keeps working and stays unique on both survivors.
    await Promise.all(Array.from({ length: 20 }, (_, i) => allocate(i % 2 ? h1 : h2, `after-${i}`)));
    assertUnique([...(await allocations(h1)), ...(await allocations(h2))]);
  } finally {
    lab.destroy();
  }
});
