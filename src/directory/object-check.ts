/**
 * Validation of objects arriving from outside the process (a peer's gossip, the persisted
 * store): every NetworkPolicyObject, NamespaceIdentity and PodIdentity is rebuilt field by
 * field from `unknown`, with the label, name and port syntax of src/policy and the address
 * parser of src/net, so nothing malformed (or carrying extra fields) reaches the model. Throws
 * WEFT_ERR_DECODE naming the object and field. Pure.
 */
import { WeftError, WORKLOAD_MAX_IPS_PER_POD } from '../common/index.js';
import { formatCidr, formatIp, parseCidr, parseIp } from '../net/index.js';
import {
  dns1123LabelProblem as dnsLabelProblem, labelKeyProblem, labelValueProblem, portNameProblem,
  type IpBlock, type LabelExpression, type LabelSelector, type NamespaceIdentity, type NetworkPolicyObject,
  type PodIdentity, type PodPort, type PolicyPeer, type PolicyPortSpec, type PolicyProtocol, type PolicyRule,
} from '../policy/index.js';
import { labelsProblem, podNameProblem, podPortsProblem } from './identity-syntax.js';

/** Most entries of any list inside one policy (rules, peers, ports, expressions, values). count */
const MAX_LIST = 1_024;
const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];
const OPERATORS: readonly LabelExpression['operator'][] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

class Checker {
  constructor(readonly where: string) {}

  fail(field: string, what: string): never {
    throw new WeftError('WEFT_ERR_DECODE', `${this.where}: field "${field}": ${what}`);
  }

  object(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(field ? `${field}.${k}` : k, 'unexpected field');
    return o;
  }

  list(v: unknown, field: string, max = MAX_LIST): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'must be a list');
    if (v.length > max) this.fail(field, `more than ${max} entries`);
    return v;
  }

  string(v: unknown, field: string, problem?: (s: string) => string | null): string {
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    const p = problem?.(v);
    if (p) this.fail(field, p);
    return v;
  }

  labels(v: unknown, field: string): Record<string, string> {
    const o = this.object(v, field, Object.keys(v ?? {}));
    const p = labelsProblem(o);
    if (p) this.fail(field, p);
    return { ...(o as Record<string, string>) };
  }

  protocol(v: unknown, field: string): PolicyProtocol {
    if (!PROTOCOLS.includes(v as PolicyProtocol)) this.fail(field, 'must be TCP, UDP or SCTP');
    return v as PolicyProtocol;
  }

  port(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) this.fail(field, 'must be an integer 1-65535');
    return v;
  }

  cidr(v: unknown, field: string): string {
    const c = parseCidr(this.string(v, field));
    if (!c) this.fail(field, 'must be a CIDR');
    return formatCidr(c);
  }
}

function selector(c: Checker, v: unknown, field: string): LabelSelector {
  const o = c.object(v, field, ['matchLabels', 'matchExpressions']);
  const matchExpressions = c.list(o.matchExpressions, `${field}.matchExpressions`).map((e, i): LabelExpression => {
    const f = `${field}.matchExpressions[${i}]`;
    const x = c.object(e, f, ['key', 'operator', 'values']);
    const key = c.string(x.key, `${f}.key`, labelKeyProblem);
    if (!OPERATORS.includes(x.operator as LabelExpression['operator'])) c.fail(`${f}.operator`, 'must be In, NotIn, Exists or DoesNotExist');
    const operator = x.operator as LabelExpression['operator'];
    const values = c.list(x.values, `${f}.values`).map((s, k) => c.string(s, `${f}.values[${k}]`, labelValueProblem));
    if ((operator === 'In' || operator === 'NotIn') !== (values.length > 0)) c.fail(`${f}.values`, `must be ${values.length > 0 ? 'empty' : 'non-empty'} for ${operator}`);
    return { key, operator, values };
  });
  return { matchLabels: c.labels(o.matchLabels, `${field}.matchLabels`), matchExpressions };
}

function peer(c: Checker, v: unknown, field: string): PolicyPeer {
  const o = c.object(v, field, ['podSelector', 'namespaceSelector', 'ipBlock']);
  if (o.ipBlock !== undefined) {
    if (o.podSelector !== undefined || o.namespaceSelector !== undefined) c.fail(field, 'ipBlock cannot be combined with selectors');
    const b = c.object(o.ipBlock, `${field}.ipBlock`, ['cidr', 'except']);
    const cidr = c.cidr(b.cidr, `${field}.ipBlock.cidr`);
    const except = c.list(b.except, `${field}.ipBlock.except`).map((e, i) => c.cidr(e, `${field}.ipBlock.except[${i}]`));
    const ipBlock: IpBlock = { cidr, except };
    return { ipBlock };
  }
  if (o.podSelector === undefined && o.namespaceSelector === undefined) c.fail(field, 'needs podSelector, namespaceSelector or ipBlock');
  return {
    ...(o.podSelector !== undefined ? { podSelector: selector(c, o.podSelector, `${field}.podSelector`) } : {}),
    ...(o.namespaceSelector !== undefined ? { namespaceSelector: selector(c, o.namespaceSelector, `${field}.namespaceSelector`) } : {}),
  };
}

function portSpec(c: Checker, v: unknown, field: string): PolicyPortSpec {
  const o = c.object(v, field, ['protocol', 'port', 'endPort']);
  const protocol = c.protocol(o.protocol, `${field}.protocol`);
  if (o.port === undefined) {
    if (o.endPort !== undefined) c.fail(`${field}.endPort`, 'needs a numeric port');
    return { protocol };
  }
  if (typeof o.port === 'string') {
    if (o.endPort !== undefined) c.fail(`${field}.endPort`, 'needs a numeric port');
    return { protocol, port: c.string(o.port, `${field}.port`, portNameProblem) };
  }
  const port = c.port(o.port, `${field}.port`);
  if (o.endPort === undefined) return { protocol, port };
  const endPort = c.port(o.endPort, `${field}.endPort`);
  if (endPort < port) c.fail(`${field}.endPort`, 'must be at least port');
  return { protocol, port, endPort };
}

function rule(c: Checker, v: unknown, field: string): PolicyRule {
  const o = c.object(v, field, ['peers', 'ports']);
  return {
    ...(o.peers !== undefined ? { peers: c.list(o.peers, `${field}.peers`).map((p, i) => peer(c, p, `${field}.peers[${i}]`)) } : {}),
    ...(o.ports !== undefined ? { ports: c.list(o.ports, `${field}.ports`).map((p, i) => portSpec(c, p, `${field}.ports[${i}]`)) } : {}),
  };
}

/** A NetworkPolicyObject rebuilt from `v`, or WEFT_ERR_DECODE naming `where` and the field. */
export function checkPolicyObject(v: unknown, where: string): NetworkPolicyObject {
  const c: Checker = new Checker(where);
  const o = c.object(v, '', ['namespace', 'name', 'audit', 'podSelector', 'policyTypes', 'ingress', 'egress']);
  const namespace = c.string(o.namespace, 'namespace', dnsLabelProblem);
  const name = c.string(o.name, 'name', podNameProblem);
  const audit = o.audit;
  if (typeof audit !== 'boolean') c.fail('audit', 'must be true or false');
  const types = c.list(o.policyTypes, 'policyTypes', 2).map((t, i): 'Ingress' | 'Egress' => {
    if (t !== 'Ingress' && t !== 'Egress') c.fail(`policyTypes[${i}]`, 'must be Ingress or Egress');
    return t;
  });
  if (new Set(types).size !== types.length || types.length === 0) c.fail('policyTypes', 'must list Ingress and/or Egress once each');
  return {
    namespace, name, audit,
    podSelector: selector(c, o.podSelector, 'podSelector'),
    policyTypes: [...types].sort(),
    ingress: c.list(o.ingress, 'ingress').map((r, i) => rule(c, r, `ingress[${i}]`)),
    egress: c.list(o.egress, 'egress').map((r, i) => rule(c, r, `egress[${i}]`)),
  };
}

/** A NamespaceIdentity rebuilt from `v` (its `kubernetes.io/metadata.name` label must name it). */
export function checkNamespace(v: unknown, where: string): NamespaceIdentity {
  const c: Checker = new Checker(where);
  const o = c.object(v, '', ['name', 'labels']);
  const name = c.string(o.name, 'name', dnsLabelProblem);
  const labels = c.labels(o.labels, 'labels');
  if (labels['kubernetes.io/metadata.name'] !== name) c.fail('labels', `must carry kubernetes.io/metadata.name=${name}`);
  return { name, labels };
}

/** A pod identity without its host (the record it came in names the host). */
export type AnnouncedPod = Omit<PodIdentity, 'host'>;

/** An announced pod rebuilt from `v`: names, labels, ports, and 1-16 addresses (printed canonically). */
export function checkPod(v: unknown, where: string): AnnouncedPod {
  const c: Checker = new Checker(where);
  const o = c.object(v, '', ['namespace', 'name', 'labels', 'ips', 'ports']);
  const namespace = c.string(o.namespace, 'namespace', dnsLabelProblem);
  const name = c.string(o.name, 'name', podNameProblem);
  const labels = c.labels(o.labels, 'labels');
  const ips = c.list(o.ips, 'ips', WORKLOAD_MAX_IPS_PER_POD).map((s, i) => {
    const ip = parseIp(c.string(s, `ips[${i}]`));
    return ip ? formatIp(ip) : c.fail(`ips[${i}]`, 'must be an IP address');
  });
  const ports = c.list(o.ports, 'ports').map((p, i): PodPort => {
    const x = c.object(p, `ports[${i}]`, ['name', 'port', 'protocol']);
    return { name: c.string(x.name, `ports[${i}].name`), port: c.port(x.port, `ports[${i}].port`), protocol: c.protocol(x.protocol, `ports[${i}].protocol`) };
  });
  const pp = podPortsProblem(ports);
  if (pp) c.fail('ports', pp);
  return { namespace, name, labels, ips, ports };
}

/** JSON with object keys sorted at every level: equal values give equal text (tie-breaks, change detection). */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}
