import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError, silentLogger } from '../common/index.js';
import { FrameReader, lengthPrefixed } from './frame-reader.js';
import { decodeMessage, encodeMessage, decodeHello, encodeHello, Tag, type ControlMessage } from './messages.js';
import { encodePrelude, negotiateVersion } from './prelude.js';
import { TokenBucket } from './token-bucket.js';
import { ConnectionMaker, parseTargetAddress } from './connection-maker.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

test('FrameReader reassembles frames split at every byte boundary', () => {
  const frames = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('hello')];
  const stream = Buffer.concat(frames.map(lengthPrefixed));
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = new FrameReader(1000);
    const out = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
    assert.deepEqual(out.map((b) => b.toString('hex')), frames.map((b) => b.toString('hex')));
    assert.equal(r.bufferedBytes, 0);
  }
});

test('FrameReader refuses an oversized length prefix before buffering its body', () => {
  const r = new FrameReader(512);
  assert.throws(() => r.push(Buffer.from([0, 0, 2, 1])), (e) => isWeftError(e, 'WEFT_ERR_TOO_BIG'));
  const r2 = new FrameReader(512);
  assert.deepEqual(r2.push(Buffer.from([0, 0, 2, 0])), []);
  assert.equal(r2.bufferedBytes, 4);
});

test('FrameReader.next: a limit raised after one frame applies to the next frame of the same chunk', () => {
  // The handshake's last message (small) and the first post-handshake message (large) often
  // arrive in one TCP read; splitting both under the handshake limit refused the second.
  const stream = Buffer.concat([lengthPrefixed(Buffer.alloc(100, 1)), lengthPrefixed(Buffer.alloc(9000, 2))]);
  const r = new FrameReader(512);
  r.append(stream);
  assert.equal(r.next()?.length, 100);
  r.setMaxFrame(64 * 1024);
  assert.equal(r.next()?.length, 9000);
  assert.equal(r.next(), null);
  assert.equal(r.bufferedBytes, 0);
  const strict = new FrameReader(512);
  strict.append(stream);
  assert.equal(strict.next()?.length, 100);
  assert.throws(() => strict.next(), (e) => isWeftError(e, 'WEFT_ERR_TOO_BIG'));
});

test('control messages round-trip', () => {
  const msgs: ControlMessage[] = [
    { tag: Tag.Heartbeat },
    { tag: Tag.Close, reason: 'bye' },
    { tag: Tag.Gossip, channel: 'topology', payload: Buffer.from([1, 2, 3]) },
    { tag: Tag.Broadcast, channel: 'ipam', src: A, payload: Buffer.from('x') },
    { tag: Tag.Unicast, channel: 'ping', src: A, dst: B, payload: Buffer.alloc(9) },
    { tag: Tag.Overlay, payload: Buffer.from('ov') },
  ];
  for (const m of msgs) assert.deepEqual(decodeMessage(encodeMessage(m)), m);
  const h = { uid: 0xfedcba9876543210n, nickname: 'host-1', listenPort: 6783 };
  assert.deepEqual(decodeHello(encodeHello(h)), h);
});

test('decoders only ever throw WeftError on arbitrary bytes (fuzz)', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    for (const f of [decodeMessage, decodeHello, (b: Buffer) => negotiateVersion(b)]) {
      try { f(Buffer.from(bytes)); } catch (e) { assert.ok(isWeftError(e), `non-WeftError: ${String(e)}`); }
    }
  }), { numRuns: 3000 });
});

test('version negotiation: highest common version, refusal without overlap, bad magic', () => {
  assert.equal(negotiateVersion(encodePrelude(1, 3), 1, 2), 2);
  assert.equal(negotiateVersion(encodePrelude(2, 2), 1, 3), 2);
  assert.throws(() => negotiateVersion(encodePrelude(3, 4), 1, 2), (e) => isWeftError(e, 'WEFT_ERR_VERSION'));
  assert.throws(() => negotiateVersion(Buffer.from('weave\x01')), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

test('token bucket: burst, then refill at the configured rate', () => {
  let now = 0;
  const b = new TokenBucket(3, 2, () => now);
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
  now += 500;
  assert.equal(b.take(), true);
  assert.equal(b.take(), false);
});

test('target addresses: host, host:port, [v6]:port; port 0 means ours', () => {
  assert.deepEqual(parseTargetAddress('10.0.0.1', 6783), { host: '10.0.0.1', port: 6783, address: '10.0.0.1:6783' });
  assert.deepEqual(parseTargetAddress('h:7000', 6783), { host: 'h', port: 7000, address: 'h:7000' });
  assert.deepEqual(parseTargetAddress('[fd00::1]:0', 6783), { host: 'fd00::1', port: 6783, address: '[fd00::1]:6783' });
  assert.equal(parseTargetAddress('h:99999', 6783), null);
});

test('connection maker: immediate first try, jittered backoff, never retries self, limits discovered targets', () => {
  let now = 1000;
  const dials: string[] = [];
  let conns = 0;
  const m = new ConnectionMaker({
    ourPort: 6783, connLimit: 1, backoffScale: 1, log: silentLogger(), now: () => now, random: () => 0.5,
    dial: (t) => { dials.push(t.address); }, isConnected: () => false, connectionCount: () => conns,
  });
  assert.deepEqual(m.addDirect(['10.0.0.1', 'h:abc']), ['h:abc']);
  m.addDirect(['10.0.0.1']);
  assert.deepEqual(dials, ['10.0.0.1:6783']);
  m.disconnected('10.0.0.1:6783', 'connect failed: ECONNREFUSED');
  m.tick();
  assert.equal(dials.length, 1, 'not before the backoff');
  now += 2000; // interval 2 s: next try at +1 s + 0.5·2 s = +2 s
  m.tick();
  assert.equal(dials.length, 2);
  m.disconnected('10.0.0.1:6783', 'connected to ourselves', true);
  now += 10 * 60_000;
  m.tick();
  assert.equal(dials.length, 2, 'self-connections are never retried');
  assert.equal(m.status()[0]?.state, 'failed');
  conns = 1;
  m.setDiscovered(new Map([[B, ['10.0.0.2:6783']]]));
  m.tick();
  assert.equal(dials.length, 2, 'discovered targets wait for room under the connection limit');
  conns = 0;
  m.tick();
  assert.equal(dials.at(-1), '10.0.0.2:6783');
});
