/**
 * The data plane: the sleeve overlay (encrypted L2 over UDP, batched through the native
 * addon) and the MTU arithmetic the rest of weft needs. Design: ./DESIGN.md.
 *
 * Typical use (daemon):
 *   const overlay = new SleeveOverlay({ localName, port, bridge, tapName, log, registry });
 *   await overlay.start();              // creates/attaches bridge + TAP, opens fds
 *   mesh uses overlay.prepareConnection / setRoutes / peerGone (the mesh's Overlay contract)
 *   await overlay.stop();
 */
export {
  SleeveOverlay, type SleeveOverlayOptions, type SleeveLinkInfo,
} from './sleeve-overlay.js';
export type { SleeveStats, PeerCounters, DropReason } from './metrics.js';
export { DROP_REASONS } from './metrics.js';
export type { SleeveTiming } from './timing.js';
export { DEFAULT_SLEEVE_TIMING } from './timing.js';
export type { SleeveIo, SleeveAeadAlg } from './sleeve-io.js';
export { podMtu, sleeveOverheadBytes, maxFrameBytes } from './wire-format.js';
export { loadNative, tryLoadNative, type NativeDataplane } from './native.js';
export {
  OverlaySwitch, PodDirectory, parseSubnets, inSubnets,
  type OverlaySwitchOptions, type SleeveLike, type SwitchEdges, type SwitchConnectionStatus, type PathStatus, type Mode,
  type PodRecord, type Subnet,
} from './fastpath/index.js';
