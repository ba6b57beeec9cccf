/**
 * What a compiled {@link PolicyRuleset} means, packet by packet: the semantics the kernel edge
 * must implement (and the compiler's tests check against the reference model). Pure; linear in
 * the ruleset (it is a specification, not a fast path).
 */
import { cidrTextInterval, sortedIntervalsContain, unionIntervals, type AddressInterval } from './cidr-set.js';
import type { CompiledRule, PolicyDirection, PolicyProtocol, PolicyRuleset } from './ruleset.js';

/** The verdict of one packet direction at one host. */
export interface RulesetVerdict {
  /** Passes the enforcing isolations and rules. */
  readonly allowed: boolean;
  /** Ids of every rule (enforcing and audit) that matches, sorted. */
  readonly ruleIds: readonly string[];
  /** Allowed, but enforcing + audit isolations and rules would refuse it. */
  readonly wouldDrop: boolean;
}

/** Parsed peer lists, per compiled peers array (rulesets are immutable data). */
const peerIntervals = new WeakMap<readonly string[], readonly AddressInterval[]>();

function peersContain(peers: readonly string[], ip: string): boolean {
  let list = peerIntervals.get(peers);
  if (list === undefined) peerIntervals.set(peers, (list = unionIntervals(peers.map(cidrTextInterval))));
  return sortedIntervalsContain(list, ip);
}

function ruleMatches(r: CompiledRule, direction: PolicyDirection, localIp: string, remoteIp: string, protocol: PolicyProtocol, port: number): boolean {
  if (r.direction !== direction || !r.targets.includes(localIp)) return false;
  if (r.peers !== 'any' && !peersContain(r.peers, remoteIp)) return false;
  if (r.ports === 'any') return true;
  if (r.ports.some((p) => p.protocol === protocol && (p.port === undefined || (p.endPort === undefined ? p.port === port : port >= p.port && port <= p.endPort)))) return true;
  const destIp = direction === 'ingress' ? localIp : remoteIp;
  return r.destPorts.some((d) => d.ip === destIp && d.protocol === protocol && d.port === port);
}

/**
 * Whether a packet between the local pod address `localIp` and `remoteIp` (for ingress the
 * remote is the source, for egress the destination) on (`protocol`, destination `port`) passes
 * direction `direction` of `ruleset`. A local address in no isolation of that direction passes.
 */
export function rulesetAllows(
  ruleset: PolicyRuleset, direction: PolicyDirection, localIp: string, remoteIp: string, protocol: PolicyProtocol, port: number,
): RulesetVerdict {
  let enforcing = false, audited = false;
  for (const i of ruleset.isolations) {
    if (i.direction !== direction || !i.targets.includes(localIp)) continue;
    if (i.audit) audited = true; else enforcing = true;
  }
  const matching = ruleset.rules.filter((r) => ruleMatches(r, direction, localIp, remoteIp, protocol, port));
  const allowed = !enforcing || matching.some((r) => !r.audit);
  const combined = (!enforcing && !audited) || matching.length > 0;
  return { allowed, ruleIds: matching.map((r) => r.id).sort(), wouldDrop: allowed && !combined };
}
