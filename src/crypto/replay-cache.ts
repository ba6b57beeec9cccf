/**
 * Remembers the ephemeral keys of recently accepted handshake message 1s so a recorded message 1
 * cannot be replayed to make the responder spend DH work or hold state. Pure (time is injected).
 */
import { HANDSHAKE_CLOCK_WINDOW_MS, HANDSHAKE_REPLAY_CACHE_ENTRIES } from '../common/index.js';

/**
 * Bounded set of (ephemeral key → expiry). One instance is shared by every responder-side
 * handshake of a daemon (pass it as `replayCache`); it lives as long as the daemon.
 *
 * An entry must be kept until its message 1 could no longer pass the timestamp check, i.e.
 * until timestamp + HANDSHAKE_CLOCK_WINDOW_MS. A message stamped up to one window in the future
 * is accepted, so an entry lives at most 2 × window = 240 s. Entries are only recorded after
 * message 1 authenticated (only cluster members can add them), and the mesh admits at most
 * ACCEPT_BURST + ACCEPT_RATE_PER_S × 240 s = 20 + 10 × 240 = 2420 handshakes in that time, so
 * the default bound of 4096 is never reached by honest load; when it is, the oldest entry is
 * evicted. Losing an entry early only re-opens a replay of that one message 1, which still
 * cannot complete a handshake (the replayer lacks the ephemeral secret): it costs one DH.
 */
export class HandshakeReplayCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly maxEntries: number = HANDSHAKE_REPLAY_CACHE_ENTRIES,
    private readonly windowMs: number = HANDSHAKE_CLOCK_WINDOW_MS,
  ) {}

  /** Number of remembered keys (after the last prune). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Record `ephemeral` (sent with timestamp `timestampMs`) at time `nowMs`. Returns false (and
   * records nothing) if that key is still remembered — a replay.
   */
  checkAndRecord(ephemeral: Buffer, timestampMs: number, nowMs: number): boolean {
    this.prune(nowMs);
    const key = ephemeral.toString('base64');
    if (this.entries.has(key)) return false;
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, Math.max(timestampMs, nowMs) + this.windowMs);
    return true;
  }

  /** Drop every entry whose message 1 could no longer pass the timestamp check. */
  prune(nowMs: number): void {
    for (const [k, expiry] of this.entries) {
      if (expiry < nowMs) this.entries.delete(k);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
