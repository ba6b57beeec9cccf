/**
 * One fast path (host-gw or VXLAN) toward one peer, as a pure state machine driven by the
 * clock, probe replies and send errors:
 *
 *   off ──enable──▶ probing ──CONFIRM replies──▶ active
 *                     │  ▲                          │ no reply for FAIL_AFTER
 *        no reply for │  │ backoff expired          ▼
 *          FAIL_AFTER └─▶ failed ◀──────────────────┘
 *
 * Every state but `off` sends a full-size probe each PROBE_INTERVAL (failed: one per backoff
 * step, doubling up to the cap; the next answered probe moves it back to probing). A path
 * carries traffic only while `active`. `disable(reason)` turns it off from any state.
 */
import type { ProbePath } from './probe-wire.js';

export type PathState = 'off' | 'probing' | 'active' | 'failed';

export interface PathTiming {
  probeIntervalMs: number;
  failAfterMs: number;
  confirmReplies: number;
  reprobeInitialMs: number;
  reprobeMaxMs: number;
}

/** Short, stable cause of the last transition (metric label). */
export type PathChangeCause = 'probe_ok' | 'probe_timeout' | 'too_big' | 'disabled' | 'enabled';

export interface PathTransition {
  from: PathState;
  to: PathState;
  cause: PathChangeCause;
}

export class PathMonitor {
  state: PathState = 'off';
  /** Why the path is not active (one line); '' while active. */
  reason: string;
  /** IP packet size probes are padded to (the path's MTU). bytes */
  mtu = 0;
  private seq = 0;
  private lastSentAt = -Infinity;
  private lastReplyAt = -Infinity;
  private probingSince = 0;
  private replies = 0;
  private backoffMs: number;
  private nextTryAt = 0;

  constructor(readonly path: ProbePath, private readonly t: PathTiming, reason = 'waiting for the peer\'s fast-path hello') {
    this.reason = reason;
    this.backoffMs = t.reprobeInitialMs;
  }

  /** Start probing at `mtu` (no-op when already enabled with that MTU). */
  enable(mtu: number, now: number): PathTransition | null {
    if (this.state !== 'off' && this.mtu === mtu) return null;
    const from = this.state;
    this.mtu = mtu;
    if (from === 'off') this.reason = '';
    this.startProbing(now);
    return { from, to: 'probing', cause: 'enabled' };
  }

  disable(reason: string): PathTransition | null {
    this.reason = reason;
    if (this.state === 'off') return null;
    const from = this.state;
    this.state = 'off';
    return { from, to: 'off', cause: 'disabled' };
  }

  /** Sequence number of a probe to send now, or -1. Call once per tick. */
  probeDue(now: number): number {
    if (this.state === 'off') return -1;
    if (this.state === 'failed') {
      if (now < this.nextTryAt) return -1;
      this.nextTryAt = now + this.backoffMs;
    } else if (now - this.lastSentAt < this.t.probeIntervalMs) {
      return -1;
    }
    this.lastSentAt = now;
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /** A reply to one of our probes arrived (its size already checked by the caller). */
  onReply(now: number): PathTransition | null {
    if (this.state === 'off') return null;
    this.lastReplyAt = now;
    if (this.state === 'failed') {
      this.startProbing(now);
      this.replies = 1;
      return { from: 'failed', to: 'probing', cause: 'probe_ok' };
    }
    if (this.state === 'probing' && ++this.replies >= this.t.confirmReplies) {
      this.state = 'active';
      this.reason = '';
      this.backoffMs = this.t.reprobeInitialMs;
      return { from: 'probing', to: 'active', cause: 'probe_ok' };
    }
    return null;
  }

  /** The local stack refused a probe as larger than the route MTU. */
  onTooBig(now: number): PathTransition | null {
    if (this.state === 'off' || this.state === 'failed') return null;
    return this.fail(now, `${this.path} probe of ${this.mtu} bytes exceeds the local route MTU`, 'too_big');
  }

  /** Timeouts. */
  tick(now: number): PathTransition | null {
    if (this.state === 'probing' && now - Math.max(this.probingSince, this.lastReplyAt) > this.t.failAfterMs) {
      return this.fail(now, `${this.path} probe timed out at MTU ${this.mtu}`, 'probe_timeout');
    }
    if (this.state === 'active' && now - this.lastReplyAt > this.t.failAfterMs) {
      return this.fail(now, `${this.path} probe timed out at MTU ${this.mtu}`, 'probe_timeout');
    }
    return null;
  }

  /**
   * When this path next needs {@link probeDue} / {@link tick} (ms since the epoch, the clock of
   * `now`): the next probe or the next timeout, whichever comes first; Infinity while off.
   */
  nextDue(): number {
    switch (this.state) {
      case 'off': return Infinity;
      case 'failed': return this.nextTryAt;
      default: {
        const timeoutAt = Math.max(this.probingSince, this.lastReplyAt) + this.t.failAfterMs + 1;
        return Math.min(this.lastSentAt + this.t.probeIntervalMs, timeoutAt);
      }
    }
  }

  private startProbing(now: number): void {
    this.state = 'probing';
    this.probingSince = now;
    this.replies = 0;
    this.lastSentAt = -Infinity;
    if (!this.reason) this.reason = `${this.path} probing at MTU ${this.mtu}`;
  }

  private fail(now: number, reason: string, cause: PathChangeCause): PathTransition {
    const from = this.state;
    this.state = 'failed';
    this.reason = reason;
    // A failure right after a (re)try backs off further; a path that had worked starts over.
    if (from === 'active') this.backoffMs = this.t.reprobeInitialMs;
    this.nextTryAt = now + this.backoffMs;
    this.backoffMs = Math.min(this.t.reprobeMaxMs, this.backoffMs * 2);
    return { from, to: 'failed', cause };
  }
}
