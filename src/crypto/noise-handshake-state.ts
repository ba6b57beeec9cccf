/**
 * Generic Noise §5.3 HandshakeState for the 25519_ChaChaPoly_BLAKE2b suite: interprets a
 * handshake pattern given as token lists. Internal to src/crypto; weft drives it with XXpsk0
 * (see handshake.ts), tests also drive it with published Noise test vectors (XX, NNpsk0).
 *
 * Patterns with pre-messages are not supported (none are used). Reads check every length
 * before touching crypto. Any failure leaves the state unusable: the caller must abandon it.
 */
import { AEAD_TAG_BYTES, X25519_KEY_BYTES } from '../common/index.js';
import { HandshakeError } from './handshake-error.js';
import { type KeyPair, dh, generateKeyPair, wipe } from './primitives.js';
import { SymmetricState } from './symmetric-state.js';

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

/** Which part of a message failed to read; handshake.ts turns this into a human sentence. */
export type ReadFailurePart = 'length' | 'static' | 'payload' | 'key';

/** Thrown by readMessage; `part` says what failed. Always a HandshakeError (WeftError). */
export class NoiseReadFailure extends HandshakeError {
  constructor(readonly part: ReadFailurePart, cause?: unknown) {
    super(part === 'length' ? 'malformed' : part === 'key' ? 'bad_key' : 'auth', `noise: ${part} could not be read`, { cause });
  }
}

export interface NoiseHandshakeConfig {
  protocolName: string;
  /** Message patterns in order; even indices are written by the initiator. */
  messages: readonly (readonly Token[])[];
  initiator: boolean;
  prologue: Buffer;
  /** Local static key pair (borrowed: never wiped here). Required if a pattern sends 's'. */
  s?: KeyPair;
  /** Fixed ephemeral key pair — test vectors only. Owned (wiped) by the state. */
  e?: KeyPair;
  /** Pre-shared key (32 bytes), required if the pattern has 'psk' tokens. Borrowed. */
  psk?: Buffer;
}

export class NoiseHandshakeState {
  private readonly ss: SymmetricState;
  private readonly messages: readonly (readonly Token[])[];
  private readonly initiator: boolean;
  private readonly s: KeyPair | undefined;
  private e: KeyPair | undefined;
  private readonly psk: Buffer | undefined;
  private readonly pskMode: boolean;
  private rs: Buffer | undefined;
  private re: Buffer | undefined;
  private index = 0;

  constructor(cfg: NoiseHandshakeConfig) {
    this.ss = new SymmetricState(cfg.protocolName);
    this.ss.mixHash(cfg.prologue);
    this.messages = cfg.messages;
    this.initiator = cfg.initiator;
    this.s = cfg.s;
    this.e = cfg.e;
    this.psk = cfg.psk;
    this.pskMode = cfg.messages.some((m) => m.includes('psk'));
  }

  /** Index of the next message to be written or read. */
  get messageIndex(): number {
    return this.index;
  }
  get finished(): boolean {
    return this.index >= this.messages.length;
  }
  /** True when the next message is ours to write. */
  get myTurn(): boolean {
    return !this.finished && (this.index % 2 === 0) === this.initiator;
  }
  get remoteStatic(): Buffer | undefined {
    return this.rs;
  }
  get remoteEphemeral(): Buffer | undefined {
    return this.re;
  }
  get symmetric(): SymmetricState {
    return this.ss;
  }

  /** Minimum length of the next message (tokens only) with an empty payload. */
  minLength(index = this.index): number {
    let len = 0;
    let keyed = this.ss.hasKey;
    for (const t of this.messages[index] ?? []) {
      if (t === 'e') {
        len += X25519_KEY_BYTES;
        if (this.pskMode) keyed = true;
      } else if (t === 's') {
        len += X25519_KEY_BYTES + (keyed ? AEAD_TAG_BYTES : 0);
      } else {
        keyed = true; // DH or psk tokens always leave a key set
      }
    }
    return len + (keyed ? AEAD_TAG_BYTES : 0);
  }

  writeMessage(payload: Buffer): Buffer {
    const parts: Buffer[] = [];
    for (const t of this.messages[this.index]!) {
      switch (t) {
        case 'e': {
          this.e ??= generateKeyPair();
          parts.push(Buffer.from(this.e.publicKey));
          this.ss.mixHash(this.e.publicKey);
          if (this.pskMode) this.ss.mixKey(this.e.publicKey);
          break;
        }
        case 's':
          parts.push(this.ss.encryptAndHash(this.need(this.s, 's').publicKey));
          break;
        case 'psk':
          this.ss.mixKeyAndHash(this.need(this.psk, 'psk'));
          break;
        default:
          this.mixDh(t);
      }
    }
    parts.push(this.ss.encryptAndHash(payload));
    this.index++;
    return Buffer.concat(parts);
  }

  /** Reads the next message; returns its payload. Throws NoiseReadFailure. */
  readMessage(message: Buffer): Buffer {
    if (message.length < this.minLength()) throw new NoiseReadFailure('length');
    let off = 0;
    for (const t of this.messages[this.index]!) {
      switch (t) {
        case 'e': {
          this.re = Buffer.from(message.subarray(off, off + X25519_KEY_BYTES));
          off += X25519_KEY_BYTES;
          this.ss.mixHash(this.re);
          if (this.pskMode) this.ss.mixKey(this.re);
          break;
        }
        case 's': {
          const len = X25519_KEY_BYTES + (this.ss.hasKey ? AEAD_TAG_BYTES : 0);
          const rs = this.ss.decryptAndHash(message.subarray(off, off + len));
          if (rs === null) throw new NoiseReadFailure('static');
          this.rs = rs;
          off += len;
          break;
        }
        case 'psk':
          this.ss.mixKeyAndHash(this.need(this.psk, 'psk'));
          break;
        default:
          this.mixDh(t);
      }
    }
    const payload = this.ss.decryptAndHash(message.subarray(off));
    if (payload === null) throw new NoiseReadFailure('payload');
    this.index++;
    return payload;
  }

  /** Split() once finished: [initiator→responder key, responder→initiator key]. */
  split(): [Buffer, Buffer] {
    return this.ss.split();
  }

  /** Wipe ephemeral secret, ck, h and cipher key. Idempotent. Static key and psk are borrowed. */
  destroy(): void {
    if (this.e) wipe(this.e.secretKey);
    this.ss.destroy();
  }

  private mixDh(t: Token): void {
    let local: Buffer;
    let remote: Buffer;
    // Noise §7: "es" = DH(initiator e, responder s), "se" = DH(initiator s, responder e).
    const eLocal = (): Buffer => this.need(this.e, 'e').secretKey;
    const sLocal = (): Buffer => this.need(this.s, 's').secretKey;
    const reRemote = (): Buffer => this.need(this.re, 're');
    const rsRemote = (): Buffer => this.need(this.rs, 'rs');
    if (t === 'ee') [local, remote] = [eLocal(), reRemote()];
    else if (t === 'ss') [local, remote] = [sLocal(), rsRemote()];
    else if (t === 'es') [local, remote] = this.initiator ? [eLocal(), rsRemote()] : [sLocal(), reRemote()];
    else [local, remote] = this.initiator ? [sLocal(), reRemote()] : [eLocal(), rsRemote()];
    let shared: Buffer;
    try {
      shared = dh(local, remote);
    } catch (err) {
      throw new NoiseReadFailure('key', err);
    }
    this.ss.mixKey(shared);
    wipe(shared);
  }

  private need<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new HandshakeError('internal', `noise: pattern needs ${what} but it is not available`);
    return v;
  }
}
