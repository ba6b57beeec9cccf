/**
 * This peer's allocations: which owner (container ID or "containerID/ifname") holds which
 * offset. Pure bookkeeping, no I/O. An offset has at most one owner; an owner may hold several
 * offsets. Lookups by offset are O(1), range counts O(log n) via a sorted array.
 */
export class AllocationTable {
  private readonly byOffset = new Map<number, string>();
  private readonly byOwner = new Map<string, number[]>();
  private readonly sorted: number[] = [];

  get size(): number {
    return this.byOffset.size;
  }

  ownerOf(offset: number): string | undefined {
    return this.byOffset.get(offset);
  }

  offsetsOf(owner: string): readonly number[] {
    return this.byOwner.get(owner) ?? [];
  }

  owners(): string[] {
    return [...this.byOwner.keys()];
  }

  /** [owner, offset] pairs in offset order. */
  entries(): Array<[string, number]> {
    return this.sorted.map((o) => [this.byOffset.get(o)!, o]);
  }

  /** First index in `sorted` with value ≥ v. */
  private lowerBound(v: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.sorted[mid] ?? v) < v) lo = mid + 1; // mid < length: always defined
      else hi = mid;
    }
    return lo;
  }

  /** Record `offset` for `owner` (replacing any previous owner of that offset). */
  add(owner: string, offset: number): void {
    if (this.byOffset.has(offset)) this.remove(offset);
    this.byOffset.set(offset, owner);
    const list = this.byOwner.get(owner);
    if (list) list.push(offset);
    else this.byOwner.set(owner, [offset]);
    this.sorted.splice(this.lowerBound(offset), 0, offset);
  }

  /** Forget `offset`; returns its owner, or undefined if it was free. */
  remove(offset: number): string | undefined {
    const owner = this.byOffset.get(offset);
    if (owner === undefined) return undefined;
    this.byOffset.delete(offset);
    const list = this.byOwner.get(owner)!;
    list.splice(list.indexOf(offset), 1);
    if (list.length === 0) this.byOwner.delete(owner);
    this.sorted.splice(this.lowerBound(offset), 1);
    return owner;
  }

  /** Allocated offsets in [start, end). */
  countIn(start: number, end: number): number {
    return this.lowerBound(end) - this.lowerBound(start);
  }

  /** Lowest offset in [start, end) that is neither allocated nor reserved, or null. */
  firstFreeIn(start: number, end: number, reserved: (o: number) => boolean): number | null {
    let i = this.lowerBound(start);
    for (let o = start; o < end; o++) {
      if (i < this.sorted.length && this.sorted[i] === o) {
        i++;
        continue;
      }
      if (!reserved(o)) return o;
    }
    return null;
  }

  /** Longest run of offsets in [start, end) that are neither allocated nor reserved. */
  largestFreeRun(start: number, end: number, reserved: (o: number) => boolean): { start: number; end: number } | null {
    let best: { start: number; end: number } | null = null;
    const consider = (s: number, e: number): void => {
      while (s < e && reserved(s)) s++;
      while (e > s && reserved(e - 1)) e--;
      if (e > s && (best === null || e - s > best.end - best.start)) best = { start: s, end: e };
    };
    let runStart = start;
    for (let i = this.lowerBound(start), o = this.sorted[i]; o !== undefined && o < end; o = this.sorted[++i]) {
      consider(runStart, o);
      runStart = o + 1;
    }
    consider(runStart, end);
    return best;
  }
}
