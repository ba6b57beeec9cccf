/**
 * A digest of a {@link PolicyInput}: what the daemon's policy status reports for the input it
 * last compiled and put in force, so a caller (the truth-table test, an operator comparing
 * hosts) can tell when every host enforces the same world. Two inputs have the same digest
 * exactly when they hold the same policies, namespaces and pods, whatever their order: lists
 * the model treats as sets (policies, namespaces, pods, a pod's addresses and named ports) are
 * sorted and object keys are sorted at every depth. A pod's `host` is left out: it is not part
 * of any verdict, and a caller that only knows the world (not each host's peer name) can still
 * compute the digest. Pure (hashing is not I/O).
 */
import { createHash } from 'node:crypto';
import { policyKey, type PolicyInput } from './objects.js';

/** JSON with object keys sorted at every depth (arrays keep their order). */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** `sha256:` + 16 hex digits of the canonical form of `input` (see the module comment). */
export function policyInputDigest(input: PolicyInput): string {
  const canonical = {
    policies: [...input.policies].sort(byKey(policyKey)),
    namespaces: [...input.namespaces].sort(byKey((n) => n.name)),
    pods: [...input.pods].sort(byKey(policyKey)).map((p) => ({
      namespace: p.namespace, name: p.name, labels: p.labels,
      ips: [...p.ips].sort(),
      ports: [...p.ports].sort(byKey((q) => `${q.name}/${q.protocol}/${q.port}`)),
    })),
  };
  return `sha256:${createHash('sha256').update(canonicalJson(canonical)).digest('hex').slice(0, 16)}`;
}
