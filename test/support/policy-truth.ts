/**
 * The truth-table runner: drives a {@link PolicyWorld} on three real daemons through the
 * conformance cases (test/fixtures/policy/conformance-cases.yaml) with the CLI, exactly as an
 * operator would — `weft policy apply -f`, `weft policy delete`, `weft label NETNS`, Namespace
 * documents for namespace labels — keeps the reference model of what it did, waits until every
 * host reports the model's input digest in force (`status.policy.inputDigest`, nothing
 * pending), probes every pod pair and compares each verdict with the fixture's expectation and
 * with `evaluateConnection` on the real addresses. A mismatch reads as a table (pair, hosts,
 * port/proto, fixture, model, got) followed by the involved hosts' `inet weft_policy` tables.
 *
 * Lifecycle: `init()` once after `world.build()` (applies the namespaces' `ns=NAME` labels);
 * then any number of `runStep`/`apply`/`label`… calls, `reset()` between cases (deletes the
 * policies and undoes label changes; never restarts a daemon).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyConformanceStep, evaluateConnection, expectedAllowed, indexPolicyInput, NAMESPACE_NAME_LABEL,
  policyInputDigest, policyKey, substituteAddresses, type ConformanceProbe, type ConformanceStep, type PolicyInput,
} from '../../src/policy/index.js';
import { sh, WEFT, type Lab, type LabHost } from './lab.js';
import { namespaceDocuments, probeKey, WORLD_PORTS, WORLD_PROTOCOLS, type PolicyWorld, type WorldProbe } from './policy-world.js';
import { waitFor } from './wait.js';

/** Probe timeout of the first round; a refused probe the model allows is probed again with {@link RETRY_TIMEOUT_MS}. ms */
export const PROBE_TIMEOUT_MS = 600;
export const RETRY_TIMEOUT_MS = 2500;
/** Bound of the wait for every host to enforce a change (a safety net, not what is measured). ms */
const CONVERGE_TIMEOUT_MS = 20_000;

/** What one checked step cost and found. */
export interface StepReport {
  /** From the first CLI command of the step until every host had it in force. ms */
  updateMs: number;
  probeMs: number;
  probes: number;
  /** Probes refused in the first round but answered when probed again (lost packets under load). */
  retried: number;
  mismatches: string[];
}

export class TruthRunner {
  model: PolicyInput;
  private readonly base: PolicyInput;
  private seq = 0;

  constructor(private readonly lab: Lab, private readonly hosts: readonly LabHost[], readonly world: PolicyWorld) {
    this.base = world.model();
    this.model = this.base;
  }

  /** `weft ARGS` on host `h` (throws with the CLI's message on failure). */
  weft(h: LabHost, args: string[]): string {
    return this.lab.exec(h, process.execPath, [WEFT, ...args, '--api-socket', h.socket], { timeoutMs: 20_000 });
  }

  /** Label the namespaces `ns=NAME` (Namespace documents) and wait for every host. */
  async init(): Promise<void> {
    this.applyNamespaces(this.world.baseNamespaceLabels(), this.hosts[0]!);
    await this.converge('the namespaces labelled');
  }

  /** The model's digest in force on every host, nothing pending. Resolves with the ms waited. */
  async converge(what: string): Promise<number> {
    const want = policyInputDigest(this.model);
    const t0 = Date.now();
    let last = '';
    await waitFor(async () => {
      const st = await Promise.all(this.hosts.map((h) => h.client.status()));
      last = st.map((s, i) => `host${i + 1}: ${s.policy?.inputDigest ?? '-'}${s.policy?.pending ? ' (pending)' : ''}${s.policy?.lastError ? ` error: ${s.policy.lastError}` : ''} [${s.policy?.policies} policies, ${s.policy?.pods} pods]`).join('; ');
      return st.every((s) => s.policy?.inputDigest === want && s.policy.pending === false);
    }, { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 25, what: `every host enforcing ${what} (${want}; now ${last})` });
    return Date.now() - t0;
  }

  /** `weft policy apply -f` of `text` (placeholders already substituted) on `h`; the model follows. */
  apply(text: string, h: LabHost): void {
    const file = join(this.lab.dir, `step-${++this.seq}.yaml`);
    writeFileSync(file, text);
    this.weft(h, ['policy', 'apply', '-f', file]);
    this.model = applyConformanceStep(this.model, { apply: text, probes: [] }, file, (p) => this.world.pod(p).ip);
  }

  /** `weft policy delete REFS` on `h`; the model follows. */
  delete(refs: readonly string[], h: LabHost): void {
    if (refs.length === 0) return;
    this.weft(h, ['policy', 'delete', ...refs]);
    this.model = { ...this.model, policies: this.model.policies.filter((p) => !refs.includes(policyKey(p))) };
  }

  /** `weft label NETNS` on the pod's host: `set` labels set, `remove` keys removed; the model follows. */
  label(pod: string, set: Readonly<Record<string, string>>, remove: readonly string[] = []): void {
    const p = this.world.pod(pod);
    this.weft(p.host, ['label', p.netns, ...Object.entries(set).map(([k, v]) => `${k}=${v}`), ...remove.map((k) => `${k}-`)]);
    this.model = {
      ...this.model,
      pods: this.model.pods.map((q) => (policyKey(q) !== pod ? q
        : { ...q, labels: Object.fromEntries(Object.entries({ ...q.labels, ...set }).filter(([k]) => !remove.includes(k))) })),
    };
  }

  /** Namespace documents giving each listed namespace exactly `labels` (plus its name label); the model follows. */
  applyNamespaces(labels: Readonly<Record<string, Readonly<Record<string, string>>>>, h: LabHost): void {
    const file = join(this.lab.dir, `ns-${++this.seq}.yaml`);
    writeFileSync(file, namespaceDocuments(labels));
    this.weft(h, ['policy', 'apply', '-f', file]);
    this.model = {
      ...this.model,
      namespaces: this.model.namespaces.map((n) => (labels[n.name] ? { name: n.name, labels: { ...labels[n.name], [NAMESPACE_NAME_LABEL]: n.name } } : n)),
    };
  }

  /**
   * One fixture step through the CLI (apply and namespace changes on `h`, pod labels on the
   * pods' hosts); the model is stepped by `applyConformanceStep` itself, and must agree with
   * what the runner did (same digest), so the two cannot drift apart.
   */
  doStep(step: ConformanceStep, h: LabHost, source: string): void {
    const ipOf = (p: string): string => this.world.pod(p).ip;
    const want = applyConformanceStep(this.model, step, source, ipOf);
    const unsupported = FIXED_WORLD_KINDS.filter((k) => step[k] !== undefined);
    if (unsupported.length > 0) throw new Error(`${source}: ${unsupported.join(', ')}: the truth-table world has a fixed set of pods and namespaces`);
    if (step.apply !== undefined) this.apply(substituteAddresses(step.apply, ipOf), h);
    const current = new Map(this.model.namespaces.map((n) => [n.name, n.labels]));
    const ns = new Map<string, Record<string, string>>();
    for (const [n, labels] of Object.entries(step.setNamespaceLabels ?? {})) ns.set(n, withoutName(labels));
    for (const [n, add] of Object.entries(step.namespaceLabels ?? {})) ns.set(n, withoutName({ ...(ns.get(n) ?? current.get(n)), ...add }));
    if (ns.size > 0) this.applyNamespaces(Object.fromEntries(ns), h);
    for (const [pod, labels] of Object.entries(step.setPodLabels ?? {})) {
      const now = this.model.pods.find((q) => policyKey(q) === pod)?.labels ?? {};
      this.label(pod, labels, Object.keys(now).filter((k) => !(k in labels)));
    }
    for (const [pod, set] of Object.entries(step.podLabels ?? {})) this.label(pod, set);
    this.delete(step.delete ?? [], h);
    if (policyInputDigest(want) !== policyInputDigest(this.model)) throw new Error(`${source}: the runner's model drifted from applyConformanceStep`);
  }

  /** Back to the world without policies: policies deleted, labels restored; waits for every host. */
  async reset(h: LabHost): Promise<number> {
    const t0 = Date.now();
    this.delete(this.model.policies.map(policyKey), h);
    for (const p of this.model.pods) {
      const b = this.base.pods.find((q) => policyKey(q) === policyKey(p))!;
      const extra = Object.keys(p.labels).filter((k) => !(k in b.labels));
      const changed = Object.fromEntries(Object.entries(b.labels).filter(([k, v]) => p.labels[k] !== v));
      if (extra.length > 0 || Object.keys(changed).length > 0) this.label(policyKey(p), changed, extra);
    }
    const nsChanged = this.model.namespaces.filter((n) => policyInputDigest({ policies: [], pods: [], namespaces: [n] })
      !== policyInputDigest({ policies: [], pods: [], namespaces: [this.base.namespaces.find((b) => b.name === n.name)!] }));
    if (nsChanged.length > 0) this.applyNamespaces(Object.fromEntries(nsChanged.map((n) => [n.name, this.world.baseNamespaceLabels()[n.name]!])), h);
    await this.converge('the world without policies');
    return Date.now() - t0;
  }

  /**
   * Probe every pair on TCP and UDP, ports 80 and 81, and compare with the model and with the
   * step's fixture probes; SCTP fixture probes are compared with the model only.
   */
  async check(step: ConformanceStep): Promise<Omit<StepReport, 'updateMs'>> {
    const t0 = Date.now();
    const idx = indexPolicyInput(this.model);
    const allowed = (q: WorldProbe): boolean => evaluateConnection(this.model, { ip: q.src.ip }, { ip: q.dst.ip }, q.protocol, q.port, {}, idx).allowed;
    const probes = this.world.allProbes();
    const got = await this.world.probe(probes, PROBE_TIMEOUT_MS);
    const lost = probes.filter((q) => !got.get(key(q)) && allowed(q));
    let retried = 0;
    if (lost.length > 0) {
      for (const [k, ok] of await this.world.probe(lost, RETRY_TIMEOUT_MS)) if (ok) { got.set(k, true); retried++; }
    }
    const mismatches: string[] = [];
    const involved = new Set<LabHost>();
    for (const q of probes) {
      const fixture = step.probes.find((f) => f.port === q.port && f.protocol === q.protocol);
      const want = fixture ? expectedAllowed(fixture.expect, q.src.key, q.dst.key) : undefined;
      const model = allowed(q);
      const seen = got.get(key(q))!;
      if (seen !== model || (want !== undefined && want !== model)) {
        mismatches.push(`${q.src.key} (host${q.src.host.index}) -> ${q.dst.key} (host${q.dst.host.index}) ${q.port}/${q.protocol}: `
          + `fixture ${want === undefined ? '-' : verdict(want)}, model ${verdict(model)}, got ${verdict(seen)}`);
        involved.add(q.src.host).add(q.dst.host);
      }
    }
    for (const f of step.probes.filter((p) => !probed(p))) {
      for (const src of this.world.pods) for (const dst of this.world.pods) {
        if (src === dst) continue;
        const want = expectedAllowed(f.expect, src.key, dst.key);
        const model = evaluateConnection(this.model, { ip: src.ip }, { ip: dst.ip }, f.protocol, f.port, {}, idx).allowed;
        if (want !== model) mismatches.push(`${src.key} -> ${dst.key} ${f.port}/${f.protocol} (model only): fixture ${verdict(want)}, model ${verdict(model)}`);
      }
    }
    if (mismatches.length > 0) {
      const tables = [...involved].map((h) => `--- host${h.index}: nft list table inet weft_policy\n${nftTable(h)}\n--- host${h.index}: host-gw hooks and MACs\n${hostGwState(h)}`);
      mismatches.push(...tables);
    }
    return { probeMs: Date.now() - t0, probes: probes.length, retried, mismatches };
  }
}

/** Step kinds that change the set of pods or namespaces: not run on the fixed world of real pods. */
export const FIXED_WORLD_KINDS = ['createPod', 'deletePod', 'createNamespace', 'deleteNamespace'] as const;
/** True when a case can run on the world of real pods (it does not create or delete pods or namespaces). */
export const runsOnRealPods = (c: { steps: readonly ConformanceStep[] }): boolean => c.steps.every((s) => FIXED_WORLD_KINDS.every((k) => s[k] === undefined));

const key = (q: WorldProbe): string => probeKey(q.src.key, q.dst.key, q.port, q.protocol);
const verdict = (b: boolean): string => (b ? 'allow' : 'deny');
/** A fixture probe the world can run (TCP or UDP on a served port); SCTP ones are model-only. */
export const probed = (p: ConformanceProbe): boolean => (WORLD_PROTOCOLS as readonly string[]).includes(p.protocol) && (WORLD_PORTS as readonly number[]).includes(p.port);
const withoutName = (l: Readonly<Record<string, string>>): Record<string, string> => Object.fromEntries(Object.entries(l).filter(([k]) => k !== NAMESPACE_NAME_LABEL));

/**
 * What host-gw does with policed pods on `h`: the `weft_hostgw` rules that rewrite their frames
 * (`ether daddr set MAC`), the `policed` set, and the MACs of the host's bridge and veths, to
 * see whether a rewrite targets a MAC the bridge delivers locally.
 */
export function hostGwState(h: LabHost): string {
  const table = sh('ip', ['netns', 'exec', h.ns, 'nft', 'list', 'table', 'netdev', 'weft_hostgw'], { allowFail: true });
  if (table === '') return '(no host-gw table)';
  const rules = table.split('\n').filter((l) => /ether daddr set|policed|chain |elements/.test(l)).map((l) => l.trim());
  const links = (JSON.parse(sh('ip', ['-n', h.ns, '-j', 'link', 'show'], { allowFail: true }) || '[]') as { ifname: string; address?: string; master?: string; linkinfo?: { info_kind?: string } }[])
    .filter((l) => l.ifname !== 'lo').map((l) => `${l.ifname} ${l.address ?? ''}${l.master ? ` master ${l.master}` : ''}`);
  const fdb = sh('bridge', ['-n', h.ns, 'fdb', 'show', 'permanent'], { allowFail: true }).split('\n').filter((l) => / self | master /.test(l) && !/^(33:33|01:00)/.test(l)).slice(0, 30);
  return [...rules, 'links:', ...links, 'bridge fdb (permanent):', ...fdb].join('\n');
}

/** The host's policy table (at most 200 lines), or why it cannot be listed. */
export function nftTable(h: LabHost): string {
  const out = sh('ip', ['netns', 'exec', h.ns, 'nft', 'list', 'table', 'inet', 'weft_policy'], { allowFail: true });
  const lines = out.split('\n');
  return lines.length > 200 ? [...lines.slice(0, 200), `… (${lines.length - 200} more lines)`].join('\n') : out || '(no table)';
}
