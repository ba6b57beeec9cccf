/**
 * Token bucket for incoming handshakes: `burst` tokens, refilled at `ratePerS`. Pure apart
 * from the injected clock. take() is O(1) and allocation-free.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly burst: number,
    private readonly ratePerS: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Take one token; false when the bucket is empty (caller refuses the connection). */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Is the bucket full (nothing taken for burst/ratePerS seconds)? */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, t - this.last) / 1000) * this.ratePerS);
    this.last = t;
  }
}
