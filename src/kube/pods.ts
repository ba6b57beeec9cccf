/**
 * A Kubernetes Pod (the API server's JSON) as the policy model's {@link PodIdentity}, or the
 * reason it is not one. Pure.
 */
import { formatIp, parseIp } from '../net/index.js';
import type { PodIdentity, PodPort, PolicyProtocol } from '../policy/index.js';

/** Why a pod is left out of the model (counted in the source's status). */
export type PodSkipReason = 'host-network' | 'no-address' | 'terminated' | 'malformed';

/** A pod's identity, or why it has none the model can use. */
export type PodConversion =
  | { readonly ok: true; readonly pod: PodIdentity }
  | { readonly ok: false; readonly reason: PodSkipReason };

const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}
function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}
function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(record(v) ?? {})) if (typeof x === 'string') out[k] = x;
  return out;
}

/**
 * Converts one pod. Left out: `hostNetwork` pods (they have the node's address, which policy
 * does not govern), pods in phase `Succeeded` or `Failed` (their address may already belong to
 * another pod), and pods without an address (`status.podIPs`, or the older `status.podIP`).
 * Ports are the named `containers[].ports` (unnamed ones cannot be referred to by name; numeric
 * policy ports need no pod port); `protocol` defaults to TCP as Kubernetes defines.
 * `host` is `spec.nodeName`, the Kubernetes node the pod runs on.
 */
export function podIdentityFromKube(obj: unknown): PodConversion {
  const o = record(obj);
  const meta = record(o?.metadata);
  const spec = record(o?.spec);
  const status = record(o?.status);
  const namespace = meta?.namespace;
  const name = meta?.name;
  if (typeof namespace !== 'string' || namespace === '' || typeof name !== 'string' || name === '') return { ok: false, reason: 'malformed' };
  if (spec?.hostNetwork === true) return { ok: false, reason: 'host-network' };
  if (status?.phase === 'Succeeded' || status?.phase === 'Failed') return { ok: false, reason: 'terminated' };
  const ips = new Set<string>();
  const addIp = (text: unknown): void => {
    const a = typeof text === 'string' ? parseIp(text) : null;
    if (a) ips.add(formatIp(a)); // printed the one way src/net prints addresses
  };
  for (const p of list(status?.podIPs)) addIp(record(p)?.ip);
  if (ips.size === 0) addIp(status?.podIP);
  if (ips.size === 0) return { ok: false, reason: 'no-address' };
  const ports: PodPort[] = [];
  for (const c of list(spec?.containers)) {
    for (const p of list(record(c)?.ports)) {
      const port = record(p);
      const protocol = port?.protocol ?? 'TCP';
      const number = port?.containerPort;
      if (typeof port?.name !== 'string' || port.name === '') continue;
      if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) continue;
      if (!(PROTOCOLS as readonly unknown[]).includes(protocol)) continue;
      ports.push({ name: port.name, port: number, protocol: protocol as PolicyProtocol });
    }
  }
  ports.sort((a, b) => a.name.localeCompare(b.name) || a.protocol.localeCompare(b.protocol) || a.port - b.port);
  return {
    ok: true,
    pod: {
      namespace, name,
      labels: stringMap(meta?.labels),
      ips: [...ips],
      ports,
      host: typeof spec?.nodeName === 'string' ? spec.nodeName : '',
    },
  };
}
