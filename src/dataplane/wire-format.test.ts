import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  forEachRecord, readHeader, writeHeader, writeRecordHeader, read48, write48,
  podMtu, maxFrameBytes, maxDatagramBytes, sleeveOverheadBytes, encodePmtuAck, decodeControl, writeNonce,
  FLAG_AES, FLAG_PLAIN, MAX_COUNTER, type HeaderView,
} from './wire-format.js';

const view = (): HeaderView => ({ type: 0, flags: 0, sender: 0, epoch: 0, counter: 0 });

test('48-bit numbers round-trip through read48/write48', () => {
  const b = Buffer.alloc(8);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (v) => {
    write48(b, 1, v);
    return read48(b, 1) === v;
  }));
});

test('header round-trips, with large counters', () => {
  const b = Buffer.alloc(64);
  const h = view();
  for (const counter of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, MAX_COUNTER]) {
    writeHeader(b, 3, 1, FLAG_AES, 0x8e1f000000aa, 0xfffffffe, counter);
    assert.equal(readHeader(b, 3, 40, h), true);
    assert.deepEqual(h, { type: 1, flags: FLAG_AES, sender: 0x8e1f000000aa, epoch: 0xfffffffe, counter });
  }
});

test('readHeader rejects short, unknown version/type/flags, both PLAIN and AES, huge counters, missing tag', () => {
  const b = Buffer.alloc(64);
  const h = view();
  writeHeader(b, 0, 2, 0, 1, 0, 7);
  assert.equal(readHeader(b, 0, 19, h), false, 'shorter than the header');
  assert.equal(readHeader(b, 0, 35, h), false, 'sealed but no room for a tag');
  assert.equal(readHeader(b, 0, 36, h), true);
  b[0] = 0x22; assert.equal(readHeader(b, 0, 36, h), false, 'version 2');
  b[0] = 0x14; assert.equal(readHeader(b, 0, 36, h), false, 'type 4');
  b[0] = 0x10; assert.equal(readHeader(b, 0, 36, h), false, 'type 0');
  b[0] = 0x12; b[1] = 0x04; assert.equal(readHeader(b, 0, 36, h), false, 'unknown flag');
  b[1] = FLAG_PLAIN | FLAG_AES; assert.equal(readHeader(b, 0, 36, h), false);
  b[1] = FLAG_PLAIN; assert.equal(readHeader(b, 0, 20, h), true, 'plain needs no tag');
  b.writeUInt32BE(0x00200000, 12); assert.equal(readHeader(b, 0, 36, h), false, 'counter > 2^52');
  assert.equal(readHeader(b, 60, 20, h), false, 'runs past the buffer');
});

test('records: iterate, and malformed bodies are reported without throwing', () => {
  const b = Buffer.alloc(200);
  writeRecordHeader(b, 0, 1, 2, 20);
  writeRecordHeader(b, 34, 3, 4, 14);
  const seen: number[][] = [];
  assert.equal(forEachRecord(b, 0, 34 + 28, (s, d, o, l) => seen.push([s, d, o, l])), true);
  assert.deepEqual(seen, [[1, 2, 14, 20], [3, 4, 48, 14]]);
  assert.equal(forEachRecord(b, 0, 34 + 27, () => {}), false, 'second frame truncated');
  assert.equal(forEachRecord(b, 0, 34 + 5, () => {}), false, 'trailing bytes');
  writeRecordHeader(b, 0, 1, 2, 13);
  assert.equal(forEachRecord(b, 0, 27, () => {}), false, 'frame shorter than Ethernet');
  assert.equal(forEachRecord(b, 0, 0, () => {}), false, 'empty body');
});

test('fuzz: random headers and bodies never throw', () => {
  const h = view();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(320), (bytes, len) => {
    const b = Buffer.from(bytes);
    readHeader(b, 0, len, h);
    forEachRecord(b, 0, Math.min(len, b.length + 5), () => {});
    decodeControl(b);
    return true;
  }), { numRuns: 3000 });
});

test('control messages', () => {
  assert.deepEqual(decodeControl(encodePmtuAck(77, 1400)), { kind: 1, probeId: 77, size: 1400 });
  assert.equal(decodeControl(Buffer.from([9, 0, 0, 0, 0, 0, 0])), null);
  assert.equal(decodeControl(Buffer.alloc(0)), null);
});

test('nonce layout: epoch then 64-bit counter', () => {
  const n = Buffer.alloc(12);
  writeNonce(n, 0, 3, 2 ** 33 + 1);
  assert.equal(n.toString('hex'), '00000003' + '0000000200000001');
});

test('MTU arithmetic', () => {
  assert.equal(sleeveOverheadBytes(true), 28 + 20 + 16 + 14 + 14);
  assert.equal(podMtu(1500), 1408);
  assert.equal(podMtu(1500, false), 1424);
  assert.equal(podMtu(9000), 8908);
  assert.equal(maxFrameBytes(1500, true), 1422);
  assert.equal(maxDatagramBytes(1500), 1472);
  // One frame of maxFrameBytes fills exactly one datagram of the path MTU.
  assert.equal(20 + 14 + maxFrameBytes(1400, true) + 16 + 28, 1400);
});
