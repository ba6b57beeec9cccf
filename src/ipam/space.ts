import type { PeerName } from '../net/index.js';
import type { AllocationTable } from './allocations.js';
import type { DenyCode } from './codec.js';
import type { Ring } from './ring.js';
import { rankHeirs } from './succession.js';

/**
 * Decisions about address space from one peer's point of view, as pure functions of its ring
 * view, its allocations and whom it can reach: what to give away, whom to ask, whom to hand
 * ranges to. No state of their own; the core applies the results.
 */

/** Addresses in ranges `self` owns. */
export function ownedCount(ring: Ring, self: PeerName): number {
  return ring.rangesOf(self).reduce((n, r) => n + r.end - r.start, 0);
}

/** Usable addresses in ranges `self` owns that are not allocated. */
export function freeCount(ring: Ring, allocs: AllocationTable, self: PeerName): number {
  return ring.rangesOf(self).reduce((n, r) => n + ring.usable(r.start, r.end) - allocs.countIn(r.start, r.end), 0);
}

/** Lowest free usable address in our own ranges, or null. */
export function firstFree(ring: Ring, allocs: AllocationTable, self: PeerName): number | null {
  const reserved = (o: number): boolean => ring.universe.isReserved(o);
  for (const r of ring.rangesOf(self)) {
    const o = allocs.firstFreeIn(r.start, r.end, reserved);
    if (o !== null) return o;
  }
  return null;
}

export type Donation = { from: number; to: number } | { code: DenyCode; reason: string };

/**
 * What to give a peer that asked for space: exactly `offset` when it asked for one address
 * (if we own it and it is free), else the upper half of our largest free run (all of it when
 * it is a single address). Never includes an allocated or reserved address.
 */
export function pickDonation(ring: Ring, allocs: AllocationTable, self: PeerName, offset: number | null, label: string): Donation {
  const u = ring.universe;
  if (offset !== null) {
    if (offset >= u.size || ring.ownerOf(offset) !== self) {
      return { code: 'not-owner', reason: `address ${u.format(Math.min(offset, u.size - 1))} is not owned by ${label}` };
    }
    const holder = allocs.ownerOf(offset);
    if (holder !== undefined) return { code: 'in-use', reason: `address ${u.format(offset)} is in use by ${holder} on ${label}` };
    return { from: offset, to: offset + 1 };
  }
  let best: { start: number; end: number } | null = null;
  for (const r of ring.rangesOf(self)) {
    const run = allocs.largestFreeRun(r.start, r.end, (o) => u.isReserved(o));
    if (run && (!best || run.end - run.start > best.end - best.start)) best = run;
  }
  if (!best) return { code: 'no-space', reason: `${label} has no free addresses` };
  const len = best.end - best.start;
  return { from: len > 1 ? best.start + Math.floor(len / 2) : best.start, to: best.end };
}

/** Reachable live peer advertising the most free space (ties: smallest name), not in `exclude`. */
export function bestDonor(ring: Ring, reachable: ReadonlySet<PeerName>, self: PeerName, exclude: ReadonlySet<PeerName>): PeerName | null {
  const free = new Map<PeerName, number>();
  for (const e of ring.all()) {
    if (e.owner === self || exclude.has(e.owner) || !reachable.has(e.owner) || ring.isTombstoned(e.owner)) continue;
    free.set(e.owner, (free.get(e.owner) ?? 0) + e.free);
  }
  let best: PeerName | null = null;
  for (const [p, f] of free) if (f > 0 && (best === null || f > free.get(best)! || (f === free.get(best)! && p < best))) best = p;
  return best;
}

/** Peer to hand our ranges to on leave: the reachable live peer owning most (ties: smallest name). */
export function leaveHeir(ring: Ring, reachable: ReadonlySet<PeerName>): PeerName | null {
  const owned = new Map<PeerName, number>();
  for (const p of reachable) if (!ring.isTombstoned(p)) owned.set(p, 0);
  ring.all().forEach((e, i) => {
    if (owned.has(e.owner)) owned.set(e.owner, owned.get(e.owner)! + ring.endOf(i) - e.start);
  });
  let best: PeerName | null = null;
  for (const [p, n] of owned) if (best === null || n > owned.get(best)! || (n === owned.get(best)! && p < best)) best = p;
  return best;
}

/** Heirs to designate: reachable live peers, range owners first, each group in rendezvous order. */
export function designationCandidates(ring: Ring, reachable: ReadonlySet<PeerName>, self: PeerName, count: number): PeerName[] {
  const live = [...reachable].filter((p) => !ring.isTombstoned(p));
  const owners = new Set(ring.all().map((e) => e.owner));
  return [...rankHeirs(self, live.filter((p) => owners.has(p))), ...rankHeirs(self, live.filter((p) => !owners.has(p)))].slice(0, count);
}

/**
 * Owners due for automatic reclaim: unreachable for at least `afterMs` (tracked in `since`,
 * updated here), and only while we reach a strict majority of the live owners — so the two
 * sides of a partition can never both reclaim each other.
 */
export function autoReclaimDue(o: {
  ring: Ring; reachable: ReadonlySet<PeerName>; self: PeerName;
  /** When each owner was first seen unreachable (updated in place). ms */
  since: Map<PeerName, number>;
  now: number;
  afterMs: number;
}): PeerName[] {
  const { ring, reachable, self, since, now, afterMs } = o;
  const owners = new Set<PeerName>();
  for (const e of ring.all()) if (!ring.isTombstoned(e.owner)) owners.add(e.owner);
  for (const p of [...since.keys()]) if (!owners.has(p) || reachable.has(p)) since.delete(p);
  let live = 0;
  for (const p of owners) {
    if (p === self || reachable.has(p)) live++;
    else if (!since.has(p)) since.set(p, now);
  }
  if (live * 2 <= owners.size) return [];
  return [...since].filter(([, t]) => now - t >= afterMs).map(([p]) => p);
}
