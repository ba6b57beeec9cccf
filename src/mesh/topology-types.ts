import type { PeerName } from './gossip-types.js';

/** One connection as reported by the peer that owns the record. Immutable. */
export interface ConnectionInfo {
  /** Remote address as the owner sees it ("ip:port"); the connection maker uses it for discovery. */
  readonly address: string;
  /** True when the owner dialled the connection. */
  readonly outbound: boolean;
  /** True once the owner's data-plane path to the peer is up. */
  readonly established: boolean;
}

/**
 * A peer's record in the topology: owned and versioned by that peer alone. Records held by a
 * {@link Topology} are immutable snapshots; a newer version replaces the whole object.
 */
export interface PeerInfo {
  readonly name: PeerName;
  readonly nickname: string;
  /** Random per process incarnation, never 0: tells a restarted peer from its old self. */
  readonly uid: bigint;
  /** Monotonic per uid; the owner bumps it on every change of its connections. */
  readonly version: number;
  /** Connections the owner reports, keyed by the remote peer's name (never the owner's own). */
  readonly connections: ReadonlyMap<PeerName, ConnectionInfo>;
}

/** Input of {@link Topology.setLocalConnections}: one of our own connections. */
export interface LocalConnection {
  readonly peer: PeerName;
  readonly address: string;
  readonly outbound: boolean;
  readonly established: boolean;
}

/**
 * A record about *our* name carrying another uid arrived (in an update or a digest). Either an
 * old incarnation of ours (restart: harmless, we bump past it once or twice) or a live clone
 * sharing our name (cloned data dir: keeps happening; see {@link CloneDetector}).
 */
export interface SelfConflict {
  readonly uid: bigint;
  readonly version: number;
  /** True when it forced us to bump our version past it. */
  readonly bumped: boolean;
}

/** Outcome of merging a topology update. */
export interface ApplyResult {
  /** Names whose record changed here, sorted (our own name when a self-conflict bumped us). */
  readonly changed: PeerName[];
  /** An update message with only the records that were new to us (to relay), or null. */
  readonly delta: Buffer | null;
  readonly selfConflict?: SelfConflict;
}

/** Outcome of comparing a peer's digest with our state. */
export interface MissingResult {
  /** Names the digest's sender has newer records of (or we lack): ask it for them. */
  readonly wanted: PeerName[];
  /** An update message with our records the sender lacks or has older, or null. */
  readonly newer: Buffer | null;
  readonly selfConflict?: SelfConflict;
}

/** The four topology message kinds (first byte of every topology message). */
export type TopologyMessageKind = 'update' | 'digest' | 'request' | 'summary';

/**
 * Outcome of {@link Topology.handleMessage}: what changed, what to relay to a few neighbours
 * (`delta`), and what to send back to `sender` (zero or more messages, each a complete
 * topology message for the same channel).
 */
export interface HandleResult extends ApplyResult {
  readonly kind: TopologyMessageKind;
  readonly sender: PeerName;
  readonly replies: Buffer[];
}

/** Read-only view of a topology that routing needs. */
export interface TopologyView {
  /** All records we hold, sorted by name. */
  peers(): readonly PeerInfo[];
  get(name: PeerName): PeerInfo | undefined;
}
