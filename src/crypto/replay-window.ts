/**
 * Data-plane anti-replay sliding window (the RFC 6479 bitmap-ring idea). Pure, allocation-free
 * per call; one instance per peer, direction and key epoch.
 */
import { REPLAY_WINDOW_PACKETS, WeftError } from '../common/index.js';

const WORD_BITS = 32;

/**
 * Accepts each counter at most once, and only if it is newer than the highest accepted counter
 * or at most `size - 1` behind it (and not seen yet). A jump ahead by `size` or more simply
 * starts a fresh window (everything older is then too old).
 *
 * Counters: the wire carries 64 bits, but the data plane moves to a new epoch (and a new window)
 * long before 2^48 packets, so counters are JS numbers. Values that are not integers in
 * [0, 2^53 - 1] — including anything a 64-bit field holds above 2^53 — are never accepted.
 *
 * Use: `check(c)` before the AEAD open (cheap early drop), `accept(c)` only after the open
 * succeeded (an attacker's forged counter must not move the window). Neither allocates.
 */
export class ReplayWindow {
  /** Largest counter that is always representable and therefore acceptable. */
  static readonly MAX_COUNTER = Number.MAX_SAFE_INTEGER;

  /** Window size in counters (a multiple of 32). */
  readonly size: number;
  private readonly words: number;
  private readonly bitmap: Uint32Array;
  /** Highest accepted counter; -1 before the first. */
  private highest = -1;

  constructor(size: number = REPLAY_WINDOW_PACKETS) {
    if (!Number.isInteger(size) || size <= 0 || size % WORD_BITS !== 0) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `replay window size must be a positive multiple of ${WORD_BITS}`);
    }
    this.size = size;
    // One spare word: advancing clears whole words, and the spare keeps `size` full counters.
    this.words = size / WORD_BITS + 1;
    this.bitmap = new Uint32Array(this.words);
  }

  /** Highest counter accepted so far, or -1. */
  get highestAccepted(): number {
    return this.highest;
  }

  /** Would `counter` be accepted now? Does not change state. */
  check(counter: number): boolean {
    if (!(counter >= 0 && counter <= ReplayWindow.MAX_COUNTER && Number.isInteger(counter))) return false;
    if (counter > this.highest) return true;
    if (this.highest - counter >= this.size) return false;
    const word = Math.floor(counter / WORD_BITS) % this.words;
    return (this.bitmap[word]! & (1 << (counter % WORD_BITS))) === 0;
  }

  /** Mark `counter` as seen. Returns false (and changes nothing) if `check` would refuse it. */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.highest) {
      const from = Math.floor(this.highest / WORD_BITS); // -1 before the first counter
      const to = Math.floor(counter / WORD_BITS);
      const advance = to - from;
      if (advance >= this.words) {
        this.bitmap.fill(0);
      } else {
        for (let i = 1; i <= advance; i++) this.bitmap[(from + i) % this.words] = 0;
      }
      this.highest = counter;
    }
    const word = Math.floor(counter / WORD_BITS) % this.words;
    this.bitmap[word] = this.bitmap[word]! | (1 << (counter % WORD_BITS));
    return true;
  }

  /** Forget everything (new epoch / new key). */
  reset(): void {
    this.bitmap.fill(0);
    this.highest = -1;
  }
}
