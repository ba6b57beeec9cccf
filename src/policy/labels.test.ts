import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesSelector, labelKeyProblem, labelValueProblem, portNameProblem, dns1123LabelProblem } from './labels.js';
import type { LabelSelector } from './objects.js';

const sel = (matchLabels: Record<string, string>, matchExpressions: LabelSelector['matchExpressions'] = []): LabelSelector => ({ matchLabels, matchExpressions });

test('selectors: empty selects all; matchLabels; each operator; AND of everything', () => {
  assert.equal(matchesSelector(sel({}), {}), true);
  assert.equal(matchesSelector(sel({}), { a: '1' }), true);
  assert.equal(matchesSelector(sel({ a: '1' }), { a: '1', b: '2' }), true);
  assert.equal(matchesSelector(sel({ a: '1' }), { a: '2' }), false);
  assert.equal(matchesSelector(sel({ a: '' }), { a: '' }), true);
  assert.equal(matchesSelector(sel({ a: '' }), {}), false, 'an empty value must be present');
  const In = sel({}, [{ key: 'a', operator: 'In', values: ['1', '2'] }]);
  assert.equal(matchesSelector(In, { a: '2' }), true);
  assert.equal(matchesSelector(In, { a: '3' }), false);
  assert.equal(matchesSelector(In, {}), false);
  const NotIn = sel({}, [{ key: 'a', operator: 'NotIn', values: ['1'] }]);
  assert.equal(matchesSelector(NotIn, {}), true, 'NotIn matches an absent key');
  assert.equal(matchesSelector(NotIn, { a: '2' }), true);
  assert.equal(matchesSelector(NotIn, { a: '1' }), false);
  assert.equal(matchesSelector(sel({}, [{ key: 'a', operator: 'Exists', values: [] }]), { a: '' }), true);
  assert.equal(matchesSelector(sel({}, [{ key: 'a', operator: 'Exists', values: [] }]), {}), false);
  assert.equal(matchesSelector(sel({}, [{ key: 'a', operator: 'DoesNotExist', values: [] }]), {}), true);
  assert.equal(matchesSelector(sel({}, [{ key: 'a', operator: 'DoesNotExist', values: [] }]), { a: 'x' }), false);
  const both = sel({ b: '1' }, [{ key: 'a', operator: 'Exists', values: [] }]);
  assert.equal(matchesSelector(both, { a: 'x', b: '1' }), true);
  assert.equal(matchesSelector(both, { a: 'x' }), false);
  assert.equal(matchesSelector(sel({ toString: 'x' }), {}), false, 'prototype keys are not labels');
});

test('label and name syntax as Kubernetes defines it', () => {
  for (const ok of ['a', 'app', 'A.b-c_d', 'example.com/app', 'k8s.io/x', 'kubernetes.io/metadata.name', 'a'.repeat(63)]) assert.equal(labelKeyProblem(ok), null, ok);
  for (const bad of ['', '-a', 'a-', 'a/b/c', '/a', 'a/', 'Ex.com/a', 'a'.repeat(64), 'a b']) assert.notEqual(labelKeyProblem(bad), null, bad);
  for (const ok of ['', 'v', 'V1.2_3-x', 'a'.repeat(63)]) assert.equal(labelValueProblem(ok), null, ok);
  for (const bad of ['-v', 'v-', 'a b', 'a/b', 'a'.repeat(64)]) assert.notEqual(labelValueProblem(bad), null, bad);
  for (const ok of ['http', 'serve-80-tcp', 'a1']) assert.equal(portNameProblem(ok), null, ok);
  for (const bad of ['', '80', 'a--b', '-a', 'a-', 'Http', 'a'.repeat(16)]) assert.notEqual(portNameProblem(bad), null, bad);
  assert.equal(dns1123LabelProblem('kube-system'), null);
  assert.notEqual(dns1123LabelProblem('a.b'), null);
});
