import { Type as T, type Static } from '@sinclair/typebox';

/**
 * Schema of `GET /workloads` on the read-only status listener: every pod of the cluster as this
 * daemon knows it (mesh mode: the gossiped workload directory, every host's announced pods;
 * Kubernetes mode: the API server's pods). Identities only — namespace, name, labels,
 * addresses, named ports and the host (peer name) — never anything secret. Fields are only
 * ever added.
 */
export const WorkloadPodSchema = T.Object({
  namespace: T.String(),
  name: T.String(),
  labels: T.Record(T.String(), T.String()),
  ips: T.Array(T.String()),
  ports: T.Array(T.Object({ name: T.String(), port: T.Integer({ minimum: 0, maximum: 65535 }), protocol: T.String() })),
  host: T.String({ description: 'peer name of the host the pod runs on (Kubernetes mode: the node name)' }),
});

export const WorkloadsReplySchema = T.Object({
  source: T.String({ description: '"mesh" (the gossiped workload directory) or "kube" (the API server)' }),
  /** False while the source has not read its whole world yet (Kubernetes mode before the first list). */
  synced: T.Boolean(),
  reason: T.Optional(T.String({ description: 'why not synced (one line)' })),
  pods: T.Array(WorkloadPodSchema),
});

export type WorkloadPod = Static<typeof WorkloadPodSchema>;
export type WorkloadsReply = Static<typeof WorkloadsReplySchema>;
