/**
 * Validation and normalisation of one NetworkPolicy or Namespace object (a JSON-like value, from
 * a YAML/JSON document or from the Kubernetes API) into the objects of objects.ts. Kubernetes'
 * own rules (networking/v1 validation): names, label syntax, selector operators, CIDRs and
 * `except`, ports and `endPort`, protocols; unknown fields in `spec` are refused by name.
 * Every error is a WeftError('WEFT_ERR_POLICY_INVALID') whose one-line message names the object
 * (through `where`) and the field path. Pure.
 */
import { WeftError } from '../common/index.js';
import { parseCidr, cidrNetwork, formatCidr, cidrContains } from '../net/index.js';
import {
  dns1123LabelProblem, dns1123SubdomainProblem, labelKeyProblem, labelValueProblem, portNameProblem,
  NAMESPACE_NAME_LABEL,
} from './labels.js';
import type {
  IpBlock, LabelExpression, LabelSelector, NetworkPolicyObject, PolicyPeer, PolicyPortSpec, PolicyRule,
} from './objects.js';
import type { NamespaceIdentity, PolicyProtocol } from './ruleset.js';

/** The annotation that puts a policy in audit mode (value `audit`; `enforce` is the default). */
export const POLICY_MODE_ANNOTATION = 'weft.io/policy-mode';
/** The default namespace of a NetworkPolicy without `metadata.namespace`. */
export const DEFAULT_NAMESPACE = 'default';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];
const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** Says where an object came from: `where(name)` is the message prefix, e.g. `policy.yaml: document 2 (NetworkPolicy default/web)`. */
export type ObjectLocator = (kind: string, name: string | undefined) => string;

/** A fail function for one object: throws the one-line error `PREFIX: PATH: PROBLEM`. */
type Fail = (path: string, problem: string) => never;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'an object';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function record(fail: Fail, v: unknown, path: string, allowed: readonly string[] | null): Record<string, unknown> {
  if (!isRecord(v)) fail(path, `must be an object, not ${show(v)}`);
  if (allowed !== null) {
    for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(path === '' ? k : `${path}.${k}`, `unknown field (known: ${allowed.join(', ')})`);
  }
  return v;
}

function list(fail: Fail, v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, `must be a list, not ${show(v)}`);
  return v;
}

function str(fail: Fail, v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `must be a string, not ${show(v)}`);
  return v;
}

function sortedRecord(entries: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) out[k] = v;
  return out;
}

/** A label map (`metadata.labels`, `matchLabels`), keys and values checked, keys sorted. */
function labelMap(fail: Fail, v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const r = record(fail, v, path, null);
  const entries: [string, string][] = [];
  for (const [k, val] of Object.entries(r)) {
    const kp = labelKeyProblem(k);
    if (kp !== null) fail(`${path}[${JSON.stringify(k)}]`, kp);
    const s = str(fail, val, `${path}.${k}`);
    const vp = labelValueProblem(s);
    if (vp !== null) fail(`${path}.${k}`, `${show(s)}: ${vp}`);
    entries.push([k, s]);
  }
  return sortedRecord(entries);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A label selector; null/absent is the empty selector (callers decide whether absent means something else). */
function selector(fail: Fail, v: unknown, path: string): LabelSelector {
  if (v === null || v === undefined) return { matchLabels: {}, matchExpressions: [] };
  const r = record(fail, v, path, ['matchLabels', 'matchExpressions']);
  const matchLabels = labelMap(fail, r.matchLabels, `${path}.matchLabels`);
  const matchExpressions = list(fail, r.matchExpressions, `${path}.matchExpressions`).map((e, i): LabelExpression => {
    const ep = `${path}.matchExpressions[${i}]`;
    const er = record(fail, e, ep, ['key', 'operator', 'values']);
    const key = str(fail, er.key, `${ep}.key`);
    const kp = labelKeyProblem(key);
    if (kp !== null) fail(`${ep}.key`, `${show(key)}: ${kp}`);
    const op = str(fail, er.operator, `${ep}.operator`);
    if (!(OPERATORS as readonly string[]).includes(op)) fail(`${ep}.operator`, `${show(op)} is not one of ${OPERATORS.join(', ')}`);
    const values = list(fail, er.values, `${ep}.values`).map((x, j) => {
      const s = str(fail, x, `${ep}.values[${j}]`);
      const vp = labelValueProblem(s);
      if (vp !== null) fail(`${ep}.values[${j}]`, `${show(s)}: ${vp}`);
      return s;
    });
    if ((op === 'In' || op === 'NotIn') && values.length === 0) fail(`${ep}.values`, `must not be empty for operator ${op}`);
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) fail(`${ep}.values`, `must be empty for operator ${op}`);
    return { key, operator: op as LabelExpression['operator'], values: [...new Set(values)].sort(compareText) };
  });
  const exprKey = (e: LabelExpression) => `${e.key}\u0000${e.operator}\u0000${e.values.join('\u0000')}`;
  matchExpressions.sort((a, b) => compareText(exprKey(a), exprKey(b)));
  return { matchLabels, matchExpressions };
}

function ipBlock(fail: Fail, v: unknown, path: string): IpBlock {
  const r = record(fail, v, path, ['cidr', 'except']);
  const text = str(fail, r.cidr, `${path}.cidr`);
  const cidr = parseCidr(text);
  if (cidr === null) fail(`${path}.cidr`, `${show(text)} is not a CIDR (ADDRESS/PREFIX, IPv4 or IPv6)`);
  const except = list(fail, r.except, `${path}.except`).map((x, i) => {
    const ep = `${path}.except[${i}]`;
    const t = str(fail, x, ep);
    const c = parseCidr(t);
    if (c === null) fail(ep, `${show(t)} is not a CIDR (ADDRESS/PREFIX, IPv4 or IPv6)`);
    if (c.address.family !== cidr.address.family || c.prefixLength <= cidr.prefixLength || !cidrContains(cidr, c.address)) {
      fail(ep, `${t} is not strictly inside cidr ${text}`);
    }
    return formatCidr(cidrNetwork(c));
  });
  return { cidr: formatCidr(cidrNetwork(cidr)), except: [...new Set(except)].sort(compareText) };
}

function peer(fail: Fail, v: unknown, path: string): PolicyPeer {
  const r = record(fail, v, path, ['podSelector', 'namespaceSelector', 'ipBlock']);
  const has = (k: string) => r[k] !== undefined && r[k] !== null;
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) fail(path, 'ipBlock may not be combined with podSelector or namespaceSelector');
    return { ipBlock: ipBlock(fail, r.ipBlock, `${path}.ipBlock`) };
  }
  if (!has('podSelector') && !has('namespaceSelector')) fail(path, 'a peer needs podSelector, namespaceSelector or ipBlock');
  const out: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector } = {};
  if (has('podSelector')) out.podSelector = selector(fail, r.podSelector, `${path}.podSelector`);
  if (has('namespaceSelector')) out.namespaceSelector = selector(fail, r.namespaceSelector, `${path}.namespaceSelector`);
  return out;
}

function portNumber(fail: Fail, v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `must be an integer, not ${show(v)}`);
  if (v < 1 || v > 65535) fail(path, `${v} is out of range 1..65535`);
  return v;
}

function portSpec(fail: Fail, v: unknown, path: string): PolicyPortSpec {
  const r = record(fail, v, path, ['protocol', 'port', 'endPort']);
  let protocol: PolicyProtocol = 'TCP';
  if (r.protocol !== undefined && r.protocol !== null) {
    const p = str(fail, r.protocol, `${path}.protocol`);
    if (!(PROTOCOLS as readonly string[]).includes(p)) fail(`${path}.protocol`, `${show(p)} is not one of ${PROTOCOLS.join(', ')}`);
    protocol = p as PolicyProtocol;
  }
  const port = r.port;
  const endPort = r.endPort;
  if (port === undefined || port === null) {
    if (endPort !== undefined && endPort !== null) fail(`${path}.endPort`, 'needs a numeric port');
    return { protocol };
  }
  if (typeof port === 'string') {
    const np = portNameProblem(port);
    if (np !== null) fail(`${path}.port`, `${show(port)}: ${np}`);
    if (endPort !== undefined && endPort !== null) fail(`${path}.endPort`, `may not be used with the named port ${show(port)}`);
    return { protocol, port };
  }
  const n = portNumber(fail, port, `${path}.port`);
  if (endPort === undefined || endPort === null) return { protocol, port: n };
  const e = portNumber(fail, endPort, `${path}.endPort`);
  if (e < n) fail(`${path}.endPort`, `${e} is below port ${n}`);
  return { protocol, port: n, endPort: e };
}

function rule(fail: Fail, v: unknown, path: string, peersField: 'from' | 'to'): PolicyRule {
  const r = record(fail, v ?? {}, path, [peersField, 'ports']);
  const peers = list(fail, r[peersField], `${path}.${peersField}`).map((p, i) => peer(fail, p, `${path}.${peersField}[${i}]`));
  const ports = list(fail, r.ports, `${path}.ports`).map((p, i) => portSpec(fail, p, `${path}.ports[${i}]`));
  const out: { peers?: PolicyPeer[]; ports?: PolicyPortSpec[] } = {};
  if (peers.length > 0) out.peers = peers;
  if (ports.length > 0) out.ports = ports;
  return out;
}

function metadataOf(fail: Fail, v: unknown): { name: string; namespace?: string; labels: unknown; annotations: Record<string, unknown> } {
  const m = record(fail, v, 'metadata', null);
  const name = m.name;
  if (name === undefined || name === null || name === '') fail('metadata.name', 'required');
  const ns = m.namespace;
  const annotations = m.annotations === undefined || m.annotations === null ? {} : record(fail, m.annotations, 'metadata.annotations', null);
  return {
    name: str(fail, name, 'metadata.name'),
    ...(ns === undefined || ns === null || ns === '' ? {} : { namespace: str(fail, ns, 'metadata.namespace') }),
    labels: m.labels,
    annotations,
  };
}

function failFor(where: ObjectLocator, kind: string, name: string | undefined): Fail {
  return (path, problem) => {
    throw new WeftError('WEFT_ERR_POLICY_INVALID', `${where(kind, name)}: ${path}: ${problem}`);
  };
}

/**
 * Validates and normalises a `networking.k8s.io/v1` NetworkPolicy object (apiVersion and kind
 * already checked by the caller, or absent for Kubernetes API objects).
 */
export function validateNetworkPolicy(obj: Record<string, unknown>, where: ObjectLocator): NetworkPolicyObject {
  const early = failFor(where, 'NetworkPolicy', undefined);
  record(early, obj, '', TOP_FIELDS);
  const meta = metadataOf(early, obj.metadata);
  const namespace = meta.namespace ?? DEFAULT_NAMESPACE;
  const fail = failFor(where, 'NetworkPolicy', `${namespace}/${meta.name}`);
  const np = dns1123SubdomainProblem(meta.name);
  if (np !== null) fail('metadata.name', `${show(meta.name)} ${np}`);
  const nsp = dns1123LabelProblem(namespace);
  if (nsp !== null) fail('metadata.namespace', `${show(namespace)} ${nsp}`);
  labelMap(fail, meta.labels, 'metadata.labels');
  const mode = meta.annotations[POLICY_MODE_ANNOTATION];
  if (mode !== undefined && mode !== 'audit' && mode !== 'enforce') {
    fail(`metadata.annotations[${JSON.stringify(POLICY_MODE_ANNOTATION)}]`, `${show(mode)} is not one of audit, enforce`);
  }
  if (obj.spec === undefined || obj.spec === null) fail('spec', 'required');
  const spec = record(fail, obj.spec, 'spec', ['podSelector', 'ingress', 'egress', 'policyTypes']);
  if (spec.podSelector === undefined || spec.podSelector === null) fail('spec.podSelector', 'required (use {} to select every pod of the namespace)');
  const podSelector = selector(fail, spec.podSelector, 'spec.podSelector');
  const ingress = list(fail, spec.ingress, 'spec.ingress').map((r, i) => rule(fail, r, `spec.ingress[${i}]`, 'from'));
  const egress = list(fail, spec.egress, 'spec.egress').map((r, i) => rule(fail, r, `spec.egress[${i}]`, 'to'));
  let policyTypes: ('Ingress' | 'Egress')[];
  // an empty list is defaulted like an absent one, as Kubernetes does (len(policyTypes) == 0)
  if (spec.policyTypes === undefined || spec.policyTypes === null || (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)) {
    policyTypes = egress.length > 0 ? ['Egress', 'Ingress'] : ['Ingress'];
  } else {
    const types = list(fail, spec.policyTypes, 'spec.policyTypes').map((t, i) => {
      const s = str(fail, t, `spec.policyTypes[${i}]`);
      if (s !== 'Ingress' && s !== 'Egress') fail(`spec.policyTypes[${i}]`, `${show(s)} is not one of Ingress, Egress`);
      return s as 'Ingress' | 'Egress';
    });
    if (new Set(types).size !== types.length) fail('spec.policyTypes', 'lists a type twice');
    policyTypes = [...types].sort(compareText);
  }
  return { namespace, name: meta.name, audit: mode === 'audit', podSelector, policyTypes, ingress, egress };
}

/** Validates a v1 Namespace object; `kubernetes.io/metadata.name` is set to the name, as Kubernetes does. */
export function validateNamespace(obj: Record<string, unknown>, where: ObjectLocator): NamespaceIdentity {
  const early = failFor(where, 'Namespace', undefined);
  record(early, obj, '', TOP_FIELDS);
  const meta = metadataOf(early, obj.metadata);
  const fail = failFor(where, 'Namespace', meta.name);
  const p = dns1123LabelProblem(meta.name);
  if (p !== null) fail('metadata.name', `${show(meta.name)} ${p}`);
  if (meta.namespace !== undefined) fail('metadata.namespace', 'a Namespace is cluster-scoped and has no namespace');
  const labels = labelMap(fail, meta.labels, 'metadata.labels');
  return { name: meta.name, labels: sortedRecord([...Object.entries(labels).filter(([k]) => k !== NAMESPACE_NAME_LABEL), [NAMESPACE_NAME_LABEL, meta.name]]) };
}
