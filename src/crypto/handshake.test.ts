import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HANDSHAKE_CLOCK_WINDOW_MS, MAX_HANDSHAKE_MESSAGE_BYTES, isWeftError } from '../common/index.js';
import {
  Handshake, HandshakeError, HandshakeReplayCache, generateIdentity, type HandshakeFailureReason,
  type HandshakeOptions, type Session,
} from './index.js';
import { generateKeyPair } from './primitives.js';

const testIdentity = generateIdentity;

const PROLOGUE = Buffer.from('weft\x01\x01weft\x01\x01', 'latin1');
const psk = (fill: number): Buffer => Buffer.alloc(32, fill);

interface Pair { init: Handshake; resp: Handshake; cache: HandshakeReplayCache }

function pair(over: { initPsk?: Buffer | null; respPsk?: Buffer | null; initPrologue?: Buffer; now?: () => number; respNow?: () => number } = {}): Pair {
  const cache = new HandshakeReplayCache();
  const base = (role: 'initiator' | 'responder'): HandshakeOptions => ({
    role, identity: testIdentity(), psk: null, prologue: PROLOGUE, now: over.now,
  });
  const init = new Handshake({ ...base('initiator'), psk: over.initPsk === undefined ? psk(7) : over.initPsk, prologue: over.initPrologue ?? PROLOGUE });
  const resp = new Handshake({ ...base('responder'), psk: over.respPsk === undefined ? psk(7) : over.respPsk, now: over.respNow ?? over.now, replayCache: cache });
  return { init, resp, cache };
}

/** Runs the three messages; returns the messages and the two sessions. */
function run(p: Pair, hello2 = Buffer.from('responder hello'), hello3 = Buffer.from('initiator hello')) {
  const m1 = p.init.writeMessage();
  assert.equal(p.resp.readMessage(m1).length, 0);
  const m2 = p.resp.writeMessage(hello2);
  assert.deepEqual(p.init.readMessage(m2), hello2);
  const m3 = p.init.writeMessage(hello3);
  assert.deepEqual(p.resp.readMessage(m3), hello3);
  assert.ok(p.init.complete && p.resp.complete);
  return { m1, m2, m3, si: p.init.split(), sr: p.resp.split() };
}

function expectFailure(fn: () => unknown, reason: HandshakeFailureReason, re?: RegExp): HandshakeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HandshakeError, `expected HandshakeError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a ${reason} failure`);
}

function checkSessions(si: Session, sr: Session, encrypted: boolean): void {
  assert.equal(si.encrypted, encrypted);
  assert.equal(sr.encrypted, encrypted);
  assert.deepEqual(si.handshakeHash, sr.handshakeHash);
  assert.equal(si.handshakeHash.length, 64);
  for (let i = 0; i < 3; i++) {
    const a = Buffer.from(`ping ${i}`);
    assert.deepEqual(sr.recv.open(si.send.seal(a)), a);
    const b = Buffer.from(`pong ${i}`);
    assert.deepEqual(si.recv.open(sr.send.seal(b)), b);
  }
}

describe('handshake: full exchange', () => {
  for (const encrypted of [true, false]) {
    test(`both roles complete ${encrypted ? 'with' : 'without'} a cluster secret`, () => {
      const p = encrypted ? pair() : pair({ initPsk: null, respPsk: null });
      const { m1, m2, m3, si, sr } = run(p);
      assert.equal(m1.length, 60);
      assert.equal(m2.length, 96 + 'responder hello'.length);
      assert.equal(m3.length, 64 + 'initiator hello'.length);
      assert.equal(si.role, 'initiator');
      assert.equal(sr.role, 'responder');
      checkSessions(si, sr, encrypted);
      assert.equal(si.dataKeys.encrypted, encrypted);
    });
  }

  test('sessions name the right peers and pair directions', () => {
    const cache = new HandshakeReplayCache();
    const a = testIdentity();
    const b = testIdentity();
    const init = new Handshake({ role: 'initiator', identity: a, psk: psk(1), prologue: PROLOGUE });
    const resp = new Handshake({ role: 'responder', identity: b, psk: psk(1), prologue: PROLOGUE, replayCache: cache });
    const { si, sr } = run({ init, resp, cache });
    assert.deepEqual(si.remoteStatic, b.publicKey);
    assert.deepEqual(sr.remoteStatic, a.publicKey);
    assert.equal(si.remoteName, b.name);
    assert.equal(sr.remoteName, a.name);
    // Same key in the paired directions, different keys across directions.
    const probe = Buffer.from('x');
    const fromI = si.send.seal(probe);
    assert.throws(() => si.recv.open(Buffer.from(fromI)), (e) => isWeftError(e, 'WEFT_ERR_AUTH'));
    assert.deepEqual(sr.recv.open(fromI), probe);
  });

  test('empty payloads and the largest payloads that fit', () => {
    const p = pair();
    const m1 = p.init.writeMessage();
    p.resp.readMessage(m1);
    const big2 = Buffer.alloc(MAX_HANDSHAKE_MESSAGE_BYTES - 96, 1);
    const m2 = p.resp.writeMessage(big2);
    assert.equal(m2.length, MAX_HANDSHAKE_MESSAGE_BYTES);
    assert.deepEqual(p.init.readMessage(m2), big2);
    const m3 = p.init.writeMessage();
    assert.equal(p.resp.readMessage(m3).length, 0);
    assert.ok(p.resp.complete);
  });

  test('a payload over the limit is refused before sending', () => {
    const p = pair();
    p.resp.readMessage(p.init.writeMessage());
    assert.throws(() => p.resp.writeMessage(Buffer.alloc(MAX_HANDSHAKE_MESSAGE_BYTES - 95)), (e) => isWeftError(e, 'WEFT_ERR_TOO_BIG'));
  });

  test('API misuse: wrong turn, split early, split twice, use after failure', () => {
    const p = pair();
    expectFailure(() => p.resp.writeMessage(), 'state');
    expectFailure(() => p.init.readMessage(Buffer.alloc(60)), 'state');
    expectFailure(() => p.init.split(), 'state');
    assert.throws(() => p.init.writeMessage(Buffer.from('no')), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
    const q = pair();
    run(q);
    expectFailure(() => q.init.split(), 'state');
    expectFailure(() => q.init.writeMessage(), 'state');
    const r = pair();
    expectFailure(() => r.resp.readMessage(Buffer.alloc(60)), 'bad_secret');
    expectFailure(() => r.resp.readMessage(Buffer.alloc(60)), 'state', /failed/);
  });

  test('destroy abandons the handshake', () => {
    const p = pair();
    p.init.writeMessage();
    p.init.destroy();
    p.init.destroy();
    expectFailure(() => p.init.readMessage(Buffer.alloc(100)), 'state');
  });
});

describe('handshake: secret mismatch', () => {
  test('responder rejects message 1 from an initiator with another secret', () => {
    const p = pair({ initPsk: psk(1), respPsk: psk(2) });
    const e = expectFailure(() => p.resp.readMessage(p.init.writeMessage()), 'bad_secret', /cluster secret/);
    assert.equal(e.code, 'WEFT_ERR_HANDSHAKE');
    assert.equal(p.cache.size, 0, 'nothing recorded for unauthenticated message 1');
  });

  test('responder with a secret rejects an initiator without one, and vice versa', () => {
    expectFailure(() => { const p = pair({ initPsk: null }); p.resp.readMessage(p.init.writeMessage()); }, 'bad_secret', /does not know/);
    expectFailure(() => { const p = pair({ respPsk: null }); p.resp.readMessage(p.init.writeMessage()); }, 'bad_secret', /we have none/);
  });

  test('initiator rejects message 2 made under another secret', () => {
    // A responder that accepted message 1 under secret B (same ephemeral key as ours) answers;
    // we hold secret A, so its message 2 must not authenticate.
    const eph = generateKeyPair();
    const respIdentity = testIdentity();
    const honest = new Handshake({ role: 'initiator', identity: testIdentity(), psk: psk(0xa), prologue: PROLOGUE }, { ephemeral: { ...eph, secretKey: Buffer.from(eph.secretKey) } });
    const other = new Handshake({ role: 'initiator', identity: testIdentity(), psk: psk(0xb), prologue: PROLOGUE }, { ephemeral: { ...eph, secretKey: Buffer.from(eph.secretKey) } });
    const resp = new Handshake({ role: 'responder', identity: respIdentity, psk: psk(0xb), prologue: PROLOGUE });
    honest.writeMessage();
    resp.readMessage(other.writeMessage());
    const m2 = resp.writeMessage(Buffer.from('hello'));
    expectFailure(() => honest.readMessage(m2), 'auth', /message 2/);
  });

  test('prologue (version prelude) mismatch fails message 1', () => {
    const p = pair({ initPrologue: Buffer.from('weft\x01\x02weft\x01\x01', 'latin1') });
    expectFailure(() => p.resp.readMessage(p.init.writeMessage()), 'bad_secret');
  });
});

describe('handshake: malformed and tampered messages', () => {
  /** Produce a fresh handshake positioned to read message `n`, and that message. */
  function at(n: 1 | 2 | 3): { reader: Handshake; msg: Buffer } {
    const p = pair();
    const m1 = p.init.writeMessage();
    if (n === 1) return { reader: p.resp, msg: m1 };
    p.resp.readMessage(m1);
    const m2 = p.resp.writeMessage(Buffer.from('hello two'));
    if (n === 2) return { reader: p.init, msg: m2 };
    p.init.readMessage(m2);
    return { reader: p.resp, msg: p.init.writeMessage(Buffer.from('hello three')) };
  }

  for (const n of [1, 2, 3] as const) {
    test(`every single-byte change of message ${n} is rejected`, () => {
      const { msg } = at(n);
      for (let pos = 0; pos < msg.length; pos++) {
        const { reader, msg: fresh } = at(n);
        const bad = Buffer.from(fresh);
        bad[pos] = bad[pos]! ^ (1 << (pos % 8));
        assert.throws(() => reader.readMessage(bad), (e) => e instanceof HandshakeError && ['bad_secret', 'auth', 'bad_key'].includes(e.reason),
          `message ${n} byte ${pos}`);
      }
    });

    test(`truncated and oversized message ${n} is rejected as malformed`, () => {
      const { msg } = at(n);
      for (const len of [0, 1, 31, 32, msg.length - 1]) {
        const { reader } = at(n);
        const e = expectFailure(() => reader.readMessage(msg.subarray(0, len)), n === 1 || len < (n === 2 ? 96 : 64) ? 'malformed' : 'auth');
        assert.equal(e.code, 'WEFT_ERR_HANDSHAKE');
      }
      const { reader } = at(n);
      expectFailure(() => reader.readMessage(Buffer.alloc(MAX_HANDSHAKE_MESSAGE_BYTES + 1)), 'malformed', /limit/);
    });
  }

  test('message 1 with extra bytes is malformed', () => {
    const { reader, msg } = at(1);
    expectFailure(() => reader.readMessage(Buffer.concat([msg, Buffer.alloc(1)])), 'malformed', /exactly 60/);
  });

  test('low-order ephemeral key in message 2 is refused', () => {
    const { reader, msg } = at(2);
    const bad = Buffer.from(msg);
    bad.fill(0, 0, 32); // the all-zero point has order 1
    expectFailure(() => reader.readMessage(bad), 'bad_key');
  });
});

describe('handshake: replay and freshness', () => {
  test('a replayed message 1 is refused by the shared cache', () => {
    const cache = new HandshakeReplayCache();
    const mk = () => new Handshake({ role: 'responder', identity: testIdentity(), psk: psk(7), prologue: PROLOGUE, replayCache: cache });
    const init = new Handshake({ role: 'initiator', identity: testIdentity(), psk: psk(7), prologue: PROLOGUE });
    const m1 = init.writeMessage();
    mk().readMessage(m1);
    const e = expectFailure(() => mk().readMessage(m1), 'replay', /replayed/);
    assert.equal(e.code, 'WEFT_ERR_REPLAY');
  });

  test('stale and future timestamps are refused; edges of the window are accepted', () => {
    const t0 = 1_700_000_000_000;
    for (const [skew, ok] of [[0, true], [HANDSHAKE_CLOCK_WINDOW_MS, true], [-HANDSHAKE_CLOCK_WINDOW_MS, true],
      [HANDSHAKE_CLOCK_WINDOW_MS + 1000, false], [-HANDSHAKE_CLOCK_WINDOW_MS - 1000, false], [-86_400_000, false]] as const) {
      const p = pair({ now: () => t0 + skew, respNow: () => t0 });
      const m1 = p.init.writeMessage();
      if (ok) p.resp.readMessage(m1);
      else {
        const e = expectFailure(() => p.resp.readMessage(m1), 'clock', /clock/);
        assert.equal(e.code, 'WEFT_ERR_REPLAY');
      }
    }
  });

  test('a replay is accepted by timestamp only after the cache forgot it, and only within the window', () => {
    let now = 1_700_000_000_000;
    const cache = new HandshakeReplayCache(4096);
    const init = new Handshake({ role: 'initiator', identity: testIdentity(), psk: psk(7), prologue: PROLOGUE, now: () => now });
    const m1 = init.writeMessage();
    const mk = () => new Handshake({ role: 'responder', identity: testIdentity(), psk: psk(7), prologue: PROLOGUE, replayCache: cache, now: () => now });
    mk().readMessage(m1);
    now += HANDSHAKE_CLOCK_WINDOW_MS - 1;
    expectFailure(() => mk().readMessage(m1), 'replay');
    now += 2;
    expectFailure(() => mk().readMessage(m1), 'clock');
  });
});

describe('HandshakeReplayCache', () => {
  test('bounded: evicts the oldest entry when full', () => {
    const cache = new HandshakeReplayCache(3, 1000);
    const keys = [1, 2, 3, 4].map((i) => Buffer.alloc(32, i));
    for (const k of keys) assert.ok(cache.checkAndRecord(k, 0, 0));
    assert.equal(cache.size, 3);
    assert.ok(cache.checkAndRecord(keys[0]!, 0, 0), 'oldest was evicted');
    assert.ok(!cache.checkAndRecord(keys[3]!, 0, 0));
  });

  test('entries expire after their timestamp left the window', () => {
    const cache = new HandshakeReplayCache(10, 1000);
    const k = Buffer.alloc(32, 9);
    assert.ok(cache.checkAndRecord(k, 500, 0));
    assert.ok(!cache.checkAndRecord(k, 500, 1500));
    assert.ok(cache.checkAndRecord(k, 500, 1501));
  });
});

describe('message 1 timestamp codec', () => {
  test('round trip at ms precision; invalid encodings refused', async () => {
    const { encodeTimestamp, decodeTimestamp } = await import('./timestamp.js');
    for (const ms of [0, 1, 999, 1000, 1_700_000_000_123, 4_102_444_800_000]) {
      const b = encodeTimestamp(ms);
      assert.equal(b.length, 12);
      assert.equal(decodeTimestamp(b), ms);
    }
    assert.equal(encodeTimestamp(1_700_000_000_123).readUInt32BE(8), 123_000_000, 'nanoseconds, big-endian');
    const bad = encodeTimestamp(0);
    bad.writeUInt32BE(1_000_000_000, 8);
    assert.equal(decodeTimestamp(bad), null);
    assert.equal(decodeTimestamp(Buffer.alloc(12, 0xff)), null);
    assert.equal(decodeTimestamp(Buffer.alloc(11)), null);
  });
});
