import { describeError } from '../common/index.js';
import type { WorkloadsReply } from '../api/index.js';
import type { PolicyInputSource } from './policy-source.js';

/**
 * `GET /workloads` of the status listener: every pod the policy source knows, cluster-wide
 * (mesh mode: the gossiped workload directory; Kubernetes mode: the API server's pods).
 * Identities only. A source that has not read its world yet (Kubernetes mode before its first
 * complete list) gives `synced: false`, its reason and no pods.
 */
export function clusterWorkloads(source: PolicyInputSource, kind: 'mesh' | 'kube'): WorkloadsReply {
  try {
    const pods = source.snapshot().pods.map((p) => ({
      namespace: p.namespace, name: p.name, labels: { ...p.labels }, ips: [...p.ips],
      ports: p.ports.map((x) => ({ name: x.name, port: x.port, protocol: x.protocol })), host: p.host,
    }));
    return { source: kind, synced: true, pods };
  } catch (e) {
    return { source: kind, synced: false, reason: describeError(e), pods: [] };
  }
}
