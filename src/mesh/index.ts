/**
 * The mesh: peers, control connections, gossip, topology and routes.
 * (Contract grows as the subsystem lands; everything outside src/mesh imports from here.)
 */
export type { PeerName, Gossiper, GossipChannel, PeerEvents } from './gossip-types.js';
export type {
  Overlay, OverlayConnection, OverlayConnectionParams, OverlayHealth, OverlayRoutes, DataKeysLike, DirectPaths,
} from './overlay-types.js';
export { MeshRouter, type MeshRouterOptions } from './router.js';
/** Peer names are src/net's; re-exported because every user of the mesh names peers. */
export { parsePeerName, isPeerName, comparePeerNames } from '../net/index.js';
export type { TargetStatus } from './connection-maker.js';
export { PeerPing, PING_CHANNEL } from './peer-ping.js';
export { NAT_CHANNEL, parseEndpoint, formatEndpoint } from './nat-wire.js';
export type { NatPeerStatus } from './nat-traversal.js';
