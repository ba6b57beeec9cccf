import type { PeerName } from './gossip-types.js';

/**
 * Contract between the mesh and a data-plane overlay (sleeve; later VXLAN/host-gw), after
 * Weave's `Overlay.PrepareConnection`. Lifecycle of one overlay connection:
 *
 *   mesh handshake ok → overlay.prepareConnection(params)   (overlay may start heartbeats)
 *                     → conn.confirm()                       (mesh accepted it: no duplicate)
 *                     → conn.onControl(msg)*                 (overlay control from the peer, via TCP)
 *                     → conn.stop()                          (TCP connection closed; idempotent)
 *
 * The overlay reports its own health through `params.onHealth` (e.g. UDP path dead); the mesh
 * shows it in status and may route around it. The overlay never closes the TCP connection
 * itself; a failed health with `reconnect: true` asks the mesh to close it (so that a new
 * handshake gives fresh keys), which the mesh does on a later turn of the event loop.
 */
export interface OverlayConnectionParams {
  remotePeer: PeerName;
  /** Remote TCP address as seen by us ("ip:port"); the overlay derives the UDP address. */
  remoteAddress: string;
  localAddress: string;
  outbound: boolean;
  /** Per-connection data-plane keys (from crypto Session.dataKeys); `encrypted` false = no secret. */
  dataKeys: DataKeysLike;
  /** Sends an overlay control message to the peer over the encrypted TCP connection. */
  sendControl(msg: Buffer): void;
  /** The overlay reports path health changes here (shown in status). */
  onHealth(h: OverlayHealth): void;
}

/** The subset of crypto's DataKeySchedule the overlay relies on. */
export interface DataKeysLike {
  readonly encrypted: boolean;
  keys(epoch: number): { send: Buffer; recv: Buffer };
  /** Wipe every epoch key below `epoch` (the overlay calls it as epochs retire). */
  forgetBefore?(epoch: number): void;
  /** Wipe everything (the overlay calls it when the connection stops). */
  destroy?(): void;
}

export interface OverlayHealth {
  state: 'pending' | 'healthy' | 'failed';
  reason?: string;
  mtu?: number;
  mode?: string;
  /** Whether pod traffic on the current mode is encrypted (fast paths may run in the clear). */
  encrypted?: boolean;
  /**
   * The overlay cannot recover on this connection (e.g. the peer never acknowledged a key
   * rotation): the mesh closes it with `reason` and reconnects (a new handshake, new keys).
   */
  reconnect?: boolean;
  /** Per-path detail (e.g. hostgw, vxlan, sleeve): state, MTU and why a path is not used. */
  paths?: { path: string; state: string; mtu?: number; reason?: string }[];
}

/** One peer's overlay path. All methods are idempotent and never throw. */
export interface OverlayConnection {
  confirm(): void;
  onControl(msg: Buffer): void;
  stop(): void;
}

/** Routing view the mesh hands to the overlay whenever routes change. */
export interface OverlayRoutes {
  /** dst peer → next-hop neighbour, over established two-way connections. */
  unicast: ReadonlyMap<PeerName, PeerName>;
  /** Neighbours to forward a broadcast originated by `src` to (per-source tree). */
  broadcastNextHops(src: PeerName): readonly PeerName[];
}

/** A data-plane overlay. Started once by the daemon, stopped once. */
export interface Overlay {
  start(): Promise<void>;
  stop(): Promise<void>;
  prepareConnection(params: OverlayConnectionParams): OverlayConnection;
  setRoutes(routes: OverlayRoutes): void;
  /** Called when a peer is gone for good (GC'd): forget its MACs. */
  peerGone(name: PeerName): void;
}

/**
 * What NAT traversal (src/mesh/nat-traversal.ts) needs from the sleeve: the endpoints it sees
 * its neighbours' datagrams come from, and punched paths to peers that are not neighbours.
 * Implemented by the sleeve (src/dataplane); optional: without it no punching happens.
 */
export interface DirectPaths {
  /** Where `peer`'s authenticated sleeve datagrams come from ("ip:port"), while they flow; else null. */
  observedEndpoint(peer: PeerName): string | null;
  /** The local UDP port of the sleeve. */
  readonly udpPort: number;
  /**
   * Open a punched path to a non-neighbour: an overlay connection to `params.remoteAddress`
   * (the peer's public endpoint) with keys from the routed key exchange, fast keepalives
   * (NAT_KEEPALIVE_INTERVAL_MS) and address learning. The sleeve sends a peer's frames over it
   * while datagrams arrive on it (within NAT_DIRECT_DEAD_MS), else over the mesh's routes.
   * Lifecycle as {@link OverlayConnection}: confirm() starts the punching sends, stop() ends it.
   */
  openDirect(params: OverlayConnectionParams): OverlayConnection;
}
