/**
 * Fuzz: random, truncated, extended and bit-flipped inputs to Handshake.readMessage at each of
 * the three stages must only ever produce a HandshakeError (a WeftError) with a known reason —
 * never another exception, never an `internal` failure, never a successful read of altered bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isWeftError } from '../common/index.js';
import { Handshake, HandshakeError, HandshakeReplayCache, generateIdentity } from './index.js';

const PROLOGUE = Buffer.from('fuzz prologue');
const PSK = Buffer.alloc(32, 0x42);
const RUNS = 1500;

// Identities are reused across runs: only ephemeral keys need to be fresh.
const A = generateIdentity();
const B = generateIdentity();

/** A handshake about to read message `stage`, plus the honest message it expects. */
function positioned(stage: 1 | 2 | 3): { reader: Handshake; honest: Buffer } {
  const init = new Handshake({ role: 'initiator', identity: A, psk: PSK, prologue: PROLOGUE });
  const resp = new Handshake({ role: 'responder', identity: B, psk: PSK, prologue: PROLOGUE, replayCache: new HandshakeReplayCache() });
  const m1 = init.writeMessage();
  if (stage === 1) return { reader: resp, honest: m1 };
  resp.readMessage(m1);
  const m2 = resp.writeMessage(Buffer.from('hello from responder'));
  if (stage === 2) return { reader: init, honest: m2 };
  init.readMessage(m2);
  return { reader: resp, honest: init.writeMessage(Buffer.from('hello from initiator')) };
}

function mustFailCleanly(reader: Handshake, input: Buffer): void {
  try {
    reader.readMessage(input);
  } catch (e) {
    assert.ok(isWeftError(e), `non-WeftError thrown: ${String(e)}`);
    assert.ok(e instanceof HandshakeError && e.reason !== 'internal' && e.reason !== 'state', `unexpected failure: ${e.message}`);
    return;
  }
  assert.fail('altered message was accepted');
}

type Mutation =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'truncate'; len: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'flip'; positions: Array<{ pos: number; bit: number }> };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('random' as const), bytes: fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.uint8Array({ minLength: 60, maxLength: 60 }),
    fc.uint8Array({ minLength: 96, maxLength: 140 }),
    fc.uint8Array({ minLength: 64, maxLength: 100 }),
  ) }),
  fc.record({ kind: fc.constant('truncate' as const), len: fc.nat({ max: 200 }) }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 500 }) }),
  fc.record({ kind: fc.constant('flip' as const), positions: fc.array(fc.record({ pos: fc.nat(), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }) }),
);

function apply(m: Mutation, honest: Buffer): Buffer | null {
  switch (m.kind) {
    case 'random': return Buffer.from(m.bytes);
    case 'truncate': return m.len < honest.length ? honest.subarray(0, m.len) : null;
    case 'extend': return Buffer.concat([honest, m.extra]);
    case 'flip': {
      const out = Buffer.from(honest);
      for (const { pos, bit } of m.positions) out[pos % out.length] = out[pos % out.length]! ^ (1 << bit);
      return out.equals(honest) ? null : out; // an even number of identical flips cancels out
    }
  }
}

for (const stage of [1, 2, 3] as const) {
  test(`fuzz readMessage at stage ${stage}: only clean HandshakeErrors`, () => {
    fc.assert(fc.property(mutation, (m) => {
      const { reader, honest } = positioned(stage);
      const input = apply(m, honest);
      if (input === null || input.equals(honest)) return;
      mustFailCleanly(reader, input);
    }), { numRuns: RUNS });
  });
}

test('fuzz: replaying any earlier honest message at a later stage fails cleanly', () => {
  fc.assert(fc.property(fc.constantFrom(1, 2, 3), fc.constantFrom(1, 2, 3), (from, to) => {
    if (from === to) return;
    const src = positioned(from as 1 | 2 | 3).honest;
    const { reader } = positioned(to as 1 | 2 | 3);
    mustFailCleanly(reader, src);
  }), { numRuns: 60 });
});
