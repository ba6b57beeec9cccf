/**
 * The mesh: peers, control connections, gossip, topology and routes.
 * (Contract grows as the subsystem lands; everything outside src/mesh imports from here.)
 */
export type { PeerName, Gossiper, GossipChannel, PeerEvents } from './gossip-types.js';
export type {
  Overlay, OverlayConnection, OverlayConnectionParams, OverlayHealth, OverlayRoutes, DataKeysLike,
} from './overlay-types.js';
export { MeshRouter, type MeshRouterOptions } from './router.js';
export { parsePeerName, isPeerName, comparePeerNames } from './peer-name.js';
export { Reader, Writer } from './codec.js';
export type { TargetStatus } from './connection-maker.js';
export { PeerPing, PING_CHANNEL } from './peer-ping.js';
