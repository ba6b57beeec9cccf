/**
 * Kubernetes mode (issue 12): the cluster's pods, namespaces and NetworkPolicies, read from the
 * Kubernetes API server with `@kubernetes/client-node`'s informers, as the policy model's input.
 * The daemon builds a {@link KubePolicySource} when `weft launch --kube` / `--kubeconfig FILE`
 * is given (docs/policy.md, "Kubernetes mode").
 */
export {
  KubePolicySource, type KubePolicySourceOptions, type KubeSourceStatus,
  type RejectedObject,
} from './source.js';
export { loadKubeConfig, describeKubeAccess, type KubeAccess } from './kubeconfig.js';
export { podIdentityFromKube, type PodConversion, type PodSkipReason } from './pods.js';
export { toApiJson } from './api-json.js';
export type { KubeResource, ResourceWatchStatus } from './resource-watch.js';
