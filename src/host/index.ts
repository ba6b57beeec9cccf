/**
 * Host plumbing: the only code that runs ip, ethtool, sysctl and nsenter (the kernel edge).
 * Everything runs in short-lived helper processes with timeouts; failures are
 * WeftError('WEFT_ERR_HOST', "<what> failed: <stderr first line>").
 */
export { HostPlumbing, type HostPlumbingOptions } from './plumbing.js';
export type { AttachedEndpoint, ListedEndpoint, AttachOptions } from './endpoints.js';
export { execRunner, type CommandRunner, type CommandResult } from './exec.js';
export { resolveNetns, vethNames, IFNAME_MAX } from './netns.js';
export { VxlanEdge, probeEspTransport, type VxlanEdgeOptions, type LocalFdbEntry } from './vxlan.js';
export { HostGwEdge, underlayRoute, hookChain, type HostGwEdgeOptions, type UnderlayRoute } from './hostgw.js';
