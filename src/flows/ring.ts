/**
 * The bounded ring of one host's flow records. Pure (no I/O, no timers).
 *
 * Guarantees: at most `capacity` records are held (the oldest is overwritten, and counted in
 * `overwritten`); every record gets the next `seq` (0, 1, 2, … for the life of the ring), so
 * a reader that remembers the last seq it saw can ask for what came after and tell from a
 * gap how many it missed. Queries scan newest first and stop at `last` matches.
 */
import type { FlowRecord } from '../api/index.js';
import { matchesFlow, type FlowFilter } from './filter.js';

/** A record before the ring numbers it. */
export type UnnumberedFlow = Omit<FlowRecord, 'seq'>;

/** Default ring size: ~1 KiB per record held (JS objects with pod labels) → < 32 MB. records */
export const FLOW_RING_DEFAULT = 16_384;
/** Bounds of --flow-ring. records */
export const FLOW_RING_MIN = 16;
export const FLOW_RING_MAX = 1_048_576;

export interface FlowRingStats {
  capacity: number;
  stored: number;
  /** Records written since start. */
  recorded: number;
  /** Records overwritten because the ring was full. */
  overwritten: number;
  /** seq of the newest record, -1 when empty. */
  lastSeq: number;
}

export class FlowRing {
  private readonly slots: (FlowRecord | undefined)[];
  private next = 0;
  private readonly listeners = new Set<(r: FlowRecord) => void>();

  constructor(readonly capacity: number) {
    this.slots = new Array<FlowRecord | undefined>(capacity);
  }

  /** Number and keep `r`; listeners see it at once. Returns the stored record. */
  push(r: UnnumberedFlow): FlowRecord {
    const rec = { ...r, seq: this.next } as FlowRecord;
    this.slots[this.next % this.capacity] = rec;
    this.next++;
    for (const l of this.listeners) l(rec);
    return rec;
  }

  /** Call `fn` for every record pushed from now on, until the returned function is called. */
  subscribe(fn: (r: FlowRecord) => void): () => void {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  }

  stats(): FlowRingStats {
    const stored = Math.min(this.next, this.capacity);
    return { capacity: this.capacity, stored, recorded: this.next, overwritten: this.next - stored, lastSeq: this.next - 1 };
  }

  /**
   * The newest `f.last` records matching `f` (and newer than `f.sinceMs`, and with seq >
   * `afterSeq` when given), oldest first.
   */
  query(f: FlowFilter, afterSeq = -1): FlowRecord[] {
    const out: FlowRecord[] = [];
    const oldest = Math.max(0, this.next - this.capacity, afterSeq + 1);
    const since = f.sinceMs;
    for (let s = this.next - 1; s >= oldest && out.length < f.last; s--) {
      const r = this.slots[s % this.capacity]!;
      if (since !== undefined && Date.parse(r.time) < since) break; // records are in time order
      if (matchesFlow(r, f)) out.push(r);
    }
    return out.reverse();
  }
}
