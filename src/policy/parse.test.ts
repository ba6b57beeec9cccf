import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../common/index.js';
import { parsePolicyDocuments, fromKubeObject, parsePolicyRef } from './parse.js';

const HEAD = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n';

/** A policy document with `spec` (YAML, indented under spec:). */
function np(spec: string, head = HEAD): string {
  return `${head}spec:\n${spec.replace(/^/gm, '  ')}\n`;
}

function refused(text: string, message: string, source = 'policy.yaml'): void {
  assert.throws(() => parsePolicyDocuments(text, source), (e: unknown) => {
    assert.ok(isWeftError(e, 'WEFT_ERR_POLICY_INVALID'), String(e));
    assert.equal(e.message, message);
    return true;
  });
}

const P = 'policy.yaml: document 1 (NetworkPolicy default/web)';

test('parse: defaults (namespace default, protocol TCP, policyTypes, empty from/ports, audit)', () => {
  const d = parsePolicyDocuments(np('podSelector: {}\ningress:\n- from: []\n  ports: []\n- ports: [{port: 80}]\negress:\n- {}'), 'p.yaml');
  assert.equal(d.policies.length, 1);
  const p = d.policies[0]!;
  assert.deepEqual(p, {
    namespace: 'default', name: 'web', audit: false,
    podSelector: { matchLabels: {}, matchExpressions: [] },
    policyTypes: ['Egress', 'Ingress'],
    ingress: [{}, { ports: [{ protocol: 'TCP', port: 80 }] }],
    egress: [{}],
  });
  const only = parsePolicyDocuments(np('podSelector: {}'), 'p.yaml').policies[0]!;
  assert.deepEqual(only.policyTypes, ['Ingress']);
  assert.deepEqual(only.ingress, []);
  const explicit = parsePolicyDocuments(np('podSelector: {}\npolicyTypes: [Egress]\ningress: [{}]'), 'p.yaml').policies[0]!;
  assert.deepEqual(explicit.policyTypes, ['Egress'], 'explicit policyTypes are used as given');
  const audit = parsePolicyDocuments(
    'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: a\n  namespace: x\n  annotations: {weft.io/policy-mode: audit}\nspec: {podSelector: {}}\n', 'p.yaml',
  ).policies[0]!;
  assert.equal(audit.audit, true);
  assert.equal(audit.namespace, 'x');
});

test('parse: equal policies written differently are deep-equal (normalised)', () => {
  const a = parsePolicyDocuments(np('podSelector:\n  matchLabels: {b: "2", a: "1"}\n  matchExpressions:\n  - {key: k, operator: In, values: [z, y, y]}\n  - {key: e, operator: Exists}'), 'a').policies[0];
  const b = parsePolicyDocuments(np('podSelector:\n  matchExpressions:\n  - {key: e, operator: Exists, values: []}\n  - {key: k, operator: In, values: [y, z]}\n  matchLabels: {a: "1", b: "2"}'), 'b').policies[0];
  assert.deepEqual(a, b);
  assert.deepEqual(Object.keys(a!.podSelector.matchLabels), ['a', 'b']);
});

test('parse: JSON object, array and List; Namespaces get kubernetes.io/metadata.name', () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { ns: 'x', 'kubernetes.io/metadata.name': 'wrong' } } };
  const pol = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'x' }, spec: { podSelector: {} } };
  for (const text of [JSON.stringify(pol), JSON.stringify([ns, pol]), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [ns, pol] })]) {
    const d = parsePolicyDocuments(text, 'p.json');
    assert.equal(d.policies.length, 1);
    assert.equal(d.policies[0]!.name, 'p');
  }
  const d = parsePolicyDocuments(JSON.stringify([ns]), 'p.json');
  assert.deepEqual(d.namespaces, [{ name: 'x', labels: { 'kubernetes.io/metadata.name': 'x', ns: 'x' } }]);
  // many YAML documents, an empty trailing one
  const multi = parsePolicyDocuments(`${np('podSelector: {}')}---\n${np('podSelector: {}', HEAD.replace('web', 'web2'))}---\n`, 'm.yaml');
  assert.deepEqual(multi.policies.map((p) => p.name), ['web', 'web2']);
});

test('parse: every bad input is one exact line', () => {
  refused('a: [b\nc: d\n', 'policy.yaml: document 1: invalid YAML/JSON at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]');
  refused('', 'policy.yaml: no NetworkPolicy or Namespace documents');
  refused('kind: Pod\napiVersion: v1\n', 'policy.yaml: document 1: kind: "Pod" is not supported (supported: NetworkPolicy, Namespace)');
  refused('apiVersion: v1\nmetadata: {name: x}\n', 'policy.yaml: document 1: kind: required (supported: NetworkPolicy, Namespace)');
  refused('apiVersion: extensions/v1beta1\nkind: NetworkPolicy\n', 'policy.yaml: document 1 (NetworkPolicy): apiVersion: "extensions/v1beta1" is not supported (NetworkPolicy is networking.k8s.io/v1)');
  refused('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {}\nspec: {podSelector: {}}\n', 'policy.yaml: document 1 (NetworkPolicy): metadata.name: required');
  refused(np('podSelector: {}', HEAD.replace('web', 'Web_1')), 'policy.yaml: document 1 (NetworkPolicy default/Web_1): metadata.name: "Web_1" must be lowercase alphanumerics, \'-\' and \'.\', starting and ending with an alphanumeric (DNS-1123 subdomain)');
  refused(np('podSelector: {}', HEAD + '  namespace: a.b\n'), 'policy.yaml: document 1 (NetworkPolicy a.b/web): metadata.namespace: "a.b" must be lowercase alphanumerics and \'-\', starting and ending with an alphanumeric (DNS-1123 label)');
  refused(np('ingress: []'), `${P}: spec.podSelector: required (use {} to select every pod of the namespace)`);
  refused(np('podSelector:\n  matchExpressions: [{key: a, operator: Equals, values: [b]}]'), `${P}: spec.podSelector.matchExpressions[0].operator: "Equals" is not one of In, NotIn, Exists, DoesNotExist`);
  refused(np('podSelector:\n  matchExpressions: [{key: a, operator: In}]'), `${P}: spec.podSelector.matchExpressions[0].values: must not be empty for operator In`);
  refused(np('podSelector:\n  matchExpressions: [{key: a, operator: NotIn, values: []}]'), `${P}: spec.podSelector.matchExpressions[0].values: must not be empty for operator NotIn`);
  refused(np('podSelector:\n  matchExpressions: [{key: a, operator: Exists, values: [b]}]'), `${P}: spec.podSelector.matchExpressions[0].values: must be empty for operator Exists`);
  refused(np('podSelector:\n  matchLabels: {"-bad": x}'), `${P}: spec.podSelector.matchLabels["-bad"]: label key name must be alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric`);
  refused(np('podSelector:\n  matchLabels: {"Example.com/a": x}'), `${P}: spec.podSelector.matchLabels["Example.com/a"]: label key prefix "Example.com" must be lowercase alphanumerics, '-' and '.', starting and ending with an alphanumeric (DNS-1123 subdomain)`);
  refused(np('podSelector:\n  matchLabels: {app: "a b"}'), `${P}: spec.podSelector.matchLabels.app: "a b": label value must be alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric`);
  refused(np(`podSelector:\n  matchLabels: {app: ${'v'.repeat(64)}}`), `${P}: spec.podSelector.matchLabels.app: "${'v'.repeat(64)}": label value must be at most 63 characters`);
  refused(np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/33}'), `${P}: spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.0/33" is not a CIDR (ADDRESS/PREFIX, IPv4 or IPv6)`);
  refused(np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}'), `${P}: spec.ingress[0].from[0].ipBlock.except[0]: 10.0.0.0/8 is not strictly inside cidr 10.0.0.0/8`);
  refused(np('podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: "fd00::/64", except: ["fd01::/80"]}'), `${P}: spec.egress[0].to[0].ipBlock.except[0]: fd01::/80 is not strictly inside cidr fd00::/64`);
  refused(np('podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: "10.0.0.0/8", except: ["fd00::/80"]}'), `${P}: spec.egress[0].to[0].ipBlock.except[0]: fd00::/80 is not strictly inside cidr 10.0.0.0/8`);
  refused(np('podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    podSelector: {}'), `${P}: spec.ingress[0].from[0]: ipBlock may not be combined with podSelector or namespaceSelector`);
  refused(np('podSelector: {}\ningress:\n- from:\n  - {}'), `${P}: spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: 0}]'), `${P}: spec.ingress[0].ports[0].port: 0 is out of range 1..65535`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: 65536}]'), `${P}: spec.ingress[0].ports[0].port: 65536 is out of range 1..65535`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: 80}, {port: 90, endPort: 80}]'), `${P}: spec.ingress[0].ports[1].endPort: 80 is below port 90`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: 80, endPort: 70000}]'), `${P}: spec.ingress[0].ports[0].endPort: 70000 is out of range 1..65535`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: http, endPort: 90}]'), `${P}: spec.ingress[0].ports[0].endPort: may not be used with the named port "http"`);
  refused(np('podSelector: {}\ningress:\n- ports: [{endPort: 90}]'), `${P}: spec.ingress[0].ports[0].endPort: needs a numeric port`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: "80"}]'), `${P}: spec.ingress[0].ports[0].port: "80": a named port must contain at least one letter`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: Http}]'), `${P}: spec.ingress[0].ports[0].port: "Http": a named port must be lowercase alphanumerics and '-' (no '--', no '-' at either end)`);
  refused(np('podSelector: {}\ningress:\n- ports: [{port: 80, protocol: ICMP}]'), `${P}: spec.ingress[0].ports[0].protocol: "ICMP" is not one of TCP, UDP, SCTP`);
  refused(np('podSelector: {}\nfoo: 1'), `${P}: spec.foo: unknown field (known: podSelector, ingress, egress, policyTypes)`);
  refused(np('podSelector: {}\ningress:\n- from: []\n  to: []'), `${P}: spec.ingress[0].to: unknown field (known: from, ports)`);
  refused(np('podSelector: {matchLabel: {a: b}}'), `${P}: spec.podSelector.matchLabel: unknown field (known: matchLabels, matchExpressions)`);
  refused(np('podSelector: {}\npolicyTypes: [Ingress, ingress]'), `${P}: spec.policyTypes[1]: "ingress" is not one of Ingress, Egress`);
  refused(np('podSelector: {}\npolicyTypes: [Ingress, Ingress]'), `${P}: spec.policyTypes: lists a type twice`);
  refused(np('podSelector: {}', HEAD + '  annotations: {weft.io/policy-mode: log}\n'), `${P}: metadata.annotations["weft.io/policy-mode"]: "log" is not one of audit, enforce`);
  refused(HEAD, `${P}: spec: required`);
  refused(`${np('podSelector: {}')}---\n${np('podSelector: {}')}`, 'policy.yaml: document 2 (NetworkPolicy default/web): duplicate of document 1 in the same apply');
  refused('apiVersion: v1\nkind: Namespace\nmetadata: {name: x, namespace: y}\n', 'policy.yaml: document 1 (Namespace x): metadata.namespace: a Namespace is cluster-scoped and has no namespace');
  refused('[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}},{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"X"}}]', 'policy.json: document 1 [1] (Namespace X): metadata.name: "X" must be lowercase alphanumerics and \'-\', starting and ending with an alphanumeric (DNS-1123 label)', 'policy.json');
});

test('parse: atomic — a later bad document means nothing is returned', () => {
  const good = np('podSelector: {}');
  refused(`${good}---\n${np('podSelector: {}\ningress:\n- ports: [{port: 0}]', HEAD.replace('web', 'bad'))}`,
    'policy.yaml: document 2 (NetworkPolicy default/bad): spec.ingress[0].ports[0].port: 0 is out of range 1..65535');
});

test('fromKubeObject: same validation on API objects, prefixed Kubernetes', () => {
  const p = fromKubeObject('NetworkPolicy', { metadata: { name: 'p', namespace: 'x', uid: 'u', resourceVersion: '1' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
  assert.equal(p.name, 'p');
  const ns = fromKubeObject('Namespace', { metadata: { name: 'x', labels: { a: 'b' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  assert.deepEqual(ns, { name: 'x', labels: { a: 'b', 'kubernetes.io/metadata.name': 'x' } });
  assert.throws(() => fromKubeObject('NetworkPolicy', { metadata: { name: 'p', namespace: 'x' }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] } }),
    { code: 'WEFT_ERR_POLICY_INVALID', message: 'Kubernetes NetworkPolicy x/p: spec.ingress[0].ports[0].port: 0 is out of range 1..65535' });
  assert.throws(() => fromKubeObject('Namespace', null), { code: 'WEFT_ERR_POLICY_INVALID', message: 'Kubernetes Namespace: must be an object' });
});

test('parsePolicyRef: NS/NAME or NAME; clear errors', () => {
  assert.deepEqual(parsePolicyRef('x/web'), { namespace: 'x', name: 'web' });
  assert.deepEqual(parsePolicyRef('web'), { namespace: 'default', name: 'web' });
  assert.throws(() => parsePolicyRef('a/b/c'), { code: 'WEFT_ERR_BAD_ARGS', message: 'policy reference "a/b/c": more than one \'/\' (expected NAMESPACE/NAME or NAME)' });
  assert.throws(() => parsePolicyRef('/web'), { code: 'WEFT_ERR_BAD_ARGS', message: 'policy reference "/web": namespace must not be empty (expected NAMESPACE/NAME or NAME)' });
  assert.throws(() => parsePolicyRef(''), { code: 'WEFT_ERR_BAD_ARGS' });
});
