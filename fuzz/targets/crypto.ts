/**
 * Handshake decoders: Handshake.readMessage at each of the three Noise XXpsk0 messages, and the
 * message-1 timestamp (decodeTimestamp, then the responder's clock check on a real message 1).
 *
 * Everything is deterministic: fixed identities, fixed ephemeral keys and a fixed clock, so
 * the honest messages are fixed bytes (a small pool with different hello payloads) and each
 * input gets a fresh reader positioned at its stage. Contract: a HandshakeError (code
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
  return {
    name: `handshake-msg${stage}`,
    decoder: `src/crypto/handshake.ts Handshake.readMessage (message ${stage})`,
    codes: ['WEFT_ERR_HANDSHAKE', 'WEFT_ERR_REPLAY'],
    valid: (rng: Rng) => rng.pick(honestPool()),
    maxRandomBytes: 600,
    run(input, isValid) {
      const reader = positioned(stage);
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
