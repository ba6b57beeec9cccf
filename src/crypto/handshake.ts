/**
 * weft's authenticated key exchange: Noise XXpsk0 over X25519 / ChaCha20-Poly1305 / BLAKE2b.
 *
 *   -> psk, e                 payload: 12-byte timestamp           (60 bytes exactly)
 *   <- e, ee, s, es           payload: caller's hello              (96 + payload bytes)
 *   -> s, se                  payload: caller's hello              (64 + payload bytes)
 *
 * A pure state machine: the caller moves bytes (the mesh frames them on TCP). See DESIGN.md.
 */
import {
  HANDSHAKE_CLOCK_WINDOW_MS, HANDSHAKE_MSG1_BYTES, HANDSHAKE_MSG2_MIN_BYTES, HANDSHAKE_MSG3_MIN_BYTES, HANDSHAKE_PROLOGUE_LABEL, HANDSHAKE_PROTOCOL_NAME,
  MAX_HANDSHAKE_MESSAGE_BYTES, WeftError, X25519_KEY_BYTES,
} from '../common/index.js';
import type { PeerName } from '../net/index.js';
import { CipherState } from './cipher-state.js';
import { DataKeySchedule } from './data-keys.js';
import { HandshakeError } from './handshake-error.js';
import { type Identity, peerNameFromPublicKey } from './identity.js';
import { NoiseHandshakeState, NoiseReadFailure, type Token } from './noise-handshake-state.js';
import { type KeyPair, wipe } from './primitives.js';
import type { HandshakeReplayCache } from './replay-cache.js';
import { decodeTimestamp, encodeTimestamp } from './timestamp.js';

export type HandshakeRole = 'initiator' | 'responder';

export interface HandshakeOptions {
  role: HandshakeRole;
  /** Our long-term identity (borrowed; never wiped here). */
  identity: Identity;
  /** 32-byte cluster PSK, or null when no secret is configured (32 zero bytes are used).
   *  Initiator: the PSK message 1 is made with. Responder: the first PSK tried on message 1. */
  psk: Buffer | null;
  /**
   * Responder only: further 32-byte PSKs tried, in order, when message 1 does not authenticate
   * under `psk` (a secret rotation: see DESIGN.md). Each costs one more failed AEAD open per
   * bad message 1. Ignored without `psk`. Borrowed.
   */
  alsoAccept?: readonly Buffer[];
  /** Bytes both sides must agree on, e.g. both version preludes in a fixed order. */
  prologue: Buffer;
  /** Wall clock in ms (default Date.now); used for message 1 timestamps. */
  now?: () => number;
  /** Responder only: the daemon-wide cache refusing replayed message 1s (without it only the timestamp is checked). */
  replayCache?: HandshakeReplayCache;
}

/**
 * The result of a completed handshake. Owned by the connection; call `destroy()` when it
 * closes (wipes both ciphers and the data keys; idempotent).
 */
export interface Session {
  /** Seals our outgoing TCP messages (initiator.send pairs with responder.recv). */
  send: CipherState;
  /** Opens the peer's TCP messages. */
  recv: CipherState;
  /** The peer's authenticated static public key (32 bytes). */
  remoteStatic: Buffer;
  /** Peer name derived from remoteStatic. */
  remoteName: PeerName;
  /** Noise handshake hash h (64 bytes): identical on both sides, unique per session. */
  handshakeHash: Buffer;
  role: HandshakeRole;
  /** False when the handshake ran without a cluster secret (status: "unencrypted"). */
  encrypted: boolean;
  /** Data-plane (UDP) keys, separate from the TCP keys. */
  dataKeys: DataKeySchedule;
  destroy(): void;
}

const PATTERN: readonly (readonly Token[])[] = [['psk', 'e'], ['e', 'ee', 's', 'es'], ['s', 'se']];
/** Size of each message with an empty payload (message 1 never has a caller payload). */
const MIN_BYTES = [HANDSHAKE_MSG1_BYTES, HANDSHAKE_MSG2_MIN_BYTES, HANDSHAKE_MSG3_MIN_BYTES] as const;
const ZERO_PSK = Buffer.alloc(32);
const LABEL = Buffer.from(HANDSHAKE_PROLOGUE_LABEL, 'ascii');

type State = 'active' | 'failed' | 'split';

/**
 * One handshake attempt, initiator or responder. Call `writeMessage` / `readMessage`
 * alternately (initiator writes first) until `complete`, then `split()` once.
 *
 * Guarantees: every failure is a {@link HandshakeError} (a WeftError, code WEFT_ERR_HANDSHAKE or
 * WEFT_ERR_REPLAY, with a `reason`) whose message says what to fix; after a failure the object
 * is dead (secrets wiped, every call throws). Input lengths are checked before any crypto; a
 * responder rejects a message 1 made without the cluster secret after two hashes and one AEAD
 * open, before any Diffie-Hellman. Call `destroy()` when abandoning a handshake (timeout).
 */
export class Handshake {
  readonly role: HandshakeRole;
  readonly encrypted: boolean;
  private noise: NoiseHandshakeState;
  /** Responder, before message 1: one state per accepted PSK, `noise` first. */
  private candidates: NoiseHandshakeState[] = [];
  /** Which PSK message 1 authenticated under: 0 = `psk`, i = `alsoAccept[i - 1]`. */
  private accepted = 0;
  private readonly now: () => number;
  private readonly replayCache: HandshakeReplayCache | undefined;
  private state: State = 'active';

  /** `testing.ephemeral` fixes the ephemeral key (tests only; not part of the public contract). */
  constructor(opts: HandshakeOptions, testing?: { ephemeral?: KeyPair }) {
    const { identity, psk } = opts;
    if (identity.publicKey.length !== X25519_KEY_BYTES || identity.secretKey.length !== X25519_KEY_BYTES) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', 'handshake: identity keys must be 32 bytes');
    }
    const extra = psk !== null && opts.role === 'responder' ? opts.alsoAccept ?? [] : [];
    if ([psk, ...extra].some((k) => k !== null && k.length !== 32)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'handshake: psk must be 32 bytes or null');
    this.role = opts.role;
    this.encrypted = psk !== null;
    this.now = opts.now ?? Date.now;
    this.replayCache = opts.replayCache;
    const prologue = Buffer.concat([LABEL, opts.prologue]);
    const state = (k: Buffer): NoiseHandshakeState => new NoiseHandshakeState({
      protocolName: HANDSHAKE_PROTOCOL_NAME,
      messages: PATTERN,
      initiator: opts.role === 'initiator',
      prologue,
      s: { publicKey: identity.publicKey, secretKey: identity.secretKey },
      e: testing?.ephemeral,
      psk: k,
    });
    this.noise = state(psk ?? ZERO_PSK);
    if (extra.length > 0) this.candidates = [this.noise, ...extra.map(state)];
  }

  /** Which accepted PSK the peer's message 1 used: 0 = `psk`, i ≥ 1 = `alsoAccept[i - 1]`. */
  get acceptedPskIndex(): number {
    return this.accepted;
  }

  /** True once all three messages were written/read; `split()` is then allowed (once). */
  get complete(): boolean {
    return this.state === 'active' && this.noise.finished;
  }

  /** True when the next call must be writeMessage. */
  get isMyTurn(): boolean {
    return this.state === 'active' && this.noise.myTurn;
  }

  /**
   * The next outgoing message. Message 1 carries no caller payload (the timestamp is
   * internal); messages 2 and 3 carry `payload` encrypted. Throws HandshakeError('state') when
   * it is not our turn, WEFT_ERR_TOO_BIG if the message would exceed MAX_HANDSHAKE_MESSAGE_BYTES.
   */
  writeMessage(payload: Buffer = Buffer.alloc(0)): Buffer {
    this.assertActive('write');
    if (!this.noise.myTurn) throw this.misuse(`it is not our turn to write (next: message ${this.noise.messageIndex + 1})`);
    const index = this.noise.messageIndex;
    let body = payload;
    if (index === 0) {
      if (payload.length > 0) throw new WeftError('WEFT_ERR_BAD_ARGS', 'handshake message 1 carries no caller payload');
      body = encodeTimestamp(this.now());
    } else if (MIN_BYTES[index]! + payload.length > MAX_HANDSHAKE_MESSAGE_BYTES) {
      throw new WeftError('WEFT_ERR_TOO_BIG',
        `handshake message ${index + 1} payload of ${payload.length} bytes exceeds the ${MAX_HANDSHAKE_MESSAGE_BYTES}-byte message limit`);
    }
    try {
      return this.noise.writeMessage(body);
    } catch (e) {
      throw this.fail(this.translate(e, index, true));
    }
  }

  /**
   * Process the peer's next message and return its decrypted payload (empty for message 1).
   * Throws HandshakeError: `malformed` (size), `bad_secret` (message 1), `auth` (messages 2/3),
   * `bad_key`, `replay` / `clock` (message 1, code WEFT_ERR_REPLAY), `state` (not our turn).
   */
  readMessage(msg: Buffer): Buffer {
    this.assertActive('read');
    if (this.noise.myTurn || this.noise.finished) {
      throw this.misuse('it is not our turn to read (we must write next, or the handshake is complete)');
    }
    const index = this.noise.messageIndex;
    const n = index + 1;
    const min = MIN_BYTES[index]!;
    if (msg.length > MAX_HANDSHAKE_MESSAGE_BYTES) {
      throw this.fail(new HandshakeError('malformed', `handshake failed: message ${n} is ${msg.length} bytes, over the ${MAX_HANDSHAKE_MESSAGE_BYTES}-byte limit`));
    }
    if (index === 0 ? msg.length !== HANDSHAKE_MSG1_BYTES : msg.length < min) {
      const expect = index === 0 ? `exactly ${HANDSHAKE_MSG1_BYTES}` : `at least ${min}`;
      throw this.fail(new HandshakeError('malformed',
        `handshake failed: message ${n} is ${msg.length} bytes, expected ${expect} — not a weft peer of this version`));
    }
    let payload: Buffer;
    try {
      payload = index === 0 && this.candidates.length > 0 ? this.readFirstTrying(msg) : this.noise.readMessage(msg);
      if (index === 0) this.checkFreshness(payload);
    } catch (e) {
      throw this.fail(this.translate(e, index, false));
    }
    return index === 0 ? Buffer.alloc(0) : payload;
  }

  /**
   * Derive the session once `complete`; allowed once. Wipes the ephemeral secret, chaining
   * key, handshake-internal cipher key and hash state.
   */
  split(): Session {
    if (!this.complete) throw this.misuse(this.state === 'split' ? 'split() was already called' : 'split() before the handshake completed');
    const initiator = this.role === 'initiator';
    const [k1, k2] = this.noise.split();
    const send = new CipherState(initiator ? k1 : k2);
    const recv = new CipherState(initiator ? k2 : k1);
    wipe(k1, k2);
    const dataKeys = DataKeySchedule.fromChainingKey(this.noise.symmetric.chainingKey(), initiator, this.encrypted);
    const handshakeHash = this.noise.symmetric.handshakeHash();
    const remoteStatic = Buffer.from(this.noise.remoteStatic!);
    this.noise.destroy();
    this.state = 'split';
    return {
      send, recv, remoteStatic, handshakeHash, dataKeys,
      remoteName: peerNameFromPublicKey(remoteStatic),
      role: this.role,
      encrypted: this.encrypted,
      destroy(): void {
        send.destroy();
        recv.destroy();
        dataKeys.destroy();
      },
    };
  }

  /** Abandon the handshake: wipe its secrets. Idempotent; later calls throw. */
  destroy(): void {
    if (this.state === 'active') this.state = 'failed';
    this.noise.destroy();
  }

  /**
   * Message 1 under each accepted PSK in turn; the first that authenticates becomes `noise`,
   * the others are wiped. Throws the last failure when none does (or a non-AEAD failure at once:
   * those do not depend on the PSK).
   */
  private readFirstTrying(msg: Buffer): Buffer {
    const candidates = this.candidates;
    this.candidates = [];
    let failure: unknown = null;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (failure === null || (failure instanceof NoiseReadFailure && failure.part === 'payload')) {
        try {
          const payload = c.readMessage(msg);
          this.noise = c;
          this.accepted = i;
          for (const other of candidates) if (other !== c) other.destroy();
          return payload;
        } catch (e) {
          failure = e;
        }
      }
      c.destroy();
    }
    this.noise = candidates[candidates.length - 1]!;
    throw failure;
  }

  /** Message 1 payload: refuse a stale/future timestamp or a replayed ephemeral key. */
  private checkFreshness(payload: Buffer): void {
    const ts = decodeTimestamp(payload);
    if (ts === null) throw new HandshakeError('malformed', 'handshake failed: message 1 carries an invalid timestamp');
    const now = this.now();
    const skewS = Math.round((ts - now) / 1000);
    if (Math.abs(ts - now) > HANDSHAKE_CLOCK_WINDOW_MS) {
      const dir = skewS > 0 ? 'ahead of' : 'behind';
      throw new HandshakeError('clock',
        `handshake refused: message 1 timestamp is ${Math.abs(skewS)} s ${dir} our clock (limit ±${HANDSHAKE_CLOCK_WINDOW_MS / 1000} s) — sync the clocks (NTP), or it is a replay`);
    }
    if (this.replayCache && !this.replayCache.checkAndRecord(this.noise.remoteEphemeral!, ts, now)) {
      throw new HandshakeError('replay', 'handshake refused: message 1 was replayed (its ephemeral key was already used)');
    }
  }

  private translate(e: unknown, index: number, writing: boolean): HandshakeError {
    const n = index + 1;
    // A key can only be rejected by a DH on it: when writing, the culprit key came in the peer's last message.
    const culprit = writing ? index : n;
    if (e instanceof NoiseReadFailure) {
      if (e.part === 'key') return new HandshakeError('bad_key', `handshake failed: the peer's message ${culprit} carries an invalid (low-order) public key`, { cause: e });
      if (e.part === 'length') return new HandshakeError('malformed', `handshake failed: message ${n} is too short`, { cause: e });
      if (index === 0) {
        const why = this.encrypted
          ? 'the peer does not know the cluster secret (or uses a different one, or none)'
          : 'the peer uses a cluster secret and we have none (configure the same secret on both)';
        return new HandshakeError('bad_secret', `handshake failed: message 1 authentication failed — ${why}`, { cause: e });
      }
      if (index === 1) {
        return new HandshakeError('auth',
          'handshake failed: message 2 authentication failed — the responder does not share our cluster secret or version prelude, or the message was altered', { cause: e });
      }
      return new HandshakeError('auth',
        'handshake failed: message 3 authentication failed — the initiator\'s identity did not verify (altered message or not a cluster member)', { cause: e });
    }
    if (e instanceof HandshakeError) return e;
    const detail = e instanceof Error ? e.message : String(e);
    return new HandshakeError('internal', `handshake failed: internal error at message ${n}: ${detail}`, { cause: e });
  }

  private assertActive(op: string): void {
    if (this.state === 'failed') throw new HandshakeError('state', `handshake ${op} after the handshake failed or was abandoned`);
    if (this.state === 'split') throw new HandshakeError('state', `handshake ${op} after split()`);
  }

  private misuse(what: string): HandshakeError {
    return new HandshakeError('state', `handshake misuse: ${what}`);
  }

  private fail(err: HandshakeError): HandshakeError {
    this.state = 'failed';
    this.noise.destroy();
    return err;
  }
}
