/**
 * The data plane: the sleeve overlay (encrypted L2 over UDP, batched through the native
 * addon) and the MTU arithmetic the rest of weft needs. Design: ./DESIGN.md.
 *
 * Typical use (src/daemon/components.ts builds every dependency and hands it in):
 *   const overlay = new SleeveOverlay({ localName, port, tapName, log, registry, io: loadNative(), plumbing });
 *   await overlay.start();              // creates/attaches bridge + TAP (through `plumbing`), opens fds
 *   mesh uses overlay.prepareConnection / setRoutes / peerGone (the mesh's Overlay contract)
 *   await overlay.stop();
 */
export {
  SleeveOverlay, type SleeveOverlayOptions, type SleeveLinkInfo, type SleevePlumbing,
} from './sleeve-overlay.js';
export type { SleeveStats, PeerCounters, DropReason } from './metrics.js';
export { DROP_REASONS } from './metrics.js';
export type { SleeveTiming } from './timing.js';
export { DEFAULT_SLEEVE_TIMING } from './timing.js';
export type { SleeveIo, SleeveAeadAlg } from './sleeve-io.js';
export { podMtu, sleeveOverheadBytes, maxFrameBytes } from './wire-format.js';
export { loadNative, tryLoadNative, type NativeDataplane } from './native.js';
export {
  OverlaySwitch, PodDirectory, parseSubnets, inSubnets, vxlanEdgeSettings, VXLAN_DEVICE_MTU,
  type OverlaySwitchOptions, type SleeveLike, type SwitchEdges, type SwitchConnectionStatus, type PathStatus, type Mode,
  type PodRecord, type Subnet,
} from './fastpath/index.js';
