import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainVerdict, formatExplanation } from './explain.js';
import { parsePolicyDocuments } from './parse.js';
import type { PolicyInput } from './objects.js';
import type { PodIdentity } from './ruleset.js';

const pod = (namespace: string, name: string, ip: string, labels: Record<string, string>): PodIdentity =>
  ({ namespace, name, ips: [ip], labels, host: 'h1', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
const text = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: watch, namespace: x, annotations: {weft.io/policy-mode: audit}}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
`;
const input: PolicyInput = {
  policies: parsePolicyDocuments(text, 'p.yaml').policies,
  namespaces: [],
  pods: [pod('x', 'web', '10.1.0.2', { app: 'web' }), pod('x', 'client', '10.1.0.3', { app: 'client' }), pod('y', 'other', '10.2.0.4', { app: 'client' })],
};

test('explain: allowed by a rule, with an audit would-drop on the other side', () => {
  const e = explainVerdict(input, 'x/client', 'x/web', 'TCP', 80);
  assert.equal(e.verdict.allowed, true);
  assert.deepEqual(e.verdict.ingress.allowedBy, ['x/web-in/ingress/0']);
  assert.equal(formatExplanation(e), [
    'x/client (10.1.0.3) -> x/web (10.1.0.2) TCP/80: ALLOWED (audit: would drop)',
    'egress of x/client: no enforcing policy selects x/client for egress: not isolated',
    '  audit: isolated by x/watch; no audit rule allows it: WOULD DROP if enforced',
    'ingress of x/web: isolated by x/web-in; allowed by x/web-in ingress rule 0',
  ].join('\n'));
});

test('explain: denied; addresses and outside addresses; not isolated', () => {
  assert.equal(formatExplanation(explainVerdict(input, '10.2.0.4', 'x/web', 'TCP', 80)), [
    'y/other (10.2.0.4) -> x/web (10.1.0.2) TCP/80: DENIED',
    'egress of y/other: no policy selects y/other for egress: not isolated',
    'ingress of x/web: isolated by x/web-in; no rule allows TCP/80 from y/other (10.2.0.4): DENIED',
  ].join('\n'));
  assert.equal(formatExplanation(explainVerdict(input, 'x/web', '192.0.2.1', 'UDP', 53)), [
    'x/web (10.1.0.2) -> 192.0.2.1 UDP/53: ALLOWED',
    'egress of x/web: no policy selects x/web for egress: not isolated',
    'ingress of 192.0.2.1: outside the cluster: no policy applies',
  ].join('\n'));
});

test('explain: unknown pods and bad text are one-line errors', () => {
  assert.throws(() => explainVerdict(input, 'x/nope', 'x/web', 'TCP', 80), { code: 'WEFT_ERR_NOT_FOUND', message: 'source pod x/nope is not known (no such pod in namespace x)' });
  assert.throws(() => explainVerdict(input, 'x/web', 'banana', 'TCP', 80), { code: 'WEFT_ERR_BAD_ARGS', message: 'destination "banana": expected NAMESPACE/POD or an IP address' });
  assert.throws(() => explainVerdict(input, 'x/web', 'x/client', 'TCP', 0), { code: 'WEFT_ERR_BAD_ARGS', message: 'port 0 is out of range 1..65535' });
});
