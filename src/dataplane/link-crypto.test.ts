import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkCrypto, type EpochTiming } from './link-crypto.js';
import { FakeNet } from '../../test/support/dataplane/fake-sleeve-io.js';
import { testKeyPair } from '../../test/support/dataplane/sleeve-test-support.js';
import { FLAG_AES, FLAG_PLAIN } from './wire-format.js';

const timing: EpochTiming = {
  rekeyIntervalMs: 1000, rekeyAckTimeoutMs: 3000, rekeyAfterDatagrams: 100, rejectAfterDatagrams: 150, epochGraceMs: 500, replayWindow: 64,
};

function pair(encrypted = true) {
  const net = new FakeNet();
  const io = net.host('198.18.9.1');
  const [ka, kb] = testKeyPair(encrypted);
  const errors: string[] = [];
  const a = new LinkCrypto({ io, dataKeys: ka, alg: 'chacha20-poly1305', now: 0, timing, onKeyError: (m) => errors.push(m) });
  const b = new LinkCrypto({ io, dataKeys: kb, alg: 'aes-256-gcm', now: 0, timing, onKeyError: (m) => errors.push(m) });
  return { io, a, b, errors };
}

test('rotation waits for the peer to acknowledge the current epoch, then happens on time or count', () => {
  const { a } = pair();
  assert.equal(a.maybeRotate(5000, -1), false, 'peer has not acknowledged epoch 0');
  assert.equal(a.maybeRotate(500, 0), false, 'not due yet');
  assert.equal(a.maybeRotate(1000, 0), true);
  assert.equal(a.sendEpoch, 1);
  assert.equal(a.nextCounter(), 0, 'counter restarts per epoch');
  for (let i = 0; i < 99; i++) a.nextCounter();
  assert.equal(a.maybeRotate(1001, 1), true, 'rotates after rekeyAfterDatagrams');
  assert.equal(a.sendEpoch, 2);
});

test('the counter never passes rejectAfterDatagrams without a new epoch', () => {
  const { a } = pair();
  let last = 0;
  for (let i = 0; i < 200; i++) last = a.nextCounter();
  assert.equal(last, -1);
  assert.equal(a.sentInEpoch, 150);
});

test('receive epochs: current, next (peer rotated), previous only during the grace period', () => {
  const { b } = pair();
  const e0 = b.recvContext(0, 0)!;
  assert.ok(e0);
  assert.equal(b.recvContext(2, 0), null, 'two ahead: refused');
  assert.equal(b.isStale(2), false, 'counted as auth, not replay');
  const e1 = b.recvContext(1, 0)!;
  assert.ok(e1 && e1 !== e0);
  assert.equal(b.recvEpoch, 0, 'not current before a datagram of it authenticated');
  b.promote(e1, 100);
  assert.equal(b.recvEpoch, 1);
  assert.equal(b.recvContext(0, 599), e0, 'previous epoch within grace');
  assert.equal(b.recvContext(0, 600), null, 'grace over');
  b.tick(600);
  assert.equal(b.isStale(0), true, 'older epochs are replays');
  assert.equal(e0.key, null, 'previous epoch key copy wiped when freed');
});

test('replay windows are per epoch', () => {
  const { b } = pair();
  const e0 = b.recvContext(0, 0)!;
  assert.equal(e0.window.accept(5), true);
  const e1 = b.recvContext(1, 0)!;
  assert.equal(e1.window.accept(5), true, 'same counter in the next epoch is fine');
  assert.equal(e0.window.accept(5), false);
});

test('handles per algorithm are created lazily; keys derive per algorithm', () => {
  const { io, a, b } = pair();
  const before = io.openAeads;
  const ctx = b.recvContext(0, 0)!;
  const hc = b.handleFor(ctx, 0);
  const ha = b.handleFor(ctx, FLAG_AES);
  assert.ok(hc && ha && hc !== ha);
  assert.equal(b.handleFor(ctx, 0), hc, 'cached');
  assert.equal(io.openAeads, before + 2);
  a.free(); b.free(); a.free();
  assert.equal(io.openAeads, 0, 'free releases everything, idempotently');
  assert.equal(b.recvContext(0, 0), null, 'nothing accepted after free');
});

test('plain mode: no keys requested, PLAIN flag, no handles', () => {
  const { io, a } = pair(false);
  assert.equal(a.encrypted, false);
  assert.equal(a.sendFlags, FLAG_PLAIN);
  assert.equal(io.openAeads, 0);
  assert.equal(a.maybeRotate(1e9, 5), false);
});

test('a key schedule that throws is reported, not thrown, for later epochs', () => {
  const net = new FakeNet();
  const io = net.host('198.18.9.2');
  const errors: string[] = [];
  const keys = { encrypted: true, keys: (e: number) => { if (e > 0) throw new Error('wiped'); return { send: Buffer.alloc(32, 1), recv: Buffer.alloc(32, 2) }; } };
  const c = new LinkCrypto({ io, dataKeys: keys, alg: 'chacha20-poly1305', now: 0, timing, onKeyError: (m) => errors.push(m) });
  assert.equal(c.maybeRotate(2000, 0), false, 'stays on epoch 0');
  assert.equal(c.sendEpoch, 0);
  const next = c.recvContext(1, 0)!;
  assert.equal(c.handleFor(next, 0), null);
  assert.ok(errors.length >= 2 && errors.every((m) => m.includes('epoch 1') && !m.includes('0101')));
  c.free();
});

test('a due rotation blocked by a peer that never acknowledges is reported as stalled after rekeyAckTimeoutMs', () => {
  const { a } = pair();
  assert.equal(a.maybeRotate(1000, 0), true, 'epoch 0 acknowledged: rotates');
  assert.equal(a.rekeyStalled(1000), false);
  // The peer keeps acknowledging epoch 0 only.
  assert.equal(a.maybeRotate(1999, 0), false, 'not due yet');
  assert.equal(a.rekeyBlockedMs(1999), 0, 'not blocked before the rotation is due');
  assert.equal(a.maybeRotate(2000, 0), false, 'due, but epoch 1 is not acknowledged');
  assert.equal(a.rekeyBlockedMs(4999), 2999);
  assert.equal(a.rekeyStalled(4999), false);
  assert.equal(a.rekeyStalled(5000), true, 'blocked for rekeyAckTimeoutMs');
  // An acknowledgement in time clears it.
  const { a: b } = pair();
  b.maybeRotate(1000, 0);
  b.maybeRotate(2000, 0);
  assert.equal(b.maybeRotate(3000, 1), true);
  assert.equal(b.rekeyBlockedMs(9000), 0);
  assert.equal(b.rekeyStalled(9000), false);
});
