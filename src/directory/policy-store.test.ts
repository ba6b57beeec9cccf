import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { POLICY_GOSSIP_MAX_BYTES, isWeftError } from '../common/index.js';
import type { NamespaceIdentity, NetworkPolicyObject } from '../policy/index.js';
import { PolicyStore, decodePolicyEntries, encodePolicyEntries, type PolicyStoreEntry } from './policy-store.js';
import { encodeEnvelope } from './envelope.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const C = '0a:bb:cc:dd:ee:ff';

function policy(name: string, ns = 'default', app = 'web', audit = false): NetworkPolicyObject {
  return {
    namespace: ns, name, audit,
    podSelector: { matchLabels: { app }, matchExpressions: [] },
    policyTypes: ['Ingress'],
    ingress: [{ peers: [{ podSelector: { matchLabels: { role: 'client' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] } },
      { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
    ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 'dns' }, { protocol: 'TCP', port: 1000, endPort: 2000 }] }],
    egress: [],
  };
}
const ns = (name: string, team = 'x'): NamespaceIdentity => ({ name, labels: { 'kubernetes.io/metadata.name': name, team } });

test('apply stamps one apply together, skips unchanged objects and restamps above the old stamp', () => {
  let changes = 0;
  const s = new PolicyStore(() => changes++);
  const r1 = s.applyDocuments({ policies: [policy('p1'), policy('p2')], namespaces: [ns('default')] }, 1000, A);
  assert.deepEqual(r1.policies, ['default/p1', 'default/p2']);
  assert.deepEqual(r1.namespaces, ['default']);
  assert.equal(changes, 1);
  const stamps = s.list().map((e) => e.stamp.ms);
  assert.deepEqual(new Set(stamps), new Set([1000]));
  const r2 = s.applyDocuments({ policies: [policy('p1'), policy('p2', 'default', 'db')], namespaces: [] }, 900, B);
  assert.deepEqual(r2.policies, ['default/p2']);
  assert.deepEqual(r2.unchanged, ['default/p1']);
  assert.deepEqual(s.get('policy', 'default/p2')?.stamp, { ms: 1001, origin: B }, 'a clock behind the old stamp still wins locally');
  assert.equal(s.snapshot().policies.find((p) => p.name === 'p2')?.podSelector.matchLabels.app, 'db');
});

test('delete writes tombstones that win over the old object everywhere, and expire after the TTL', () => {
  const a = new PolicyStore();
  const b = new PolicyStore();
  const up = a.applyDocuments({ policies: [policy('p1')], namespaces: [] }, 1000, A).update!;
  assert.ok(b.onGossipBroadcast(A, up));
  const del = b.delete({ policies: ['default/p1', 'default/nope'], namespaces: [] }, 2000, B);
  assert.deepEqual(del.policies, ['default/p1']);
  assert.deepEqual(del.unchanged, ['default/nope']);
  assert.equal(a.onGossip(del.update!) !== null, true);
  assert.equal(a.snapshot().policies.length, 0);
  assert.equal(a.onGossipBroadcast(A, up), null, 'the old object does not come back');
  assert.equal(a.expire(2000 + 24 * 3600_000), 0);
  assert.equal(a.expire(2001 + 24 * 3600_000), 1);
});

test('serialize/load round-trips, and load validates', () => {
  const a = new PolicyStore();
  a.applyDocuments({ policies: [policy('p1', 'prod', 'web', true)], namespaces: [ns('prod')] }, 5, A);
  a.delete({ policies: [], namespaces: ['prod'] }, 6, A);
  const b = new PolicyStore();
  assert.equal(b.load(a.serialize()), 2);
  assert.deepEqual(b.list(), a.list());
  assert.throws(() => b.load('{"entries":[{"kind":"policy","key":"a/b","ms":1,"origin":"zz","object":null}]}'),
    (e) => isWeftError(e, 'WEFT_ERR_DECODE') && /origin/.test(e.message));
  assert.throws(() => b.load('nope'), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

test('decoding rejects malformed objects with one line naming the field', () => {
  const entry = (object: unknown, key = 'default/p') => encodeEnvelope('policy', { entries: [{ kind: 'policy', key, ms: 1, origin: A, object }] });
  const good = policy('p');
  const cases: [unknown, RegExp][] = [
    [{ ...good, extra: 1 }, /extra.*unexpected/],
    [{ ...good, podSelector: { matchLabels: { 'bad key!': 'x' }, matchExpressions: [] } }, /podSelector\.matchLabels/],
    [{ ...good, ingress: [{ peers: [{ ipBlock: { cidr: '300.0.0.0/8', except: [] } }] }] }, /ingress\[0\]\.peers\[0\]\.ipBlock\.cidr/],
    [{ ...good, ingress: [{ ports: [{ protocol: 'ICMP' }] }] }, /protocol/],
    [{ ...good, ingress: [{ ports: [{ protocol: 'TCP', port: 90, endPort: 80 }] }] }, /endPort/],
    [{ ...good, policyTypes: [] }, /policyTypes/],
    [{ ...good, namespace: 'Bad_NS' }, /namespace/],
    [{ ...good, ingress: [{ peers: [{}] }] }, /needs podSelector/],
  ];
  for (const [obj, re] of cases) {
    assert.throws(() => decodePolicyEntries(entry(obj)), (e) => isWeftError(e, 'WEFT_ERR_DECODE') && re.test(e.message) && !e.message.includes('\n'), String(re));
  }
  assert.throws(() => decodePolicyEntries(entry(good, 'default/other')), (e) => isWeftError(e, 'WEFT_ERR_DECODE') && /does not name/.test(e.message));
  assert.equal(decodePolicyEntries(entry(good)).length, 1);
});

test('fuzz: a few thousand mutated messages decode or fail with WEFT_ERR_DECODE, never anything else', () => {
  const s = new PolicyStore();
  s.applyDocuments({ policies: [policy('p1'), policy('p2', 'kube-system')], namespaces: [ns('default')] }, 1, A);
  const base = s.gossip()!;
  let rejected = 0;
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(base.length), (muts, cut) => {
    const b = Buffer.from(base);
    for (const [i, v] of muts) b[i] = v;
    const buf = cut % 7 === 0 ? b.subarray(0, cut) : b;
    try {
      new PolicyStore().onGossip(buf);
    } catch (e) {
      if (!isWeftError(e, 'WEFT_ERR_DECODE')) throw e;
      rejected++;
    }
  }), { numRuns: 3000 });
  assert.ok(rejected > 1000, `most mutations are rejected (${rejected})`);
  assert.throws(() => decodePolicyEntries(Buffer.alloc(POLICY_GOSSIP_MAX_BYTES + 1)), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

const entryArb: fc.Arbitrary<PolicyStoreEntry> = fc.record({
  name: fc.constantFrom('p1', 'p2', 'p3'), ms: fc.integer({ min: 1, max: 5 }), origin: fc.constantFrom(A, B, C),
  app: fc.constantFrom('web', 'db'), live: fc.boolean(), nsKind: fc.boolean(),
}).map(({ name, ms, origin, app, live, nsKind }): PolicyStoreEntry => nsKind
  ? { kind: 'namespace', key: name, stamp: { ms, origin }, object: live ? ns(name, app) : null }
  : { kind: 'policy', key: `default/${name}`, stamp: { ms, origin }, object: live ? policy(name, 'default', app) : null });

test('merge converges for any delivery order and duplication (property)', () => {
  fc.assert(fc.property(fc.array(entryArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (entries, order) => {
    const msgs = entries.map((e) => encodePolicyEntries([e]));
    const inOrder = new PolicyStore();
    for (const m of msgs) inOrder.onGossip(m);
    // another replica: a shuffled delivery with duplicates, some through full-state gossip of a third
    const shuffled = new PolicyStore();
    const relay = new PolicyStore();
    const seq = [...order.map((i) => msgs[i % msgs.length]!), ...[...msgs].reverse()];
    seq.forEach((m, i) => (i % 3 === 0 ? relay : shuffled).onGossipBroadcast(A, m));
    const full = relay.gossip();
    if (full) shuffled.onGossip(full);
    for (const m of msgs) shuffled.onGossip(m); // idempotent
    assert.deepEqual(shuffled.list(), inOrder.list());
    assert.equal(inOrder.onGossip(shuffled.gossip()!), null, 'nothing new after convergence');
  }), { numRuns: 400 });
});
