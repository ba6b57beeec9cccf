/**
 * `weft policy explain`: why a connection is allowed or refused, from the reference model
 * ({@link evaluateConnection}), and the lines a person reads. Pure.
 */
import { WeftError } from '../common/index.js';
import { formatIp, parseIp } from '../net/index.js';
import type { PolicyInput } from './objects.js';
import { evaluateConnection, type ConnectionVerdict, type Endpoint, type SideVerdict } from './reference.js';
import type { PodIdentity, PolicyProtocol } from './ruleset.js';
import { indexPolicyInput, podKey, type PolicyWorld } from './world.js';

/** One end as the user named it, resolved. */
export interface ExplainedEndpoint {
  /** What the user wrote (`NS/NAME` or an address). */
  readonly text: string;
  /** `NS/NAME` of the pod, when the end is a pod (named, or an address of a pod). */
  readonly pod?: string;
  /** The address used (the one given, or the pod's first address of the other end's family). */
  readonly ip?: string;
}

/** The answer of `explain`: the ends, the probe and the verdict. */
export interface Explanation {
  readonly src: ExplainedEndpoint;
  readonly dst: ExplainedEndpoint;
  readonly protocol: PolicyProtocol;
  readonly port: number;
  readonly verdict: ConnectionVerdict;
}

function resolveEnd(world: PolicyWorld, text: string, role: string): { end: Endpoint; pod?: PodIdentity; ip?: string } {
  if (text.includes('/')) {
    const parts = text.split('/');
    const [ns, name] = parts;
    if (parts.length !== 2 || !ns || !name) throw new WeftError('WEFT_ERR_BAD_ARGS', `${role} ${JSON.stringify(text)}: expected NAMESPACE/POD or an IP address`);
    const pod = world.podsIn(ns).find((p) => p.name === name);
    if (pod === undefined) throw new WeftError('WEFT_ERR_NOT_FOUND', `${role} pod ${text} is not known (no such pod in namespace ${ns})`);
    return { end: pod, pod };
  }
  const a = parseIp(text);
  if (a === null) throw new WeftError('WEFT_ERR_BAD_ARGS', `${role} ${JSON.stringify(text)}: expected NAMESPACE/POD or an IP address`);
  const ip = formatIp(a);
  const pod = world.podByIp(ip);
  return pod !== undefined ? { end: pod, pod, ip } : { end: { ip }, ip };
}

function sameFamily(a: string, b: string): boolean {
  return (parseIp(a)?.family ?? 0) === (parseIp(b)?.family ?? 0);
}

/**
 * Explains a connection from `src` to `dst` (each `NS/NAME` or an IP address) on (`protocol`,
 * destination `port`). An unknown pod is WeftError('WEFT_ERR_NOT_FOUND'); malformed text is
 * WEFT_ERR_BAD_ARGS. For two pods the addresses are picked of one family (IPv4 first).
 */
export function explainVerdict(input: PolicyInput, src: string, dst: string, protocol: PolicyProtocol, port: number): Explanation {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new WeftError('WEFT_ERR_BAD_ARGS', `port ${port} is out of range 1..65535`);
  const world = indexPolicyInput(input);
  const s = resolveEnd(world, src, 'source');
  const d = resolveEnd(world, dst, 'destination');
  let srcIp = s.ip, dstIp = d.ip;
  if (srcIp === undefined && s.pod !== undefined) srcIp = s.pod.ips.find((ip) => dstIp === undefined || sameFamily(ip, dstIp)) ?? s.pod.ips[0];
  if (dstIp === undefined && d.pod !== undefined) dstIp = d.pod.ips.find((ip) => srcIp === undefined || sameFamily(ip, srcIp)) ?? d.pod.ips[0];
  const verdict = evaluateConnection(input, s.end, d.end, protocol, port, {
    ...(srcIp !== undefined ? { srcIp } : {}), ...(dstIp !== undefined ? { dstIp } : {}),
  }, world);
  const end = (text: string, r: { pod?: PodIdentity }, ip: string | undefined): ExplainedEndpoint => ({
    text, ...(r.pod !== undefined ? { pod: podKey(r.pod) } : {}), ...(ip !== undefined ? { ip } : {}),
  });
  return { src: end(src, s, srcIp), dst: end(dst, d, dstIp), protocol, port, verdict };
}

/** `NS/NAME/DIRECTION/INDEX` → `NS/NAME rule INDEX`. */
function ruleText(id: string): string {
  const parts = id.split('/');
  return `${parts.slice(0, 2).join('/')} ${parts[2] ?? ''} rule ${parts[3] ?? ''}`;
}

function sideLines(v: SideVerdict, endName: string, peerName: string, probe: string): string[] {
  const head = `${v.direction} of ${v.pod ?? endName}:`;
  const lines: string[] = [];
  if (v.pod === undefined) {
    lines.push(`${head} outside the cluster: no policy applies`);
  } else if (!v.isolated && v.audit.isolatedBy.length === 0) {
    lines.push(`${head} no policy selects ${v.pod} for ${v.direction}: not isolated`);
  } else if (!v.isolated) {
    lines.push(`${head} no enforcing policy selects ${v.pod} for ${v.direction}: not isolated`);
  } else if (v.allowedBy.length > 0) {
    lines.push(`${head} isolated by ${v.isolatedBy.join(', ')}; allowed by ${v.allowedBy.map(ruleText).join(', ')}`);
  } else {
    const to = v.direction === 'ingress' ? `from ${peerName}` : `to ${peerName}`;
    lines.push(`${head} isolated by ${v.isolatedBy.join(', ')}; no rule allows ${probe} ${to}: DENIED`);
  }
  if (v.audit.isolatedBy.length > 0) {
    const allowedBy = v.audit.allowedBy.length > 0 ? `allowed by ${v.audit.allowedBy.map(ruleText).join(', ')}` : 'no audit rule allows it';
    lines.push(`  audit: isolated by ${v.audit.isolatedBy.join(', ')}; ${allowedBy}${v.audit.wouldDrop ? ': WOULD DROP if enforced' : ''}`);
  }
  return lines;
}

/** The explanation as lines a person reads: the verdict, then the egress and the ingress side. */
export function formatExplanation(e: Explanation): string {
  const name = (x: ExplainedEndpoint) => (x.pod !== undefined ? `${x.pod}${x.ip !== undefined ? ` (${x.ip})` : ''}` : x.text);
  const probe = `${e.protocol}/${e.port}`;
  const v = e.verdict;
  const verdict = v.allowed ? (v.wouldDrop ? 'ALLOWED (audit: would drop)' : 'ALLOWED') : 'DENIED';
  return [
    `${name(e.src)} -> ${name(e.dst)} ${probe}: ${verdict}`,
    ...sideLines(v.egress, name(e.src), name(e.dst), probe),
    ...sideLines(v.ingress, name(e.dst), name(e.src), probe),
  ].join('\n');
}
