/**
 * Contract between the mesh and its gossip users (topology, IPAM, later DNS).
 *
 * A user registers a named channel with the router (`router.newGossip(name, gossiper)`) and
 * gets a {@link GossipChannel} back. The router calls the {@link Gossiper} callbacks on its own
 * event-loop turn; callbacks must be synchronous and must not throw for bad *data* — they throw
 * `WeftError('WEFT_ERR_DECODE' | 'WEFT_ERR_IPAM_CONFLICT', …)` and the router counts and logs
 * the error and drops the message. A callback error never closes the connection it came on.
 */

import type { PeerName } from '../net/index.js';

/** A peer's name (src/net/peer-name.ts): 6 bytes printed as lowercase hex pairs joined by ':'. */
export type { PeerName };

/** Receiving side of a gossip channel. Implemented by each user of the mesh. */
export interface Gossiper {
  /** A unicast message addressed to us (already relayed hop by hop by the mesh). */
  onGossipUnicast(src: PeerName, msg: Buffer): void;
  /**
   * A broadcast from `src` (delivered once per peer along src's spanning tree). Returns the
   * data to relay further down the tree (normally `update` itself), or null to stop relaying.
   */
  onGossipBroadcast(src: PeerName, update: Buffer): Buffer | null;
  /**
   * Mergeable-state gossip from a neighbour. Merge it and return only what was new to us
   * (the mesh forwards that delta to a few neighbours), or null if nothing was new.
   */
  onGossip(update: Buffer): Buffer | null;
  /** Our complete state, sent periodically and to every new connection; null if empty. */
  gossip(): Buffer | null;
}

/** Sending side of a gossip channel, returned by the router. Valid until the router stops. */
export interface GossipChannel {
  readonly name: string;
  /** Send to one peer, routed over multiple hops. Throws WEFT_ERR_NO_ROUTE if unreachable. */
  unicast(dst: PeerName, msg: Buffer): void;
  /** Deliver to every reachable peer exactly once (per-source broadcast tree). */
  broadcast(update: Buffer): void;
  /** Send mergeable state to a bounded random subset of neighbours. */
  gossip(update: Buffer): void;
}

/** What the mesh tells its users about peers coming and going (for IPAM, data plane). */
export interface PeerEvents {
  /** Called when the set of reachable peers changes. */
  onPeersChanged?(reachable: ReadonlySet<PeerName>): void;
  /** Called when a peer was garbage-collected from the topology (gone for good). */
  onPeerGone?(name: PeerName): void;
}
