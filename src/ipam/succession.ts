import { createHash } from 'node:crypto';
import type { PeerName } from '../net/index.js';

/**
 * Who inherits a removed peer's ranges. Part of the ring CRDT; pure, no I/O.
 *
 * Two grow-only maps, merged by a deterministic winner per key:
 *  - tombstones: peers removed with rmpeer (never un-removed);
 *  - designations: each peer's own ordered list of heirs (IPAM_DESIGNATED_HEIRS of them),
 *    written only by that peer (LWW by version). A peer designates reachable peers as soon as
 *    it is in a ring, and re-designates only when one of its heirs is tombstoned — so a
 *    designation is written rarely and long before anyone could run rmpeer on its author.
 *
 * heirOf(D) is the first heir on D's list that is not tombstoned (if all are, their own heirs,
 * recursively). It depends only on the dead peers' own (final) designations and on the
 * tombstone set; two views that differ in tombstones differ only about dead peers, which never
 * act. So however many hosts run rmpeer at once, at most one live peer considers itself the
 * heir of a range.
 */

/** Record that a peer was removed with rmpeer. */
export interface Tombstone {
  readonly name: PeerName;
  /** Peer that ran rmpeer (deterministic winner: smallest `at`, then smallest `by`). */
  readonly by: PeerName;
  /** Wall-clock time of the rmpeer. ms since epoch */
  readonly at: number;
}

/** A peer's ordered choice of heirs for its ranges, should it be removed. */
export interface Designation {
  readonly peer: PeerName;
  /** 1..IPAM_DESIGNATED_HEIRS distinct peers, never `peer` itself; the first live one inherits. */
  readonly heirs: readonly PeerName[];
  /** Bumped by `peer` on every change. */
  readonly version: number;
}

function tombstoneWins(a: Tombstone, b: Tombstone): boolean {
  if (a.at !== b.at) return a.at < b.at;
  return a.by < b.by;
}

function designationWins(a: Designation, b: Designation): boolean {
  if (a.version !== b.version) return a.version > b.version;
  for (let i = 0; i < Math.max(a.heirs.length, b.heirs.length); i++) {
    const x = a.heirs[i] ?? '';
    const y = b.heirs[i] ?? '';
    if (x !== y) return x > y;
  }
  return false;
}

/** Rendezvous order: `candidates` (without `self`) sorted by hash(self, candidate), best first. */
export function rankHeirs(self: PeerName, candidates: Iterable<PeerName>): PeerName[] {
  const scored: Array<[string, PeerName]> = [];
  for (const c of new Set(candidates)) {
    if (c !== self) scored.push([createHash('sha256').update(`${self}>${c}`).digest('hex'), c]);
  }
  return scored.sort((a, b) => (a[0] < b[0] ? 1 : -1)).map(([, c]) => c);
}

export class Succession {
  private readonly tomb = new Map<PeerName, Tombstone>();
  private readonly desig = new Map<PeerName, Designation>();

  isTombstoned(name: PeerName): boolean {
    return this.tomb.has(name);
  }

  tombstone(name: PeerName): Tombstone | undefined {
    return this.tomb.get(name);
  }

  tombstones(): Tombstone[] {
    return [...this.tomb.values()];
  }

  get tombstoneCount(): number {
    return this.tomb.size;
  }

  designation(peer: PeerName): Designation | undefined {
    return this.desig.get(peer);
  }

  designations(): Designation[] {
    return [...this.desig.values()];
  }

  /** Join tombstones; returns those that were new (or won). */
  mergeTombstones(ts: readonly Tombstone[]): Tombstone[] {
    const out: Tombstone[] = [];
    for (const t of ts) {
      const cur = this.tomb.get(t.name);
      if (cur === undefined || tombstoneWins(t, cur)) {
        this.tomb.set(t.name, t);
        out.push(t);
      }
    }
    return out;
  }

  /** Join designations; returns those that were new (or won). */
  mergeDesignations(ds: readonly Designation[]): Designation[] {
    const out: Designation[] = [];
    for (const d of ds) {
      const cur = this.desig.get(d.peer);
      if (cur === undefined || designationWins(d, cur)) {
        this.desig.set(d.peer, d);
        out.push(d);
      }
    }
    return out;
  }

  /** True when `self` has no heirs, or one of them was removed. */
  needsDesignation(self: PeerName): boolean {
    const d = this.desig.get(self);
    return d === undefined || d.heirs.some((h) => this.tomb.has(h) || h === self);
  }

  /** Write our own designation (version + 1). */
  designate(self: PeerName, heirs: readonly PeerName[]): Designation {
    const d: Designation = { peer: self, heirs: [...heirs], version: (this.desig.get(self)?.version ?? 0) + 1 };
    this.desig.set(self, d);
    return d;
  }

  /**
   * Heir of a removed peer: the first non-tombstoned peer on its designation list, else
   * (all of them removed too) the heirs of those, depth first. If the dead peer never
   * designated anyone (it died before it saw a peer), or the lists only lead to removed peers:
   * the best-ranked live designation author (rendezvous on the dead peer's name). Null if none.
   */
  heirOf(dead: PeerName): PeerName | null {
    const seen = new Set<PeerName>();
    const walk = (p: PeerName): PeerName | null => {
      seen.add(p);
      const heirs = this.desig.get(p)?.heirs ?? [];
      const live = heirs.find((h) => !this.tomb.has(h));
      if (live !== undefined) return live;
      for (const h of heirs) {
        if (seen.has(h)) continue;
        const found = walk(h);
        if (found !== null) return found;
      }
      return null;
    };
    const found = walk(dead);
    if (found !== null) return found;
    const authors = [...this.desig.keys()].filter((p) => !this.tomb.has(p));
    return rankHeirs(dead, authors)[0] ?? null;
  }
}
