import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WORKLOAD_MAX_PODS_PER_HOST, isWeftError } from '../common/index.js';
import { WorkloadDirectory, decodeWorkloadMessage, decodeWorkloads, encodeDigest, encodeWorkloads } from './workload-directory.js';
import { encodeEnvelope } from './envelope.js';
import type { AnnouncedPod } from './object-check.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const pod = (name: string, ip: string, labels: Record<string, string> = { app: 'web' }): AnnouncedPod => ({
  namespace: 'default', name, labels, ips: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
});

test('a host announces its pods; the higher version wins; a gone peer is dropped', () => {
  const changes: string[] = [];
  const a = new WorkloadDirectory(A, (p) => changes.push(`a:${p}`));
  const b = new WorkloadDirectory(B, () => undefined);
  const u1 = a.setLocal([pod('w1', '10.32.0.1')], 100)!;
  assert.equal(a.setLocal([pod('w1', '10.32.0.1')], 200), null, 'unchanged: no update');
  assert.ok(b.onGossipBroadcast(A, u1));
  assert.deepEqual(b.pods().map((p) => [p.name, p.host, p.ips[0]]), [['w1', A, '10.32.0.1']]);
  const u2 = a.setLocal([pod('w1', '10.32.0.1', { app: 'db' }), pod('w2', '10.32.0.2')], 50)!;
  assert.ok(b.onGossip(u2));
  assert.equal(b.onGossipBroadcast(A, u1), null, 'the older record loses');
  assert.equal(b.pods().find((p) => p.name === 'w1')?.labels.app, 'db');
  b.forget(A);
  assert.deepEqual(b.pods(), []);
  assert.deepEqual(changes, [`a:${A}`, `a:${A}`]);
});

test('a newer record of ourselves (an earlier incarnation) is outbid, never taken', () => {
  const a = new WorkloadDirectory(A, () => undefined);
  a.setLocal([pod('w1', '10.32.0.1')], 100);
  const stale = encodeWorkloads(new Map([[A, { version: 5000, pods: [pod('ghost', '10.32.0.9')] }]]));
  assert.equal(a.onGossip(stale), null);
  assert.equal(a.pods()[0]?.name, 'w1');
  const up = a.outbid(200)!;
  const rec = decodeWorkloads(up).get(A)!;
  assert.ok(rec.version > 5000);
  assert.equal(a.outbid(300), null);
});

test('decoding checks bounds and every pod, with one-line errors', () => {
  const env = (doc: unknown) => encodeEnvelope('workloads', doc);
  const cases: [Buffer, RegExp][] = [
    [Buffer.from([1, 1, 0, 0]), /truncated/],
    [Buffer.from([2, 1, 0, 0, 0, 0]), /wire version/],
    [Buffer.from([1, 2, 0, 0, 0, 2, 0x7b, 0x7d]), /kind/],
    [Buffer.from([1, 1, 0, 0, 0, 9, 0x7b, 0x7d]), /declared length/],
    [env({ records: [{ peer: 'x', version: 1, pods: [] }] }), /peer name/],
    [env({ records: [{ peer: A, version: -1, pods: [] }] }), /version/],
    [env({ records: [{ peer: A, version: 1, pods: [{ ...pod('w', '10.0.0.1'), ips: ['10.0.0.300'] }] }] }), /ips\[0\]/],
    [env({ records: [{ peer: A, version: 1, pods: [{ ...pod('w', '10.0.0.1'), labels: { a: 'b c' } }] }] }), /labels/],
    [env({ records: [{ peer: A, version: 1, pods: [{ ...pod('w', '10.0.0.1'), ports: [{ name: 'HTTP', port: 80, protocol: 'TCP' }] }] }] }), /ports.*port "HTTP"/],
    [env({ records: [{ peer: A, version: 1, pods: Array.from({ length: WORKLOAD_MAX_PODS_PER_HOST + 1 }, () => pod('w', '10.0.0.1')) }] }), /more than/],
    [env({ records: [{ peer: A, version: 1, pods: [], extra: true }] }), /unexpected field/],
  ];
  for (const [buf, re] of cases) {
    assert.throws(() => decodeWorkloads(buf), (e) => isWeftError(e, 'WEFT_ERR_DECODE') && re.test(e.message) && !e.message.includes('\n'), String(re));
  }
  assert.throws(() => new WorkloadDirectory(A, () => undefined).setLocal([{ ...pod('w', '10.0.0.1'), namespace: 'Bad' }], 1),
    (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

test('fuzz: mutated directory messages decode or fail with WEFT_ERR_DECODE only', () => {
  const a = new WorkloadDirectory(A, () => undefined);
  a.setLocal([pod('w1', '10.32.0.1'), pod('w2', 'fd00::2', { tier: 'x', 'example.com/team': 'blue' })], 1);
  const base = a.gossip()!;
  let rejected = 0;
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (muts) => {
    const buf = Buffer.from(base);
    for (const [i, v] of muts) buf[i] = v;
    try {
      new WorkloadDirectory(B, () => undefined).onGossip(buf);
    } catch (e) {
      if (!isWeftError(e, 'WEFT_ERR_DECODE')) throw e;
      rejected++;
    }
  }), { numRuns: 3000 });
  assert.ok(rejected > 1000, `most mutations are rejected (${rejected})`);
});

test('directories converge whatever the delivery order (property)', () => {
  const recArb = fc.record({ host: fc.constantFrom(A, B, '0a:00:00:00:00:03'), version: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 0, max: 3 }) });
  fc.assert(fc.property(fc.array(recArb, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 20 }), (recs, order) => {
    const msgs = recs.map((r) => encodeWorkloads(new Map([[r.host, { version: r.version, pods: [pod(`p${r.n}v${r.version}`, `10.0.0.${r.n + 1}`)] }]])));
    const self = 'fe:00:00:00:00:09';
    const x = new WorkloadDirectory(self, () => undefined);
    const y = new WorkloadDirectory(self, () => undefined);
    for (const m of msgs) x.onGossip(m);
    for (const i of order) y.onGossipBroadcast(A, msgs[i % msgs.length]!);
    for (const m of [...msgs].reverse()) y.onGossip(m);
    // equal versions of one host carry the same pods only when announced by that host; compare versions
    assert.deepEqual(y.hosts().sort().map((h) => y.get(h)!.version), x.hosts().sort().map((h) => x.get(h)!.version));
  }), { numRuns: 300 });
});

test('anti-entropy by digest: a few bytes per idle round; what a peer lacks is unicast on request', () => {
  const C = '0a:00:00:00:00:03';
  const sent: { from: string; to: string; bytes: number; kind: string }[] = [];
  const dirs = new Map<string, WorkloadDirectory>();
  const mk = (self: string) => {
    const d = new WorkloadDirectory(self, () => undefined);
    d.setSender((dst, msg) => {
      sent.push({ from: self, to: dst, bytes: msg.length, kind: decodeWorkloadMessage(msg).kind });
      dirs.get(dst)?.onGossipUnicast(self, msg);
    });
    dirs.set(self, d);
    return d;
  };
  const a = mk(A), b = mk(B), c = mk(C);
  const many = Array.from({ length: 2000 }, (_, i) => pod(`w${i}`, `10.32.${i >> 8}.${i & 255}`));
  a.setLocal(many, 100);
  c.setLocal([pod('c1', '10.33.0.1')], 100);
  a.onGossip(c.gossip()!); // a learns c's record through c's digest: a asks (reply digest), c answers with records
  assert.equal(a.get(C)?.version, 100);
  sent.length = 0;
  // b knows nothing: a's periodic digest makes b ask, a answers with both records
  const digest = a.gossip()!;
  assert.ok(digest.length < 200, `digest of ${digest.length} bytes for ${many.length + 1} pods`);
  assert.equal(b.onGossip(digest), null, 'a digest is never forwarded');
  assert.deepEqual(b.pods().length, many.length + 1);
  assert.deepEqual(sent.map((s) => `${s.from}->${s.to}:${s.kind}`), [`${B}->${A}:digest`, `${A}->${B}:records`]);
  // idle rounds: digests both ways answer nothing
  sent.length = 0;
  b.onGossip(a.gossip()!);
  a.onGossip(b.gossip()!);
  assert.equal(sent.length, 0, 'converged: no answer to a digest');
  // b has something newer (a new version of c): a's digest shows a lacks it; b sends it without being asked twice
  b.onGossipBroadcast(C, c.setLocal([pod('c1', '10.33.0.1', { app: 'db' })], 200)!);
  b.onGossip(a.gossip()!);
  assert.equal(a.get(C)?.version, 200);
  assert.deepEqual(sent.map((s) => `${s.from}->${s.to}:${s.kind}`), [`${B}->${A}:records`]);
  // a stale record of ourselves in a digest makes us outbid it
  const fresh = mk('0a:00:00:00:00:04');
  fresh.setLocal([pod('f', '10.34.0.1')], 10);
  fresh.onGossip(encodeDigest(B, new Map([['0a:00:00:00:00:04', 999]]), false));
  assert.ok(decodeWorkloads(fresh.outbid(20)!).get('0a:00:00:00:00:04')!.version > 999);
  // bad digests are one-line decode errors
  for (const [doc, re] of [[{ from: 'x', digest: [] }, /from/], [{ from: A, digest: [[A, -1]] }, /digest\[0\]/], [{ from: A, digest: [], reply: 1 }, /reply/],
    [{ from: A, digest: [[A, 1], [A, 2]] }, /twice/], [{ from: A, digest: [], x: 1 }, /unexpected/]] as const) {
    assert.throws(() => b.onGossip(encodeEnvelope('workloads', doc)), (e) => isWeftError(e, 'WEFT_ERR_DECODE') && re.test(e.message), String(re));
  }
});
