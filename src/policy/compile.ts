/**
 * `compileRuleset`: from the whole model (every pod of the cluster is a possible peer) and the
 * addresses of one host's pods, the {@link PolicyRuleset} that host's kernel enforces. Rule
 * peers are disjoint CIDRs (ipBlock `except` subtracted, pods as /32 or /128), named ports are
 * resolved per destination pod. Rules that can match nothing (no peer address, or only named
 * ports no destination has) are left out. Deterministic: equal inputs give deep-equal rulesets
 * (every list sorted). Pure.
 *
 * Cost: O(policies × local pods) to find targets, plus, per rule of a policy that selects a
 * local pod, the pods of the namespaces its peers select. Peer sets are memoised per
 * (policy namespace, peer) within one compile, so many policies with the same peers cost one.
 */
import { parseIp } from '../net/index.js';
import {
  addressInterval, cidrTextInterval, intervalsToCidrs, sortByAddress, subtractIntervals, unionIntervals,
  type AddressInterval,
} from './cidr-set.js';
import { matchesSelector } from './labels.js';
import { policyKey, type NetworkPolicyObject, type PolicyInput, type PolicyPeer, type PolicyRule } from './objects.js';
import { ruleId } from './reference.js';
import type {
  CompiledIsolation, CompiledPort, CompiledRule, PodIdentity, PolicyDirection, PolicyProtocol, PolicyRuleset,
} from './ruleset.js';
import { indexPolicyInput, type PolicyWorld } from './world.js';

type DestPort = CompiledRule['destPorts'][number];

/** One peer's addresses and the pods it names (selector peers only). */
interface PeerSet {
  readonly intervals: readonly AddressInterval[];
  readonly pods: readonly PodIdentity[];
}

function podIntervals(pod: PodIdentity): (AddressInterval | undefined)[] {
  return pod.ips.map((ip) => {
    const a = parseIp(ip);
    return a === null ? undefined : addressInterval(a);
  });
}

function podKeyOf(p: PodIdentity): string {
  return `${p.namespace}/${p.name}`;
}

/** True when the single-address interval `a` lies in the sorted disjoint `list` (binary search). */
function contains(list: readonly AddressInterval[], a: AddressInterval): boolean {
  let lo = 0, hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = list[mid] as AddressInterval;
    if (m.family < a.family || (m.family === a.family && m.hi < a.lo)) lo = mid + 1;
    else if (m.family > a.family || m.lo > a.lo) hi = mid - 1;
    else return true;
  }
  return false;
}

/** Compiles rules against one world, memoising peer sets (one instance per compile). */
export class Compiler {
  private readonly peerCache = new Map<string, PeerSet>();
  /** A rule's whole peer list (policy namespace + peers) → its intervals and CIDR text, shared by equal rules. */
  private readonly rulePeersCache = new Map<string, { intervals: AddressInterval[]; cidrs: string[] }>();
  private readonly podIntervalCache = new Map<PodIdentity, (AddressInterval | undefined)[]>();
  private readonly destCache = new Map<string, readonly { pod: PodIdentity; ip: string }[]>();
  private readonly nsSelectorCache = new Map<string, readonly string[]>();
  /** Egress named-port destinations by destKey: rules with equal keys share one array. */
  private readonly destPortsCache = new Map<string, DestPort[]>();
  constructor(private readonly world: PolicyWorld) {}

  private namespacesMatching(sel: NonNullable<PolicyPeer['namespaceSelector']>): readonly string[] {
    const key = JSON.stringify(sel);
    let names = this.nsSelectorCache.get(key);
    if (names === undefined) {
      names = this.world.namespaceNames.filter((n) => matchesSelector(sel, this.world.namespaceLabels(n)));
      this.nsSelectorCache.set(key, names);
    }
    return names;
  }

  peerSet(policyNs: string, peer: PolicyPeer): PeerSet {
    const key = `${policyNs}\u0000${JSON.stringify(peer)}`;
    const hit = this.peerCache.get(key);
    if (hit !== undefined) return hit;
    let set: PeerSet;
    if (peer.ipBlock !== undefined) {
      set = {
        intervals: subtractIntervals([cidrTextInterval(peer.ipBlock.cidr)], peer.ipBlock.except.map(cidrTextInterval)),
        pods: [],
      };
    } else {
      const namespaces = peer.namespaceSelector === undefined ? [policyNs] : this.namespacesMatching(peer.namespaceSelector);
      const pods: PodIdentity[] = [];
      for (const ns of namespaces) {
        for (const pod of this.world.podsIn(ns)) {
          if (peer.podSelector === undefined || matchesSelector(peer.podSelector, pod.labels)) pods.push(pod);
        }
      }
      const all: AddressInterval[] = [];
      for (const p of pods) for (const i of this.intervalsOf(p)) if (i !== undefined) all.push(i);
      set = { intervals: unionIntervals(all), pods };
    }
    this.peerCache.set(key, set);
    return set;
  }

  /** The pod's addresses as intervals, index for index (undefined for text that is no address). */
  private intervalsOf(pod: PodIdentity): (AddressInterval | undefined)[] {
    let l = this.podIntervalCache.get(pod);
    if (l === undefined) this.podIntervalCache.set(pod, (l = podIntervals(pod)));
    return l;
  }

  private rulePeers(policyNs: string, peers: readonly PolicyPeer[]): { intervals: AddressInterval[]; cidrs: string[] } {
    const key = peersKey(policyNs, peers);
    let hit = this.rulePeersCache.get(key);
    if (hit === undefined) {
      const intervals = unionIntervals(peers.flatMap((p) => this.peerSet(policyNs, p).intervals));
      hit = { intervals, cidrs: intervalsToCidrs(intervals) };
      this.rulePeersCache.set(key, hit);
    }
    return hit;
  }

  /**
   * Destinations (pod, address) of an egress rule's peers that may carry named ports: every
   * address of the pods its selector peers name, and the pods with an address inside its
   * ipBlocks. Memoised with the rule's peers.
   */
  egressDestinations(policyNs: string, peers: readonly PolicyPeer[]): readonly { pod: PodIdentity; ip: string }[] {
    const key = peersKey(policyNs, peers);
    let hit = this.destCache.get(key);
    if (hit !== undefined) return hit;
    const out: { pod: PodIdentity; ip: string }[] = [];
    const seen = new Set<string>();
    const add = (pod: PodIdentity, ip: string) => {
      const k = `${podKeyOf(pod)}|${ip}`;
      if (!seen.has(k)) { seen.add(k); out.push({ pod, ip }); }
    };
    const blocks: AddressInterval[] = [];
    for (const peer of peers) {
      const set = this.peerSet(policyNs, peer);
      if (peer.ipBlock !== undefined) blocks.push(...set.intervals);
      else for (const pod of set.pods) for (const ip of pod.ips) add(pod, ip);
    }
    if (blocks.length > 0) {
      const merged = unionIntervals(blocks);
      for (const pod of this.world.input.pods) {
        pod.ips.forEach((ip, i) => {
          const a = this.intervalsOf(pod)[i];
          if (a !== undefined && contains(merged, a)) add(pod, ip);
        });
      }
    }
    this.destCache.set(key, (hit = out));
    return hit;
  }

  rule(policy: NetworkPolicyObject, direction: PolicyDirection, index: number, rule: PolicyRule, targets: readonly PodIdentity[]): CompiledRule | null {
    const peerKey = rule.peers === undefined ? undefined : peersKey(policy.namespace, rule.peers);
    const namedSpec = rule.ports?.filter((s) => typeof s.port === 'string');
    const destKey = direction === 'egress' && namedSpec !== undefined && namedSpec.length > 0
      ? `${peerKey ?? 'any'}\u0000${JSON.stringify(namedSpec)}` : undefined;
    let sharedDest: DestPort[] | undefined;
    let peers: string[] | 'any' = 'any';
    if (rule.peers !== undefined) {
      const rp = this.rulePeers(policy.namespace, rule.peers);
      if (rp.intervals.length === 0) return null;
      peers = rp.cidrs;
    }
    let ports: CompiledPort[] | 'any' = 'any';
    const destPorts: DestPort[] = [];
    if (rule.ports !== undefined) {
      ports = [];
      const named: { name: string; protocol: PolicyProtocol }[] = [];
      for (const s of rule.ports) {
        if (typeof s.port === 'string') named.push({ name: s.port, protocol: s.protocol });
        else if (s.port === undefined) ports.push({ protocol: s.protocol });
        else if (s.endPort === undefined || s.endPort === s.port) ports.push({ protocol: s.protocol, port: s.port });
        else ports.push({ protocol: s.protocol, port: s.port, endPort: s.endPort });
      }
      const cached = destKey !== undefined ? this.destPortsCache.get(destKey) : undefined;
      if (cached !== undefined) sharedDest = cached;
      else if (named.length > 0) {
        const dests: readonly { pod: PodIdentity; ip: string }[] = direction === 'ingress'
          ? targets.flatMap((pod) => pod.ips.map((ip) => ({ pod, ip })))
          : rule.peers === undefined
            ? this.world.input.pods.flatMap((pod) => pod.ips.map((ip) => ({ pod, ip })))
            : this.egressDestinations(policy.namespace, rule.peers);
        for (const { pod, ip } of dests) {
          for (const n of named) {
            for (const pp of pod.ports) if (pp.name === n.name && pp.protocol === n.protocol) destPorts.push({ ip, protocol: pp.protocol, port: pp.port });
          }
        }
      }
      ports = dedupe(ports, portKey).sort(comparePorts);
      if (ports.length === 0 && destPorts.length === 0 && (sharedDest === undefined || sharedDest.length === 0)) return null;
    }
    let finalDest = sharedDest;
    if (finalDest === undefined) {
      finalDest = sortByAddress(dedupe(destPorts, (d) => `${d.ip}|${d.protocol}|${d.port}`), (d) => d.ip, compareDestPortsAtIp);
      if (destKey !== undefined) this.destPortsCache.set(destKey, finalDest);
    }
    return {
      id: ruleId(policy, direction, index),
      policy: policyKey(policy),
      direction,
      audit: policy.audit,
      targets: sortedIps(targets),
      peers,
      ...(peerKey !== undefined ? { peerKey } : {}),
      ...(destKey !== undefined ? { destKey } : {}),
      ports,
      destPorts: finalDest,
    };
  }
}

/**
 * Identity of a rule's peer list: the policy namespace matters only for peers with a
 * podSelector and no namespaceSelector (they name pods of the policy's own namespace).
 */
function peersKey(policyNs: string, peers: readonly PolicyPeer[]): string {
  const nsRelative = peers.some((p) => p.ipBlock === undefined && p.namespaceSelector === undefined);
  return `${nsRelative ? policyNs : '*'}\u0000${JSON.stringify(peers)}`;
}

function dedupe<T>(list: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return list.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const PROTOCOL_ORDER: Record<PolicyProtocol, number> = { TCP: 0, UDP: 1, SCTP: 2 };
function portKey(p: CompiledPort): string {
  return `${p.protocol}|${p.port ?? ''}|${p.endPort ?? ''}`;
}
function comparePorts(a: CompiledPort, b: CompiledPort): number {
  return PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol] || (a.port ?? 0) - (b.port ?? 0) || (a.endPort ?? 0) - (b.endPort ?? 0);
}
function compareDestPortsAtIp(a: DestPort, b: DestPort): number {
  return PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol] || a.port - b.port;
}
function sortedIps(pods: readonly PodIdentity[]): string[] {
  return sortByAddress([...new Set(pods.flatMap((p) => p.ips))], (ip) => ip);
}
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
function ruleOrder(r: CompiledRule): [string, number, number] {
  return [r.policy, r.direction === 'ingress' ? 0 : 1, Number(r.id.slice(r.id.lastIndexOf('/') + 1))];
}

/** What one policy contributes to a host's ruleset. */
export interface PolicyContribution {
  readonly isolations: readonly CompiledIsolation[];
  readonly rules: readonly CompiledRule[];
}

const NOTHING: PolicyContribution = { isolations: [], rules: [] };

/**
 * The isolations and rules one policy contributes, given the host's local pods by namespace.
 * `compiler` memoises peer sets: share one across the policies of one compile (it must be
 * built on the world of the same input).
 */
export function compilePolicy(compiler: Compiler, policy: NetworkPolicyObject, localByNs: ReadonlyMap<string, readonly PodIdentity[]>): PolicyContribution {
  const targets = (localByNs.get(policy.namespace) ?? []).filter((p) => matchesSelector(policy.podSelector, p.labels));
  if (targets.length === 0) return NOTHING;
  const targetIps = sortedIps(targets);
  const isolations: CompiledIsolation[] = [];
  const rules: CompiledRule[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    if (!policy.policyTypes.includes(direction === 'ingress' ? 'Ingress' : 'Egress')) continue;
    isolations.push({ policy: policyKey(policy), direction, audit: policy.audit, targets: targetIps });
    (direction === 'ingress' ? policy.ingress : policy.egress).forEach((r, i) => {
      const c = compiler.rule(policy, direction, i, r, targets);
      if (c !== null) rules.push(c);
    });
  }
  return { isolations, rules };
}

/** The local pods (any address in `localIps`) by namespace. */
export function localPodsByNamespace(pods: readonly PodIdentity[], localIps: ReadonlySet<string>): { local: PodIdentity[]; byNs: Map<string, PodIdentity[]> } {
  const local = pods.filter((p) => p.ips.some((ip) => localIps.has(ip)));
  const byNs = new Map<string, PodIdentity[]>();
  for (const p of local) {
    let l = byNs.get(p.namespace);
    if (l === undefined) byNs.set(p.namespace, (l = []));
    l.push(p);
  }
  return { local, byNs };
}

/** The ruleset from the contributions of every policy (sorted as {@link compileRuleset} defines). */
export function assembleRuleset(local: readonly PodIdentity[], parts: Iterable<PolicyContribution>): PolicyRuleset {
  const isolations: CompiledIsolation[] = [];
  const rules: CompiledRule[] = [];
  for (const c of parts) {
    for (const i of c.isolations) isolations.push(i);
    for (const r of c.rules) rules.push(r);
  }
  isolations.sort((a, b) => compareText(a.policy, b.policy) || compareText(a.direction, b.direction));
  rules.sort((a, b) => {
    const [pa, da, ia] = ruleOrder(a), [pb, db, ib] = ruleOrder(b);
    return compareText(pa, pb) || da - db || ia - ib;
  });
  return { localPods: sortedIps(local), isolations, rules };
}

/**
 * Compiles the ruleset of the host whose pods have the addresses `localIps` (a pod is local
 * when any of its addresses is). `world` may be passed when the caller keeps the index of
 * `input` (see {@link indexPolicyInput}); it must be the index of this very `input`.
 * {@link PolicyCompiler} (incremental.ts) gives the same result recompiling only what changed.
 */
export function compileRuleset(input: PolicyInput, localIps: ReadonlySet<string>, world: PolicyWorld = indexPolicyInput(input)): PolicyRuleset {
  const { local, byNs } = localPodsByNamespace(input.pods, localIps);
  const compiler = new Compiler(world);
  return assembleRuleset(local, input.policies.map((p) => compilePolicy(compiler, p, byNs)));
}
