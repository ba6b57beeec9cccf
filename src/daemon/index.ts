/**
 * The weft daemon: composes identity, secret, mesh router, API and status listeners, IPAM and
 * the data plane into one process; the only place that builds components. `runDaemon` is the
 * only entry point; the CLI calls it for `weft launch --foreground` (and in the background
 * child of `launch`). `buildDataplane` is the data plane's composition root, exported so tests
 * can build exactly what the daemon builds.
 */
export { runDaemon } from './daemon.js';
export type { DaemonConfig } from './config.js';
export type { DaemonDeps } from './daemon.js';
export { PolicyMetrics, type DropReading } from './policy-metrics.js';
export { PolicyService, type PolicyServiceOptions, type PolicyEnforcer } from './policy-service.js';
export { MeshPolicySource, type PolicyInputSource, type MeshPolicySourceOptions } from './policy-source.js';
export { PodIdentities, podIdentity, type PodIdentityInput, type PodRecord } from './pod-identities.js';
export { AttachService, type AttachServiceOptions, type PodAddressSource } from './attach-service.js';
export { buildDataplane, TAP_NAME, type DataplaneParts, type DataplaneDeps } from './components.js';
export { buildKubePolicySource } from './kube-policy.js';
export { DnsService, type DnsServiceOptions } from './dns-service.js';
export { FlowService, type FlowServiceOptions } from './flow-service.js';
