import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { isWeftError, silentLogger, WeftError, type WeftErrorCode } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { GossipChannel } from '../mesh/index.js';
import { Ipam, parseIpallocInit, type IpamInit } from './index.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

/** In-memory mesh: every member reaches every other live member; delivery on a later turn. */
class FakeMesh {
  readonly nodes = new Map<PeerName, Ipam>();
  private queue: Array<() => void> = [];

  channel(self: PeerName): GossipChannel {
    const later = (f: () => void): void => {
      this.queue.push(f);
    };
    return {
      name: 'ipam',
      unicast: (dst, msg) => {
        if (!this.nodes.has(dst)) throw new WeftError('WEFT_ERR_NO_ROUTE', `no route to ${dst}`);
        later(() => this.nodes.get(dst)?.onGossipUnicast(self, msg));
      },
      broadcast: (msg) => {
        for (const [n, ipam] of this.nodes) if (n !== self) later(() => ipam.onGossipBroadcast(self, msg));
      },
      gossip: (msg) => {
        for (const [n, ipam] of this.nodes) if (n !== self) later(() => ipam.onGossip(msg));
      },
    };
  }

  join(name: PeerName, ipam: Ipam): void {
    this.nodes.set(name, ipam);
    ipam.setChannel(this.channel(name));
    this.changed();
  }

  leave(name: PeerName): void {
    this.nodes.delete(name);
    this.changed();
  }

  /** Reachability changed: tell everyone, and exchange full states as new connections do. */
  changed(): void {
    for (const [n, ipam] of this.nodes) ipam.onPeersChanged(new Set([...this.nodes.keys()].filter((x) => x !== n)));
    for (const [n, ipam] of this.nodes) {
      const full = ipam.gossip();
      if (full) for (const [m, other] of this.nodes) if (m !== n) this.queue.push(() => other.onGossip(full));
    }
  }

  /** Deliver until quiet (bounded). */
  async drain(): Promise<void> {
    for (let i = 0; i < 10_000 && this.queue.length; i++) {
      this.queue.shift()!();
      await tick();
    }
  }
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-ipam-'));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function make(self: PeerName, init: IpamInit, dataDir = tmp(), range = '10.40.0.0/24', extra: Partial<ConstructorParameters<typeof Ipam>[0]> = {}): Ipam {
  return new Ipam({ self, nickname: `host-${self.slice(-2)}`, range, init, dataDir, log: silentLogger(), ...extra });
}

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: WeftErrorCode, re?: RegExp): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (e) => {
    assert.ok(isWeftError(e, code), `expected ${code}, got ${String(e)}`);
    if (re) assert.match((e as Error).message, re);
    return true;
  });
}

test('a seed peer allocates at once: idempotent, explicit addresses, free, list, GC, never network/broadcast', async () => {
  const ipam = make(A, { seeds: [A] }, tmp(), '10.40.0.0/29');
  ipam.start();
  try {
    assert.equal(ipam.status().status, 'ready');
    const a = await ipam.allocate('c1');
    assert.deepEqual(a, { address: '10.40.0.1', prefixLength: 29 });
    assert.deepEqual(await ipam.allocate('c1'), a);
    assert.deepEqual(await ipam.allocate('c2/eth0', { address: '10.40.0.5' }), { address: '10.40.0.5', prefixLength: 29 });
    await rejectsWith(ipam.allocate('c3', { address: '10.40.0.5' }), 'WEFT_ERR_IPAM_IN_USE', /in use by c2\/eth0/);
    await rejectsWith(ipam.allocate('c3', { address: '10.40.0.7' }), 'WEFT_ERR_BAD_ARGS', /broadcast/);
    await rejectsWith(ipam.allocate('c3', { address: '10.41.0.1' }), 'WEFT_ERR_BAD_ARGS', /not in the allocation range/);
    await rejectsWith(ipam.allocate(''), 'WEFT_ERR_BAD_ARGS');
    for (const o of ['c3', 'c4', 'c5', 'c6']) await ipam.allocate(o);
    await rejectsWith(ipam.allocate('c7'), 'WEFT_ERR_IPAM_EXHAUSTED', /no free address/);
    const all = ipam.list().map((x) => x.address);
    assert.deepEqual(all, ['10.40.0.1', '10.40.0.2', '10.40.0.3', '10.40.0.4', '10.40.0.5', '10.40.0.6']);
    assert.deepEqual(ipam.lookup('c2/eth0').map((x) => x.address), ['10.40.0.5']);
    assert.equal(ipam.free('c1'), 1);
    assert.equal(ipam.free('c1'), 0);
    assert.equal(ipam.freeAllExcept(['c2', 'c3']), 3);
    assert.deepEqual(ipam.list().map((x) => x.owner).sort(), ['c2/eth0', 'c3']);
    const st = ipam.status();
    assert.equal(st.allocated, 2);
    assert.equal(st.owned, 8);
    assert.equal(st.free, 4);
    assert.equal(st.entries.length, 1);
  } finally {
    ipam.stop();
    ipam.stop();
  }
  await rejectsWith(ipam.allocate('x'), 'WEFT_ERR_CLOSED');
});

test('a restarted peer keeps its ranges and addresses; another range or peer name is refused clearly', async () => {
  const dir = tmp();
  const one = make(A, { seeds: [A] }, dir);
  one.start();
  const got = await one.allocate('c1');
  one.stop();
  const two = make(A, { seeds: [A] }, dir);
  two.start();
  assert.deepEqual(two.lookup('c1').map((x) => x.address), [got.address]);
  assert.deepEqual(await two.allocate('c2'), { address: '10.40.0.2', prefixLength: 24 });
  two.stop();
  assert.throws(() => make(A, { seeds: [A] }, dir, '10.50.0.0/24').start(),
    (e) => isWeftError(e, 'WEFT_ERR_BAD_CONFIG') && /is for range 10.40.0.0\/24 but --ipalloc-range is 10.50.0.0\/24/.test(e.message));
  assert.throws(() => make(B, { seeds: [A] }, dir).start(), (e) => isWeftError(e, 'WEFT_ERR_BAD_CONFIG') && /belongs to peer/.test(e.message));
});

test('requests while not ready fail fast with the reason', async () => {
  const lone = make(A, { consensus: 3 });
  lone.start();
  const st = lone.status();
  assert.equal(st.status, 'awaiting-consensus');
  assert.equal(st.quorum, 2);
  await rejectsWith(lone.allocate('c1'), 'WEFT_ERR_IPAM_NOT_READY', /awaiting consensus: 1 of 3 expected peers known and reachable, quorum 2/);
  lone.stop();
  const obs = make(B, parseIpallocInit('observer'));
  obs.start();
  await rejectsWith(obs.allocate('c1'), 'WEFT_ERR_IPAM_NOT_READY', /observer/);
  obs.stop();
});

test('consensus of two out of three, donation to a late joiner, rmpeer and leave across a fake mesh', async () => {
  const mesh = new FakeMesh();
  const a = make(A, { consensus: 3 });
  const b = make(B, { consensus: 3 });
  a.start();
  b.start();
  mesh.join(A, a);
  mesh.join(B, b);
  for (let i = 0; i < 5; i++) {
    await mesh.drain();
    a.onPeersChanged(new Set([B])); // re-think (ticks are a second apart; nudge instead of waiting)
    b.onPeersChanged(new Set([A]));
  }
  await mesh.drain();
  assert.equal(a.status().status, 'ready', a.status().reason);
  assert.equal(b.status().status, 'ready');
  assert.equal(a.status().ringId, b.status().ringId);
  // a late observer gets the ring by gossip and space by donation
  const c = make(C, {});
  c.start();
  mesh.join(C, c);
  await mesh.drain();
  assert.equal(c.status().status, 'ready', c.status().reason);
  const pending = c.allocate('late');
  await mesh.drain();
  const got = await pending;
  assert.match(got.address, /^10\.40\.0\./);
  assert.ok(c.status().owned > 0);
  // rmpeer refuses a reachable peer
  assert.throws(() => a.rmpeer(C), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && /reachable/.test(e.message));
  // C dies; rmpeer on both A and B at once (by nickname on one of them); exactly one heir
  c.stop();
  mesh.leave(C);
  await mesh.drain();
  const ra = a.rmpeer(C);
  const rb = b.rmpeer('host-0c');
  assert.equal(ra.name, C);
  assert.equal(rb.name, C);
  await mesh.drain();
  assert.equal(ra.reclaimedHere + rb.reclaimedHere, ra.addresses);
  assert.equal(a.status().owned + b.status().owned, 256);
  assert.ok(a.rmpeer(C).alreadyRemoved);
  assert.deepEqual(a.status().removedPeers, [C]);
  // B leaves: A inherits everything
  const left = b.leave();
  assert.equal(left.heir, A);
  assert.deepEqual(b.leave(), { heir: A, addresses: 0, droppedAllocations: 0 });
  await mesh.drain();
  assert.equal(a.status().owned, 256);
  assert.equal(b.status().status, 'idle');
  await rejectsWith(b.allocate('x'), 'WEFT_ERR_IPAM_NOT_READY', /left the ring/);
  a.stop();
  b.stop();
});

test('two independently seeded rings meet: both report split-ring with a remedy, nothing merges', async () => {
  const mesh = new FakeMesh();
  const a = make(A, { seeds: [A, B] });
  const c = make(C, { seeds: [C] });
  a.start();
  c.start();
  await a.allocate('before');
  mesh.join(A, a);
  mesh.join(C, c);
  await mesh.drain();
  for (const [x, other] of [[a, C], [c, A]] as const) {
    const st = x.status();
    assert.equal(st.status, 'split-ring');
    assert.match(st.reason!, new RegExp(`ring was seeded by .* but peer ${other}\\(host-..\\)'s was seeded by .*; run \`weft reset\` on the smaller side`));
    await rejectsWith(x.allocate('new'), 'WEFT_ERR_IPAM_NOT_READY', /split|seeded/);
  }
  assert.notEqual(a.status().ringId, c.status().ringId);
  assert.equal(a.status().conflicts['foreign-ring'], 1);
  // the odd one is reset (leaves the mesh): A recovers
  c.stop();
  mesh.leave(C);
  assert.equal(a.status().status, 'ready');
  a.stop();
});

test('a peer with another allocation range is reported, not merged', async () => {
  const mesh = new FakeMesh();
  const a = make(A, { seeds: [A] });
  const c = make(C, { seeds: [C] }, tmp(), '10.50.0.0/24');
  a.start();
  c.start();
  mesh.join(A, a);
  mesh.join(C, c);
  await mesh.drain();
  const st = a.status();
  assert.equal(st.status, 'split-ring');
  assert.match(st.reason!, /uses IP range 10.50.0.0\/24 but this peer uses 10.40.0.0\/24; give every peer the same --ipalloc-range/);
  assert.equal(st.conflicts['range-mismatch'], 1);
  assert.equal(st.owned, 256);
  a.stop();
  c.stop();
});

test('malformed gossip throws WEFT_ERR_DECODE and changes nothing', () => {
  const ipam = make(A, { seeds: [A] });
  ipam.start();
  const before = ipam.gossip()!;
  const bad = [Buffer.alloc(0), Buffer.from([1]), Buffer.from([1, 1, 2, 0]), Buffer.concat([before, Buffer.from([0])]), before.subarray(0, before.length - 1)];
  for (const b of bad) {
    assert.throws(() => ipam.onGossip(b), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
    assert.throws(() => ipam.onGossipBroadcast(B, b), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
    assert.throws(() => ipam.onGossipUnicast(B, b), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
  }
  assert.deepEqual(ipam.gossip(), before);
  ipam.stop();
});

test('metrics are registered with help text and follow the state', async () => {
  const registry = new Registry();
  const ipam = make(A, { seeds: [A] }, tmp(), '10.40.0.0/24', { registry });
  ipam.start();
  await ipam.allocate('c1');
  const text = await registry.metrics();
  for (const m of ['allocated', 'free', 'owned', 'pending_allocations', 'unreachable_owners']) {
    assert.match(text, new RegExp(`^# HELP weft_ipam_${m} \\S`, 'm'));
  }
  assert.match(text, /^weft_ipam_allocated 1$/m);
  assert.match(text, /^weft_ipam_owned 256$/m);
  assert.match(text, /^weft_ipam_free 253$/m);
  assert.match(text, /^# TYPE weft_ipam_conflicts_total counter$/m);
  ipam.stop();
});

test('parseIpallocInit accepts the documented forms and explains the rest', () => {
  assert.deepEqual(parseIpallocInit('consensus=3'), { consensus: 3 });
  assert.deepEqual(parseIpallocInit(`seed=${B},${A.toUpperCase()}`), { seeds: [A, B] });
  assert.deepEqual(parseIpallocInit('observer'), {});
  for (const bad of ['consensus', 'consensus=0', 'seed=', 'seed=foo', 'paxos']) {
    assert.throws(() => parseIpallocInit(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_CONFIG') && /use consensus=N, seed=NAME,… or observer/.test(e.message));
  }
});
