import {
  BACKOFF_FACTOR, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, BACKOFF_RESET_AFTER_MS, describeError, isWeftError,
  type WeftErrorCode,
} from '../common/index.js';

/** Tuning of a {@link Backoff}; defaults are the BACKOFF_* constants. `random` returns [0, 1). */
export interface BackoffOptions {
  initialMs?: number;
  factor?: number;
  maxMs?: number;
  resetAfterMs?: number;
  random?: () => number;
}

/**
 * Retry schedule of one connection target (pure: time is passed in, in ms).
 *
 * The first attempt is immediate (`nextTryAt` = 0). After a failure at `now` the next attempt is
 * due at now + interval/2 + random·interval (so within [0.5, 1.5)·interval, which spreads
 * retries of many peers), then interval = min(interval·factor, max). `reset()` returns to the
 * initial state. A connection that lived at least `resetAfterMs` resets the schedule when it
 * ends, so a long-lived link that drops is retried at once; a short-lived one counts as a failure.
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly factor: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private readonly random: () => number;
  private intervalMs: number;
  private next = 0;
  private connectedAt: number | null = null;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? BACKOFF_INITIAL_MS;
    this.factor = opts.factor ?? BACKOFF_FACTOR;
    this.maxMs = opts.maxMs ?? BACKOFF_MAX_MS;
    this.resetAfterMs = opts.resetAfterMs ?? BACKOFF_RESET_AFTER_MS;
    this.random = opts.random ?? Math.random;
    this.intervalMs = this.initialMs;
  }

  /** Earliest time the next attempt may start (0 = immediately). ms */
  get nextTryAt(): number {
    return this.next;
  }

  /** Current interval (the spread of the next delay after a failure). ms */
  get interval(): number {
    return this.intervalMs;
  }

  due(now: number): boolean {
    return now >= this.next;
  }

  /** An attempt failed at `now`; returns the time of the next attempt. */
  failed(now: number): number {
    this.connectedAt = null;
    const r = Math.min(Math.max(this.random(), 0), 1);
    this.next = now + this.intervalMs / 2 + r * this.intervalMs;
    this.intervalMs = Math.min(this.intervalMs * this.factor, this.maxMs);
    return this.next;
  }

  /** The connection came up at `now`. */
  connected(now: number): void {
    this.connectedAt = now;
  }

  /** The connection ended at `now`: reset if it lived long enough, else count a failure. */
  disconnected(now: number): number {
    if (this.connectedAt !== null && now - this.connectedAt >= this.resetAfterMs) {
      this.reset();
      return this.next;
    }
    return this.failed(now);
  }

  reset(): void {
    this.intervalMs = this.initialMs;
    this.next = 0;
    this.connectedAt = null;
  }
}

/** Errors after which a target is never retried automatically: ourselves, or a clone of our name. */
export const NEVER_RETRY: ReadonlySet<WeftErrorCode> = new Set<WeftErrorCode>(['WEFT_ERR_SELF', 'WEFT_ERR_NAME_COLLISION']);

export type TargetStatus = 'waiting' | 'connecting' | 'connected' | 'failed';

/**
 * Pure state of one connection-maker target (an address we dial):
 *
 *   waiting ──attempt()──▶ connecting ──succeeded()──▶ connected
 *      ▲                      │                          │
 *      └──── failed(err) ─────┘       disconnected() ────┘ (backoff, or reset if it lived long)
 *   connecting ──failed(WEFT_ERR_SELF | WEFT_ERR_NAME_COLLISION)──▶ failed (never retried)
 *   any ──retryNow()──▶ waiting, due immediately (an operator asked again)
 *
 * Illegal transitions are ignored (return false), so racing callbacks cannot corrupt it.
 */
export class ConnectionTarget {
  private state: TargetStatus = 'waiting';
  private readonly backoff: Backoff;
  private error: string | undefined;
  private code: WeftErrorCode | undefined;

  constructor(readonly address: string, opts: BackoffOptions = {}) {
    this.backoff = new Backoff(opts);
  }

  get status(): TargetStatus {
    return this.state;
  }

  /** One line describing the last failure, if any. */
  get lastError(): string | undefined {
    return this.error;
  }

  get lastErrorCode(): WeftErrorCode | undefined {
    return this.code;
  }

  /** When a waiting target is due (Infinity when failed, -1 while connecting/connected). ms */
  get nextTryAt(): number {
    if (this.state === 'failed') return Infinity;
    return this.state === 'waiting' ? this.backoff.nextTryAt : -1;
  }

  /** True when the maker should dial now. */
  due(now: number): boolean {
    return this.state === 'waiting' && this.backoff.due(now);
  }

  attempt(): boolean {
    if (this.state !== 'waiting') return false;
    this.state = 'connecting';
    return true;
  }

  succeeded(now: number): boolean {
    if (this.state !== 'connecting') return false;
    this.state = 'connected';
    this.error = undefined;
    this.code = undefined;
    this.backoff.connected(now);
    return true;
  }

  failed(now: number, err: unknown): boolean {
    if (this.state !== 'connecting') return false;
    this.note(err);
    if (this.code !== undefined && NEVER_RETRY.has(this.code)) {
      this.state = 'failed';
    } else {
      this.state = 'waiting';
      this.backoff.failed(now);
    }
    return true;
  }

  disconnected(now: number, err?: unknown): boolean {
    if (this.state !== 'connected') return false;
    if (err !== undefined) this.note(err);
    if (this.code !== undefined && NEVER_RETRY.has(this.code)) {
      this.state = 'failed';
      return true;
    }
    this.state = 'waiting';
    this.backoff.disconnected(now);
    return true;
  }

  /** Back to waiting with the schedule reset (manual reconnect), from any state but connecting/connected. */
  retryNow(): boolean {
    if (this.state === 'connecting' || this.state === 'connected') return false;
    this.state = 'waiting';
    this.backoff.reset();
    return true;
  }

  private note(err: unknown): void {
    this.error = describeError(err);
    this.code = isWeftError(err) ? err.code : undefined;
  }
}
