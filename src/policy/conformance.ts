/**
 * The NetworkPolicy conformance cases (test/fixtures/policy/conformance-cases.yaml, the cases of
 * the upstream Kubernetes e2e tests) as data: loading the fixture text, the world they run in,
 * placeholder substitution, stepping a model through a case, and the expected reachability.
 * Used by the unit test against the reference model and by tests against real pods. Pure: the
 * caller reads the file.
 */
import { parse } from 'yaml';
import { WeftError } from '../common/index.js';
import { NAMESPACE_NAME_LABEL } from './labels.js';
import { policyKey, type NetworkPolicyObject, type PolicyInput } from './objects.js';
import { parsePolicyDocuments } from './parse.js';
import type { PodIdentity, PodPort, PolicyProtocol } from './ruleset.js';

/** One reachability probe: after a step, every ordered pair of distinct pods on (protocol, port). */
export interface ConformanceProbe {
  readonly port: number;
  readonly protocol: PolicyProtocol;
  /** Lines `deny FROM -> TO` / `allow FROM -> TO` applied in order over "all allowed". */
  readonly expect: readonly string[];
}

/** One step of a case (see the fixture's header for the meaning of each field). */
export interface ConformanceStep {
  readonly apply?: string;
  readonly delete?: readonly string[];
  readonly podLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly probes: readonly ConformanceProbe[];
}

/** One case: upstream name, Ginkgo context, steps. */
export interface ConformanceCase {
  readonly name: string;
  readonly suite: string;
  readonly steps: readonly ConformanceStep[];
}

/** The world the cases run in. */
export interface ConformanceWorldSpec {
  readonly namespaces: readonly string[];
  readonly pods: readonly string[];
  readonly ports: readonly number[];
  readonly protocols: readonly PolicyProtocol[];
}

function bad(why: string): never {
  throw new WeftError('WEFT_ERR_POLICY_INVALID', `conformance cases: ${why}`);
}

/** Parses the fixture text into its world and cases (shape-checked; policies are parsed per step). */
export function loadConformanceCases(text: string): { world: ConformanceWorldSpec; cases: ConformanceCase[] } {
  const doc = parse(text) as { world?: ConformanceWorldSpec; cases?: ConformanceCase[] } | null;
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.cases) || typeof doc.world !== 'object') bad('expected `world` and a `cases` list');
  const world = doc.world;
  for (const k of ['namespaces', 'pods', 'ports', 'protocols'] as const) if (!Array.isArray(world[k])) bad(`world.${k}: must be a list`);
  doc.cases.forEach((c, i) => {
    if (typeof c.name !== 'string' || typeof c.suite !== 'string' || !Array.isArray(c.steps) || c.steps.length === 0) bad(`cases[${i}]: needs name, suite and steps`);
    c.steps.forEach((s, j) => {
      if (!Array.isArray(s.probes)) bad(`cases[${i}] (${c.name}) steps[${j}].probes: must be a list`);
      for (const p of s.probes) {
        if (!Array.isArray(p.expect)) bad(`cases[${i}] (${c.name}) steps[${j}]: a probe needs expect (may be [])`);
        for (const e of p.expect) if (!EXPECT.test(e)) bad(`cases[${i}] (${c.name}): ${JSON.stringify(e)} is not "allow|deny FROM -> TO"`);
      }
    });
  });
  return { world, cases: doc.cases };
}

const EXPECT = /^(allow|deny) (\S+) -> (\S+)$/;

/** The named ports every world pod serves: serve-PORT-PROTOCOL for each port and protocol. */
export function conformancePorts(spec: ConformanceWorldSpec): PodPort[] {
  return spec.ports.flatMap((port) => spec.protocols.map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, port, protocol })));
}

/**
 * The world as a model: namespaces labelled ns=NAME, pods labelled pod=NAME with the serve-*
 * ports; addresses 10.100.N.P (IPv4) or fd00:100::N:P (IPv6), N and P counting from 1, all on
 * one host `h1` (the model does not care; the host only matters for compiled rulesets).
 */
export function conformanceWorld(spec: ConformanceWorldSpec, family: 4 | 6): PolicyInput {
  const ports = conformancePorts(spec);
  return {
    policies: [],
    namespaces: spec.namespaces.map((name) => ({ name, labels: { [NAMESPACE_NAME_LABEL]: name, ns: name } })),
    pods: spec.namespaces.flatMap((namespace, n) => spec.pods.map((name, p): PodIdentity => ({
      namespace, name, labels: { pod: name }, ports, host: 'h1',
      ips: [family === 4 ? `10.100.${n + 1}.${p + 1}` : `fd00:100::${n + 1}:${p + 1}`],
    }))),
  };
}

/**
 * Replaces `{{cidr NS/POD}}` (the pod's address as a host CIDR) and `{{wide NS/POD}}` (the /16
 * or /64 around it) in policy text, with `ipOf` giving a pod's address.
 */
export function substituteAddresses(text: string, ipOf: (pod: string) => string): string {
  return text.replace(/\{\{(cidr|wide) ([^}\s]+)\}\}/g, (_m, kind: string, pod: string) => {
    const ip = ipOf(pod);
    const v6 = ip.includes(':');
    if (kind === 'cidr') return `${ip}/${v6 ? 128 : 32}`;
    if (!v6) return `${ip.split('.').slice(0, 2).join('.')}.0.0/16`;
    // the world's v6 addresses are fd00:100::N:P: their /64 is fd00:100::/64 (first four groups)
    const groups = ip.split('::')[0]?.split(':') ?? [];
    return `${[...groups, '0', '0', '0', '0'].slice(0, 4).join(':')}::/64`;
  });
}

/** The model after one step: policies applied (replacing same NS/NAME) and deleted, labels added. */
export function applyConformanceStep(input: PolicyInput, step: ConformanceStep, source: string, ipOf: (pod: string) => string): PolicyInput {
  const policies = new Map<string, NetworkPolicyObject>(input.policies.map((p) => [policyKey(p), p]));
  if (step.apply !== undefined) {
    for (const p of parsePolicyDocuments(substituteAddresses(step.apply, ipOf), source).policies) policies.set(policyKey(p), p);
  }
  for (const ref of step.delete ?? []) policies.delete(ref);
  const podLabels = step.podLabels ?? {};
  const nsLabels = step.namespaceLabels ?? {};
  return {
    policies: [...policies.values()],
    namespaces: input.namespaces.map((ns) => (nsLabels[ns.name] ? { ...ns, labels: { ...ns.labels, ...nsLabels[ns.name] } } : ns)),
    pods: input.pods.map((p) => {
      const add = podLabels[`${p.namespace}/${p.name}`];
      return add ? { ...p, labels: { ...p.labels, ...add } } : p;
    }),
  };
}

function patternMatches(pattern: string, pod: string): boolean {
  if (pattern === '*') return true;
  const [pns, pname] = pattern.split('/');
  const [ns, name] = pod.split('/');
  return (pns === '*' || pns === ns) && (pname === '*' || pname === name);
}

/** The expected verdict of `from -> to` (`NS/POD` each) under the probe's expectation lines. */
export function expectedAllowed(expect: readonly string[], from: string, to: string): boolean {
  let allowed = true;
  for (const line of expect) {
    const m = EXPECT.exec(line);
    if (m === null) bad(`${JSON.stringify(line)} is not "allow|deny FROM -> TO"`);
    if (patternMatches(m[2] ?? '', from) && patternMatches(m[3] ?? '', to)) allowed = m[1] === 'allow';
  }
  return allowed;
}
