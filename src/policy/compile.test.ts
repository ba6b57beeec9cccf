import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from './compile.js';
import { parsePolicyDocuments } from './parse.js';
import { evaluateConnection } from './reference.js';
import { rulesetAllows } from './ruleset-eval.js';
import type { PolicyInput } from './objects.js';
import { indexPolicyInput } from './world.js';
import type { PodIdentity } from './ruleset.js';

const pod = (namespace: string, name: string, ips: string[], labels: Record<string, string>, host = 'h1', ports: PodIdentity['ports'] = []): PodIdentity =>
  ({ namespace, name, ips, labels, host, ports });

function policies(yaml: string) {
  return parsePolicyDocuments(yaml, 'test.yaml').policies;
}
const doc = (ns: string, name: string, spec: string) =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec.replace(/^/gm, '  ')}\n---\n`;

const web = pod('x', 'web', ['10.1.0.2', 'fd00::2'], { app: 'web' }, 'h1', [
  { name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }]);
const client = pod('x', 'client', ['10.1.0.3'], { app: 'client' }, 'h2', [{ name: 'http', port: 9090, protocol: 'TCP' }]);
const other = pod('y', 'other', ['10.2.0.4', 'fd00::4'], { app: 'client' }, 'h2');

test('compile: deny-all ingress is an isolation without rules', () => {
  const input: PolicyInput = { policies: policies(doc('x', 'deny', 'podSelector: {}')), namespaces: [], pods: [web, client, other] };
  const rs = compileRuleset(input, new Set(['10.1.0.2']));
  assert.deepEqual(rs, {
    localPods: ['10.1.0.2', 'fd00::2'],
    isolations: [{ policy: 'x/deny', direction: 'ingress', audit: false, targets: ['10.1.0.2', 'fd00::2'] }],
    rules: [],
  });
  assert.equal(rulesetAllows(rs, 'ingress', '10.1.0.2', '10.1.0.3', 'TCP', 80).allowed, false);
  assert.equal(rulesetAllows(rs, 'egress', '10.1.0.2', '10.1.0.3', 'TCP', 80).allowed, true, 'egress is not isolated');
});

test('compile: pod peers as /32 and /128; namespace selector AND pod selector; any peer, any port', () => {
  const input: PolicyInput = {
    policies: policies(doc('x', 'p', 'podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - podSelector: {matchLabels: {app: client}}\n    namespaceSelector: {}\n- {}')),
    namespaces: [], pods: [web, client, other],
  };
  const rs = compileRuleset(input, new Set(['fd00::2']));
  assert.deepEqual(rs.rules, [
    { id: 'x/p/ingress/0', policy: 'x/p', direction: 'ingress', audit: false, targets: ['10.1.0.2', 'fd00::2'],
      peers: ['10.1.0.3/32', '10.2.0.4/32', 'fd00::4/128'], peerKey: '*\u0000[{"podSelector":{"matchLabels":{"app":"client"},"matchExpressions":[]},"namespaceSelector":{"matchLabels":{},"matchExpressions":[]}}]',
      ports: 'any', destPorts: [] },
    { id: 'x/p/ingress/1', policy: 'x/p', direction: 'ingress', audit: false, targets: ['10.1.0.2', 'fd00::2'],
      peers: 'any', ports: 'any', destPorts: [] },
  ]);
});

test('compile: ipBlock except subtracted, IPv4 and IPv6', () => {
  const input: PolicyInput = {
    policies: policies(doc('x', 'p', 'podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: 10.1.0.0/30, except: [10.1.0.1/32]}\n  - ipBlock: {cidr: "fd00::/126", except: ["fd00::2/127"]}')),
    namespaces: [], pods: [web, client, other],
  };
  const rs = compileRuleset(input, new Set(['10.1.0.2']));
  assert.deepEqual(rs.rules[0]?.peers, ['10.1.0.0/32', '10.1.0.2/31', 'fd00::/127']);
  // policyTypes absent with egress rules: Ingress and Egress (and no ingress rule: ingress denied)
  assert.deepEqual(rs.isolations.map((i) => i.direction), ['egress', 'ingress']);
  assert.equal(rulesetAllows(rs, 'egress', '10.1.0.2', '10.1.0.3', 'TCP', 1).allowed, true);
  assert.equal(rulesetAllows(rs, 'egress', '10.1.0.2', '10.1.0.1', 'TCP', 1).allowed, false);
  assert.equal(rulesetAllows(rs, 'egress', 'fd00::2', 'fd00::1', 'UDP', 1).allowed, true);
  assert.equal(rulesetAllows(rs, 'egress', 'fd00::2', 'fd00::2', 'UDP', 1).allowed, false);
});

test('compile: named ports resolve per destination pod (ingress: the target; egress: the peer); protocol must match', () => {
  const input: PolicyInput = {
    policies: policies(
      doc('x', 'in', 'podSelector: {}\ningress:\n- ports: [{port: http}, {port: dns, protocol: UDP}, {port: dns}]') +
      doc('x', 'out', 'podSelector: {matchLabels: {app: web}}\negress:\n- to: [{podSelector: {}}]\n  ports: [{port: http}]'),
    ),
    namespaces: [], pods: [web, client, other],
  };
  const rs = compileRuleset(input, new Set(['10.1.0.2']));
  const inRule = rs.rules.find((r) => r.id === 'x/in/ingress/0');
  assert.deepEqual(inRule?.ports, []);
  assert.deepEqual(inRule?.destPorts, [
    { ip: '10.1.0.2', protocol: 'TCP', port: 8080 }, { ip: '10.1.0.2', protocol: 'UDP', port: 53 },
    { ip: 'fd00::2', protocol: 'TCP', port: 8080 }, { ip: 'fd00::2', protocol: 'UDP', port: 53 }]);
  const outRule = rs.rules.find((r) => r.id === 'x/out/egress/0');
  assert.deepEqual(outRule?.destPorts, [
    { ip: '10.1.0.2', protocol: 'TCP', port: 8080 }, { ip: '10.1.0.3', protocol: 'TCP', port: 9090 }, { ip: 'fd00::2', protocol: 'TCP', port: 8080 }]);
  assert.equal(rulesetAllows(rs, 'egress', '10.1.0.2', '10.1.0.3', 'TCP', 9090).allowed, true);
  assert.equal(rulesetAllows(rs, 'egress', '10.1.0.2', '10.1.0.3', 'TCP', 8080).allowed, false, "8080 is web's http, not client's");
  assert.equal(rulesetAllows(rs, 'ingress', '10.1.0.2', '10.2.0.4', 'UDP', 53).allowed, true);
  assert.equal(rulesetAllows(rs, 'ingress', '10.1.0.2', '10.2.0.4', 'TCP', 53).allowed, false, 'dns is a UDP port of web');
  // client (host h2) has no dns port: for it the dns spec matches nothing
  const rs2 = compileRuleset(input, new Set(['10.1.0.3']));
  assert.deepEqual(rs2.rules.find((r) => r.id === 'x/in/ingress/0')?.destPorts, [{ ip: '10.1.0.3', protocol: 'TCP', port: 9090 }]);
});

test('compile: endPort ranges, SCTP, protocol-only ports; a rule that can match nothing is left out', () => {
  const input: PolicyInput = {
    policies: policies(doc('x', 'p', 'podSelector: {}\ningress:\n- ports: [{port: 1000, endPort: 2000}, {protocol: SCTP, port: 80}, {protocol: UDP}, {port: 1000, endPort: 1000}]\n- from: [{podSelector: {matchLabels: {app: nobody}}}]\n- ports: [{port: nosuch}]')),
    namespaces: [], pods: [web, client, other],
  };
  const rs = compileRuleset(input, new Set(['10.1.0.2']));
  assert.deepEqual(rs.rules.map((r) => r.id), ['x/p/ingress/0']);
  assert.deepEqual(rs.rules[0]?.ports, [{ protocol: 'TCP', port: 1000 }, { protocol: 'TCP', port: 1000, endPort: 2000 }, { protocol: 'UDP' }, { protocol: 'SCTP', port: 80 }]);
  const at = (proto: 'TCP' | 'UDP' | 'SCTP', port: number) => rulesetAllows(rs, 'ingress', '10.1.0.2', '10.9.9.9', proto, port).allowed;
  assert.deepEqual([at('TCP', 999), at('TCP', 1000), at('TCP', 2000), at('TCP', 2001), at('UDP', 7), at('SCTP', 80), at('TCP', 80), at('SCTP', 81)],
    [false, true, true, false, true, true, false, false]);
});

test('compile: audit policies compile flagged; rulesetAllows reports would-drop', () => {
  const text = doc('x', 'audit-deny', 'podSelector: {}').replace('metadata: {name: audit-deny, namespace: x}', 'metadata: {name: audit-deny, namespace: x, annotations: {weft.io/policy-mode: audit}}');
  const input: PolicyInput = { policies: policies(text), namespaces: [], pods: [web, client] };
  const rs = compileRuleset(input, new Set(['10.1.0.2']));
  assert.deepEqual(rs.isolations, [{ policy: 'x/audit-deny', direction: 'ingress', audit: true, targets: ['10.1.0.2', 'fd00::2'] }]);
  assert.deepEqual(rulesetAllows(rs, 'ingress', '10.1.0.2', '10.1.0.3', 'TCP', 80), { allowed: true, ruleIds: [], wouldDrop: true });
  const v = evaluateConnection(input, client, web, 'TCP', 80);
  assert.equal(v.allowed, true);
  assert.equal(v.wouldDrop, true);
  assert.deepEqual(v.ingress.audit.isolatedBy, ['x/audit-deny']);
});

/** A big world: 50 namespaces x 100 pods, 1,000 policies of mixed shapes, 100 local pods. */
function bigWorld(): { input: PolicyInput; local: Set<string> } {
  const pods: PodIdentity[] = [];
  for (let i = 0; i < 5000; i++) {
    const ns = `ns${i % 50}`;
    pods.push(pod(ns, `pod${i}`, [`10.${Math.floor(i / 250)}.${i % 250}.1`], { app: `app${i % 20}`, tier: i % 3 === 0 ? 'front' : 'back' },
      `h${Math.floor(i / 100)}`, [{ name: 'http', port: 8000 + (i % 7), protocol: 'TCP' }]));
  }
  let text = '';
  for (let i = 0; i < 1000; i++) {
    const ns = `ns${i % 50}`;
    const shapes = [
      `podSelector: {matchLabels: {app: app${i % 20}}}\ningress:\n- from: [{podSelector: {matchLabels: {tier: front}}}]\n  ports: [{port: 80}, {port: http}]`,
      `podSelector: {matchExpressions: [{key: tier, operator: In, values: [back]}]}\ningress:\n- from: [{namespaceSelector: {matchLabels: {team: t${i % 5}}}}]\negress:\n- to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: app${(i + 1) % 20}}}}]\n  ports: [{port: http}]`,
      `podSelector: {}\npolicyTypes: [Ingress, Egress]\negress:\n- to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]\n- ports: [{port: 53, protocol: UDP}]`,
      `podSelector: {matchLabels: {app: app${i % 20}}}\ningress:\n- from: [{namespaceSelector: {}}]\n  ports: [{port: 1000, endPort: 2000}]`,
    ];
    text += doc(ns, `pol${i}`, shapes[i % shapes.length]!);
  }
  const namespaces = Array.from({ length: 50 }, (_, i) => ({ name: `ns${i}`, labels: { 'kubernetes.io/metadata.name': `ns${i}`, team: `t${i % 5}` } }));
  const local = new Set(pods.filter((p) => p.host === 'h0').flatMap((p) => p.ips));
  return { input: { policies: policies(text), namespaces, pods }, local };
}

test('compile at scale (1,000 policies, 5,000 pods, 100 local pods) is correct against the reference', () => {
  const { input, local } = bigWorld();
  assert.equal(local.size, 100);
  const rs = compileRuleset(input, local);
  assert.equal(rs.localPods.length, 100);
  assert.ok(rs.rules.length > 100, `${rs.rules.length} rules`);
  // spot-check: every local pod against a spread of remote pods and ports
  const localPods = input.pods.filter((p) => local.has(p.ips[0]!));
  const world = indexPolicyInput(input);
  let checked = 0, allowed = 0;
  for (const lp of localPods.slice(0, 20)) {
    for (let j = 0; j < input.pods.length; j += 97) {
      const rp = input.pods[j]!;
      for (const [proto, port] of [['TCP', 80], ['TCP', 8003], ['UDP', 53], ['TCP', 1500]] as const) {
        const inRef = evaluateConnection(input, rp, lp, proto, port, {}, world);
        assert.equal(rulesetAllows(rs, 'ingress', lp.ips[0]!, rp.ips[0]!, proto, port).allowed, inRef.ingress.allowed, `${rp.name} -> ${lp.name} ${proto}/${port}`);
        const outRef = evaluateConnection(input, lp, rp, proto, port, {}, world);
        assert.equal(rulesetAllows(rs, 'egress', lp.ips[0]!, rp.ips[0]!, proto, port).allowed, outRef.egress.allowed, `${lp.name} -> ${rp.name} ${proto}/${port}`);
        checked++;
        if (inRef.ingress.allowed) allowed++;
      }
    }
  }
  assert.ok(allowed > 0 && allowed < checked, `a mix of verdicts (${allowed}/${checked} allowed)`);
  // a pod label change recompiles to a different, still deterministic ruleset
  const changed = { ...input, pods: input.pods.map((p, i) => (i === 1 ? { ...p, labels: { ...p.labels, tier: 'front' } } : p)) };
  assert.notDeepEqual(compileRuleset(changed, local), rs);
  assert.deepEqual(compileRuleset(input, local), rs);
});

export { bigWorld };
