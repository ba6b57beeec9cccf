/**
 * Handshake decoders: Handshake.readMessage at each of the three Noise XXpsk0 messages, and the
 * message-1 timestamp (decodeTimestamp, then the responder's clock check on a real message 1).
 *
 * Everything is deterministic: fixed identities, fixed ephemeral keys and a fixed clock, so
 * the honest messages are fixed bytes (a small pool with different hello payloads) and each
 * input gets a fresh reader positioned at its stage. Positioning costs up to five
 * Diffie-Hellman operations, so the reader is positioned once and each input reads with a deep
 * copy of it (clone.ts: the same bytes, a separate object that the failed read wipes); one
 * input in 32 (by a hash of its bytes) is read by a reader positioned from scratch instead, so
 * the copy is checked against the real thing all along. Contract: a HandshakeError (code
 * WEFT_ERR_HANDSHAKE or WEFT_ERR_REPLAY) whose reason is neither `internal` nor `state`, and an
 * altered message is never accepted.
 */
import assert from 'node:assert/strict';
import { Handshake, HandshakeError, HandshakeReplayCache, generateIdentity, type Identity } from '../../src/crypto/index.js';
import { generateKeyPair, type KeyPair } from '../../src/crypto/primitives.js';
import { decodeTimestamp, encodeTimestamp } from '../../src/crypto/timestamp.js';
import { HANDSHAKE_CLOCK_WINDOW_MS } from '../../src/common/index.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { deepClone } from './clone.js';

const PROLOGUE = Buffer.from('fuzz prologue');
const PSK = Buffer.alloc(32, 0x42);
const NOW = 1_700_000_000_000;

interface Keys { a: Identity; b: Identity; ea: KeyPair; eb: KeyPair }
let keys: Keys | null = null;
function k(): Keys {
  keys ??= { a: generateIdentity(), b: generateIdentity(), ea: generateKeyPair(), eb: generateKeyPair() };
  return keys;
}
const copy = (p: KeyPair): KeyPair => ({ publicKey: Buffer.from(p.publicKey), secretKey: Buffer.from(p.secretKey) });

function initiator(now = NOW): Handshake {
  return new Handshake({ role: 'initiator', identity: k().a, psk: PSK, prologue: PROLOGUE, now: () => now }, { ephemeral: copy(k().ea) });
}
function responder(): Handshake {
  return new Handshake({ role: 'responder', identity: k().b, psk: PSK, prologue: PROLOGUE, now: () => NOW, replayCache: new HandshakeReplayCache() }, { ephemeral: copy(k().eb) });
}

const M2_PAYLOAD = Buffer.from('hello from responder');

/** A reader about to read message `stage`. */
function positioned(stage: 1 | 2 | 3): Handshake {
  const init = initiator();
  const resp = responder();
  const m1 = init.writeMessage();
  if (stage === 1) { init.destroy(); return resp; }
  resp.readMessage(m1);
  const m2 = resp.writeMessage(M2_PAYLOAD);
  if (stage === 2) { resp.destroy(); return init; }
  init.readMessage(m2);
  init.destroy();
  return resp;
}

/** The honest message of `stage` with hello payload `p` (stage 1 has none). */
function honest(stage: 1 | 2 | 3, p: Buffer): Buffer {
  const init = initiator();
  const resp = responder();
  try {
    const m1 = init.writeMessage();
    if (stage === 1) return m1;
    resp.readMessage(m1);
    const m2 = resp.writeMessage(stage === 2 ? p : M2_PAYLOAD);
    if (stage === 2) return m2;
    init.readMessage(m2);
    return init.writeMessage(p);
  } finally {
    init.destroy();
    resp.destroy();
  }
}

/** X25519 points of small order (and non-canonical encodings of them): a peer's ephemeral must be refused. */
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Buffer.from(h, 'hex'));

/** The parts of message `stage`: [start, end) of the clear ephemeral, the sealed static and the sealed payload. */
function parts(stage: 1 | 2 | 3, len: number): [number, number][] {
  if (stage === 1) return [[0, 32], [32, len]];
  if (stage === 2) return [[0, 32], [32, 80], [80, len]];
  return [[0, 48], [48, len]];
}

/**
 * Structure-aware bad messages: an honest message with one part changed (a low-order or
 * random ephemeral, one flipped bit in a sealed part or its tag, a part swapped in from another
 * honest message, the payload cut or grown by a few bytes), so most of them reach the
 * Diffie-Hellman and AEAD checks instead of the length check.
 */
function structuredMessage(rng: Rng, stage: 1 | 2 | 3, pool: readonly Buffer[]): Buffer {
  const m = Buffer.from(rng.pick(pool));
  const ps = parts(stage, m.length);
  const [a, b] = rng.pick(ps);
  switch (rng.int(5)) {
    case 0:
      if (stage !== 3) { rng.pick(LOW_ORDER).copy(m, 0); return m; }
      break;
    case 1:
      if (stage !== 3) { rng.bytes(32).copy(m, 0); return m; }
      break;
    case 2: {
      const other = rng.pick(pool);
      if (other.length >= b) { other.copy(m, a, a, b); return m; }
      break;
    }
    case 3: {
      const n = rng.range(1, 16);
      return rng.chance(0.5) ? m.subarray(0, Math.max(0, m.length - n)) : Buffer.concat([m, rng.bytes(n)]);
    }
    default: break;
  }
  if (b > a) { const i = a + rng.int(b - a); m[i]! ^= 1 << rng.int(8); }
  return m;
}

/** One input in 32 (by its bytes) is read by a reader positioned from scratch. */
function freshFor(input: Buffer): boolean {
  let h = input.length;
  for (let i = 0; i < input.length; i += 7) h = (h * 31 + input[i]!) >>> 0;
  return (h & 31) === 0;
}

function checkError(e: unknown): never {
  if (e instanceof HandshakeError && (e.reason === 'internal' || e.reason === 'state')) {
    assert.fail(`handshake failed with reason ${e.reason}: ${e.message}`);
  }
  throw e;
}

function stageTarget(stage: 1 | 2 | 3): FuzzTarget {
  let pool: Buffer[] | null = null;
  const honestPool = (): Buffer[] => {
    pool ??= stage === 1 ? [honest(1, Buffer.alloc(0))] : [0, 1, 5, 20, 64, 200, 400].map((n) => honest(stage, Buffer.alloc(n, 0x61 + n % 26)));
    return pool;
  };
  let template: Handshake | null = null;
  return {
    name: `handshake-msg${stage}`,
    decoder: `src/crypto/handshake.ts Handshake.readMessage (message ${stage})`,
    codes: ['WEFT_ERR_HANDSHAKE', 'WEFT_ERR_REPLAY'],
    valid: (rng: Rng) => rng.pick(honestPool()),
    structured: (rng: Rng) => structuredMessage(rng, stage, honestPool()),
    maxRandomBytes: 600,
    run(input, isValid) {
      template ??= positioned(stage);
      const reader = freshFor(input) ? positioned(stage) : deepClone(template);
      try {
        reader.readMessage(input);
      } catch (e) {
        checkError(e);
      } finally {
        reader.destroy();
      }
      if (!isValid && !honestPool().some((h) => h.equals(input))) assert.fail(`altered message ${stage} was accepted`);
    },
  };
}

/** Message 1 timestamps: the 12-byte payload decoded, then a real message 1 made at that time. */
const timestamp: FuzzTarget = {
  name: 'handshake-timestamp',
  decoder: 'src/crypto/timestamp.ts decodeTimestamp + the responder\'s clock check of message 1',
  codes: ['WEFT_ERR_REPLAY'],
  valid(rng) {
    // inside the clock window (the window's edges included); mutations step outside it
    const w = HANDSHAKE_CLOCK_WINDOW_MS;
    return encodeTimestamp(NOW + rng.pick([0, 1, -1, w, -w, rng.int(2 * w + 1) - w]));
  },
  maxRandomBytes: 16,
  randomShare: 0.3,
  run(input, isValid) {
    const ts = decodeTimestamp(input);
    if (ts === null) {
      if (isValid) assert.fail('valid timestamp refused');
      return 'ignored';
    }
    assert.ok(Number.isSafeInteger(ts) && ts >= 0, `timestamp ${ts} is not a safe ms count`);
    const again = encodeTimestamp(ts);
    // decoding keeps whole milliseconds: equal up to the sub-millisecond nanoseconds
    assert.equal(decodeTimestamp(again), ts, 'timestamp decode(encode(t))');
    if (isValid) assert.ok(again.equals(input), 'timestamp round trip');
    const init = initiator(ts);
    const resp = responder();
    try {
      resp.readMessage(init.writeMessage());
    } catch (e) {
      checkError(e);
    } finally {
      init.destroy();
      resp.destroy();
    }
    assert.ok(Math.abs(ts - NOW) <= HANDSHAKE_CLOCK_WINDOW_MS, `message 1 at ${ts - NOW} ms from now accepted`);
  },
};

export const CRYPTO_TARGETS: readonly FuzzTarget[] = [stageTarget(1), stageTarget(2), stageTarget(3), timestamp];
