/**
 * The syntax of pod identities as `weft attach` / `weft label` (CLI and API), CNI and the
 * workload directory's decoder accept them, built on the model's own Kubernetes checks
 * (src/policy: label keys and values, DNS names, named ports). Each `…Problem` function returns
 * null when valid, else a short reason for the caller to wrap in its own error code. Pure.
 */
import {
  dns1123LabelProblem, labelKeyProblem, labelValueProblem, portNameProblem, type PodPort, type PolicyProtocol,
} from '../policy/index.js';

/** Most labels one pod may carry (weft's bound, far above real use). count */
export const MAX_POD_LABELS = 64;
/** Most named ports one pod may carry. count */
export const MAX_POD_PORTS = 64;
/** Longest pod name. chars */
const POD_NAME_MAX = 253;
const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];

/** A policy namespace name (DNS-1123 label). */
export function namespaceNameProblem(s: string): string | null {
  return dns1123LabelProblem(s);
}

/**
 * A pod name as weft accepts it: 1-253 of letters, digits, '-', '_' and '.', alphanumeric at
 * both ends (Kubernetes pod names, DNS subdomains, are a subset; `weft attach` defaults to the
 * network namespace's name, which may use upper case and '_').
 */
export function podNameProblem(s: string): string | null {
  if (s.length === 0) return 'must not be empty';
  if (s.length > POD_NAME_MAX) return `must be at most ${POD_NAME_MAX} characters`;
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(s) ? null : "must be alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric";
}

/** The first problem of a label map (`label "KEY": reason`), or null. */
export function labelsProblem(labels: Readonly<Record<string, unknown>>): string | null {
  const keys = Object.keys(labels);
  if (keys.length > MAX_POD_LABELS) return `more than ${MAX_POD_LABELS} labels`;
  for (const k of keys) {
    const v = labels[k];
    const kp = labelKeyProblem(k);
    if (kp) return `label "${k}": ${kp}`;
    if (typeof v !== 'string') return `label "${k}": value must be a string`;
    const vp = labelValueProblem(v);
    if (vp) return `label "${k}": ${vp}`;
  }
  return null;
}

/** The first problem of one pod port (name, port 1-65535, protocol), or null. */
export function podPortProblem(p: { name: unknown; port: unknown; protocol: unknown }): string | null {
  if (typeof p.name !== 'string') return 'port name must be a string';
  const np = portNameProblem(p.name);
  if (np) return `port "${p.name}": ${np}`;
  if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return `port "${p.name}": number must be 1-65535`;
  if (!PROTOCOLS.includes(p.protocol as PolicyProtocol)) return `port "${p.name}": protocol must be TCP, UDP or SCTP`;
  return null;
}

/** The first problem of a pod's port list (each port valid, names unique, bounded), or null. */
export function podPortsProblem(ports: readonly { name: unknown; port: unknown; protocol: unknown }[]): string | null {
  if (ports.length > MAX_POD_PORTS) return `more than ${MAX_POD_PORTS} ports`;
  const seen = new Set<unknown>();
  for (const p of ports) {
    const pp = podPortProblem(p);
    if (pp) return pp;
    if (seen.has(p.name)) return `port name "${String(p.name)}" given twice`;
    seen.add(p.name);
  }
  return null;
}

/** `NAME=PORT[/PROTO]` (`http=8080/TCP`; PROTO defaults to TCP, any case) as a {@link PodPort}, or a reason. */
export function parsePodPort(spec: string): PodPort | string {
  const m = /^([^=]*)=(\d{1,5})(?:\/([A-Za-z]+))?$/.exec(spec);
  if (!m) return 'expected NAME=PORT/PROTO, e.g. http=8080/TCP';
  const port: PodPort = { name: m[1]!, port: Number(m[2]), protocol: (m[3] ?? 'TCP').toUpperCase() as PolicyProtocol };
  return podPortProblem(port) ?? port;
}

/** One label argument: `KEY=VALUE` sets, `KEY-` removes (only when `allowRemove`). The change, or a reason. */
export function parseLabelArg(arg: string, allowRemove: boolean): { set: [string, string] } | { remove: string } | string {
  const eq = arg.indexOf('=');
  if (eq < 0) {
    if (allowRemove && arg.endsWith('-')) {
      const key = arg.slice(0, -1);
      const kp = labelKeyProblem(key);
      return kp ? `label "${key}": ${kp}` : { remove: key };
    }
    return allowRemove ? 'expected KEY=VALUE or KEY-' : 'expected KEY=VALUE';
  }
  const key = arg.slice(0, eq);
  const value = arg.slice(eq + 1);
  const kp = labelKeyProblem(key);
  if (kp) return `label "${key}": ${kp}`;
  const vp = labelValueProblem(value);
  return vp ? `label "${key}": ${vp}` : { set: [key, value] };
}
