/**
 * The compiler against the reference model: in random worlds (pods, namespaces, labels,
 * policies with every peer and port shape, audit mode, IPv4 and IPv6), for every pod pair,
 * address pair, protocol and a few ports, evaluateConnection agrees with what compileRuleset
 * gives through rulesetAllows on the source's host (egress) and the destination's host
 * (ingress), rule ids and "would drop" included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileRuleset } from './compile.js';
import { PolicyCompiler } from './incremental.js';
import { evaluateConnection, type SideVerdict } from './reference.js';
import { rulesetAllows, type RulesetVerdict } from './ruleset-eval.js';
import { indexPolicyInput } from './world.js';
import { isIp } from '../net/index.js';
import type { LabelSelector, NetworkPolicyObject, PolicyInput, PolicyPeer, PolicyPortSpec, PolicyRule } from './objects.js';
import type { NamespaceIdentity, PodIdentity, PodPort, PolicyProtocol, PolicyRuleset } from './ruleset.js';

const NS = ['x', 'y', 'z'];
const PROTOCOLS: PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];
const PORTS = [53, 80, 81, 8080];

const labelsArb = fc.dictionary(fc.constantFrom('app', 'tier', 'ns'), fc.constantFrom('a', 'b', 'x', 'y'), { maxKeys: 3 });
const selectorArb: fc.Arbitrary<LabelSelector> = fc.record({
  matchLabels: fc.dictionary(fc.constantFrom('app', 'tier', 'ns', 'kubernetes.io/metadata.name'), fc.constantFrom('a', 'b', 'x', 'y'), { maxKeys: 2 }),
  matchExpressions: fc.array(fc.oneof(
    fc.record({ key: fc.constantFrom('app', 'tier', 'ns'), operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.uniqueArray(fc.constantFrom('a', 'b', 'x', 'y'), { minLength: 1, maxLength: 2 }) }),
    fc.record({ key: fc.constantFrom('app', 'tier', 'ns'), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant([] as string[]) }),
  ), { maxLength: 2 }),
});

const v4 = (n: number) => `10.0.0.${n}`;
const v6 = (n: number) => `fd00::${n.toString(16)}`;
const ipBlockArb: fc.Arbitrary<PolicyPeer> = fc.oneof(
  fc.tuple(fc.integer({ min: 27, max: 32 }), fc.integer({ min: 0, max: 31 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 4 })), { maxLength: 2 }))
    .map(([len, base, ex]) => {
      const size = 2 ** (32 - len);
      const net = base - (base % size);
      const except = len >= 32 ? [] : ex.map(([off, extra]) => {
        const xl = Math.min(32, len + extra), xs = 2 ** (32 - xl);
        const a = net + (off % size);
        return `${v4(a - (a % xs))}/${xl}`;
      });
      return { ipBlock: { cidr: `${v4(net)}/${len}`, except: [...new Set(except)] } };
    }),
  fc.tuple(fc.integer({ min: 123, max: 128 }), fc.integer({ min: 0, max: 31 }))
    .map(([len, base]) => {
      const size = 2 ** (128 - len);
      const net = base - (base % size);
      const except = len < 128 ? [`${v6(net)}/${len + 1}`] : [];
      return { ipBlock: { cidr: `${v6(net)}/${len}`, except } };
    }),
);
const peerArb: fc.Arbitrary<PolicyPeer> = fc.oneof(
  selectorArb.map((podSelector) => ({ podSelector })),
  selectorArb.map((namespaceSelector) => ({ namespaceSelector })),
  fc.tuple(selectorArb, selectorArb).map(([podSelector, namespaceSelector]) => ({ podSelector, namespaceSelector })),
  ipBlockArb,
);
const portSpecArb: fc.Arbitrary<PolicyPortSpec> = fc.oneof(
  fc.record({ protocol: fc.constantFrom(...PROTOCOLS) }),
  fc.record({ protocol: fc.constantFrom(...PROTOCOLS), port: fc.constantFrom(53, 80, 81, 8080) }),
  fc.record({ protocol: fc.constantFrom(...PROTOCOLS), port: fc.constantFrom(50, 80), endPort: fc.constantFrom(80, 81, 9000) }),
  fc.record({ protocol: fc.constantFrom(...PROTOCOLS), port: fc.constantFrom('http', 'dns', 'alt') }),
);
const ruleArb: fc.Arbitrary<PolicyRule> = fc.record({
  peers: fc.array(peerArb, { minLength: 1, maxLength: 3 }),
  ports: fc.array(portSpecArb, { minLength: 1, maxLength: 3 }),
}, { requiredKeys: [] });
const policyArb = (i: number): fc.Arbitrary<NetworkPolicyObject> => fc.record({
  namespace: fc.constantFrom(...NS),
  audit: fc.boolean(),
  podSelector: selectorArb,
  policyTypes: fc.constantFrom<('Ingress' | 'Egress')[]>(['Ingress'], ['Egress'], ['Egress', 'Ingress']),
  ingress: fc.array(ruleArb, { maxLength: 3 }),
  egress: fc.array(ruleArb, { maxLength: 3 }),
}).map((p) => ({ ...p, name: `p${i}` }));

const namedPortsArb: fc.Arbitrary<PodPort[]> = fc.subarray([
  { name: 'http', port: 80, protocol: 'TCP' as const },
  { name: 'http', port: 81, protocol: 'UDP' as const },
  { name: 'dns', port: 53, protocol: 'UDP' as const },
  { name: 'alt', port: 8080, protocol: 'TCP' as const },
  { name: 'alt', port: 8080, protocol: 'SCTP' as const },
]).map((ps) => ps.filter((p, i) => ps.findIndex((q) => q.name === p.name && q.protocol === p.protocol) === i));

const worldArb: fc.Arbitrary<PolicyInput> = fc.record({
  pods: fc.array(fc.record({
    namespace: fc.constantFrom(...NS),
    labels: labelsArb,
    family: fc.constantFrom('4', '6', 'dual'),
    ports: namedPortsArb,
    host: fc.constantFrom('h1', 'h2'),
  }), { minLength: 1, maxLength: 6 }),
  namespaces: fc.subarray(NS).chain((names) => fc.tuple(...names.map((name) => labelsArb.map((labels): NamespaceIdentity => ({ name, labels: { ...labels, 'kubernetes.io/metadata.name': name } }))))),
  policyCount: fc.integer({ min: 0, max: 4 }),
}).chain(({ pods, namespaces, policyCount }) => fc.tuple(...Array.from({ length: policyCount }, (_, i) => policyArb(i))).map((policies) => ({
  namespaces,
  policies,
  pods: pods.map((p, i): PodIdentity => ({
    namespace: p.namespace, name: `pod${i}`, labels: p.labels, ports: p.ports, host: p.host,
    ips: p.family === '4' ? [v4(i + 1)] : p.family === '6' ? [v6(i + 1)] : [v4(i + 1), v6(i + 1)],
  })),
})));

function sameFamily(a: string, b: string): boolean {
  return isIp(a, 4) === isIp(b, 4);
}

function checkSide(ref: SideVerdict, got: RulesetVerdict, what: string): void {
  assert.equal(got.allowed, ref.allowed, `${what}: allowed`);
  assert.equal(got.wouldDrop, ref.audit.wouldDrop, `${what}: wouldDrop`);
  assert.deepEqual(got.ruleIds, [...ref.allowedBy, ...ref.audit.allowedBy].sort(), `${what}: rule ids`);
}

test('compileRuleset + rulesetAllows agree with evaluateConnection (random worlds)', () => {
  let checked = 0;
  fc.assert(fc.property(worldArb, (input) => {
    const world = indexPolicyInput(input);
    const rulesets = new Map<string, PolicyRuleset>();
    for (const host of ['h1', 'h2']) {
      const ips = new Set(input.pods.filter((p) => p.host === host).flatMap((p) => p.ips));
      rulesets.set(host, compileRuleset(input, ips, world));
    }
    const outside = ['10.0.0.30', 'fd00::1e'];
    for (const src of input.pods) {
      for (const dst of input.pods) {
        for (const srcIp of src.ips) {
          for (const dstIp of dst.ips) {
            if (!sameFamily(srcIp, dstIp)) continue;
            for (const protocol of PROTOCOLS) {
              for (const port of PORTS) {
                const ref = evaluateConnection(input, src, dst, protocol, port, { srcIp, dstIp }, world);
                const what = `${src.name}(${srcIp}) -> ${dst.name}(${dstIp}) ${protocol}/${port}`;
                const e = rulesetAllows(rulesets.get(src.host)!, 'egress', srcIp, dstIp, protocol, port);
                const i = rulesetAllows(rulesets.get(dst.host)!, 'ingress', dstIp, srcIp, protocol, port);
                checkSide(ref.egress, e, `${what} egress`);
                checkSide(ref.ingress, i, `${what} ingress`);
                assert.equal(e.allowed && i.allowed, ref.allowed, what);
                checked++;
              }
            }
          }
        }
      }
      // to and from addresses outside the cluster
      for (const ip of src.ips) {
        for (const out of outside.filter((o) => sameFamily(o, ip))) {
          for (const protocol of PROTOCOLS) {
            const port = 80;
            const toOut = evaluateConnection(input, src, { ip: out }, protocol, port, { srcIp: ip }, world);
            checkSide(toOut.egress, rulesetAllows(rulesets.get(src.host)!, 'egress', ip, out, protocol, port), `${src.name} -> ${out} egress`);
            assert.equal(toOut.ingress.isolated, false);
            const fromOut = evaluateConnection(input, { ip: out }, src, protocol, port, { dstIp: ip }, world);
            checkSide(fromOut.ingress, rulesetAllows(rulesets.get(src.host)!, 'ingress', ip, out, protocol, port), `${out} -> ${src.name} ingress`);
            assert.equal(fromOut.egress.isolated, false);
          }
        }
      }
    }
  }), { numRuns: 400 });
  assert.ok(checked > 10_000, `only ${checked} connections checked`);
});

test('compileRuleset is deterministic: a shuffled input compiles deep-equal', () => {
  fc.assert(fc.property(worldArb, fc.integer(), (input, seed) => {
    const shuffle = <T>(xs: readonly T[]): T[] => {
      const out = [...xs];
      let s = seed;
      for (let i = out.length - 1; i > 0; i--) {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        const j = s % (i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    };
    const ips = new Set(input.pods.filter((p) => p.host === 'h1').flatMap((p) => p.ips));
    const a = compileRuleset(input, ips);
    const b = compileRuleset({ policies: shuffle(input.policies), namespaces: shuffle(input.namespaces), pods: shuffle(input.pods) }, ips);
    assert.deepEqual(a, b);
  }), { numRuns: 200 });
});

type Mutation = { kind: 'podLabels' | 'nsLabels' | 'podHost' | 'dropPod' | 'addPod' | 'podPorts' | 'dropPolicy' | 'editPolicy'; index: number; labels: Record<string, string>; ports: PodPort[] };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('podLabels' as const, 'nsLabels' as const, 'podHost' as const, 'dropPod' as const, 'addPod' as const, 'podPorts' as const, 'dropPolicy' as const, 'editPolicy' as const),
  index: fc.nat(),
  labels: labelsArb,
  ports: namedPortsArb,
});

function mutate(input: PolicyInput, m: Mutation, step: number): PolicyInput {
  const pods = [...input.pods];
  const pick = pods.length > 0 ? m.index % pods.length : -1;
  switch (m.kind) {
    case 'podLabels': if (pick >= 0) pods[pick] = { ...pods[pick]!, labels: m.labels }; break;
    case 'podPorts': if (pick >= 0) pods[pick] = { ...pods[pick]!, ports: m.ports }; break;
    case 'podHost': if (pick >= 0) pods[pick] = { ...pods[pick]!, host: pods[pick]!.host === 'h1' ? 'h2' : 'h1' }; break;
    case 'dropPod': if (pick >= 0) pods.splice(pick, 1); break;
    case 'addPod': pods.push({ namespace: NS[m.index % NS.length]!, name: `new${step}`, labels: m.labels, ports: m.ports, host: m.index % 2 ? 'h1' : 'h2', ips: [v4(100 + step)] }); break;
    case 'nsLabels': {
      const name = NS[m.index % NS.length]!;
      const namespaces = input.namespaces.filter((n) => n.name !== name);
      namespaces.push({ name, labels: { ...m.labels, 'kubernetes.io/metadata.name': name } });
      return { ...input, namespaces };
    }
    case 'dropPolicy': return { ...input, policies: input.policies.filter((_, i) => i !== m.index % Math.max(1, input.policies.length)) };
    case 'editPolicy': return { ...input, policies: input.policies.map((p, i) => (i === m.index % Math.max(1, input.policies.length) ? { ...p, podSelector: { matchLabels: m.labels, matchExpressions: [] } } : p)) };
  }
  return { ...input, pods };
}

test('PolicyCompiler.update equals compileRuleset after every change of random change sequences, recompiling less', () => {
  let partial = 0;
  fc.assert(fc.property(worldArb, fc.array(mutationArb, { minLength: 1, maxLength: 8 }), (start, mutations) => {
    const c = new PolicyCompiler();
    let input = start;
    const local = (i: PolicyInput) => new Set(i.pods.filter((p) => p.host === 'h1').flatMap((p) => p.ips));
    assert.deepEqual(c.update(input, local(input)), compileRuleset(input, local(input)));
    mutations.forEach((m, step) => {
      input = mutate(input, m, step);
      assert.deepEqual(c.update(input, local(input)), compileRuleset(input, local(input)), `after ${m.kind} #${step}`);
      if (c.stats().policiesRecompiled < input.policies.length) partial++;
    });
  }), { numRuns: 400 });
  assert.ok(partial > 100, `only ${partial} updates recompiled fewer than all policies`);
});
