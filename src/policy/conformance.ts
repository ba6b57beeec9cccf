/**
 * The NetworkPolicy conformance cases (test/fixtures/policy/conformance-cases.yaml, the cases of
 * the upstream Kubernetes e2e tests) as data: loading the fixture text, the world they run in,
 * placeholder substitution, stepping a model through a case, and the expected reachability.
 * Used by the unit test against the reference model and by tests against real pods. Pure: the
 * caller reads the file.
 */
import { parse } from 'yaml';
import { WeftError } from '../common/index.js';
import { cidrNetwork, formatCidr, parseIp } from '../net/index.js';
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

type LabelMap = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * One step of a case (see the fixtures' headers for the meaning of each field). The parts of
 * one step are applied in this order: createNamespace, createPod, apply, setNamespaceLabels,
 * namespaceLabels, setPodLabels, podLabels, delete, deletePod, deleteNamespace.
 */
export interface ConformanceStep {
  readonly apply?: string;
  readonly delete?: readonly string[];
  /** Labels added to (or changed on) pods, `NS/POD` → labels. */
  readonly podLabels?: LabelMap;
  /** Labels added to (or changed on) namespaces. */
  readonly namespaceLabels?: LabelMap;
  /** Pods' labels replaced (like a Kubernetes update of the whole label map), `NS/POD` → labels. */
  readonly setPodLabels?: LabelMap;
  /** Namespaces' labels replaced (`kubernetes.io/metadata.name` stays, as the API server keeps it). */
  readonly setNamespaceLabels?: LabelMap;
  /** Namespaces created with these labels (plus their name label). */
  readonly createNamespace?: LabelMap;
  /** Pods created (`NS/POD` → labels) serving the world's ports, with the next free address of the world. */
  readonly createPod?: LabelMap;
  /** Pods removed, as `NS/POD`. */
  readonly deletePod?: readonly string[];
  /** Namespaces removed with their pods and policies (as Kubernetes does). */
  readonly deleteNamespace?: readonly string[];
  readonly probes: readonly ConformanceProbe[];
}

/** One case: upstream name, Ginkgo context (or generator family), optional tags, steps. */
export interface ConformanceCase {
  readonly name: string;
  readonly suite: string;
  /** A stable id when names repeat (the cyclonus cases: `FAMILY/N`). */
  readonly id?: string;
  readonly tags?: readonly string[];
  readonly steps: readonly ConformanceStep[];
}

const LABEL_MAP_KINDS = ['podLabels', 'namespaceLabels', 'setPodLabels', 'setNamespaceLabels', 'createNamespace', 'createPod'] as const;
const LIST_KINDS = ['delete', 'deletePod', 'deleteNamespace'] as const;

function isLabelMap(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  return Object.values(v).every((l) => l !== null && typeof l === 'object' && !Array.isArray(l)
    && Object.values(l as object).every((x) => typeof x === 'string'));
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
    if (c.tags !== undefined && !(Array.isArray(c.tags) && c.tags.every((t) => typeof t === 'string'))) bad(`cases[${i}] (${c.name}).tags: must be a list of strings`);
    c.steps.forEach((s, j) => {
      if (!Array.isArray(s.probes)) bad(`cases[${i}] (${c.name}) steps[${j}].probes: must be a list`);
      for (const k of LABEL_MAP_KINDS) if (s[k] !== undefined && !isLabelMap(s[k])) bad(`cases[${i}] (${c.name}) steps[${j}].${k}: must map names to label maps`);
      for (const k of LIST_KINDS) if (s[k] !== undefined && !(Array.isArray(s[k]) && s[k].every((x) => typeof x === 'string'))) bad(`cases[${i}] (${c.name}) steps[${j}].${k}: must be a list of names`);
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
 * Replaces `{{cidr NS/POD}}` (the pod's address as a host CIDR), `{{wide NS/POD}}` (the /16
 * or /64 around it) and `{{zeroes N NS/POD}}` (the pod's address with its last N bits zeroed,
 * prefix length 32-N or 128-N: cyclonus' MakeCIDRFromZeroes) in policy text, with `ipOf`
 * giving a pod's address.
 */
export function substituteAddresses(text: string, ipOf: (pod: string) => string): string {
  return text.replace(/\{\{zeroes (\d{1,3}) ([^}\s]+)\}\}/g, (_m, n: string, pod: string) => {
    const a = parseIp(ipOf(pod));
    const bits = a?.family === 6 ? 128 : 32;
    if (a === null || Number(n) > bits) bad(`{{zeroes ${n} ${pod}}}: not an address, or more bits than it has`);
    return formatCidr(cidrNetwork({ address: a, prefixLength: bits - Number(n) }));
  }).replace(/\{\{(cidr|wide) ([^}\s]+)\}\}/g, (_m, kind: string, pod: string) => {
    const ip = ipOf(pod);
    const v6 = ip.includes(':');
    if (kind === 'cidr') return `${ip}/${v6 ? 128 : 32}`;
    if (!v6) return `${ip.split('.').slice(0, 2).join('.')}.0.0/16`;
    // the world's v6 addresses are fd00:100::N:P: their /64 is fd00:100::/64 (first four groups)
    const groups = ip.split('::')[0]?.split(':') ?? [];
    return `${[...groups, '0', '0', '0', '0'].slice(0, 4).join(':')}::/64`;
  });
}

/** The next free world address for a pod created in namespace number `n` (1-based), as {@link conformanceWorld} numbers them. */
function nextPodIp(input: PolicyInput, n: number): string {
  const v6 = input.pods.some((p) => p.ips[0]?.includes(':'));
  const used = new Set(input.pods.flatMap((p) => p.ips));
  for (let p = 1; p < 250; p++) {
    const ip = v6 ? `fd00:100::${n}:${p}` : `10.100.${n}.${p}`;
    if (!used.has(ip)) return ip;
  }
  return bad(`no free address in namespace number ${n}`);
}

const relabel = (labels: Readonly<Record<string, string>>, add: Readonly<Record<string, string>> | undefined, set: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> =>
  (set !== undefined ? { ...set } : add !== undefined ? { ...labels, ...add } : labels);

/**
 * The model after one step, its parts in the order of {@link ConformanceStep}. Pods created get
 * the serve-* ports of `spec` (the world's) and the next free address of their namespace.
 */
export function applyConformanceStep(input: PolicyInput, step: ConformanceStep, source: string, ipOf: (pod: string) => string, spec?: ConformanceWorldSpec): PolicyInput {
  let namespaces = [...input.namespaces];
  let pods = [...input.pods];
  for (const [name, labels] of Object.entries(step.createNamespace ?? {})) {
    if (namespaces.some((n) => n.name === name)) bad(`${source}: createNamespace ${name}: it exists`);
    namespaces.push({ name, labels: { ...labels, [NAMESPACE_NAME_LABEL]: name } });
  }
  for (const [key, labels] of Object.entries(step.createPod ?? {})) {
    const [namespace = '', name = ''] = key.split('/');
    const n = namespaces.findIndex((x) => x.name === namespace);
    if (n < 0 || pods.some((p) => p.namespace === namespace && p.name === name)) bad(`${source}: createPod ${key}: no such namespace, or the pod exists`);
    const ports = spec !== undefined ? conformancePorts(spec) : (pods[0]?.ports ?? []);
    pods.push({ namespace, name, labels: { ...labels }, ports, host: 'h1', ips: [nextPodIp({ ...input, pods }, n + 1)] });
  }
  const policies = new Map<string, NetworkPolicyObject>(input.policies.map((p) => [policyKey(p), p]));
  if (step.apply !== undefined) {
    const lookup = (pod: string): string => pods.find((p) => `${p.namespace}/${p.name}` === pod)?.ips[0] ?? ipOf(pod);
    for (const p of parsePolicyDocuments(substituteAddresses(step.apply, lookup), source).policies) policies.set(policyKey(p), p);
  }
  namespaces = namespaces.map((ns) => {
    const labels = relabel(relabel(ns.labels, undefined, step.setNamespaceLabels?.[ns.name]), step.namespaceLabels?.[ns.name], undefined);
    return labels === ns.labels ? ns : { ...ns, labels: { ...labels, [NAMESPACE_NAME_LABEL]: ns.name } };
  });
  pods = pods.map((p) => {
    const key = `${p.namespace}/${p.name}`;
    const labels = relabel(relabel(p.labels, undefined, step.setPodLabels?.[key]), step.podLabels?.[key], undefined);
    return labels === p.labels ? p : { ...p, labels };
  });
  for (const ref of step.delete ?? []) policies.delete(ref);
  const gonePods = new Set(step.deletePod ?? []);
  const goneNs = new Set(step.deleteNamespace ?? []);
  for (const [k, p] of policies) if (goneNs.has(p.namespace)) policies.delete(k);
  return {
    policies: [...policies.values()],
    namespaces: namespaces.filter((n) => !goneNs.has(n.name)),
    pods: pods.filter((p) => !gonePods.has(`${p.namespace}/${p.name}`) && !goneNs.has(p.namespace)),
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
