/**
 * The reference semantics of NetworkPolicy, written straight from the Kubernetes definition and
 * independently of the compiler: for one connection (source, destination, protocol, destination
 * port) which policies isolate each side and which rules allow it. `compileRuleset` +
 * `rulesetAllows` must agree with it (property-tested), and `explain` is built on it. Pure.
 *
 * - A pod is isolated for ingress (egress) when a policy of its namespace selects it
 *   (podSelector) and lists Ingress (Egress) in policyTypes.
 * - A side that is not isolated allows everything; an isolated side allows what the union of
 *   the selecting policies' rules of that direction allows.
 * - The connection is allowed when both sides allow it (egress of the source, ingress of the
 *   destination). An end outside the cluster (`{ ip }`) has no side to isolate.
 * - Audit policies (`weft.io/policy-mode: audit`) are evaluated as if they were enforced; a
 *   connection that the enforcing policies allow but enforcing + audit would refuse is a
 *   "would drop" (it passes, and is counted and logged).
 */
import { matchesSelector } from './labels.js';
import { parseCidr, parseIp, cidrContains } from '../net/index.js';
import { policyKey, type NetworkPolicyObject, type PolicyInput, type PolicyPeer, type PolicyPortSpec } from './objects.js';
import type { PodIdentity, PolicyDirection, PolicyProtocol } from './ruleset.js';
import { indexPolicyInput, podKey, type PolicyWorld } from './world.js';

/** One end of a connection: a pod of the cluster, or an address (resolved to the pod that has it, if any). */
export type Endpoint = PodIdentity | { readonly ip: string };

/** Which address each end uses, when a pod has several (default: a pod matches an ipBlock when any of its addresses lies in it). */
export interface ConnectionAddresses {
  readonly srcIp?: string;
  readonly dstIp?: string;
}

/** The verdict of one side (egress of the source, or ingress of the destination). */
export interface SideVerdict {
  readonly direction: PolicyDirection;
  /** `NS/NAME` of the pod this side guards; absent when that end is outside the cluster. */
  readonly pod?: string;
  /** True when an enforcing policy isolates the pod in this direction. */
  readonly isolated: boolean;
  /** Enforcing policies (`NS/NAME`) isolating it, sorted. */
  readonly isolatedBy: readonly string[];
  /** Enforcing rule ids (`NS/NAME/DIRECTION/INDEX`) that allow the connection, sorted. */
  readonly allowedBy: readonly string[];
  /** The enforced verdict of this side. */
  readonly allowed: boolean;
  readonly audit: {
    /** Audit policies isolating it, sorted. */
    readonly isolatedBy: readonly string[];
    /** Audit rule ids that allow the connection, sorted. */
    readonly allowedBy: readonly string[];
    /** Allowed by the enforcing policies, refused by enforcing + audit ones. */
    readonly wouldDrop: boolean;
  };
}

/** The verdict of one connection. */
export interface ConnectionVerdict {
  /** Egress side and ingress side both allow it. */
  readonly allowed: boolean;
  /** Allowed, but enforcing + audit policies would refuse it on some side. */
  readonly wouldDrop: boolean;
  readonly egress: SideVerdict;
  readonly ingress: SideVerdict;
}

/** The rule id `NS/NAME/DIRECTION/INDEX`. */
export function ruleId(policy: { readonly namespace: string; readonly name: string }, direction: PolicyDirection, index: number): string {
  return `${policyKey(policy)}/${direction}/${index}`;
}

interface Resolved {
  readonly pod?: PodIdentity;
  /** The addresses this end may use. */
  readonly ips: readonly string[];
}

function resolve(world: PolicyWorld, e: Endpoint, ip: string | undefined): Resolved {
  if ('namespace' in e) return { pod: e, ips: ip !== undefined ? [ip] : e.ips };
  const pod = world.podByIp(e.ip);
  return pod !== undefined ? { pod, ips: [e.ip] } : { ips: [e.ip] };
}

function inIpBlock(block: { readonly cidr: string; readonly except: readonly string[] }, ip: string): boolean {
  const a = parseIp(ip);
  const c = parseCidr(block.cidr);
  if (a === null || c === null || !cidrContains(c, a)) return false;
  return !block.except.some((x) => {
    const xc = parseCidr(x);
    return xc !== null && cidrContains(xc, a);
  });
}

function peerMatches(world: PolicyWorld, policy: NetworkPolicyObject, peer: PolicyPeer, remote: Resolved): boolean {
  if (peer.ipBlock !== undefined) {
    const block = peer.ipBlock;
    return remote.ips.some((ip) => inIpBlock(block, ip));
  }
  const pod = remote.pod;
  if (pod === undefined) return false;
  if (peer.namespaceSelector !== undefined) {
    if (!matchesSelector(peer.namespaceSelector, world.namespaceLabels(pod.namespace))) return false;
  } else if (pod.namespace !== policy.namespace) {
    return false;
  }
  return peer.podSelector === undefined || matchesSelector(peer.podSelector, pod.labels);
}

function portMatches(spec: PolicyPortSpec, protocol: PolicyProtocol, port: number, dst: PodIdentity | undefined): boolean {
  if (spec.protocol !== protocol) return false;
  if (spec.port === undefined) return true;
  if (typeof spec.port === 'string') {
    const name = spec.port;
    return dst !== undefined && dst.ports.some((p) => p.name === name && p.protocol === protocol && p.port === port);
  }
  return spec.endPort === undefined ? port === spec.port : port >= spec.port && port <= spec.endPort;
}

function side(
  world: PolicyWorld, direction: PolicyDirection, guarded: Resolved, remote: Resolved, dst: PodIdentity | undefined,
  protocol: PolicyProtocol, port: number,
): SideVerdict {
  const pod = guarded.pod;
  const isolatedBy: string[] = [], auditIsolatedBy: string[] = [], allowedBy: string[] = [], auditAllowedBy: string[] = [];
  if (pod !== undefined) {
    for (const policy of world.input.policies) {
      if (policy.namespace !== pod.namespace || !matchesSelector(policy.podSelector, pod.labels)) continue;
      if (!policy.policyTypes.includes(direction === 'ingress' ? 'Ingress' : 'Egress')) continue;
      (policy.audit ? auditIsolatedBy : isolatedBy).push(policyKey(policy));
      const rules = direction === 'ingress' ? policy.ingress : policy.egress;
      rules.forEach((rule, i) => {
        const peerOk = rule.peers === undefined || rule.peers.some((p) => peerMatches(world, policy, p, remote));
        const portOk = rule.ports === undefined || rule.ports.some((s) => portMatches(s, protocol, port, dst));
        if (peerOk && portOk) (policy.audit ? auditAllowedBy : allowedBy).push(ruleId(policy, direction, i));
      });
    }
  }
  const allowed = isolatedBy.length === 0 || allowedBy.length > 0;
  const combined = isolatedBy.length + auditIsolatedBy.length === 0 || allowedBy.length + auditAllowedBy.length > 0;
  return {
    direction,
    ...(pod !== undefined ? { pod: podKey(pod) } : {}),
    isolated: isolatedBy.length > 0,
    isolatedBy: isolatedBy.sort(),
    allowedBy: allowedBy.sort(),
    allowed,
    audit: { isolatedBy: auditIsolatedBy.sort(), allowedBy: auditAllowedBy.sort(), wouldDrop: allowed && !combined },
  };
}

/**
 * The verdict of a connection from `src` to `dst` on (`protocol`, destination `port`). An
 * `{ ip }` end that is a pod's address is that pod. `addresses` picks the address each pod end
 * uses (for ipBlock peers; selectors match the pod whatever its address).
 */
export function evaluateConnection(
  input: PolicyInput, src: Endpoint, dst: Endpoint, protocol: PolicyProtocol, port: number,
  addresses: ConnectionAddresses = {}, world: PolicyWorld = indexPolicyInput(input),
): ConnectionVerdict {
  const s = resolve(world, src, addresses.srcIp);
  const d = resolve(world, dst, addresses.dstIp);
  const egress = side(world, 'egress', s, d, d.pod, protocol, port);
  const ingress = side(world, 'ingress', d, s, d.pod, protocol, port);
  const allowed = egress.allowed && ingress.allowed;
  return { allowed, wouldDrop: allowed && (egress.audit.wouldDrop || ingress.audit.wouldDrop), egress, ingress };
}

