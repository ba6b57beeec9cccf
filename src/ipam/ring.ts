import { createHash } from 'node:crypto';
import { IPAM_RING_ID_BYTES, at } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { Universe } from './address.js';
import { Succession, type Designation, type Tombstone } from './succession.js';

export type { Designation, Tombstone } from './succession.js';

/**
 * The ring CRDT: the allocation range as a circle of tokens, each token starting a range that
 * one peer owns up to the next token. Pure; no I/O.
 *
 * State = (entries keyed by token, tombstones keyed by peer name). An entry's range runs to
 * the next token, clamped by the entry's own `end`. Merge is a pointwise join:
 * tokens are a grow-only set, each token keeps the greatest entry under {@link compareEntries}
 * (a fixed total order), tombstones are a grow-only map with a deterministic winner per name.
 * A join of maps under a total order is commutative, associative and idempotent, so any
 * interleaving of merges, with loss, duplication and reordering, converges.
 *
 * Single writer: only the owner of a range writes the entries that cover it (bumping
 * `version`), including handing it to another peer (a donation) and inserting tokens inside it.
 * The one exception is reclaim: once a tombstone names a dead owner, its deterministic heir
 * (see succession.ts) rewrites each orphaned entry with `gen + 1`, which outranks anything the
 * dead owner could still have written.
 */

/**
 * One token of the ring. Owns [start, min(end, next token's start)). `end` is the writer's next
 * token when it wrote the entry, so an entry received alone (without its successor) never
 * makes the receiver believe it owns more than the writer gave.
 */
export interface RingEntry {
  /** First offset of the range (see Universe). */
  readonly start: number;
  /** End of the range (exclusive) as its writer knew it. */
  readonly end: number;
  readonly owner: PeerName;
  /** Ownership generation: bumped only by reclaim after a tombstone. */
  readonly gen: number;
  /** Bumped by the owner on every write within a generation. */
  readonly version: number;
  /** Owner's advertised count of free, usable addresses in the range (a hint for donors). */
  readonly free: number;
}

/** How a ring came to be; hashed into the ring identity. */
export interface RingOrigin {
  readonly kind: 'seed' | 'consensus';
  /** Sorted unique peers the range was first split between. */
  readonly members: readonly PeerName[];
  /** Free text fixed at creation (e.g. the consensus ballot); part of the identity. */
  readonly detail: string;
}

export type RingConflictKind =
  /** Same token, same (gen, version), different content: resolved by the total order. */
  | 'equal-version'
  /** Someone else wrote an entry we own: we lost it (allocations inside are at risk). */
  | 'own-range-taken'
  /** A token we did not create appeared inside a range we own. */
  | 'foreign-token'
  /** A newer version of our own entry than we have (we lost state): we adopt and outbid it. */
  | 'stale-self';

export interface RingConflict {
  readonly kind: RingConflictKind;
  readonly start: number;
  /** The entry that won (what the ring holds now). */
  readonly winner: RingEntry;
  /** The entry that lost, when there was one. */
  readonly loser?: RingEntry;
}

/** A (partial or complete) ring state, as carried by gossip and the store. */
export interface RingDelta {
  readonly entries: readonly RingEntry[];
  readonly tombstones?: readonly Tombstone[];
  readonly designations?: readonly Designation[];
}

/** What one merge changed, as seen from `self`. */
export interface MergeReport {
  /** Entries that were new to us (now in the ring). */
  readonly changed: RingEntry[];
  readonly tombstones: Tombstone[];
  readonly designations: Designation[];
  readonly conflicts: RingConflict[];
}

/** Total order on the content of entries at the same token: the greater one wins a merge. */
export function compareEntries(a: RingEntry, b: RingEntry): number {
  if (a.gen !== b.gen) return a.gen - b.gen;
  if (a.version !== b.version) return a.version - b.version;
  if (a.owner !== b.owner) return a.owner < b.owner ? -1 : 1;
  if (a.end !== b.end) return a.end - b.end;
  return a.free - b.free;
}

/** Ring identity: hex of a truncated SHA-256 over the range and the origin. */
export function ringIdOf(cidr: string, origin: RingOrigin): string {
  const h = createHash('sha256');
  h.update(`weft-ipam-ring\n${cidr}\n${origin.kind}\n${origin.detail}\n${origin.members.join(',')}`);
  return h.digest().subarray(0, IPAM_RING_ID_BYTES).toString('hex');
}

export class Ring {
  private entries: RingEntry[] = [];
  /** Tombstones and designated heirs (who inherits whom). */
  readonly succession = new Succession();

  private constructor(readonly universe: Universe, readonly id: string, readonly origin: RingOrigin) {}

  /** A ring split evenly between `origin.members` (every peer computes the identical ring). */
  static create(universe: Universe, origin: RingOrigin): Ring {
    const ring = new Ring(universe, ringIdOf(universe.cidr, origin), origin);
    const k = origin.members.length;
    /** Token of member i; member k's is the end of the range. */
    const tokenOf = (i: number): number => (i < k ? Math.floor((i * universe.size) / k) : universe.size);
    const entries: RingEntry[] = [];
    origin.members.forEach((owner, i) => {
      const start = tokenOf(i);
      if (i > 0 && start === tokenOf(i - 1)) return; // more members than addresses
      const end = tokenOf(i + 1);
      entries.push({ start, end, owner, gen: 0, version: 1, free: ring.usable(start, end) });
    });
    ring.entries = entries;
    return ring;
  }

  /** A ring rebuilt from a known identity (received or persisted); starts empty, then merge. */
  static restore(universe: Universe, id: string, origin: RingOrigin): Ring {
    return new Ring(universe, id, origin);
  }

  /** Entries in token order (do not mutate). */
  all(): readonly RingEntry[] {
    return this.entries;
  }

  tombstones(): Tombstone[] {
    return this.succession.tombstones();
  }

  tombstone(name: PeerName): Tombstone | undefined {
    return this.succession.tombstone(name);
  }

  isTombstoned(name: PeerName): boolean {
    return this.succession.isTombstoned(name);
  }

  /** The complete state as a delta (for full gossip and snapshots). */
  state(): RingDelta {
    return { entries: this.entries, tombstones: this.succession.tombstones(), designations: this.succession.designations() };
  }

  /** Number of addresses that may be handed out in [start, end) (network/broadcast excluded). */
  usable(start: number, end: number): number {
    let n = end - start;
    if (start === 0 && end > 0) n--;
    const last = this.universe.size - 1;
    if (last > 0 && start <= last && last < end) n--;
    return Math.max(0, n);
  }

  /** The entry at index i, which callers took from a search or a loop bound (else WEFT_ERR_INTERNAL). */
  private entry(i: number): RingEntry {
    return at(this.entries, i, 'ring entry');
  }

  /** End (exclusive) of the range of the entry at index i: next token, clamped by its `end`. */
  endOf(i: number): number {
    const next = i + 1 < this.entries.length ? this.entry(i + 1).start : this.universe.size;
    return Math.min(next, this.entry(i).end);
  }

  /** Index of the entry whose range contains `offset`, or -1 (none: empty ring or a gap). */
  indexCovering(offset: number): number {
    const i = this.tokenBefore(offset);
    return i >= 0 && offset < this.endOf(i) ? i : -1;
  }

  /** Index of the last token ≤ offset, or -1. */
  private tokenBefore(offset: number): number {
    let lo = 0;
    let hi = this.entries.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.entry(mid).start <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private indexOf(start: number): number {
    const i = this.tokenBefore(start);
    return i >= 0 && this.entry(i).start === start ? i : -1;
  }

  entryAt(start: number): RingEntry | undefined {
    const i = this.indexOf(start);
    return i >= 0 ? this.entries[i] : undefined;
  }

  /** Owner of `offset` in this view, or undefined. */
  ownerOf(offset: number): PeerName | undefined {
    const i = this.indexCovering(offset);
    return i >= 0 ? this.entry(i).owner : undefined;
  }

  /** Ranges `peer` owns in this view, in token order, each with the start of its entry. */
  rangesOf(peer: PeerName): Array<{ start: number; end: number }> {
    const out: Array<{ start: number; end: number }> = [];
    this.entries.forEach((e, i) => {
      if (e.owner === peer) out.push({ start: e.start, end: this.endOf(i) });
    });
    return out;
  }

  /** The current entries at the given tokens, in token order. */
  entriesAt(starts: Iterable<number>): RingEntry[] {
    const idx = new Set<number>();
    for (const s of starts) {
      const i = this.indexOf(s);
      if (i >= 0) idx.add(i);
    }
    return [...idx].sort((a, b) => a - b).map((i) => this.entry(i));
  }

  /**
   * Join a delta into this ring. Never throws for bad content: entries
   * outside the range are skipped; contradictions are resolved by the total order and reported
   * (from `self`'s point of view) in the returned conflicts.
   */
  merge(delta: RingDelta, self: PeerName): MergeReport {
    const changed: RingEntry[] = [];
    const conflicts: RingConflict[] = [];
    for (const e of delta.entries) {
      if (!(Number.isSafeInteger(e.start) && e.start >= 0 && e.end > e.start && e.end <= this.universe.size)) continue;
      const i = this.tokenBefore(e.start);
      const cur = i >= 0 ? this.entries[i] : undefined;
      if (cur !== undefined && cur.start === e.start) {
        const c = compareEntries(e, cur);
        if (c === 0) continue;
        if (cur.gen === e.gen && cur.version === e.version) {
          conflicts.push({ kind: 'equal-version', start: e.start, winner: c > 0 ? e : cur, loser: c > 0 ? cur : e });
        }
        if (c < 0) continue;
        if (cur.owner === self && e.owner !== self) conflicts.push({ kind: 'own-range-taken', start: e.start, winner: e, loser: cur });
        else if (e.owner === self && cur.owner === self) conflicts.push({ kind: 'stale-self', start: e.start, winner: e, loser: cur });
        this.entries[i] = e;
      } else {
        // a new token inside our own range can only come from someone who should not write it
        if (cur !== undefined && cur.owner === self && e.start < this.endOf(i)) conflicts.push({ kind: 'foreign-token', start: e.start, winner: e });
        this.entries.splice(i + 1, 0, e);
      }
      changed.push(e);
    }
    const tombstones = this.succession.mergeTombstones(delta.tombstones ?? []);
    const designations = this.succession.mergeDesignations(delta.designations ?? []);
    return { changed, tombstones, designations, conflicts };
  }

  // ─────────────── owner writes (the caller is `self`; each returns the entries it wrote) ───────────────

  private ownedIndex(self: PeerName, start: number): number {
    const i = this.indexOf(start);
    if (i < 0 || this.entry(i).owner !== self) throw new RangeError(`ring: entry ${start} is not owned by ${self}`);
    return i;
  }

  /** Rewrite our own entry at `start` (owner, end and/or free), bumping its version. */
  write(self: PeerName, start: number, patch: { owner?: PeerName; end?: number; free?: number }): RingEntry {
    const i = this.ownedIndex(self, start);
    const cur = this.entry(i);
    const next: RingEntry = {
      ...cur, owner: patch.owner ?? cur.owner, end: patch.end ?? this.endOf(i), free: patch.free ?? cur.free, version: cur.version + 1,
    };
    this.entries[i] = next;
    return next;
  }

  /**
   * Insert a token at `at` inside a range we own: the covering entry is rewritten to end at
   * `at` and the new entry (ours) runs to the old end. Returns the entries written ([] if a
   * token is already there).
   */
  split(self: PeerName, at: number): RingEntry[] {
    const i = this.indexCovering(at);
    const cur = i >= 0 ? this.entry(i) : undefined;
    if (cur === undefined || cur.owner !== self) throw new RangeError(`ring: offset ${at} is not owned by ${self}`);
    if (cur.start === at) return [];
    const e: RingEntry = { start: at, end: this.endOf(i), owner: self, gen: cur.gen, version: 1, free: 0 };
    this.entries.splice(i + 1, 0, e);
    return [this.write(self, cur.start, { end: at }), e];
  }

  /**
   * Hand [from, to) — which must lie inside one range we own and hold no allocations — to
   * `recipient`. Inserts tokens at both ends as needed.
   */
  donate(self: PeerName, from: number, to: number, recipient: PeerName): RingEntry[] {
    const i = this.indexCovering(from);
    if (i < 0 || this.entry(i).owner !== self || to > this.endOf(i) || from >= to) {
      throw new RangeError(`ring: cannot donate [${from}, ${to}) not owned by ${self}`);
    }
    const out: RingEntry[] = [];
    if (to < this.endOf(i)) out.push(...this.split(self, to));
    out.push(...this.split(self, from));
    out.push(this.write(self, from, { owner: recipient, free: this.usable(from, to) }));
    const last = new Map(out.map((e) => [e.start, e]));
    return [...last.values()];
  }

  /** Hand every range we own to `heir` (leave). */
  transferAll(self: PeerName, heir: PeerName): RingEntry[] {
    const out: RingEntry[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entry(i);
      if (e.owner === self) out.push(this.write(self, e.start, { owner: heir, free: this.usable(e.start, this.endOf(i)) }));
    }
    return out;
  }

  /** Claim every orphaned entry whose heir (see Succession.heirOf) is `self` (gen + 1). Idempotent. */
  reclaim(self: PeerName): RingEntry[] {
    const sc = this.succession;
    if (sc.tombstoneCount === 0 || sc.isTombstoned(self)) return [];
    const heirs = new Map<PeerName, PeerName | null>();
    const out: RingEntry[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entry(i);
      if (!sc.isTombstoned(e.owner)) continue;
      if (!heirs.has(e.owner)) heirs.set(e.owner, sc.heirOf(e.owner));
      if (heirs.get(e.owner) !== self) continue;
      const end = this.endOf(i);
      const next: RingEntry = { start: e.start, end, owner: self, gen: e.gen + 1, version: 1, free: this.usable(e.start, end) };
      this.entries[i] = next;
      out.push(next);
    }
    return out;
  }
}
