/**
 * The weft daemon: composes identity, secret, mesh router, API and status listeners (and, as
 * they land, IPAM and the data plane) into one process. `runDaemon` is the only entry point;
 * the CLI calls it for `weft launch --foreground` (and in the background child of `launch`).
 */
export { runDaemon } from './daemon.js';
export type { DaemonConfig } from './config.js';
export { AttachService, type AttachServiceOptions, type PodAddressSource } from './attach-service.js';
