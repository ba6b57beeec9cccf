/**
 * The API of network policy: `/policy/apply`, `/policy/delete`, `/policy/list`,
 * `/policy/explain` and `/label`. Requests arrive shape-checked by the route schemas; the
 * contents (documents, references, labels) are checked here, each problem one line.
 */
import { WeftError } from '../common/index.js';
import { API_ROUTES, type ApiServer } from '../api/index.js';
import { resolveNetns } from '../host/index.js';
import { labelsProblem } from '../directory/index.js';
import type { PeerName } from '../mesh/index.js';
import {
  explainVerdict, formatExplanation, parsePolicyDocuments, parsePolicyRef, policyKey,
} from '../policy/index.js';
import type { PodIdentities } from './pod-identities.js';
import type { PolicyInputSource, MeshPolicySource } from './policy-source.js';

/** What the routes use. */
export interface PolicyRoutesDeps {
  self: PeerName;
  source: PolicyInputSource;
  sourceKind: 'mesh' | 'kube';
  /** The mesh source (null in Kubernetes mode: apply/delete are refused there). */
  mesh: MeshPolicySource | null;
  pods: PodIdentities;
  /** Resolves once the last change is compiled and in the kernel (replies wait for it). */
  settled(): Promise<void>;
  now?: () => number;
}

function meshOnly(mesh: MeshPolicySource | null, what: string): MeshPolicySource {
  if (!mesh) throw new WeftError('WEFT_ERR_BAD_ARGS', `${what} works in mesh mode only: in Kubernetes mode policies come from the API server (use kubectl)`);
  return mesh;
}

/** Register the policy and label routes. */
export function registerPolicyRoutes(api: ApiServer, d: PolicyRoutesDeps): void {
  const now = d.now ?? Date.now;
  api.handle(API_ROUTES.policyApply, async ({ request }) => {
    const mesh = meshOnly(d.mesh, 'weft policy apply');
    const docs = parsePolicyDocuments(request.text, request.source);
    if (docs.policies.length === 0 && docs.namespaces.length === 0) {
      throw new WeftError('WEFT_ERR_POLICY_INVALID', `${request.source}: no NetworkPolicy or Namespace documents`);
    }
    const r = mesh.store.applyDocuments(docs, now(), d.self);
    mesh.broadcastPolicy(r.update);
    await Promise.all([d.settled(), mesh.flushed()]);
    return { applied: r.policies.slice(), namespaces: r.namespaces.slice(), unchanged: r.unchanged.slice() };
  });
  api.handle(API_ROUTES.policyDelete, async ({ request }) => {
    const mesh = meshOnly(d.mesh, 'weft policy delete');
    let policies: string[] = [];
    let namespaces: string[] = [];
    if (request.text !== undefined) {
      if (request.refs !== undefined) throw new WeftError('WEFT_ERR_BAD_ARGS', 'give either refs or text, not both');
      const docs = parsePolicyDocuments(request.text, request.source ?? '-');
      policies = docs.policies.map(policyKey);
      namespaces = docs.namespaces.map((n) => n.name);
    } else {
      if (!request.refs || request.refs.length === 0) throw new WeftError('WEFT_ERR_BAD_ARGS', 'nothing to delete: give refs (NS/NAME) or text');
      policies = [...new Set(request.refs.map((r) => policyKey(parsePolicyRef(r))))];
    }
    const r = mesh.store.delete({ policies, namespaces }, now(), d.self);
    mesh.broadcastPolicy(r.update);
    await Promise.all([d.settled(), mesh.flushed()]);
    return { deleted: r.policies.slice(), namespaces: r.namespaces.slice(), unknown: r.unchanged.slice() };
  });
  api.handle(API_ROUTES.policyList, () => {
    if (d.mesh) {
      const entries = d.mesh.store.list().filter((e) => e.object !== null);
      return {
        source: 'mesh',
        policies: entries.flatMap((e) => (e.kind === 'policy' && e.object ? [{
          namespace: e.object.namespace, name: e.object.name, policyTypes: [...e.object.policyTypes], audit: e.object.audit,
          origin: e.stamp.origin, stampMs: e.stamp.ms, policy: e.object,
        }] : [])),
        namespaces: entries.flatMap((e) => (e.kind === 'namespace' && e.object ? [{
          name: e.object.name, labels: { ...e.object.labels }, origin: e.stamp.origin, stampMs: e.stamp.ms,
        }] : [])),
      };
    }
    const input = d.source.snapshot();
    return {
      source: d.sourceKind,
      policies: input.policies.map((p) => ({ namespace: p.namespace, name: p.name, policyTypes: [...p.policyTypes], audit: p.audit, policy: p })),
      namespaces: input.namespaces.map((n) => ({ name: n.name, labels: { ...n.labels } })),
    };
  });
  api.handle(API_ROUTES.policyExplain, ({ request }) => {
    const e = explainVerdict(d.source.snapshot(), request.src, request.dst, request.protocol, request.port);
    return { text: formatExplanation(e), explanation: e };
  });
  api.handle(API_ROUTES.label, async ({ request }) => {
    const ifname = request.ifname ?? 'ethwe';
    const set = request.set ?? {};
    const remove = request.remove ?? [];
    if (Object.keys(set).length === 0 && remove.length === 0) throw new WeftError('WEFT_ERR_BAD_ARGS', 'no label change given (KEY=VALUE to set, KEY- to remove)');
    const p = labelsProblem(set) ?? labelsProblem(Object.fromEntries(remove.map((k) => [k, ''])));
    if (p) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid labels: ${p}`);
    const both = remove.find((k) => k in set);
    if (both) throw new WeftError('WEFT_ERR_BAD_ARGS', `label "${both}" is both set and removed`);
    const rec = d.pods.relabel(resolveNetns(request.netns), ifname, set, remove);
    await d.settled();
    return { namespace: rec.pod.namespace, name: rec.pod.name, labels: { ...rec.pod.labels }, ports: rec.pod.ports.map((x) => ({ ...x })) };
  });
}
