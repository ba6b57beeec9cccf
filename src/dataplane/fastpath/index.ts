/**
 * Fast paths: the OverlaySwitch (sleeve underneath every connection; host-gw and kernel VXLAN
 * per peer when full-size probes prove them) and its pure building blocks. Design:
 * docs/fastpath.md. Everything outside src/dataplane imports these through ../index.ts.
 */
export {
  OverlaySwitch, type OverlaySwitchOptions, type SleeveLike, type SwitchEdges, type SwitchConnectionStatus,
} from './overlay-switch.js';
export type { PathStatus } from './fast-connection.js';
export type { Mode } from './kernel-state.js';
export { PodDirectory, type PodRecord } from './pod-directory.js';
export { parseSubnets, inSubnets, type Subnet } from './trust.js';
export { vxlanEdgeSettings, VXLAN_DEVICE_MTU } from './edge-settings.js';
