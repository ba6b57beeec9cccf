/**
 * Data-plane (UDP) key schedule of one session: per-direction one-way epoch ratchets.
 *
 *   root_i2r, root_r2i = HKDF(final ck, DATA_KEY_ROOT_LABEL)          (Noise Split uses ikm "")
 *   key(e)      = HMAC(chain(e), DATA_KEY_EPOCH_KEY_LABEL)[0..32]
 *   chain(e+1)  = HMAC(chain(e), DATA_KEY_EPOCH_CHAIN_LABEL)            chain(0) = root
 *
 * Knowing chain(e) gives every later key but no earlier one, so forgetting an epoch is final.
 */
import {
  DATA_KEY_EPOCH_CHAIN_LABEL, DATA_KEY_EPOCH_KEY_LABEL, DATA_KEY_EPOCH_SPAN,
  DATA_KEY_ROOT_LABEL, WeftError,
} from '../common/index.js';
import { hkdf, hmac, wipe } from './primitives.js';
import { truncateKey } from './symmetric-state.js';

const KEY_LABEL = Buffer.from(DATA_KEY_EPOCH_KEY_LABEL, 'ascii');
const CHAIN_LABEL = Buffer.from(DATA_KEY_EPOCH_CHAIN_LABEL, 'ascii');
const ROOT_LABEL = Buffer.from(DATA_KEY_ROOT_LABEL, 'ascii');
const MAX_EPOCH = 0xffff_ffff;

/**
 * The keys of one direction, by epoch (uint32, starting at 0). Holds at most
 * DATA_KEY_EPOCH_SPAN epochs, from `oldestEpoch` on; older ones are wiped and underivable.
 *
 * - `key(e)` only derives and caches (never forgets), so calling it with an unauthenticated
 *   epoch from a datagram header is safe: a forged epoch cannot destroy keys in use.
 * - `forgetBefore(e)` is the only way forward: it wipes every key below `e` and the chain
 *   state that produced them. Call it from trusted logic only (own send epoch; a receive
 *   epoch after a packet on a newer epoch authenticated and the grace period passed).
 *
 * Returned key buffers belong to the chain: do not modify them; they are zeroed when their
 * epoch is forgotten or the chain is destroyed.
 */
export class EpochKeyChain {
  private oldest = 0;
  private readonly cached: Buffer[] = [];
  /** chain(oldest + cached.length); null after destroy. */
  private chain: Buffer | null;

  /** Takes ownership of `root` (64 bytes), which is chain(0). */
  constructor(root: Buffer) {
    this.chain = root;
  }

  /** The oldest epoch whose key is still available. */
  get oldestEpoch(): number {
    return this.oldest;
  }

  /**
   * The 32-byte AEAD key of `epoch`. Throws WEFT_ERR_REPLAY if it was forgotten, WEFT_ERR_DECODE
   * if it is not a uint32 or lies DATA_KEY_EPOCH_SPAN or more epochs after `oldestEpoch`,
   * WEFT_ERR_CLOSED after destroy(). No allocation when the key is already cached.
   */
  key(epoch: number): Buffer {
    if (this.chain === null) throw closed();
    checkEpoch(epoch);
    const idx = epoch - this.oldest;
    if (idx < 0) {
      throw new WeftError('WEFT_ERR_REPLAY', `data key epoch ${epoch} was already forgotten (oldest kept: ${this.oldest})`);
    }
    if (idx >= DATA_KEY_EPOCH_SPAN) {
      throw new WeftError('WEFT_ERR_DECODE',
        `data key epoch ${epoch} is too far ahead (kept: ${this.oldest}..${this.oldest + DATA_KEY_EPOCH_SPAN - 1}); retire old epochs with forgetBefore()`);
    }
    while (this.cached.length <= idx) this.cached.push(this.step());
    return this.cached[idx]!;
  }

  /**
   * Forget every epoch below `epoch` (wipe keys, advance the ratchet past them). No-op if
   * `epoch <= oldestEpoch`. Moves at most DATA_KEY_EPOCH_SPAN epochs per call (WEFT_ERR_BAD_ARGS).
   */
  forgetBefore(epoch: number): void {
    if (this.chain === null) return;
    if (!Number.isInteger(epoch) || epoch > MAX_EPOCH + 1) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `forgetBefore: epoch ${epoch} is not a uint32`);
    }
    if (epoch <= this.oldest) return;
    if (epoch - this.oldest > DATA_KEY_EPOCH_SPAN) {
      throw new WeftError('WEFT_ERR_BAD_ARGS',
        `forgetBefore(${epoch}) moves more than ${DATA_KEY_EPOCH_SPAN} epochs past the oldest kept (${this.oldest})`);
    }
    while (this.oldest < epoch) {
      const k = this.cached.shift() ?? this.step();
      wipe(k);
      this.oldest++;
    }
  }

  /** Wipe every key and the chain state. Idempotent; key() then throws WEFT_ERR_CLOSED. */
  destroy(): void {
    for (const k of this.cached) wipe(k);
    this.cached.length = 0;
    wipe(this.chain);
    this.chain = null;
  }

  /** Derive the key at the chain's position and advance the chain by one epoch. */
  private step(): Buffer {
    const chain = this.chain!;
    const key = truncateKey(hmac(chain, [KEY_LABEL]));
    this.chain = hmac(chain, [CHAIN_LABEL]);
    wipe(chain);
    return key;
  }
}

/**
 * All data-plane keys of one session (structurally a mesh `DataKeysLike`). Direction-separated:
 * the initiator's `send` chain is the responder's `recv` chain and vice versa, and the two
 * chains never share a key. Independent of the TCP session keys (different HKDF input).
 *
 * `encrypted` is false when the handshake ran without a cluster secret: keys still exist (the
 * handshake always runs), but the data plane then sends the same framing unsealed.
 *
 * Lifecycle: created by `Handshake.split()`, owned by the connection's overlay link, which must
 * call `forgetBefore` as epochs retire and `destroy()` when the connection ends.
 */
export class DataKeySchedule {
  readonly encrypted: boolean;
  /** Keys we seal with, by epoch. */
  readonly send: EpochKeyChain;
  /** Keys we open with, by epoch. */
  readonly recv: EpochKeyChain;

  private constructor(send: EpochKeyChain, recv: EpochKeyChain, encrypted: boolean) {
    this.send = send;
    this.recv = recv;
    this.encrypted = encrypted;
  }

  /** Derive from a finished handshake's chaining key (not modified). Internal to src/crypto. */
  static fromChainingKey(chainingKey: Buffer, initiator: boolean, encrypted: boolean): DataKeySchedule {
    const [i2r, r2i] = hkdf(chainingKey, ROOT_LABEL, 2) as [Buffer, Buffer];
    const a = new EpochKeyChain(i2r);
    const b = new EpochKeyChain(r2i);
    return initiator ? new DataKeySchedule(a, b, encrypted) : new DataKeySchedule(b, a, encrypted);
  }

  /** Both directions' keys for `epoch` (see EpochKeyChain.key for errors). Allocates one object. */
  keys(epoch: number): { send: Buffer; recv: Buffer } {
    return { send: this.send.key(epoch), recv: this.recv.key(epoch) };
  }

  /** forgetBefore on both directions. */
  forgetBefore(epoch: number): void {
    this.send.forgetBefore(epoch);
    this.recv.forgetBefore(epoch);
  }

  /** Wipe everything. Idempotent. */
  destroy(): void {
    this.send.destroy();
    this.recv.destroy();
  }
}

function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new WeftError('WEFT_ERR_DECODE', `data key epoch ${epoch} is not a uint32`);
  }
}

function closed(): WeftError {
  return new WeftError('WEFT_ERR_CLOSED', 'data keys already destroyed (connection closed)');
}
