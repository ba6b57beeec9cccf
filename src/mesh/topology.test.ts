import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError, TOPOLOGY_MAX_CONNECTIONS_PER_PEER } from '../common/index.js';
import { Writer, peerNameFromBytes } from '../net/index.js';
import { Topology } from './topology.js';
import { CloneDetector } from './topology-clone.js';
import { encodeUpdate, messageKind } from './topology-codec.js';

const nm = (i: number): string => peerNameFromBytes(Buffer.from([0x02, 0, 0, 0, (i >> 8) & 255, i & 255]), 0);
const conn = (i: number, established = true, outbound = true) => ({ peer: nm(i), address: `10.0.${i >> 8}.${i & 255}:6783`, outbound, established });
const mk = (i: number, uid = BigInt(1000 + i)) => new Topology(nm(i), `host${i}`, uid);
/** The observable state: every record's bytes in name order. */
const view = (t: Topology): string => t.peers().map((p) => `${p.name}/${p.uid}/${p.version}/${[...p.connections].map(([n, c]) => `${n}@${c.address}${c.outbound ? '>' : '<'}${c.established ? '+' : '-'}`).join(',')}`).join('\n');
const isDecode = (e: unknown): boolean => { if (!isWeftError(e, 'WEFT_ERR_DECODE')) throw e; return true; };

test('own record: version bumps only on change; add/remove/markEstablished', () => {
  const a = mk(1);
  assert.equal(a.self.version, 1);
  assert.equal(a.size, 1);
  assert.equal(a.setLocalConnections([conn(2, false)]), true);
  assert.equal(a.self.version, 2);
  assert.equal(a.setLocalConnections([conn(2, false)]), false);
  assert.equal(a.self.version, 2);
  assert.equal(a.markEstablished(nm(2)), true);
  assert.equal(a.markEstablished(nm(2)), false);
  assert.equal(a.self.connections.get(nm(2))?.established, true);
  assert.equal(a.addLocalConnection(conn(3)), true);
  assert.equal(a.removeLocalConnection(nm(2)), true);
  assert.equal(a.removeLocalConnection(nm(2)), false);
  assert.deepEqual([...a.self.connections.keys()], [nm(3)]);
  assert.equal(a.self.version, 5);
  assert.throws(() => a.setLocalConnections([conn(1)]), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
  assert.throws(() => a.setLocalConnections([conn(2), conn(2)]), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
  assert.throws(() => a.setLocalConnections([{ ...conn(2), address: 'x'.repeat(200) }]), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
  assert.throws(() => new Topology(nm(1), 'n', 0n), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
  assert.throws(() => new Topology('bad', 'n', 1n), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
});

test('full exchange; connections to unknown peers create no records; re-applying is a no-op', () => {
  const a = mk(1);
  const b = mk(2);
  a.setLocalConnections([conn(2), conn(3, false, false)]);
  b.setLocalConnections([conn(1, true, false)]);
  assert.equal(messageKind(a.encodeFull()), 'update');
  const r = b.applyUpdate(a.encodeFull());
  assert.deepEqual(r.changed, [nm(1)]);
  assert.ok(r.delta !== null);
  assert.equal(b.size, 2);
  assert.equal(b.get(nm(3)), undefined);
  const seen = b.get(nm(1))!;
  assert.equal(seen.nickname, 'host1');
  assert.equal(seen.uid, 1001n);
  assert.deepEqual(seen.connections.get(nm(3)), { address: '10.0.0.3:6783', outbound: false, established: false });
  assert.deepEqual(b.applyUpdate(a.encodeFull()), { changed: [], delta: null });
  // the delta relays exactly the new record
  const c = mk(3);
  assert.deepEqual(c.applyUpdate(r.delta!).changed, [nm(1)]);
  assert.equal(view(c).split('\n').length, 2);
});

test('merge: higher version wins; equal version → higher uid; restart bumps past the old incarnation', () => {
  const obs = mk(9);
  obs.setLocalConnections([conn(1)]); // obs lists peer 1, so it serves peer 1's record
  const old = mk(1, 50n);
  for (let i = 0; i < 5; i++) old.setLocalConnections([conn(2 + (i % 2))]);
  obs.applyUpdate(old.encodeFull());
  assert.equal(obs.get(nm(1))!.version, 6);
  // the restarted peer: new uid, version 1 — loses against the old record
  const fresh = mk(1, 7n);
  assert.deepEqual(obs.applyUpdate(fresh.encodeFull()).changed, []);
  // it hears about its old self and jumps past it
  const r = fresh.applyUpdate(obs.encodeFull());
  assert.deepEqual(r.selfConflict, { uid: 50n, version: 6, bumped: true });
  assert.equal(fresh.self.version, 7);
  assert.deepEqual(r.changed, [nm(1), nm(9)]);
  assert.deepEqual(obs.applyUpdate(r.delta!).changed, [nm(1)]);
  assert.equal(obs.get(nm(1))!.uid, 7n);
  // a stale copy of the old record no longer forces a bump, but is still reported
  const again = fresh.applyUpdate(encodeUpdate(nm(9), [old.encodeSubset([])!.subarray(8)]));
  assert.deepEqual(again.selfConflict, { uid: 50n, version: 6, bumped: false });
  assert.equal(fresh.self.version, 7);
  // equal versions, different uids: the higher uid wins everywhere
  const x = mk(4, 100n);
  const y = mk(4, 200n);
  const o1 = mk(10);
  const o2 = mk(11);
  o1.applyUpdate(x.encodeFull()); o1.applyUpdate(y.encodeFull());
  o2.applyUpdate(y.encodeFull()); o2.applyUpdate(x.encodeFull());
  assert.equal(o1.get(nm(4))!.uid, 200n);
  assert.equal(o2.get(nm(4))!.uid, 200n);
});

test('clone detector: restarts stay quiet, a live clone is flagged', () => {
  const d = new CloneDetector(4, 60_000);
  assert.equal(d.note({ uid: 1n, version: 5, bumped: true }, 0), false);
  assert.equal(d.note({ uid: 1n, version: 5, bumped: false }, 10), false);
  assert.equal(d.note(undefined, 20), false);
  // two peers with one name keep bumping past each other
  const a = mk(1, 11n);
  const b = mk(1, 22n);
  const live = new CloneDetector(4, 60_000);
  let flagged = false;
  for (let t = 0; t < 10 && !flagged; t++) {
    const ra = a.applyUpdate(encodeUpdate(nm(7), [b.self === undefined ? Buffer.alloc(0) : recordOf(b)]));
    flagged = live.note(ra.selfConflict, t * 1000);
    b.applyUpdate(encodeUpdate(nm(7), [recordOf(a)]));
  }
  assert.equal(flagged, true);
  assert.ok(live.count >= 4);
  assert.equal(d.recent(120_000), 0);
});

/** The raw record bytes of t's own record (from its subset update). */
function recordOf(t: Topology): Buffer {
  return t.encodeSubset([])!.subarray(8);
}

test('malformed updates: precise rejections and no state change', () => {
  const a = mk(1);
  a.setLocalConnections([conn(2), conn(3)]);
  const rec = recordOf(a);
  const t = mk(5);
  const before = view(t);
  const bad: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['unknown kind', Buffer.from([9, 0, 0, 0, 0, 0, 0])],
    ['trailing', Buffer.concat([encodeUpdate(nm(1), [rec]), Buffer.from([0])])],
    ['truncated', encodeUpdate(nm(1), [rec]).subarray(0, 30)],
    ['unsorted', encodeUpdate(nm(1), [recordOf(mk(3)), recordOf(mk(2))])],
    ['duplicate', encodeUpdate(nm(1), [recordOf(mk(3)), recordOf(mk(3))])],
    ['zero uid', (() => { const r = Buffer.from(rec); r.fill(0, 6, 14); return encodeUpdate(nm(1), [r]); })()],
    ['self connection', (() => { const w = new Writer(); w.peerName(nm(1)).u64(1n).varint(1).string('x').varint(1).peerName(nm(1)).u8(1).string('a'); return encodeUpdate(nm(1), [w.finish()]); })()],
    ['reserved flags', (() => { const w = new Writer(); w.peerName(nm(1)).u64(1n).varint(1).string('x').varint(1).peerName(nm(2)).u8(4).string('a'); return encodeUpdate(nm(1), [w.finish()]); })()],
    ['unsorted conns', (() => { const w = new Writer(); w.peerName(nm(1)).u64(1n).varint(1).string('x').varint(2).peerName(nm(3)).u8(0).string('a').peerName(nm(2)).u8(0).string('a'); return encodeUpdate(nm(1), [w.finish()]); })()],
    ['too many conns', (() => { const w = new Writer(); w.peerName(nm(1)).u64(1n).varint(1).string('x').varint(TOPOLOGY_MAX_CONNECTIONS_PER_PEER + 1); return encodeUpdate(nm(1), [w.finish()]); })()],
    ['too many records', (() => { const w = new Writer(); w.u8(1).peerName(nm(1)).varint(1 << 20); return w.finish(); })()],
  ];
  for (const [what, buf] of bad) {
    assert.throws(() => t.applyUpdate(buf), isDecode, what);
    assert.throws(() => t.handleMessage(buf), isDecode, what);
  }
  assert.equal(view(t), before);
  assert.equal(t.size, 1);
});

test('fuzz: random, truncated and bit-flipped updates → only DECODE, and a rejected update changes nothing', () => {
  const owners = [1, 2, 3, 4].map((i) => mk(i));
  owners.forEach((o, i) => o.setLocalConnections([conn(((i + 1) % 4) + 1), conn(((i + 2) % 4) + 1, false)]));
  const valid = [encodeUpdate(nm(1), owners.map(recordOf)), owners[0]!.encodeDigest(), owners[1]!.encodeSummary(), owners[2]!.encodeRequest([nm(1), nm(2)])];
  fc.assert(fc.property(fc.nat(valid.length - 1), fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 64 }), fc.nat(2), (which, pos, bit, noise, mode) => {
    const src = valid[which]!;
    let input: Buffer;
    if (mode === 0) input = src.subarray(0, pos % src.length);
    else if (mode === 1) { input = Buffer.from(src); input[pos % input.length]! ^= 1 << (bit % 8); }
    else input = Buffer.concat([src.subarray(0, pos % src.length), Buffer.from(noise)]);
    const t = mk(7);
    t.applyUpdate(encodeUpdate(nm(1), [recordOf(owners[3]!)]));
    const before = view(t);
    const gen = t.generation;
    try {
      t.handleMessage(input);
    } catch (e) {
      isDecode(e);
      assert.equal(view(t), before);
      assert.equal(t.generation, gen);
    }
  }), { numRuns: 3000 });
});

test('property: merge converges regardless of order and duplication', () => {
  // owners make a sequence of changes; every intermediate record is a possible message
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(5), fc.array(fc.nat(7), { maxLength: 4 }), fc.boolean()), { minLength: 1, maxLength: 25 }), fc.infiniteStream(fc.nat()), (changes, rnd) => {
    const owners = new Map<number, Topology>();
    const msgs: Buffer[] = [];
    for (const [who, peers, restart] of changes) {
      let o = owners.get(who);
      if (o === undefined || restart) {
        // a restart: new uid (deterministic), fresh version
        o = mk(who, BigInt(1 + msgs.length * 7 + who));
        owners.set(who, o);
      }
      o.setLocalConnections([...new Set(peers)].filter((p) => p !== who).map((p) => conn(p, p % 2 === 0)));
      msgs.push(encodeUpdate(nm(who), [recordOf(o)]));
    }
    const order = (): Buffer[] => {
      const it = rnd[Symbol.iterator]();
      const list = [...msgs, ...msgs.filter(() => (it.next().value as number) % 3 === 0)];
      for (let i = list.length - 1; i > 0; i--) { const j = (it.next().value as number) % (i + 1); [list[i], list[j]] = [list[j]!, list[i]!]; }
      return list;
    };
    const x = mk(100);
    const y = mk(101);
    for (const m of msgs) x.applyUpdate(m);
    for (const m of order()) y.applyUpdate(m);
    // and merging deltas in bulk (full state of one into another) is idempotent
    const z = mk(102);
    const all = (t: Topology) => t.encodeSubset(t.peers().map((p) => p.name).filter((n) => n !== t.name), { includeSelf: false });
    z.applyUpdate(all(y)!);
    z.applyUpdate(all(x)!);
    z.applyUpdate(all(y)!);
    const strip = (t: Topology) => view(t).split('\n').filter((l) => !l.startsWith(t.name)).join('\n');
    assert.equal(strip(y), strip(x));
    assert.equal(strip(z), strip(x));
  }), { numRuns: 300 });
});

test('removeUnreachable drops departed peers, keeps local neighbours', () => {
  const [a, b, c, d] = [1, 2, 3, 4].map((i) => mk(i));
  a!.setLocalConnections([conn(2)]);
  b!.setLocalConnections([conn(1), conn(3)]);
  c!.setLocalConnections([conn(2), conn(4)]);
  d!.setLocalConnections([conn(3)]);
  for (const t of [b, c, d]) a!.applyUpdate(t!.encodeFull());
  assert.equal(a!.size, 4);
  assert.deepEqual(a!.removeUnreachable(new Set([nm(2)])), []);
  // c leaves: b drops it; c's own (stale) record still lists b and d, but that keeps nobody alive
  b!.setLocalConnections([conn(1)]);
  a!.applyUpdate(b!.encodeFull());
  assert.deepEqual(a!.removeUnreachable(new Set([nm(2)])), [nm(3), nm(4)]);
  assert.deepEqual(a!.peers().map((p) => p.name), [nm(1), nm(2)]);
  // a local neighbour we have a connection object for is kept even before our record lists it
  a!.applyUpdate(d!.encodeFull());
  assert.deepEqual(a!.removeUnreachable(new Set([nm(2), nm(4)])), []);
});

/** A ring of n owners (each connected to its two neighbours); returns their records. */
function ring(n: number, base = 1): Topology[] {
  const owners: Topology[] = [];
  for (let i = 0; i < n; i++) {
    const o = mk(base + i);
    o.setLocalConnections([conn(base + ((i + 1) % n)), conn(base + ((i + n - 1) % n))]);
    owners.push(o);
  }
  return owners;
}

/** Run summary-driven anti-entropy between a and b to quiescence; returns bytes and messages. */
function sync(a: Topology, b: Topology): { bytes: number; messages: number } {
  const queue: [Topology, Buffer][] = [[b, a.encodeSummary()]];
  let bytes = 0;
  let messages = 0;
  while (queue.length > 0) {
    assert.ok(messages < 100, 'sync did not settle');
    const [to, msg] = queue.shift()!;
    bytes += msg.length;
    messages++;
    const r = to.handleMessage(msg);
    for (const reply of r.replies) queue.push([to === a ? b : a, reply]);
  }
  return { bytes, messages };
}

const others = (t: Topology, skip: string[]) => view(t).split('\n').filter((l) => !skip.some((s) => l.startsWith(s))).join('\n');

test('digest: wanted/newer both ways, ~16 bytes per peer', () => {
  const owners = ring(40, 1);
  const a = mk(200);
  const b = mk(201);
  owners.forEach((o) => a.applyUpdate(o.encodeSubset([])!));
  owners.slice(0, 30).forEach((o) => b.applyUpdate(o.encodeSubset([])!));
  owners[3]!.setLocalConnections([conn(2), conn(5), conn(9)]);
  b.applyUpdate(owners[3]!.encodeSubset([])!); // b is newer on peer 4
  const d = a.encodeDigest();
  assert.equal(messageKind(d), 'digest');
  const perPeer = (d.length - 9) / a.size;
  console.log(`digest: ${a.size} peers in ${d.length} B = ${perPeer.toFixed(1)} B/peer`);
  assert.ok(perPeer < 18);
  const atB = b.missingFrom(d);
  assert.deepEqual(atB.wanted, [...owners.slice(30).map((o) => o.name), a.name].sort());
  const atA = a.missingFrom(b.encodeDigest());
  assert.deepEqual(atA.wanted, [nm(4), b.name]);
  // ship both ways and compare
  b.applyUpdate(atA.newer!);
  a.applyUpdate(atB.newer!);
  const ra = a.handleMessage(b.encodeRequest(atB.wanted));
  assert.equal(ra.kind, 'request');
  assert.equal(ra.sender, b.name);
  b.applyUpdate(ra.replies[0]!);
  assert.equal(others(a, [a.name, b.name]), others(b, [a.name, b.name]));
});

test('summary anti-entropy: equal states cost one small message; a few differences cost little', () => {
  const owners = ring(2000, 1);
  const a = mk(3000);
  const b = mk(3001);
  for (const t of [a, b]) t.applyUpdate(encodeUpdate(nm(1), owners.map(recordOf)));
  // a and b list each other so their own records are servable
  a.setLocalConnections([conn(3001), conn(1)]);
  b.setLocalConnections([conn(3000), conn(2)]);
  a.applyUpdate(b.encodeSubset([])!);
  b.applyUpdate(a.encodeSubset([])!);
  const s0 = sync(a, b);
  assert.equal(s0.messages, 1);
  console.log(`summary: equal states of ${a.size} peers: ${s0.bytes} B in 1 message`);
  assert.ok(s0.bytes < 250);
  // five owners change; a hears of three, b of two others
  for (const i of [10, 500, 999, 1500, 1800]) owners[i]!.setLocalConnections([conn(1 + ((i + 1) % 2000)), conn(1 + ((i + 7) % 2000))]);
  for (const i of [10, 500, 999]) a.applyUpdate(owners[i]!.encodeSubset([])!);
  for (const i of [1500, 1800]) b.applyUpdate(owners[i]!.encodeSubset([])!);
  const s1 = sync(a, b);
  console.log(`summary: 5 differing records among ${a.size}: ${s1.bytes} B in ${s1.messages} messages`);
  assert.equal(others(a, [a.name, b.name]), others(b, [a.name, b.name]));
  assert.ok(s1.bytes < 8000, `${s1.bytes}`);
  assert.equal(sync(a, b).messages, 1);
  // a fresh peer pulls everything through the same exchange
  const c = mk(3002);
  c.setLocalConnections([conn(3000)]);
  a.setLocalConnections([conn(3001), conn(1), conn(3002)]);
  const s2 = sync(c, a);
  console.log(`summary: fresh peer pulled ${c.size} records: ${s2.bytes} B in ${s2.messages} messages`);
  assert.equal(c.size, a.size);
  assert.equal(sync(c, a).messages, 1);
});

test('self-conflict through a digest bumps us and puts our record in `newer`', () => {
  const me = mk(1, 5n);
  const other = mk(2);
  const old = mk(1, 9n);
  for (let i = 0; i < 3; i++) old.setLocalConnections([conn(2, i % 2 === 0)]);
  other.setLocalConnections([conn(1)]);
  other.applyUpdate(old.encodeSubset([])!);
  const r = me.missingFrom(other.encodeDigest());
  assert.deepEqual(r.selfConflict, { uid: 9n, version: 4, bumped: true });
  assert.equal(me.self.version, 5);
  assert.deepEqual(r.wanted, [nm(2)]);
  assert.deepEqual(other.applyUpdate(r.newer!).changed, [nm(1)]);
  assert.equal(other.get(nm(1))!.uid, 5n);
});

test('version limit and same-uid clones', () => {
  const t = mk(5);
  const w = new Writer();
  w.peerName(nm(1)).u64(1n).varint(Number.MAX_SAFE_INTEGER).string('x').varint(0);
  assert.throws(() => t.applyUpdate(encodeUpdate(nm(1), [w.finish()])), /version/);
  // a record with our own uid but a version we never wrote: a cloned process
  const me = mk(1, 77n);
  const clone = mk(1, 77n);
  clone.setLocalConnections([conn(2)]);
  clone.setLocalConnections([conn(3)]);
  const r = me.applyUpdate(encodeUpdate(nm(9), [recordOf(clone)]));
  assert.deepEqual(r.selfConflict, { uid: 77n, version: 3, bumped: true });
  assert.equal(me.self.version, 4);
  // our own record echoed back is not a conflict
  assert.deepEqual(me.applyUpdate(encodeUpdate(nm(9), [recordOf(me)])), { changed: [], delta: null });
});
