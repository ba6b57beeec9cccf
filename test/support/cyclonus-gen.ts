/**
 * Writes test/fixtures/policy/cyclonus-cases.yaml: the cyclonus generator's case list
 * (test/support/cyclonus-cases.ts) in the format of the conformance fixture, with expectations
 * computed by weft's reference model (`evaluateConnection`, src/policy/reference.ts — written
 * from the Kubernetes definition, independent of the compiler) in the fixture's IPv4 world
 * (`conformanceWorld`). Deterministic: the same sources give the same bytes, and
 * src/policy/cyclonus-cases.test.ts checks that the committed file is what this writes.
 *
 *   node dist/test/support/cyclonus-gen.js           # rewrite the fixture
 *   node dist/test/support/cyclonus-gen.js --stdout  # print it
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import {
  applyConformanceStep, conformanceWorld, evaluateConnection, expectedAllowed, indexPolicyInput,
  type ConformanceStep, type ConformanceWorldSpec, type PolicyInput, type PolicyProtocol,
} from '../../src/policy/index.js';
import { cyclonusCases, type CyclonusStep, type Netpol, type Rule } from './cyclonus-cases.js';
import { HEADER } from './cyclonus-header.js';

export const CYCLONUS_FIXTURE = ['test', 'fixtures', 'policy', 'cyclonus-cases.yaml'] as const;
export const CYCLONUS_WORLD: ConformanceWorldSpec = { namespaces: ['x', 'y', 'z'], pods: ['a', 'b', 'c'], ports: [80, 81], protocols: ['TCP', 'UDP', 'SCTP'] };

const flow = (v: unknown): string => stringify(v, { collectionStyle: 'flow', lineWidth: 0, flowCollectionPadding: false }).trimEnd();

function rules(rs: readonly Rule[], peersField: 'from' | 'to'): unknown[] {
  return rs.map((r) => ({ ...(r.ports !== undefined ? { ports: r.ports } : {}), ...(r.peers !== undefined ? { [peersField]: r.peers } : {}) }));
}

/** One policy as a NetworkPolicy document (YAML lines). */
export function policyDocument(p: Netpol): string {
  const types = [...(p.ingress ? ['Ingress'] : []), ...(p.egress ? ['Egress'] : [])];
  const lines = ['apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', `metadata: ${flow({ name: p.name, namespace: p.namespace })}`, 'spec:',
    `  podSelector: ${flow(p.podSelector)}`, `  policyTypes: ${flow(types)}`];
  for (const [field, rs, peers] of [['ingress', p.ingress, 'from'], ['egress', p.egress, 'to']] as const) {
    if (rs === undefined) continue;
    if (rs.length === 0) { lines.push(`  ${field}: []`); continue; }
    lines.push(`  ${field}:`);
    for (const r of rules(rs, peers)) {
      const entries = Object.entries(r as object);
      if (entries.length === 0) lines.push('  - {}');
      entries.forEach(([k, v], i) => lines.push(`  ${i === 0 ? '-' : ' '} ${k}: ${flow(v)}`));
    }
  }
  return lines.join('\n');
}

/** The fixture step of a cyclonus step (its probes filled in later). */
function fixtureStep(s: CyclonusStep): Omit<ConformanceStep, 'probes'> {
  const policies = [...(s.create ?? []), ...(s.update ?? [])];
  return {
    ...(s.createNamespace ? { createNamespace: s.createNamespace } : {}),
    ...(s.createPod ? { createPod: s.createPod } : {}),
    ...(policies.length > 0 ? { apply: policies.map(policyDocument).join('\n---\n') + '\n' } : {}),
    ...(s.setNamespaceLabels ? { setNamespaceLabels: s.setNamespaceLabels } : {}),
    ...(s.setPodLabels ? { setPodLabels: s.setPodLabels } : {}),
    ...(s.deletePolicy ? { delete: s.deletePolicy } : {}),
    ...(s.deletePod ? { deletePod: s.deletePod } : {}),
    ...(s.deleteNamespace ? { deleteNamespace: s.deleteNamespace } : {}),
  };
}

type Matrix = (src: string, dst: string) => boolean;

/**
 * Expectation lines for a verdict matrix over `pods` (`NS/POD`; a pod to itself is not
 * checked). Destinations are grouped (every pod, a namespace's pods, one pod) when they agree on
 * every source but themselves; for each group the shorter of "deny the refused sources" and
 * "deny all, allow the allowed ones", sources grouped by namespace the same way.
 */
export function encodeExpectations(pods: readonly string[], allowed: Matrix): string[] {
  const nsOf = (p: string): string => p.split('/')[0]!;
  const namespaces = [...new Set(pods.map(nsOf))];
  /** The merged column of a destination group: src → verdict (absent: only self pairs, don't care). */
  const column = (group: readonly string[]): Map<string, boolean> | null => {
    const col = new Map<string, boolean>();
    for (const src of pods) {
      for (const dst of group) {
        if (src === dst) continue;
        const v = allowed(src, dst);
        if (col.has(src) && col.get(src) !== v) return null;
        col.set(src, v);
      }
    }
    return col;
  };
  const groups: [string, Map<string, boolean>][] = [];
  const all = column(pods);
  if (all) groups.push(['*', all]);
  else {
    for (const ns of namespaces) {
      const members = pods.filter((p) => nsOf(p) === ns);
      const col = members.length > 1 ? column(members) : null;
      if (col) groups.push([`${ns}/*`, col]);
      else for (const m of members) groups.push([m, column([m])!]);
    }
  }
  const lines: string[] = [];
  for (const [dst, col] of groups) {
    /** Sources with verdict `v`, grouped: `*`, `NS/*`, or single pods (don't-care pods join any group). */
    const sources = (v: boolean): string[] => {
      if ([...col.values()].every((x) => x === v)) return ['*'];
      return namespaces.flatMap((ns) => {
        const members = pods.filter((p) => nsOf(p) === ns && col.has(p));
        const hit = members.filter((p) => col.get(p) === v);
        if (hit.length === 0) return [];
        return hit.length === members.length ? [`${ns}/*`] : hit;
      });
    };
    if ([...col.values()].every((x) => x)) continue;
    const denied = sources(false);
    const allowedSrc = sources(true);
    if (denied.length <= 1 + allowedSrc.length) lines.push(...denied.map((s) => `deny ${s} -> ${dst}`));
    else lines.push(`deny * -> ${dst}`, ...allowedSrc.map((s) => `allow ${s} -> ${dst}`));
  }
  for (const src of pods) for (const dst of pods) {
    if (src !== dst && expectedAllowed(lines, src, dst) !== allowed(src, dst)) throw new Error(`cyclonus-gen: encoding is wrong for ${src} -> ${dst}`);
  }
  return lines;
}

interface Probe { port: number; protocol: PolicyProtocol; namedPort?: string }

/** The probes of a step: every served (port, protocol) of the world, or the one cyclonus names. */
function probesOf(s: CyclonusStep): Probe[] {
  if (s.probe) return [s.probe];
  return CYCLONUS_WORLD.ports.flatMap((port) => CYCLONUS_WORLD.protocols.map((protocol) => ({ port, protocol })));
}

const q = (s: string): string => JSON.stringify(s);
const labelMap = (m: Readonly<Record<string, Readonly<Record<string, string>>>>): string => flow(m);

/** The fixture's text. */
export function renderCyclonusFixture(): string {
  const out: string[] = [HEADER.trimEnd(), 'world:', `  namespaces: ${flow(CYCLONUS_WORLD.namespaces)}`, `  pods: ${flow(CYCLONUS_WORLD.pods)}`,
    `  ports: ${flow(CYCLONUS_WORLD.ports)}`, `  protocols: ${flow(CYCLONUS_WORLD.protocols)}`, 'cases:'];
  const counters = new Map<string, number>();
  for (const c of cyclonusCases()) {
    const n = (counters.get(c.family) ?? 0) + 1;
    counters.set(c.family, n);
    out.push(`- name: ${q(c.name)}`, `  suite: ${c.family}`, `  id: ${c.family}/${n}`, `  tags: ${flow(c.tags)}`, '  steps:');
    let input: PolicyInput = conformanceWorld(CYCLONUS_WORLD, 4);
    c.steps.forEach((s, i) => {
      const step = fixtureStep(s);
      input = applyConformanceStep(input, { ...step, probes: [] }, `${c.family}/${n} step ${i + 1}`, (pod) => {
        const p = input.pods.find((x) => `${x.namespace}/${x.name}` === pod);
        if (!p) throw new Error(`cyclonus-gen: no pod ${pod}`);
        return p.ips[0]!;
      }, CYCLONUS_WORLD);
      const fields: string[] = [];
      if (step.createNamespace) fields.push(`createNamespace: ${labelMap(step.createNamespace)}`);
      if (step.createPod) fields.push(`createPod: ${labelMap(step.createPod)}`);
      if (step.apply !== undefined) fields.push(`apply: |\n${step.apply.trimEnd().split('\n').map((l) => `      ${l}`).join('\n')}`);
      if (step.setNamespaceLabels) fields.push(`setNamespaceLabels: ${labelMap(step.setNamespaceLabels)}`);
      if (step.setPodLabels) fields.push(`setPodLabels: ${labelMap(step.setPodLabels)}`);
      if (step.delete) fields.push(`delete: ${flow(step.delete)}`);
      if (step.deletePod) fields.push(`deletePod: ${flow(step.deletePod)}`);
      if (step.deleteNamespace) fields.push(`deleteNamespace: ${flow(step.deleteNamespace)}`);
      fields.push('probes:');
      fields.forEach((f, j) => out.push(`  ${j === 0 ? '-' : ' '} ${f}`));
      const idx = indexPolicyInput(input);
      const keys = input.pods.map((p) => `${p.namespace}/${p.name}`);
      const byKey = new Map(input.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
      for (const p of probesOf(s)) {
        const expect = encodeExpectations(keys, (a, b) => evaluateConnection(input, byKey.get(a)!, byKey.get(b)!, p.protocol, p.port, {}, idx).allowed);
        if (p.namedPort) out.push(`    # cyclonus probes the named port ${p.namedPort}: every pod serves it on ${p.port}/${p.protocol}`);
        out.push(`    - {port: ${p.port}, protocol: ${p.protocol}, expect: [${expect.map(q).join(', ')}]}`);
      }
    });
  }
  return out.join('\n') + '\n';
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderCyclonusFixture();
  if (process.argv.includes('--stdout')) process.stdout.write(text);
  else {
    const repo = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
    writeFileSync(join(repo, ...CYCLONUS_FIXTURE), text);
    console.log(`wrote ${join(...CYCLONUS_FIXTURE)}`);
  }
}
