/**
 * Per-connection sleeve keys: the send epoch and counter, and the receive epochs with their
 * replay windows and AEAD handles. See DESIGN.md "Keys, epochs and replay".
 */
import sodium from 'sodium-native';
import { AEAD_KEY_BYTES, WeftError } from '../common/index.js';
import type { DataKeysLike } from '../mesh/index.js';
import { ReplayWindow } from '../crypto/index.js';
import type { AeadHandle } from './native-types.js';
import type { SleeveAeadAlg, SleeveIo } from './sleeve-io.js';
import { FLAG_AES, FLAG_PLAIN, MAX_COUNTER } from './wire-format.js';

/** Timing knobs (constants.ts values; tests shorten them). */
export interface EpochTiming {
  rekeyIntervalMs: number;
  /** A due rotation blocked this long by a missing acknowledgement counts as stalled ({@link LinkCrypto.rekeyStalled}). */
  rekeyAckTimeoutMs: number;
  rekeyAfterDatagrams: number;
  rejectAfterDatagrams: number;
  epochGraceMs: number;
  replayWindow: number;
}

/** Receive state of one key epoch. */
export interface RecvEpoch {
  readonly epoch: number;
  readonly window: ReplayWindow;
  /** AEAD handles by algorithm index (0 ChaCha20-Poly1305, 1 AES-256-GCM), created on first use. */
  readonly handles: [AeadHandle | null, AeadHandle | null];
  /** Private copy of the epoch's receive key (wiped when the epoch is freed); null in plain mode. */
  key: Buffer | null;
  /** When the epoch stops being accepted (set when a newer epoch takes over). ms */
  retireAt: number;
}

const ALGS: readonly SleeveAeadAlg[] = ['chacha20-poly1305', 'aes-256-gcm'];

/**
 * Optional methods of crypto's DataKeySchedule beyond the mesh's DataKeysLike: a bounded
 * one-way ratchet that must be told which epochs may be forgotten, and wiped at the end.
 */
export interface RetiringDataKeys extends DataKeysLike {
  forgetBefore?(epoch: number): void;
  destroy?(): void;
}

/** The AEAD key for one algorithm: BLAKE2b keyed with the epoch key (key separation per alg). */
function deriveAlgKey(epochKey: Buffer, alg: SleeveAeadAlg): Buffer {
  const out = Buffer.alloc(AEAD_KEY_BYTES);
  sodium.crypto_generichash(out, Buffer.from(`weft sleeve v1 ${alg}`, 'ascii'), epochKey);
  return out;
}

/** Constructor options of {@link LinkCrypto}. */
export interface LinkCryptoOptions {
  io: SleeveIo;
  /** The connection's key schedule (the mesh's DataKeysLike, maybe a retiring ratchet). */
  dataKeys: RetiringDataKeys;
  /** AEAD for what we send. */
  alg: SleeveAeadAlg;
  /** Start of the first epoch. ms */
  now: number;
  timing: EpochTiming;
  /** Reports a key that cannot be derived for a later epoch (the link stays on its epoch). */
  onKeyError: (msg: string) => void;
}

/**
 * Keys of one overlay connection. Lifecycle: created by the PeerLink with the connection's
 * DataKeysLike, freed by {@link free} (idempotent; releases every AEAD handle and wipes key
 * copies). Guarantees: the send side never reuses a (key, nonce) pair — it moves to the next
 * epoch after `rekeyIntervalMs` or `rekeyAfterDatagrams` once the peer acknowledged the
 * current epoch, and refuses to send past `rejectAfterDatagrams`; the receive side accepts the
 * current epoch, the next one (the peer's rotation), and the previous one for `epochGraceMs`
 * after a rotation, each with its own replay window. Never throws after construction.
 */
export class LinkCrypto {
  private readonly io: SleeveIo;
  private readonly dataKeys: RetiringDataKeys;
  private readonly alg: SleeveAeadAlg;
  private readonly timing: EpochTiming;
  private readonly onKeyError: (msg: string) => void;
  readonly encrypted: boolean;
  readonly sendFlags: number;
  sendEpoch = 0;
  sendHandle: AeadHandle | null = null;
  private counter = 0;
  private epochStart: number;
  private cur: RecvEpoch;
  private prev: RecvEpoch | null = null;
  private next: RecvEpoch | null = null;
  private freed = false;
  private forgotten = 0;
  /** When the pending rotation became due while the peer had not acknowledged the current epoch; -1 when none. ms */
  private blockedSince = -1;

  constructor(o: LinkCryptoOptions) {
    this.io = o.io;
    this.dataKeys = o.dataKeys;
    this.alg = o.alg;
    this.timing = o.timing;
    this.onKeyError = o.onKeyError;
    const { dataKeys, alg, now } = o;
    this.encrypted = dataKeys.encrypted;
    this.sendFlags = !this.encrypted ? FLAG_PLAIN : alg === 'aes-256-gcm' ? FLAG_AES : 0;
    this.epochStart = now;
    if (this.encrypted) {
      this.sendHandle = this.createSendHandle(0);
      if (this.sendHandle === null) throw new WeftError('WEFT_ERR_INTERNAL', 'sleeve: data key for epoch 0 unavailable');
    }
    this.cur = this.makeRecvEpoch(0);
  }

  /** Counter for the next datagram, or -1 when the epoch is exhausted (caller drops). */
  nextCounter(): number {
    if (this.counter >= this.timing.rejectAfterDatagrams || this.counter >= MAX_COUNTER) return -1;
    return this.counter++;
  }

  /** Datagrams sent in the current epoch. */
  get sentInEpoch(): number {
    return this.counter;
  }

  /**
   * Move to the next send epoch when due and the peer has acknowledged the current one
   * (`peerAckedEpoch`, from its heartbeats). Returns true if it rotated.
   */
  maybeRotate(now: number, peerAckedEpoch: number): boolean {
    if (!this.encrypted || this.freed) return false;
    if (now - this.epochStart < this.timing.rekeyIntervalMs && this.counter < this.timing.rekeyAfterDatagrams) return false;
    if (peerAckedEpoch < this.sendEpoch) {
      if (this.blockedSince < 0) this.blockedSince = now;
      return false;
    }
    this.blockedSince = -1;
    const h = this.createSendHandle(this.sendEpoch + 1);
    if (h === null) return false;
    if (this.sendHandle) this.io.aeadFree(this.sendHandle);
    this.sendHandle = h;
    this.sendEpoch++;
    this.counter = 0;
    this.epochStart = now;
    return true;
  }

  /**
   * How long a due rotation has been blocked because the peer has not acknowledged the current
   * epoch (0 when none is blocked).
   */
  rekeyBlockedMs(now: number): number {
    return this.blockedSince < 0 || this.freed ? 0 : Math.max(0, now - this.blockedSince);
  }

  /** Has a due rotation been blocked for `rekeyAckTimeoutMs` or longer? (The link then fails.) */
  rekeyStalled(now: number): boolean {
    return this.blockedSince >= 0 && !this.freed && now - this.blockedSince >= this.timing.rekeyAckTimeoutMs;
  }

  /** Highest epoch authenticated from the peer (reported back in heartbeats). */
  get recvEpoch(): number {
    return this.cur.epoch;
  }

  /**
   * Receive state for a datagram of `epoch`, or null if that epoch is not acceptable now
   * (older than the previous one, the previous one past its grace, or beyond current+1).
   */
  recvContext(epoch: number, now: number): RecvEpoch | null {
    if (this.freed) return null;
    if (epoch === this.cur.epoch) return this.cur;
    if (this.prev && epoch === this.prev.epoch) return now < this.prev.retireAt ? this.prev : null;
    if (epoch === this.cur.epoch + 1) {
      if (!this.next) this.next = this.makeRecvEpoch(epoch);
      return this.next;
    }
    return null;
  }

  /** Is `epoch` older than anything we accept (a replay) rather than unknown (forgery)? */
  isStale(epoch: number): boolean {
    return epoch < this.cur.epoch;
  }

  /** AEAD handle for `ctx` and the datagram's flags; null if it cannot be created. */
  handleFor(ctx: RecvEpoch, flags: number): AeadHandle | null {
    const i = flags & FLAG_AES ? 1 : 0;
    let h = ctx.handles[i];
    if (h === null && ctx.key) {
      const k = deriveAlgKey(ctx.key, ALGS[i]!);
      try {
        h = this.io.aeadCreate(ALGS[i]!, k);
        ctx.handles[i] = h;
      } catch {
        h = null;
      } finally {
        sodium.sodium_memzero(k);
      }
    }
    return h;
  }

  /** A datagram of `ctx` authenticated: a newer epoch takes over (the peer rotated). */
  promote(ctx: RecvEpoch, now: number): void {
    if (ctx !== this.next) return;
    if (this.prev) this.freeEpoch(this.prev);
    this.prev = this.cur;
    this.prev.retireAt = now + this.timing.epochGraceMs;
    this.cur = ctx;
    this.next = null;
  }

  /**
   * Free the previous epoch once its grace period is over, and let the key schedule forget
   * epochs below both current ones: their AEAD contexts exist already, and the schedule is
   * only needed for epochs still to come (ours and the peer's next rotation).
   */
  tick(now: number): void {
    if (this.prev && now >= this.prev.retireAt) {
      this.freeEpoch(this.prev);
      this.prev = null;
    }
    const oldest = Math.min(this.sendEpoch, this.cur.epoch);
    if (this.encrypted && oldest > this.forgotten && this.dataKeys.forgetBefore) {
      try {
        this.dataKeys.forgetBefore(oldest);
        this.forgotten = oldest;
      } catch (e) {
        this.onKeyError(`cannot retire data keys before epoch ${oldest}: ${e instanceof Error ? e.message : String(e)}`);
        this.forgotten = oldest;
      }
    }
  }

  /** Release every handle and wipe key copies. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    if (this.sendHandle !== null) this.io.aeadFree(this.sendHandle);
    this.sendHandle = null;
    for (const e of [this.cur, this.prev, this.next]) if (e) this.freeEpoch(e);
    this.prev = this.next = null;
    try {
      this.dataKeys.destroy?.();
    } catch { /* already destroyed */ }
  }

  private createSendHandle(epoch: number): AeadHandle | null {
    let key: Buffer;
    try {
      key = this.dataKeys.keys(epoch).send;
    } catch (e) {
      this.onKeyError(`send key for epoch ${epoch} unavailable: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
    const k = deriveAlgKey(key, this.alg);
    try {
      return this.io.aeadCreate(this.alg, k);
    } catch (e) {
      this.onKeyError(`cannot create ${this.alg} context: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    } finally {
      sodium.sodium_memzero(k);
    }
  }

  private makeRecvEpoch(epoch: number): RecvEpoch {
    let key: Buffer | null = null;
    if (this.encrypted) {
      try {
        key = Buffer.from(this.dataKeys.keys(epoch).recv);
      } catch (e) {
        this.onKeyError(`receive key for epoch ${epoch} unavailable: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return { epoch, window: new ReplayWindow(this.timing.replayWindow), handles: [null, null], key, retireAt: Infinity };
  }

  private freeEpoch(e: RecvEpoch): void {
    for (let i = 0; i < 2; i++) {
      const h = e.handles[i];
      if (h) this.io.aeadFree(h);
      e.handles[i] = null;
    }
    if (e.key) sodium.sodium_memzero(e.key);
    e.key = null;
  }
}
