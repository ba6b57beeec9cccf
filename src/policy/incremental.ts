/**
 * PolicyCompiler: {@link compileRuleset} made incremental. It keeps each policy's contribution
 * (isolations and rules) from the previous compile and, given the next whole input, recompiles
 * only the policies a change can touch:
 *   - a changed policy (added, removed, edited);
 *   - a pod that appeared, went, or changed labels, addresses, ports, host or locality: the
 *     policies in its namespace whose podSelector matches it (before or after) when it is or
 *     was local (targets), and those with a rule peer whose namespaces include its namespace and
 *     whose podSelector matches it before or after (peers, named destination ports); rules
 *     with ipBlock peers or no peers and named egress ports depend on every pod;
 *   - a namespace whose labels changed (or that appeared or went): the policies with a
 *     namespaceSelector peer matching it before or after.
 * The result is deep-equal to `compileRuleset(input, localIps)` (a property test checks this
 * over random change sequences), and the rule objects of untouched policies are the very
 * objects of the previous ruleset, so the kernel edge skips them by identity.
 *
 * Cost of one pod label change: the input diff (O(pods), fingerprints memoised per pod object)
 * + O(policies × peers) selector checks + the recompiled policies. Pure: no I/O.
 */
import { assembleRuleset, Compiler, compilePolicy, localPodsByNamespace, type PolicyContribution } from './compile.js';
import { matchesSelector } from './labels.js';
import { policyKey, type NetworkPolicyObject, type PolicyInput, type PolicyPeer } from './objects.js';
import type { PodIdentity, PolicyRuleset } from './ruleset.js';
import { indexPolicyInput, type PolicyWorld } from './world.js';

/** What the last {@link PolicyCompiler.update} recompiled (for logs and the bench). */
export interface CompileStats {
  readonly full: boolean;
  readonly policiesRecompiled: number;
  readonly podsChanged: number;
  readonly namespacesChanged: number;
}

interface Prev {
  readonly world: PolicyWorld;
  readonly policies: Map<string, { readonly policy: NetworkPolicyObject; readonly text: string }>;
  readonly pods: Map<string, PodIdentity>;
  readonly localIps: ReadonlySet<string>;
  readonly parts: Map<string, PolicyContribution>;
}

const fingerprints = new WeakMap<object, string>();
function fingerprint(o: object): string {
  let f = fingerprints.get(o);
  if (f === undefined) fingerprints.set(o, (f = JSON.stringify(o)));
  return f;
}

/**
 * Lifecycle: construct, then `update(input, localIps)` per change (any order of inputs: each
 * call diffs against the previous one). Guarantee: `update` returns what `compileRuleset`
 * would for the same arguments.
 */
export class PolicyCompiler {
  private prev: Prev | null = null;
  private lastStats: CompileStats = { full: true, policiesRecompiled: 0, podsChanged: 0, namespacesChanged: 0 };

  /** What the last update recompiled. */
  stats(): CompileStats {
    return this.lastStats;
  }

  /** Forget everything: the next update compiles every policy. */
  reset(): void {
    this.prev = null;
  }

  update(input: PolicyInput, localIps: ReadonlySet<string>): PolicyRuleset {
    const world = indexPolicyInput(input);
    const { local, byNs } = localPodsByNamespace(input.pods, localIps);
    const compiler = new Compiler(world);
    const policies = new Map<string, { policy: NetworkPolicyObject; text: string }>();
    for (const p of input.policies) policies.set(policyKey(p), { policy: p, text: fingerprint(p) });
    const pods = new Map<string, PodIdentity>();
    for (const p of input.pods) pods.set(fingerprint(p), p);
    const parts = new Map<string, PolicyContribution>();
    const prev = this.prev;
    if (prev === null || policies.size !== input.policies.length) {
      // First compile (or duplicate policy keys, which only a hand-built input has): everything.
      const list = input.policies.map((p) => compilePolicy(compiler, p, byNs));
      input.policies.forEach((p, i) => parts.set(policyKey(p), list[i]!));
      this.prev = policies.size === input.policies.length ? { world, policies, pods, localIps, parts } : null;
      this.lastStats = { full: true, policiesRecompiled: input.policies.length, podsChanged: input.pods.length, namespacesChanged: world.namespaceNames.length };
      return assembleRuleset(local, list);
    }
    const wasLocal = (p: PodIdentity): boolean => p.ips.some((ip) => prev.localIps.has(ip));
    const isLocal = (p: PodIdentity): boolean => p.ips.some((ip) => localIps.has(ip));
    // Changed pods: those whose fingerprint is only on one side, plus those whose locality changed.
    const changed: { pod: PodIdentity; local: boolean }[] = [];
    for (const [f, p] of pods) {
      const was = prev.pods.get(f);
      if (was === undefined) changed.push({ pod: p, local: isLocal(p) });
      else if (wasLocal(was) !== isLocal(p)) changed.push({ pod: p, local: true });
    }
    for (const [f, p] of prev.pods) if (!pods.has(f)) changed.push({ pod: p, local: wasLocal(p) });
    const nsChanged: { name: string; before: Readonly<Record<string, string>> | undefined; after: Readonly<Record<string, string>> | undefined }[] = [];
    const names = new Set([...prev.world.namespaceNames, ...world.namespaceNames]);
    const had = new Set(prev.world.namespaceNames), has = new Set(world.namespaceNames);
    for (const n of names) {
      const before = had.has(n) ? prev.world.namespaceLabels(n) : undefined;
      const after = has.has(n) ? world.namespaceLabels(n) : undefined;
      if (before === undefined || after === undefined || fingerprint(before) !== fingerprint(after)) nsChanged.push({ name: n, before, after });
    }
    let recompiled = 0;
    const nsLabelsNow = (n: string) => (has.has(n) ? world.namespaceLabels(n) : prev.world.namespaceLabels(n));
    for (const [key, { policy, text }] of policies) {
      const old = prev.policies.get(key);
      const kept = prev.parts.get(key);
      if (old !== undefined && old.text === text && kept !== undefined
        && !touchesPods(policy, changed, nsLabelsNow) && !touchesNamespaces(policy, nsChanged)) {
        parts.set(key, kept);
        continue;
      }
      parts.set(key, compilePolicy(compiler, policy, byNs));
      recompiled++;
    }
    this.prev = { world, policies, pods, localIps, parts };
    this.lastStats = { full: false, policiesRecompiled: recompiled, podsChanged: changed.length, namespacesChanged: nsChanged.length };
    return assembleRuleset(local, input.policies.map((p) => parts.get(policyKey(p))!));
  }
}

/** True when a change of one of `changed` can alter what `policy` compiles to. */
function touchesPods(policy: NetworkPolicyObject, changed: readonly { pod: PodIdentity; local: boolean }[],
  nsLabels: (n: string) => Readonly<Record<string, string>>): boolean {
  if (changed.length === 0) return false;
  for (const { pod, local } of changed) {
    if (local && pod.namespace === policy.namespace && matchesSelector(policy.podSelector, pod.labels)) return true;
  }
  for (const [direction, rules] of [['ingress', policy.ingress], ['egress', policy.egress]] as const) {
    for (const rule of rules) {
      const named = direction === 'egress' && (rule.ports ?? []).some((p) => typeof p.port === 'string');
      if (rule.peers === undefined) {
        if (named) return true; // every pod is a destination with named ports
        continue;
      }
      for (const peer of rule.peers) {
        if (peer.ipBlock !== undefined) {
          if (named) return true;
          continue;
        }
        for (const { pod } of changed) if (peerNames(policy.namespace, peer, pod, nsLabels)) return true;
      }
    }
  }
  return false;
}

function peerNames(policyNs: string, peer: PolicyPeer, pod: PodIdentity, nsLabels: (n: string) => Readonly<Record<string, string>>): boolean {
  if (peer.namespaceSelector === undefined ? pod.namespace !== policyNs : !matchesSelector(peer.namespaceSelector, nsLabels(pod.namespace))) return false;
  return peer.podSelector === undefined || matchesSelector(peer.podSelector, pod.labels);
}

function touchesNamespaces(policy: NetworkPolicyObject,
  changed: readonly { name: string; before: Readonly<Record<string, string>> | undefined; after: Readonly<Record<string, string>> | undefined }[]): boolean {
  if (changed.length === 0) return false;
  for (const rule of [...policy.ingress, ...policy.egress]) {
    for (const peer of rule.peers ?? []) {
      const sel = peer.namespaceSelector;
      if (sel === undefined) continue;
      for (const c of changed) {
        if ((c.before !== undefined && matchesSelector(sel, c.before)) || (c.after !== undefined && matchesSelector(sel, c.after))) return true;
      }
    }
  }
  return false;
}
