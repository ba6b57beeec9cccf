/**
 * Sliding anti-replay window over datagram counters (one per sender and key epoch).
 * Counters are exact JS numbers (the codec rejects counters above 2^52). Pure; no allocation
 * per call.
 */

/**
 * Accepts each counter at most once, tolerating reordering within `size` counters behind the
 * highest accepted one. Call {@link check} before the (expensive) AEAD open and
 * {@link accept} only after it succeeded, so forged datagrams never move the window.
 */
export class ReplayWindow {
  private readonly bits: Uint32Array;
  private highest = -1;

  /** `size` must be a multiple of 32. */
  constructor(private readonly size: number) {
    this.bits = new Uint32Array(size >>> 5);
  }

  /** Would `counter` be accepted now? (No state change.) */
  check(counter: number): boolean {
    if (counter > this.highest) return true;
    if (this.highest - counter >= this.size) return false;
    const i = counter % this.size;
    return (this.bits[i >>> 5] & (1 << (i & 31))) === 0;
  }

  /** Mark `counter` as seen; false if it is a duplicate or too old (then nothing changes). */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.highest) {
      const gap = counter - this.highest;
      if (gap >= this.size) {
        this.bits.fill(0);
      } else {
        for (let c = this.highest + 1; c < counter; c++) {
          const i = c % this.size;
          this.bits[i >>> 5] &= ~(1 << (i & 31));
        }
      }
      this.highest = counter;
    }
    const i = counter % this.size;
    this.bits[i >>> 5] |= 1 << (i & 31);
    return true;
  }

  /** Highest accepted counter, -1 before the first. */
  get top(): number {
    return this.highest;
  }
}
