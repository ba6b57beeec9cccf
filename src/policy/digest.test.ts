import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceWorld } from './conformance.js';
import { policyInputDigest } from './digest.js';
import { parsePolicyDocuments } from './parse.js';
import type { PolicyInput } from './objects.js';

const spec = { namespaces: ['x', 'y'], pods: ['a', 'b'], ports: [80, 81], protocols: ['TCP', 'UDP'] as const };
const base = conformanceWorld({ ...spec, protocols: [...spec.protocols] }, 4);
const deny = parsePolicyDocuments('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n', 't').policies;
const allowB = parsePolicyDocuments('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b, namespace: y}\nspec: {podSelector: {matchLabels: {pod: b}}, ingress: [{}]}\n', 't').policies;

test('policyInputDigest: order and pod hosts do not matter; content does', () => {
  const a: PolicyInput = { ...base, policies: [...deny, ...allowB] };
  const shuffled: PolicyInput = {
    policies: [...allowB, ...deny],
    namespaces: [...a.namespaces].reverse(),
    pods: [...a.pods].reverse().map((p) => ({ ...p, host: 'elsewhere', ports: [...p.ports].reverse(), labels: Object.fromEntries(Object.entries(p.labels).reverse()) })),
  };
  const d = policyInputDigest(a);
  assert.match(d, /^sha256:[0-9a-f]{16}$/);
  assert.equal(policyInputDigest(shuffled), d);
  const changes: [string, PolicyInput][] = [
    ['a policy less', { ...a, policies: deny }],
    ['a pod label', { ...a, pods: a.pods.map((p, i) => (i === 0 ? { ...p, labels: { ...p.labels, role: 'x' } } : p)) }],
    ['a namespace label', { ...a, namespaces: a.namespaces.map((n, i) => (i === 1 ? { ...n, labels: { ...n.labels, ns2: 'updated' } } : n)) }],
    ['a pod address', { ...a, pods: a.pods.map((p, i) => (i === 2 ? { ...p, ips: ['10.100.9.9'] } : p)) }],
    ['a named port', { ...a, pods: a.pods.map((p, i) => (i === 3 ? { ...p, ports: p.ports.slice(1) } : p)) }],
    ['a policy field', { ...a, policies: [{ ...deny[0]!, policyTypes: ['Egress', 'Ingress'] }, ...allowB] }],
  ];
  const seen = new Set([d]);
  for (const [what, input] of changes) {
    const x = policyInputDigest(input);
    assert.ok(!seen.has(x), `${what} changes the digest`);
    seen.add(x);
  }
});
