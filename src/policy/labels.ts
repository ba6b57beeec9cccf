/**
 * Syntax of the identities policy selects on, exactly as Kubernetes defines it: label keys and
 * values, namespace and pod names, named ports. One validator shared by `weft attach` /
 * `weft label` (CLI and API), CNI, and the decoders of the gossiped workload directory and
 * policy store. Each `…Problem` function returns null when the text is valid, else a short
 * reason (no trailing period) for the caller to wrap in its own error code. Pure.
 */
import type { PodPort, PolicyProtocol } from './ruleset.js';

/** Longest label value and label-key name part (Kubernetes). chars */
export const LABEL_NAME_MAX = 63;
/** Longest DNS subdomain (label-key prefix, pod name). chars */
export const DNS_SUBDOMAIN_MAX = 253;
/** Longest named port (IANA service name). chars */
export const PORT_NAME_MAX = 15;
/** Most labels one pod or namespace may carry (weft's bound, far above real use). count */
export const MAX_LABELS = 64;
/** Most named ports one pod may carry. count */
export const MAX_POD_PORTS = 64;

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];

/** A DNS-1123 label (namespace names): 1-63 lowercase letters, digits and '-', alphanumeric at both ends. */
export function dnsLabelProblem(s: string): string | null {
  if (s.length === 0) return 'must not be empty';
  if (s.length > LABEL_NAME_MAX) return `longer than ${LABEL_NAME_MAX} characters`;
  return DNS_LABEL.test(s) ? null : 'must be lowercase letters, digits and "-", starting and ending with a letter or digit';
}

/** A DNS-1123 subdomain (pod names, label-key prefixes): dot-separated labels, at most 253 characters. */
export function dnsSubdomainProblem(s: string): string | null {
  if (s.length === 0) return 'must not be empty';
  if (s.length > DNS_SUBDOMAIN_MAX) return `longer than ${DNS_SUBDOMAIN_MAX} characters`;
  return DNS_SUBDOMAIN.test(s) ? null : 'must be lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
}

/**
 * A pod name as weft accepts it: 1-253 of letters, digits, '-', '_' and '.' (Kubernetes pod
 * names are DNS subdomains, a subset; `weft attach` defaults to the namespace's name, which may
 * use upper case and '_').
 */
export function podNameProblem(s: string): string | null {
  if (s.length === 0) return 'must not be empty';
  if (s.length > DNS_SUBDOMAIN_MAX) return `longer than ${DNS_SUBDOMAIN_MAX} characters`;
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(s) ? null : 'must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
}

/** A label key: `[PREFIX/]NAME`, PREFIX a DNS subdomain, NAME 1-63 of [A-Za-z0-9-_.] alphanumeric at both ends. */
export function labelKeyProblem(key: string): string | null {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const p = dnsSubdomainProblem(key.slice(0, slash));
    if (p) return `prefix ${p}`;
  }
  if (name.length === 0) return 'name part must not be empty';
  if (name.length > LABEL_NAME_MAX) return `name part longer than ${LABEL_NAME_MAX} characters`;
  return NAME_PART.test(name) ? null : 'name part must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
}

/** A label value: empty, or 1-63 of [A-Za-z0-9-_.] alphanumeric at both ends. */
export function labelValueProblem(value: string): string | null {
  if (value === '') return null;
  if (value.length > LABEL_NAME_MAX) return `longer than ${LABEL_NAME_MAX} characters`;
  return NAME_PART.test(value) ? null : 'must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
}

/** The first problem of a label map, as `label "KEY": reason`, or null. */
export function labelsProblem(labels: Readonly<Record<string, unknown>>): string | null {
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS) return `more than ${MAX_LABELS} labels`;
  for (const k of keys) {
    const v = labels[k];
    const kp = labelKeyProblem(k);
    if (kp) return `label key "${k}": ${kp}`;
    if (typeof v !== 'string') return `label "${k}": value must be a string`;
    const vp = labelValueProblem(v);
    if (vp) return `label "${k}" value "${v}": ${vp}`;
  }
  return null;
}

/** A named port (IANA service name): 1-15 lowercase letters, digits and '-', at least one letter, no "--". */
export function portNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > PORT_NAME_MAX) return `longer than ${PORT_NAME_MAX} characters`;
  if (!PORT_NAME.test(name) || name.includes('--')) return 'must be lowercase letters, digits and "-" (no "--"), starting and ending with a letter or digit';
  return /[a-z]/.test(name) ? null : 'must contain a letter';
}

/** The first problem of one pod port (name, port 1-65535, protocol), or null. */
export function podPortProblem(p: { name: unknown; port: unknown; protocol: unknown }): string | null {
  if (typeof p.name !== 'string') return 'port name must be a string';
  const np = portNameProblem(p.name);
  if (np) return `port name "${p.name}": ${np}`;
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

/**
 * `NAME=PORT/PROTO` (`http=8080/TCP`; PROTO defaults to TCP, case-insensitive) as a
 * {@link PodPort}, or a reason string.
 */
export function parsePodPort(spec: string): PodPort | string {
  const m = /^([^=]*)=(\d{1,5})(?:\/([A-Za-z]+))?$/.exec(spec);
  if (!m) return 'expected NAME=PORT/PROTO, e.g. http=8080/TCP';
  const port: PodPort = { name: m[1]!, port: Number(m[2]), protocol: (m[3] ?? 'TCP').toUpperCase() as PolicyProtocol };
  return podPortProblem(port) ?? port;
}

/**
 * One `weft label` / `--label` argument: `KEY=VALUE` sets, `KEY-` removes (removal only when
 * `allowRemove`). Returns the change or a reason string.
 */
export function parseLabelArg(arg: string, allowRemove: boolean): { set: [string, string] } | { remove: string } | string {
  const eq = arg.indexOf('=');
  if (eq < 0) {
    if (allowRemove && arg.endsWith('-')) {
      const key = arg.slice(0, -1);
      const kp = labelKeyProblem(key);
      return kp ? `label key "${key}": ${kp}` : { remove: key };
    }
    return allowRemove ? 'expected KEY=VALUE or KEY-' : 'expected KEY=VALUE';
  }
  const key = arg.slice(0, eq);
  const value = arg.slice(eq + 1);
  const kp = labelKeyProblem(key);
  if (kp) return `label key "${key}": ${kp}`;
  const vp = labelValueProblem(value);
  if (vp) return `label "${key}" value "${value}": ${vp}`;
  return { set: [key, value] };
}
