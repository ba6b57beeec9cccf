/**
 * Path-MTU search for one peer: binary search between a verified lower bound (the floor,
 * 552) and the first size known to fail, driven by DF probe datagrams whose receipt the peer
 * acknowledges over the control connection. Pure: the caller sends probes and passes `now`.
 */

/** A probe the caller must send now: a DF datagram making an IP packet of `size` bytes. */
export interface PmtuProbe {
  id: number;
  size: number;
}

/**
 * One search. Lifecycle: created with a candidate (the kernel's IP_MTU toward the peer);
 * {@link poll} hands out probes until {@link done}. The first probe is the candidate itself,
 * so a correct kernel estimate is verified with one round trip. Each size gets two tries (the
 * second with twice the timeout) before it counts as too big; the whole search is bounded by
 * `maxProbes`, after which the highest verified size wins.
 */
export class PmtuSearch {
  private lo: number;
  private hi: number;
  private sent = 0;
  private outstanding: PmtuProbe | null = null;
  private tries = 0;
  private deadline = 0;
  private finished = false;

  constructor(
    private readonly candidate: number,
    floor: number,
    private readonly maxProbes: number,
    private readonly timeoutMs: number,
    private nextId = 1,
  ) {
    this.lo = Math.min(floor, candidate);
    this.hi = candidate + 1;
    if (this.hi - this.lo <= 1) this.finished = true;
  }

  /** True once the search has settled; {@link limit} is then the verified path MTU. */
  get done(): boolean {
    return this.finished;
  }

  /**
   * Path MTU to use now: the verified result when done; during the search the optimistic
   * upper bound (so traffic is not squeezed while probing).
   */
  get limit(): number {
    return this.finished ? this.lo : this.hi - 1;
  }

  /** Highest size verified so far. */
  get verified(): number {
    return this.lo;
  }

  /** The probe to send now, or null (one outstanding and not yet timed out, or done). */
  poll(now: number): PmtuProbe | null {
    if (this.finished) return null;
    if (this.outstanding) {
      if (now < this.deadline) return null;
      if (this.tries < 2 && this.sent < this.maxProbes) {
        return this.emit(this.outstanding.size, now, this.timeoutMs * 2, this.outstanding.id);
      }
      this.hi = Math.min(this.hi, this.outstanding.size);
      this.outstanding = null;
    }
    const size = this.sent === 0 ? this.candidate : Math.floor((this.lo + this.hi) / 2);
    if (size <= this.lo || size >= this.hi || this.sent >= this.maxProbes) {
      this.finished = true;
      return null;
    }
    this.tries = 0;
    return this.emit(size, now, this.timeoutMs);
  }

  /** The peer acknowledged probe `id` of `size` bytes. Returns true if it advanced the search. */
  ack(id: number, size: number): boolean {
    if (this.finished || !this.outstanding || this.outstanding.id !== id || this.outstanding.size !== size) return false;
    this.lo = Math.max(this.lo, size);
    this.outstanding = null;
    if (this.hi - this.lo <= 1) this.finished = true;
    return true;
  }

  /** Sending a probe of `size` failed locally (EMSGSIZE): that size is too big. */
  tooBig(size: number): void {
    if (this.finished) return;
    this.hi = Math.min(this.hi, size);
    if (this.outstanding && this.outstanding.size >= size) this.outstanding = null;
    if (this.hi - this.lo <= 1) this.finished = true;
  }

  /** Next probe id to use for a follow-up search (ids stay unique per link). */
  get idCursor(): number {
    return this.nextId;
  }

  /** Send (or resend, keeping the id so a late ack still counts) a probe of `size`. */
  private emit(size: number, now: number, timeout: number, id?: number): PmtuProbe {
    this.tries++;
    this.sent++;
    this.deadline = now + timeout;
    if (id === undefined) {
      id = this.nextId;
      this.nextId = (this.nextId + 1) >>> 0;
    }
    this.outstanding = { id, size };
    return this.outstanding;
  }
}
