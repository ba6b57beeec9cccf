import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError } from '../common/index.js';
import { Reader, Writer } from './codec.js';
import { peerNameFromBytes } from './peer-name.js';

type Op =
  | { k: 'u8' | 'u16' | 'u32' | 'varint'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'u64'; v: bigint }
  | { k: 'bytes'; v: Uint8Array }
  | { k: 'string'; v: string }
  | { k: 'peerName'; v: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: 0, max: 0xff }).map((v) => ({ k: 'u8' as const, v })),
  fc.integer({ min: 0, max: 0xffff }).map((v) => ({ k: 'u16' as const, v })),
  fc.integer({ min: 0, max: 0xffffffff }).map((v) => ({ k: 'u32' as const, v })),
  fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat()).map((v) => ({ k: 'varint' as const, v })),
  fc.boolean().map((v) => ({ k: 'bool' as const, v })),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => ({ k: 'u64' as const, v })),
  fc.uint8Array({ maxLength: 40 }).map((v) => ({ k: 'bytes' as const, v })),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((v) => ({ k: 'string' as const, v })),
  fc.uint8Array({ minLength: 6, maxLength: 6 }).map((v) => ({ k: 'peerName' as const, v: peerNameFromBytes(v, 0) })),
);

function writeOps(ops: Op[]): Buffer {
  const w = new Writer(16);
  for (const op of ops) {
    switch (op.k) {
      case 'u8': w.u8(op.v); break;
      case 'u16': w.u16(op.v); break;
      case 'u32': w.u32(op.v); break;
      case 'varint': w.varint(op.v); break;
      case 'bool': w.bool(op.v); break;
      case 'u64': w.u64(op.v); break;
      case 'bytes': w.bytes(op.v); break;
      case 'string': w.string(op.v); break;
      case 'peerName': w.peerName(op.v); break;
    }
  }
  return w.finish();
}

function readOps(r: Reader, ops: Op[]): unknown[] {
  const out: unknown[] = [];
  for (const op of ops) {
    switch (op.k) {
      case 'u8': out.push(r.u8()); break;
      case 'u16': out.push(r.u16()); break;
      case 'u32': out.push(r.u32()); break;
      case 'varint': out.push(r.varint()); break;
      case 'bool': out.push(r.bool()); break;
      case 'u64': out.push(r.u64()); break;
      case 'bytes': out.push(new Uint8Array(r.bytes(64))); break;
      case 'string': out.push(r.string(200)); break;
      case 'peerName': out.push(r.peerName()); break;
    }
  }
  return out;
}

const onlyDecode = (e: unknown): boolean => {
  if (!isWeftError(e, 'WEFT_ERR_DECODE')) throw e;
  return true;
};

test('round trip of random field sequences; end() accepts the exact length', () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
    const buf = writeOps(ops);
    const r = new Reader(buf, 'fuzz');
    assert.deepEqual(readOps(r, ops), ops.map((o) => o.v));
    r.end();
    assert.equal(r.remaining, 0);
  }), { numRuns: 1000 });
});

test('fuzz: truncated input only ever throws WEFT_ERR_DECODE', () => {
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 20 }), fc.nat(), (ops, cut) => {
    const buf = writeOps(ops);
    if (buf.length === 0) return;
    const short = buf.subarray(0, cut % buf.length);
    assert.throws(() => { const r = new Reader(short); readOps(r, ops); r.end(); }, onlyDecode);
  }), { numRuns: 1000 });
});

test('fuzz: random and bit-flipped input only ever throws WEFT_ERR_DECODE', () => {
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 20 }), fc.uint8Array({ maxLength: 80 }), fc.nat(), (ops, noise, flip) => {
    for (const input of [Buffer.from(noise), (() => {
      const b = Buffer.from(writeOps(ops));
      if (b.length > 0) b[flip % b.length]! ^= 1 << (flip % 8);
      return b;
    })()]) {
      try {
        const r = new Reader(input);
        readOps(r, ops);
        r.end();
      } catch (e) {
        onlyDecode(e);
      }
    }
  }), { numRuns: 2000 });
});

test('varint: boundaries, canonical form, range', () => {
  for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    const b = new Writer().varint(v).finish();
    const r = new Reader(b);
    assert.equal(r.varint(), v);
    r.end();
  }
  assert.equal(new Writer().varint(127).finish().length, 1);
  assert.equal(new Writer().varint(128).finish().length, 2);
  assert.equal(new Writer().varint(Number.MAX_SAFE_INTEGER).finish().length, 8);
  const bad = [
    [0x80, 0x00], // overlong zero
    [0xff, 0x00], // overlong
    [0x80], // truncated
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10], // 2^53 (over)
    [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // too long
  ];
  for (const b of bad) assert.throws(() => new Reader(Buffer.from(b)).varint(), onlyDecode, JSON.stringify(b));
  assert.throws(() => new Writer().varint(-1), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  assert.throws(() => new Writer().varint(2 ** 53), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
});

test('length limits, strict UTF-8, booleans, error messages', () => {
  const s = new Writer().string('héllo').finish();
  assert.equal(new Reader(s).string(6), 'héllo');
  assert.throws(() => new Reader(s).string(5, 'nickname'), /nickname: length 6 over limit 5/);
  const b = new Writer().bytes(Buffer.alloc(10)).finish();
  assert.throws(() => new Reader(b, 'msg').bytes(9, 'payload'), (e) => isWeftError(e, 'WEFT_ERR_DECODE') && /msg payload: length 10 over limit 9/.test((e as Error).message));
  assert.throws(() => new Reader(Buffer.from([0, 2, 0xc3, 0x28])).string(10), /invalid UTF-8/);
  assert.throws(() => new Reader(Buffer.from([2])).bool(), onlyDecode);
  assert.throws(() => new Reader(Buffer.from([1, 2, 3]), 'hello').u32('count'),
    (e) => (e as Error).message === 'hello count: needed 4 bytes at offset 0, have 3');
  const r = new Reader(Buffer.from([1, 2]));
  r.u8();
  assert.throws(() => r.end(), /1 trailing bytes/);
});

test('writer: growth, view semantics, misuse', () => {
  const w = new Writer(16);
  for (let i = 0; i < 1000; i++) w.u32(i);
  const out = w.finish();
  assert.equal(out.length, 4000);
  assert.equal(out.readUInt32BE(3996), 999);
  assert.throws(() => w.u8(1), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  assert.throws(() => new Writer().u8(256), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  assert.throws(() => new Writer().u16(-1), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  assert.throws(() => new Writer().u64(1n << 64n), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  assert.throws(() => new Writer().string('x'.repeat(70000)), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  assert.throws(() => new Writer().peerName('nope'), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
});

test('throughput (logged, not asserted)', () => {
  const n = 200_000;
  const t0 = process.hrtime.bigint();
  const w = new Writer(n * 24);
  for (let i = 0; i < n; i++) w.peerName('0a:0b:0c:0d:0e:0f').u64(BigInt(i)).varint(i).string('10.0.0.1:6783');
  const buf = w.finish();
  const t1 = process.hrtime.bigint();
  const r = new Reader(buf);
  for (let i = 0; i < n; i++) { r.peerName(); r.u64(); r.varint(); r.string(64); }
  r.end();
  const t2 = process.hrtime.bigint();
  console.log(`codec: ${n} records of ${buf.length / n} B: write ${Number(t1 - t0) / n} ns/rec, read ${Number(t2 - t1) / n} ns/rec`);
});

test('skipString validates exactly like string(); latin1() writes raw bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat(20), (body, limit) => {
    const buf = Buffer.concat([Buffer.from([0, body.length]), Buffer.from(body)]);
    let s: string | Error;
    let n: number | Error;
    try { s = new Reader(buf).string(limit); } catch (e) { onlyDecode(e); s = e as Error; }
    try { n = new Reader(buf).skipString(limit); } catch (e) { onlyDecode(e); n = e as Error; }
    assert.equal(typeof s === 'string', typeof n === 'number');
    if (typeof s === 'string') assert.equal(n, Buffer.byteLength(s, 'utf8'));
    else assert.equal((n as Error).message, s.message);
  }), { numRuns: 2000 });
  const raw = Buffer.from([0, 1, 127, 128, 200, 255]);
  assert.deepEqual(new Writer().latin1(raw.toString('latin1')).finish(), raw);
});
