import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POLICY_MAX_TEXT_BYTES } from '../src/common/index.js';
import { parsePolicyDocuments } from '../src/policy/index.js';
import { policyApplyTexts } from './policy-documents.js';
import { scaleWorld } from './policy-scale-world.js';

test('policyApplyTexts: the 1,000-policy world round-trips through parsePolicyDocuments, every text under the API limit', () => {
  const w = scaleWorld({ benchPods: { client: '10.61.0.1', server: '10.61.0.2', ports: [5201, 7000] } });
  const texts = policyApplyTexts(w.input);
  assert.ok(texts.length >= 2, `split into several applies (${texts.length})`);
  const policies = [];
  const namespaces = [];
  for (const [i, t] of texts.entries()) {
    assert.ok(Buffer.byteLength(t) <= POLICY_MAX_TEXT_BYTES, `text ${i} is ${Buffer.byteLength(t)} bytes`);
    const d = parsePolicyDocuments(t, `apply ${i}`);
    policies.push(...d.policies);
    namespaces.push(...d.namespaces);
  }
  assert.equal(policies.length, 1000);
  assert.deepEqual(policies, w.input.policies, 'every policy parses back to the same normalised object');
  assert.deepEqual(namespaces, w.input.namespaces, 'namespaces with their labels');
  assert.ok(policies.some((p) => p.audit), 'audit policies keep their annotation');
});

test('policyApplyTexts: a small limit gives one text per object; nothing is lost', () => {
  const w = scaleWorld({ policies: 10, pods: 10, localPods: 1 });
  const texts = policyApplyTexts(w.input, 1);
  assert.equal(texts.length, w.input.policies.length + w.input.namespaces.length);
});
