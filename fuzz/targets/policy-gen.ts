/**
 * Valid policy inputs for the policy targets: Kubernetes NetworkPolicy and Namespace objects
 * (the JSON shape `kubectl get -o json` shows), their text as `weft policy apply` reads it
 * (YAML documents, a JSON array, a `kind: List`), and the YAML-specific bad texts (alias
 * bombs, deep nesting, huge scalars, tags, merge keys, directives).
 */
import { stringify } from 'yaml';
import type { Rng } from '../rng.js';

type Obj = Record<string, unknown>;

const LABEL_KEYS = ['app', 'role', 'tier', 'example.com/team', 'kubernetes.io/metadata.name', 'a.b-c_d'];
const LABEL_VALUES = ['web', 'db', 'frontend', '', 'v1.2', 'x'.repeat(63)];
const NAMESPACES = ['default', 'x', 'y', 'shop', 'kube-system', 'n'.repeat(63)];
const CIDRS: readonly [string, string[]][] = [
  ['10.0.0.0/8', ['10.1.0.0/16', '10.2.3.0/24']], ['192.168.0.0/16', []], ['0.0.0.0/0', ['10.0.0.0/8']],
  ['fd00::/8', ['fd00:1::/32']], ['2001:db8::/32', []], ['10.32.0.5/32', []],
];

function labels(rng: Rng, max = 3): Obj {
  const o: Obj = {};
  for (let i = rng.int(max + 1); i > 0; i--) o[rng.pick(LABEL_KEYS)] = rng.pick(LABEL_VALUES);
  return o;
}

function selector(rng: Rng): Obj {
  const s: Obj = {};
  if (rng.chance(0.6)) s.matchLabels = labels(rng);
  if (rng.chance(0.4)) {
    s.matchExpressions = Array.from({ length: rng.range(1, 3) }, () => {
      const op = rng.pick(['In', 'NotIn', 'Exists', 'DoesNotExist']);
      return { key: rng.pick(LABEL_KEYS), operator: op, ...(op === 'In' || op === 'NotIn' ? { values: Array.from({ length: rng.range(1, 3) }, () => rng.pick(LABEL_VALUES)) } : {}) };
    });
  }
  return s;
}

function peer(rng: Rng): Obj {
  if (rng.chance(0.25)) {
    const [cidr, except] = rng.pick(CIDRS);
    return { ipBlock: { cidr, ...(except.length > 0 && rng.chance(0.6) ? { except } : {}) } };
  }
  const p: Obj = {};
  const which = rng.int(3);
  if (which !== 1) p.podSelector = selector(rng);
  if (which !== 0) p.namespaceSelector = selector(rng);
  return p;
}

function port(rng: Rng): Obj {
  const p: Obj = {};
  if (rng.chance(0.7)) p.protocol = rng.pick(['TCP', 'UDP', 'SCTP']);
  const r = rng.int(4);
  if (r === 0) p.port = rng.pick(['http', 'metrics', 'serve-80-tcp', 'dns-udp']);
  else if (r >= 2) {
    const n = rng.range(1, 65535);
    p.port = n;
    if (r === 3) p.endPort = Math.min(65535, n + rng.int(1000));
  }
  return p;
}

function rule(rng: Rng, field: 'from' | 'to'): Obj {
  const r: Obj = {};
  if (rng.chance(0.7)) r[field] = Array.from({ length: rng.range(0, 3) }, () => peer(rng));
  if (rng.chance(0.6)) r.ports = Array.from({ length: rng.range(0, 3) }, () => port(rng));
  return r;
}

/** A valid NetworkPolicy (name made unique by `index`). */
export function kubePolicy(rng: Rng, index = 0): Obj {
  const metadata: Obj = { name: `${rng.pick(['allow', 'deny-all', 'a.b', 'p'])}-${index}` };
  if (rng.chance(0.8)) metadata.namespace = rng.pick(NAMESPACES);
  if (rng.chance(0.3)) metadata.labels = labels(rng);
  if (rng.chance(0.3)) metadata.annotations = { 'weft.io/policy-mode': rng.pick(['audit', 'enforce']), other: 'x' };
  if (rng.chance(0.2)) Object.assign(metadata, { uid: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', resourceVersion: '41002', generation: 2, creationTimestamp: '2025-11-03T12:30:10Z' });
  const spec: Obj = { podSelector: selector(rng) };
  if (rng.chance(0.7)) spec.ingress = Array.from({ length: rng.range(0, 3) }, () => rule(rng, 'from'));
  if (rng.chance(0.5)) spec.egress = Array.from({ length: rng.range(0, 3) }, () => rule(rng, 'to'));
  if (rng.chance(0.5)) spec.policyTypes = rng.pick([['Ingress'], ['Egress'], ['Ingress', 'Egress'], ['Egress', 'Ingress']]);
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec };
}

/** A valid Namespace (name made unique by `index`). */
export function kubeNamespace(rng: Rng, index = 0): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${rng.pick(['x', 'shop', 'ns'])}-${index}`, ...(rng.chance(0.7) ? { labels: labels(rng) } : {}) } };
}

/** One to four valid objects with distinct names. */
export function kubeObjects(rng: Rng): Obj[] {
  return Array.from({ length: rng.chance(0.7) ? 1 : rng.range(2, 4) }, (_, i) => (rng.chance(0.75) ? kubePolicy(rng, i) : kubeNamespace(rng, i)));
}

/** The objects as the text of one apply, in one of the forms `parsePolicyDocuments` reads. */
export function applyText(rng: Rng, objs: readonly unknown[]): string {
  // the YAML writer is slow (quadratic) on deeply nested values: those are written as JSON
  const form = objs.some((o) => depthOf(o) > 12) ? 0 : rng.int(5);
  try {
    return textIn(form, rng, objs);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return textIn(0, rng, objs); // too deep for the YAML writer (a mutated document): JSON then
  }
}

function depthOf(v: unknown, d = 0): number {
  if (d > 12 || v === null || typeof v !== 'object') return d;
  let max = d;
  for (const x of Object.values(v)) max = Math.max(max, depthOf(x, d + 1));
  return max;
}

function textIn(form: number, rng: Rng, objs: readonly unknown[]): string {
  switch (form) {
    case 0: return JSON.stringify(objs.length === 1 ? objs[0] : objs, null, rng.chance(0.5) ? 2 : 0);
    case 1: return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs });
    case 2: return objs.map((o) => stringify(o, { collectionStyle: 'flow' })).join('---\n');
    default: return `${rng.chance(0.3) ? '---\n' : ''}${objs.map((o) => stringify(o)).join('---\n')}${rng.chance(0.2) ? '---\n' : ''}`;
  }
}

/** `s` repeated `n` times (cached: the big texts are built once per run). */
const cache = new Map<string, string>();
function repeated(s: string, n: number): string {
  const k = `${n}:${s}`;
  let v = cache.get(k);
  if (v === undefined) { v = s.repeat(n); cache.set(k, v); }
  return v;
}

/** `d` levels of block mappings, one column deeper each. */
function blockNest(d: number): string {
  const k = `block:${d}`;
  let v = cache.get(k);
  if (v === undefined) { v = Array.from({ length: d }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n'); cache.set(k, v); }
  return v;
}

const VALID_HEAD = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n';

/** YAML-specific bad texts, most of them around an otherwise valid NetworkPolicy. */
export function yamlNasty(rng: Rng, valid: string): string {
  switch (rng.int(14)) {
    case 0: { // billion laughs: 9 levels of 9 aliases each
      const lines = ['a0: &a0 "lol"'];
      const levels = rng.range(2, 9);
      for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
      return `${VALID_HEAD}spec:\n  podSelector: {}\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
    }
    case 1: { // many aliases of one anchor (just above / below the alias limit)
      const n = rng.chance(0.02) ? 10_000 : rng.pick([99, 100, 101, 1000]);
      return `${VALID_HEAD}spec:\n  podSelector: &s {}\n  ingress: [${repeated('{from: [{podSelector: *s}]}, ', n)}{}]\n`;
    }
    case 2: { // deep nesting, flow or block
      const d = rng.pick([50, 200, 256, 257, 1000, 20_000]);
      return rng.chance(0.5) ? `${VALID_HEAD}spec: ${repeated('[', d)}${repeated(']', d)}\n` : `${VALID_HEAD}spec:\n${blockNest(rng.pick([50, 200, 511, 513]))} 1\n`;
    }
    case 3: { // a huge scalar (plain, quoted, block) in a name, a label or an unknown field
      const n = rng.chance(0.02) ? 300_000 : rng.pick([64, 254, 10_000]);
      const big = repeated('a', n);
      return rng.pick([
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${big}, namespace: x}\nspec: {podSelector: {}}\n`,
        `${VALID_HEAD}spec:\n  podSelector: {matchLabels: {app: "${big}"}}\n`,
        `${VALID_HEAD}spec:\n  podSelector: {}\n  note: |\n${repeated(`    ${repeated('a', 76)}\n`, Math.ceil(n / 80))}`,
      ]);
    }
    case 4: // tags: core, YAML 1.1 and unknown ones
      return `${VALID_HEAD}spec:\n  podSelector: ${rng.pick(['!!map {}', '!!set {a, b}', '!!omap [{a: 1}]', '!!binary aGVsbG8=', '!!str {}', '!foo {}', '!<tag:yaml.org,2002:js/function> "x"', '!!timestamp 2001-12-14', '!!int "0x1F"', '!!float .nan', '!!null ""'])}\n  policyTypes: [${rng.pick(['!!str Ingress', '!!bool Ingress', '!!binary SW5ncmVzcw==', 'Ingress'])}]\n`;
    case 5: // merge keys, recursive and undefined aliases
      return rng.pick([
        `base: &b {podSelector: {}}\n---\n${VALID_HEAD}spec:\n  <<: *b\n`,
        `${VALID_HEAD}spec: &r\n  podSelector: {}\n  ingress: [*r]\n`,
        `${VALID_HEAD}spec: &r [*r]\n`,
        `${VALID_HEAD}spec:\n  podSelector: *undefined\n`,
        `${VALID_HEAD}spec:\n  <<: [{podSelector: {}}, {policyTypes: [Ingress]}]\n`,
      ]);
    case 6: // duplicate keys, complex keys, non-string keys
      return rng.pick([
        `${VALID_HEAD}spec: {podSelector: {}, podSelector: {}}\n`,
        `${VALID_HEAD}spec:\n  ? [podSelector]\n  : {}\n`,
        `${VALID_HEAD}spec:\n  podSelector: {matchLabels: {1: 2, true: null, ~: x, 1.5: y}}\n`,
        `${VALID_HEAD}spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 0x50}, {port: 0o17}, {port: 1e3}, {port: 80.0}, {port: .inf}]\n`,
      ]);
    case 7: // directives and document markers
      return rng.pick([`%YAML 1.1\n---\n${valid}`, `%YAML 1.2\n%YAML 1.2\n---\n${valid}`, `%TAG ! tag:example.com,2000:\n---\n${valid}`, `%FOO bar\n---\n${valid}`, `${valid}\n...\n---\n...\n`, `---\n---\n---\n${valid}`]);
    case 8: // many documents (empty ones and valid ones)
      return Array.from({ length: rng.pick([10, 50, 150]) }, (_, i) => (i % 2 === 0 ? '' : `apiVersion: v1\nkind: Namespace\nmetadata: {name: n${i}}\n`)).join('---\n');
    case 9: // odd characters: BOM, NUL, tabs in indentation, lone surrogates, CRLF
      return rng.pick([`\ufeff${valid}`, valid.replace(/\n/, '\n\u0000'), valid.replace(/\n {2}/g, '\n\t'), `${valid}x: "\ud800"\n`, valid.replace(/\n/g, '\r\n'), valid.replace(/:/, ':\u00a0'), `${valid}\u2028`]);
    case 10: // YAML 1.1 booleans and numbers where strings are expected
      return `${VALID_HEAD}spec:\n  podSelector: {matchLabels: {app: ${rng.pick(['yes', 'on', 'no', 'off', 'y', 'n', '~', 'null', '012', '0x10', '1_000', '.5', '-.inf', '2001-12-14t21:59:43.10-05:00'])}}}\n`;
    case 11: // block scalars with indentation indicators and chomping
      return `${VALID_HEAD}spec:\n  podSelector:\n    matchLabels:\n      app: ${rng.pick(['|-', '>+', '|2', '>9', '|0', '|+-'])}\n        web\n`;
    case 12: // a List with a bad items field, nested Lists, a List inside an array
      return rng.pick([
        JSON.stringify({ kind: 'List', items: { a: 1 } }), JSON.stringify({ kind: 'List', items: [{ kind: 'List', items: [] }] }),
        JSON.stringify([{ kind: 'List', items: [] }]), JSON.stringify({ kind: 'List' }), '[]', '{}', 'null', '', '---', '- - -',
      ]);
    default: { // a valid text cut, or two of them spliced inside a line
      const cut = rng.int(valid.length + 1);
      return rng.chance(0.5) ? valid.slice(0, cut) : `${valid.slice(0, cut)}${valid.slice(rng.int(valid.length + 1))}`;
    }
  }
}
