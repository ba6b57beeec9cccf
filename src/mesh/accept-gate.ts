/**
 * Admission of incoming, not yet authenticated control connections: the handshake flood limits.
 * Pure apart from the injected clock (no sockets, no timers); the router asks it on every
 * accept and tells it when a pending handshake ends. See DESIGN.md "Handshake flood limits".
 */
import { TokenBucket } from './token-bucket.js';

/** The limits the gate enforces (constants.ts values in the daemon; tests pass their own). */
export interface AcceptLimits {
  /** Concurrent pending (accepted, not yet authenticated) connections, all sources together. count */
  maxPending: number;
  /** Global accept token bucket. handshakes / handshakes per s */
  burst: number;
  ratePerS: number;
  /** Pending connections of one source address. count */
  maxPendingPerSource: number;
  /** Accept token bucket of one source address. handshakes / handshakes per s */
  burstPerSource: number;
  ratePerSourcePerS: number;
  /** Reserve bucket for quiet sources (no attempt for a while) once the global bucket is empty. handshakes / per s */
  quietBurst: number;
  quietRatePerS: number;
  /** Source addresses tracked at once (idle ones are forgotten first). count */
  maxSources: number;
}

/** Why a connection was refused. */
export type AcceptRefusal = 'rate_limited' | 'source_rate_limited' | 'pending_full' | 'source_pending_full' | 'sources_full';

/** The gate's answer: admitted (maybe evicting another source's oldest pending handshake), or refused. */
export type AcceptVerdict<T> = { ok: true; handle: T; evict: T | null } | { ok: false; reason: AcceptRefusal };

interface SourceState<T> {
  readonly bucket: TokenBucket;
  /** Pending handshakes of this source, oldest first (Set keeps insertion order). */
  readonly pending: Set<T>;
}

/**
 * Keeps the pending handshakes of every source and decides who may start one. Guarantees:
 * - at most `maxPending` admitted handshakes are pending at once (an admission at the cap
 *   evicts the oldest pending handshake of the source holding the most, and only if that source
 *   holds more than the newcomer's — so one address, or a few, cannot starve everyone else);
 * - at most `maxPendingPerSource` pending per source address, and each source is held to its own
 *   bucket (`burstPerSource`, `ratePerSourcePerS`);
 * - admissions overall follow the global bucket (`burst`, `ratePerS`), plus a small reserve
 *   (`quietBurst`, `quietRatePerS`) that only sources with a full bucket of their own (quiet for a
 *   while: a peer joining, not a flooder) may use once the global bucket is empty;
 * - memory is bounded: at most `maxSources` source entries; idle ones are dropped.
 * Refusals by the per-source limits consume no global tokens.
 *
 * Lifecycle: none (plain object). Call {@link release} exactly once for every admitted handle
 * (handshake done, failed or closed), including evicted ones.
 */
export class AcceptGate<T> {
  private readonly sources = new Map<string, SourceState<T>>();
  private readonly owner = new Map<T, string>();
  private readonly global: TokenBucket;
  private readonly quiet: TokenBucket;

  constructor(private readonly limits: AcceptLimits, private readonly now: () => number = Date.now) {
    this.global = new TokenBucket(limits.burst, limits.ratePerS, now);
    this.quiet = new TokenBucket(limits.quietBurst, limits.quietRatePerS, now);
  }

  /** Pending handshakes admitted and not yet released. */
  get pending(): number {
    return this.owner.size;
  }

  /** Tracked source addresses (bounded by maxSources). */
  get sourceCount(): number {
    return this.sources.size;
  }

  /** Pending handshakes of `source`. */
  pendingOf(source: string): number {
    return this.sources.get(source)?.pending.size ?? 0;
  }

  /**
   * May a connection from `source` start a handshake? On `ok`, `make()` was called (only then:
   * a refusal allocates nothing for the caller) and its handle counts as pending; when `evict`
   * is set the caller must close that handle (it stays pending until released).
   */
  admit(source: string, make: () => T): AcceptVerdict<T> {
    const l = this.limits;
    const s = this.sourceState(source);
    if (!s) return { ok: false, reason: 'sources_full' };
    const wasQuiet = s.bucket.isFull();
    if (!s.bucket.take()) return { ok: false, reason: 'source_rate_limited' };
    if (s.pending.size >= l.maxPendingPerSource) return { ok: false, reason: 'source_pending_full' };
    let evict: T | null = null;
    if (this.owner.size >= l.maxPending) {
      evict = this.victim(s.pending.size);
      if (evict === null) return { ok: false, reason: 'pending_full' };
    }
    if (!this.global.take() && !(wasQuiet && this.quiet.take())) return { ok: false, reason: 'rate_limited' };
    const handle = make();
    s.pending.add(handle);
    this.owner.set(handle, source);
    return { ok: true, handle, evict };
  }

  /** The handshake of `handle` ended (authenticated, failed, closed). Idempotent. */
  release(handle: T): void {
    const source = this.owner.get(handle);
    if (source === undefined) return;
    this.owner.delete(handle);
    const s = this.sources.get(source);
    s?.pending.delete(handle);
  }

  /** The oldest pending handle of the source holding the most, if it holds more than `than`. */
  private victim(than: number): T | null {
    let best: SourceState<T> | null = null;
    for (const s of this.sources.values()) if (s.pending.size > (best?.pending.size ?? than)) best = s;
    if (!best) return null;
    for (const h of best.pending) return h;
    return null;
  }

  private sourceState(source: string): SourceState<T> | null {
    let s = this.sources.get(source);
    if (s) return s;
    if (this.sources.size >= this.limits.maxSources) this.forgetIdle();
    if (this.sources.size >= this.limits.maxSources) return null;
    s = { bucket: new TokenBucket(this.limits.burstPerSource, this.limits.ratePerSourcePerS, this.now), pending: new Set() };
    this.sources.set(source, s);
    return s;
  }

  /** Drop sources with nothing pending and a full bucket (they would start afresh anyway). */
  private forgetIdle(): void {
    for (const [k, s] of this.sources) if (s.pending.size === 0 && s.bucket.isFull()) this.sources.delete(k);
  }
}

/**
 * The source key of a remote address: the IPv4 address (IPv4-mapped IPv6 unwrapped), or the
 * /64 of an IPv6 address (one host commonly holds a whole /64).
 */
export function acceptSourceKey(remoteAddress: string | undefined): string {
  const a = (remoteAddress ?? '').toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64';
}
