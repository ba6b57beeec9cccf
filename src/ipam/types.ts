import type { PeerName } from '../net/index.js';

/**
 * Public value types of the IPAM contract (see index.ts). Plain data, JSON-serialisable.
 */

/**
 * How a ring may come to exist (`--ipalloc-init`):
 *  - `{ consensus: N }`: wait until a majority (> N/2) of N electors agree (no split brain);
 *  - `{ seeds: [...] }`: the named peers split the range at once (identical list everywhere);
 *  - `{}` (observer): never creates a ring, only receives one.
 * In every mode a ring received through gossip is adopted.
 */
export interface IpamInit {
  consensus?: number;
  seeds?: PeerName[];
}

/** One address held by an owner. */
export interface IpamAllocation {
  /** Container ID or "containerID/ifname". */
  owner: string;
  address: string;
  /** Prefix length of the allocation range (the container's subnet). */
  prefixLength: number;
}

export interface AllocateOptions {
  /** Ask for this exact address (e.g. re-attach after a restart). */
  address?: string;
}

/**
 * - `ready`: allocations are served.
 * - `awaiting-consensus`: no ring yet; consensus=N has not reached a majority (see quorum/known).
 * - `no-range`: a ring exists but this peer has no free address and no reachable peer
 *   advertises any (usually: the space is owned by unreachable peers — see `unreachable`).
 * - `split-ring`: a peer with a different ring (other seeds/consensus) or range was met;
 *   allocation is refused until one side is reset (the reason names the remedy).
 * - `idle`: no ring and nothing to do yet (observer, seed mode waiting for seeds, or left).
 * - `removed`: this peer was removed with rmpeer elsewhere; run `weft reset` on it.
 */
export type IpamStatusKind = 'ready' | 'awaiting-consensus' | 'no-range' | 'split-ring' | 'idle' | 'removed';

export interface UnreachableOwner {
  name: PeerName;
  nickname?: string;
  /** Addresses this unreachable peer owns in our view of the ring. */
  addresses: number;
  /** Share of the whole range. percent (0..100) */
  percent: number;
}

export interface RingEntryView {
  start: string;
  /** Last address of the range (inclusive). */
  end: string;
  owner: PeerName;
  nickname?: string;
  free: number;
}

export interface IpamStatus {
  status: IpamStatusKind;
  /** Why the status is not `ready`, with the remedy when there is one. */
  reason?: string;
  self: PeerName;
  nickname: string;
  range: string;
  mode: 'consensus' | 'seed' | 'observer';
  /** Ring identity (hex) when a ring exists. */
  ringId?: string;
  /** "seed: a,b" / "consensus=3 …": how the ring was created. */
  origin?: string;
  /** Addresses in ranges this peer owns. */
  owned: number;
  /** Usable addresses in those ranges not yet allocated. */
  free: number;
  /** Addresses allocated here. */
  allocated: number;
  /** Allocations waiting for space from another peer. */
  pending: number;
  unreachable: UnreachableOwner[];
  /** consensus=N: the quorum (> N/2) and the electors known and reachable. */
  quorum?: number;
  known?: number;
  /** Conflicting updates received and resolved since start, by kind. */
  conflicts: Record<string, number>;
  /** Peers removed with rmpeer. */
  removedPeers: PeerName[];
  /**
   * Ranges of removed peers not yet taken over, with the peer that will take them (its
   * deterministic heir) — null when no live heir is known yet (rmpeer the heirs too if dead).
   */
  awaitingReclaim: { name: PeerName; heir: PeerName | null; addresses: number }[];
  entries: RingEntryView[];
}

export interface RmpeerResult {
  name: PeerName;
  nickname?: string;
  /** True when the peer had already been removed (rmpeer is idempotent). */
  alreadyRemoved: boolean;
  /** Addresses the removed peer owned in our view. */
  addresses: number;
  /** Of those, how many this peer inherited (the rest go to their deterministic heirs). */
  reclaimedHere: number;
}

export interface LeaveResult {
  /** Peer that received our ranges, or null if we owned none. */
  heir: PeerName | null;
  /** Addresses handed over. */
  addresses: number;
  /** Allocations that were dropped (their containers should already be gone). */
  droppedAllocations: number;
}
