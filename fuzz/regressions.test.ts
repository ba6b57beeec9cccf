/** Inputs the fuzzer found (docs/fuzzing.md, "What the fuzzer found"), replayed on every run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { isWeftError, silentLogger } from '../src/common/index.js';
import { decodeMessage } from '../src/mesh/messages.js';
import { decodeMessages, decodeError } from '../src/host/netlink-codec.js';
import { IpamStore, decodeSnapshot, frame, replayLog } from '../src/ipam/store.js';
import { fromKubeObject, parsePolicyDocuments } from '../src/policy/index.js';
import { checkPolicyObject } from '../src/directory/index.js';

test('a gossip channel name of invalid UTF-8 is WEFT_ERR_DECODE (it used to decode to a name the encoder refuses)', () => {
  const b = Buffer.concat([Buffer.from([3, 32]), Buffer.alloc(31, 0x78), Buffer.from([0xff]), Buffer.alloc(6, 2)]);
  assert.throws(() => decodeMessage(b), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

test('an NLMSG_ERROR echoing a request length ≥ 2^31 decodes (it used to read at a negative offset)', () => {
  const data = Buffer.from('38000000020000de3360c40318c2877100000000c2fffeff200000001000050018c08f7100000000110001006e766772f09f8d8e00000000300000001c00000054beed8f000000000700000077010000000000000a00020088e3f5977795000008000100e41aa9012c0000001800000027a96d0800000000021900000000000000000000080001000ee9c326080004006202000020000000140000003ae5af570000000002000800a700000008000100d8cbda24', 'hex');
  for (const m of decodeMessages(data)) {
    try { if (m.type === 2) decodeError(m); } catch (e) { assert.ok(isWeftError(e, 'WEFT_ERR_DECODE'), String(e)); }
  }
});

test('a checksummed IPAM snapshot of the wrong shape is WEFT_ERR_DATA_DIR (it used to be a TypeError)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fuzz-regress-'));
  try {
    for (const bad of [{ nicknames: 5 }, { allocations: 7 }, { allocations: [true] }, { seq: 'x' }]) {
      const snap = { v: 1, seq: 0, cidr: '10.0.0.0/24', self: '02:00:00:00:00:01', ring: null, allocations: [], elector: null, nicknames: [], ...bad };
      writeFileSync(join(dir, 'snapshot'), frame(Buffer.from(JSON.stringify(snap))));
      const store = new IpamStore(dir, silentLogger());
      assert.throws(() => store.open(), (e) => isWeftError(e, 'WEFT_ERR_DATA_DIR'), JSON.stringify(bad));
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checksummed IPAM log record of the wrong shape is WEFT_ERR_DATA_DIR from the in-memory decode (replayLog)', () => {
  const snap = frame(Buffer.from(JSON.stringify({ v: 1, seq: 0, cidr: '10.0.0.0/24', self: '02:00:00:00:00:01', ring: null, allocations: [], elector: null, nicknames: [] })));
  // the fuzzer's inputs: a null record, one without `r`, a nickname record without `rec`, and an
  // elector record without a state after one with (TypeErrors inside applyRecord)
  const elector = { name: '02:00:00:00:00:01', n: 1, promised: { round: 1, proposer: '02:00:00:00:00:01' }, accepted: null };
  const logs = [[null], [{ s: 1 }], [{ s: 'x', r: { t: 'free', offset: 1 } }], [{ s: 1, r: { t: 'nick' } }],
    [{ s: 1, r: { t: 'elector', state: elector } }, { s: 2, r: { t: 'elector', state: {} } }]];
  for (const recs of logs) {
    const { state, seq } = decodeSnapshot(snap, 'snapshot');
    const log = Buffer.concat(recs.map((r) => frame(Buffer.from(JSON.stringify(r)))));
    assert.throws(() => replayLog(log, state, seq, 'log'), (e) => isWeftError(e, 'WEFT_ERR_DATA_DIR'), JSON.stringify(recs));
  }
});

test('a NetworkPolicy with an empty policyTypes list is defaulted and passes the gossip validator (peers used to refuse it)', () => {
  const p = fromKubeObject('NetworkPolicy', { metadata: { name: 'p', namespace: 'x' }, spec: { podSelector: {}, policyTypes: [] } });
  assert.deepEqual(p.policyTypes, ['Ingress']);
  assert.deepEqual(checkPolicyObject(JSON.parse(JSON.stringify(p)), 'test'), p);
  const q = fromKubeObject('NetworkPolicy', { metadata: { name: 'q' }, spec: { podSelector: {}, egress: [{}], policyTypes: [] } });
  assert.deepEqual(q.policyTypes, ['Egress', 'Ingress']);
});

test('a policy text with more than 100 YAML aliases in a document is refused (10,000 aliases used to be accepted after seconds)', () => {
  const head = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n';
  const aliases = (n: number): string => `${head}spec:\n  podSelector: &s {}\n  ingress: [${Array.from({ length: n }, () => '{from: [{podSelector: *s}]}').join(', ')}]\n`;
  assert.equal(parsePolicyDocuments(aliases(100), 't').policies.length, 1);
  assert.throws(() => parsePolicyDocuments(aliases(10_000), 't'), (e) => isWeftError(e, 'WEFT_ERR_POLICY_INVALID'));
  // the limit is per document: two documents of 60 aliases each are fine
  const sixty = (name: string): string => aliases(60).replace('name: p', `name: ${name}`);
  assert.equal(parsePolicyDocuments(`${sixty('a')}---\n${sixty('b')}`, 't').policies.length, 2);
});

test('policy texts nested deeper than the YAML composer handles are refused up front', () => {
  const head = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n';
  for (const text of [`${head}spec: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, `${head}spec:\n${Array.from({ length: 600 }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`]) {
    assert.throws(() => parsePolicyDocuments(text, 't'), (e) => isWeftError(e, 'WEFT_ERR_POLICY_INVALID'));
  }
  // 256 levels of brackets still reach the validator (which names the field)
  assert.throws(() => parsePolicyDocuments(`${head}spec: {podSelector: {}, x: ${'['.repeat(250)}${']'.repeat(250)}}\n`, 't'), (e) => isWeftError(e, 'WEFT_ERR_POLICY_INVALID'));
});
