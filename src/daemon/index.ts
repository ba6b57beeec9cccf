/**
 * The weft daemon: composes identity, secret, mesh router, API and status listeners, IPAM and
 * the data plane into one process; the only place that builds components. `runDaemon` is the
 * only entry point; the CLI calls it for `weft launch --foreground` (and in the background
 * child of `launch`). `buildDataplane` is the data plane's composition root, exported so tests
 * can build exactly what the daemon builds.
 */
export { runDaemon } from './daemon.js';
export type { DaemonConfig } from './config.js';
export { AttachService, type AttachServiceOptions, type PodAddressSource } from './attach-service.js';
export { buildDataplane, TAP_NAME, type DataplaneParts, type DataplaneDeps } from './components.js';
export { buildKubePolicySource } from './kube-policy.js';
