/**
 * Native addon: argument checks (C side and TypeScript side, fuzzed), AEAD correctness and
 * interop. No root and no namespaces needed here; TAP/UDP I/O is in native-io.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { openSync, closeSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import sodium from 'sodium-native';
import { isWeftError } from '../common/index.js';
import { LEN_TRUNCATED, loadRawBinding, tryLoadNative, type AeadAlg, type NativeDataplane, type RawNativeBinding } from './native.js';

const dp = tryLoadNative();
const skip = dp === null ? 'native addon not built (run npm run install)' : false;
const ALGS: AeadAlg[] = ['chacha20-poly1305', 'aes-256-gcm'];

/** Guarded view: `len` usable bytes inside a larger buffer whose edges must stay 0xAA. */
function guarded(len: number): { view: Buffer; intact: () => boolean } {
  const whole = Buffer.alloc(len + 64, 0xaa);
  whole.fill(0x55, 32, 32 + len);
  return { view: whole.subarray(32, 32 + len), intact: () => whole.subarray(0, 32).every((b) => b === 0xaa) && whole.subarray(32 + len).every((b) => b === 0xaa) };
}

/** Asserts fn throws a TypeError or RangeError (from C). */
function rejects(fn: () => unknown, kind: typeof TypeError | typeof RangeError = RangeError): void {
  assert.throws(fn, (e: unknown) => e instanceof kind);
}

const u32 = (...v: number[]) => new Uint32Array(v);

describe('native addon: C-side argument checks', { skip }, () => {
  let raw: RawNativeBinding;
  let devNull: number;
  let devZero: number;
  before(() => {
    raw = loadRawBinding();
    devNull = openSync('/dev/null', 'w');
    devZero = openSync('/dev/zero', 'r');
  });
  after(() => {
    closeSync(devNull);
    closeSync(devZero);
  });

  it('readBatch rejects bad strides, counts, types and fds', () => {
    const a = Buffer.alloc(100);
    rejects(() => raw.readBatch(devZero, a, 0, u32(0), 1));
    rejects(() => raw.readBatch(devZero, a, 51, u32(0, 0), 2));
    rejects(() => raw.readBatch(devZero, a, 10, u32(0), 2));
    rejects(() => raw.readBatch(devZero, a, 1.5, u32(0), 1));
    rejects(() => raw.readBatch(-1, a, 10, u32(0), 1));
    rejects(() => raw.readBatch(devZero, a, 10, u32(0), Number.NaN));
    rejects(() => raw.readBatch(devZero, a, 10, u32(0), 2 ** 32));
    rejects(() => raw.readBatch(devZero, new Uint16Array(50) as never, 10, u32(0), 1), TypeError);
    rejects(() => raw.readBatch(devZero, new ArrayBuffer(100) as never, 10, u32(0), 1), TypeError);
    rejects(() => raw.readBatch(devZero, new DataView(new ArrayBuffer(100)) as never, 10, u32(0), 1), TypeError);
    rejects(() => raw.readBatch(devZero, a, 10, new Int32Array(1) as never, 1), TypeError);
    rejects(() => raw.readBatch('3' as never, a, 10, u32(0), 1), TypeError);
    rejects(() => (raw.readBatch as (...a: unknown[]) => number)(devZero, a, 10), TypeError);
    assert.equal(raw.readBatch(devZero, a, 50, u32(0, 0), 2), 2); // exactly fits
  });

  it('writeBatch and udpSendBatch reject out-of-range regions, including u32 overflow', () => {
    const a = Buffer.alloc(100);
    rejects(() => raw.writeBatch(devNull, a, u32(90), u32(11), 1));
    rejects(() => raw.writeBatch(devNull, a, u32(0xffffffff), u32(2), 1));
    rejects(() => raw.writeBatch(devNull, a, u32(0), u32(0xffffffff), 1));
    rejects(() => raw.writeBatch(devNull, a, u32(0), u32(1), 2));
    assert.equal(raw.writeBatch(devNull, a, u32(90, 0), u32(10, 100), 2), 2);
    const fd = raw.udpOpen('127.0.0.1', 0, 65536, false);
    try {
      rejects(() => raw.udpSendBatch(fd, a, u32(0), u32(1), u32(0x7f000001), 1));
      rejects(() => raw.udpSendBatch(fd, a, u32(0), u32(1), u32(0x7f000001, 65536), 1));
      rejects(() => raw.udpSendBatch(fd, a, u32(0), u32(101), u32(0x7f000001, 9), 1));
      rejects(() => raw.udpSendBatch(fd, a, u32(0), u32(1), u32(0x7f000001, 9), 1, new Uint8Array(0)));
      rejects(() => raw.udpSendBatch(fd, a, u32(0), u32(1), u32(0x7f000001, 9), 1, [0] as never), TypeError);
      rejects(() => raw.udpRecvBatch(fd, a, 10, u32(0, 0), u32(0, 0), 2));
      rejects(() => raw.udpRecvBatch(fd, a, 60, u32(0, 0), u32(0, 0, 0, 0), 2));
      assert.equal(raw.udpRecvBatch(fd, a, 50, u32(0, 0), u32(0, 0, 0, 0), 2), 0);
    } finally {
      raw.close(fd);
    }
  });

  it('AEAD rejects bad keys, algorithms, handles, nonces and regions', () => {
    rejects(() => raw.aeadCreate('aes-128-gcm', Buffer.alloc(32)));
    rejects(() => raw.aeadCreate('aes-256-gcm', Buffer.alloc(31)));
    rejects(() => raw.aeadCreate('aes-256-gcm', 'k'.repeat(32) as never), TypeError);
    const h = raw.aeadCreate('aes-256-gcm', Buffer.alloc(32, 7));
    const a = Buffer.alloc(64);
    const n = Buffer.alloc(24);
    rejects(() => raw.aeadSealBatch(h, a, u32(0), u32(49), n, u32(0), u32(0), 1)); // 49 + 16 > 64
    assert.equal(raw.aeadSealBatch(h, a, u32(0), u32(48), n, u32(0), u32(0), 1), 1); // exactly fits
    rejects(() => raw.aeadSealBatch(h, a, u32(0, 0), u32(1, 1), n.subarray(0, 23), u32(0, 0), u32(0, 0), 2));
    rejects(() => raw.aeadSealBatch(h, a, u32(0), u32(1), n, u32(60), u32(5), 1));
    rejects(() => raw.aeadSealBatch(h, a, u32(0), u32(1), n, u32(0), u32(0), 2));
    rejects(() => raw.aeadOpenBatch(h, a, u32(0), u32(65), n, u32(0), u32(0), new Uint8Array(1), 1));
    rejects(() => raw.aeadOpenBatch(h, a, u32(0), u32(16), n, u32(0), u32(0), new Uint8Array(0), 1));
    rejects(() => raw.aeadSealBatch({} as never, a, u32(0), u32(1), n, u32(0), u32(0), 1), TypeError);
    const sock = raw.udpOpen('127.0.0.1', 0, 65536, false);
    const ph = raw.pollStart(sock, () => {});
    raw.close(sock); // also stops the poll
    raw.pollStop(ph);
    rejects(() => raw.aeadSealBatch(ph as never, a, u32(0), u32(1), n, u32(0), u32(0), 1), TypeError);
    rejects(() => raw.pollStop(h as never), TypeError);
    raw.aeadFree(h);
    raw.aeadFree(h);
    assert.throws(() => raw.aeadSealBatch(h, a, u32(0), u32(1), n, u32(0), u32(0), 1), { code: 'ERR_WEFT_CLOSED' });
  });

  it('tapOpen, udpOpen, pathMtu and pollStart reject malformed input', () => {
    rejects(() => raw.tapOpen('x'.repeat(16)));
    rejects(() => raw.tapOpen(''));
    rejects(() => raw.tapOpen('a/b'));
    rejects(() => raw.tapOpen('tap%d'));
    rejects(() => raw.tapOpen('wft\0x'));
    rejects(() => raw.tapOpen('wftx', 11));
    rejects(() => raw.udpOpen('1.2.3', 0, 65536, false));
    rejects(() => raw.udpOpen('127.0.0.1', 65536, 65536, false));
    rejects(() => raw.udpOpen('127.0.0.1', 0, 100, false));
    rejects(() => raw.udpOpen('127.0.0.1', 0, 65536, 1 as never), TypeError);
    rejects(() => raw.pathMtu('not-an-ip'));
    rejects(() => raw.pollStart(devNull, 'cb' as never), TypeError);
    assert.throws(() => raw.close(0x7ffffff0), { code: 'EBADF', syscall: 'close' });
  });

  it('fuzz: AEAD batches either throw RangeError (exactly when the model says so) or stay in bounds', () => {
    const h = raw.aeadCreate('chacha20-poly1305', Buffer.alloc(32, 1));
    const edge = fc.oneof(fc.nat(300), fc.constantFrom(0xffffffff, 0xfffffff0, 0x7fffffff, 2 ** 31));
    fc.assert(fc.property(
      fc.nat(260), fc.nat(8), fc.array(edge, { maxLength: 8 }), fc.array(edge, { maxLength: 8 }),
      fc.array(edge, { maxLength: 8 }), fc.array(edge, { maxLength: 8 }), fc.nat(100), fc.boolean(),
      (arenaLen, count, offs, lens, adOffs, adLens, nonceLen, open) => {
        const g = guarded(arenaLen);
        const nonces = Buffer.alloc(nonceLen);
        const ok = new Uint8Array(8);
        const room = open ? 0 : 16;
        const fits = (o: number, l: number) => o + l <= arenaLen;
        const valid = count <= Math.min(offs.length, lens.length, adOffs.length, adLens.length)
          && 12 * count <= nonceLen
          && offs.slice(0, count).every((o, i) => lens[i]! <= 0x7fffffef && adLens[i]! <= 0x7fffffef && fits(o, lens[i]! + room) && fits(adOffs[i]!, adLens[i]!));
        const call = () => open
          ? raw.aeadOpenBatch(h, g.view, new Uint32Array(offs), new Uint32Array(lens), nonces, new Uint32Array(adOffs), new Uint32Array(adLens), ok, count)
          : raw.aeadSealBatch(h, g.view, new Uint32Array(offs), new Uint32Array(lens), nonces, new Uint32Array(adOffs), new Uint32Array(adLens), count);
        if (valid) {
          const r = call();
          assert.ok(r >= 0 && r <= count);
        } else {
          rejects(call);
        }
        assert.ok(g.intact(), 'guard bytes around the arena changed');
      }), { numRuns: 500 });
    raw.aeadFree(h);
  });

  it('fuzz: readBatch/writeBatch accept exactly the in-bounds shapes and never touch guard bytes', () => {
    fc.assert(fc.property(fc.nat(200), fc.nat(70), fc.nat(10), fc.nat(10),
      fc.array(fc.oneof(fc.nat(220), fc.constant(0xffffffff)), { maxLength: 10 }), fc.boolean(),
      (arenaLen, stride, max, lensLen, offs, doRead) => {
        const g = guarded(arenaLen);
        const lens = new Uint32Array(lensLen);
        if (doRead) {
          const valid = stride >= 1 && max <= lensLen && stride * max <= arenaLen;
          const call = () => raw.readBatch(devZero, g.view, stride, lens, max);
          if (valid) assert.equal(call(), max); else rejects(call);
          if (valid) assert.ok(lens.subarray(0, max).every((l) => l === LEN_TRUNCATED), 'a full slot counts as truncated');
        } else {
          const o = new Uint32Array(offs);
          const l = new Uint32Array(offs.map((x) => (x * 7 + stride) % 64));
          const count = Math.min(max, 10);
          const valid = count <= o.length && Array.from(o.subarray(0, count)).every((x, i) => x + l[i]! <= arenaLen);
          const call = () => raw.writeBatch(devNull, g.view, o, l, count);
          if (valid) assert.equal(call(), count); else rejects(call);
        }
        assert.ok(g.intact());
      }), { numRuns: 500 });
  });
});

describe('native addon: TypeScript wrapper', { skip }, () => {
  it('turns C errors into WeftErrors with the original as cause', () => {
    const n = dp as NativeDataplane;
    assert.throws(() => n.readBatch(0, Buffer.alloc(10), 20, u32(0), 1), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
    assert.throws(() => n.close(0x7ffffff0), (e) => isWeftError(e, 'WEFT_ERR_HOST') && (e.cause as { code?: string }).code === 'EBADF');
    assert.throws(() => n.udpOpen('nope', 1), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && e.cause instanceof RangeError);
    const h = n.aeadCreate('aes-256-gcm', Buffer.alloc(32));
    n.aeadFree(h);
    assert.throws(() => n.aeadSealBatch(h, Buffer.alloc(32), u32(0), u32(0), Buffer.alloc(12), u32(0), u32(0), 1), (e) => isWeftError(e, 'WEFT_ERR_CLOSED'));
    assert.equal(typeof n.opensslVersion(), 'string');
    if (process.arch === 'x64') assert.equal(n.hasAesNi(), / aes( |$)/m.test(readFileSync('/proc/cpuinfo', 'utf8')));
  });
});

/** Seal `msgs` (with ADs) in one batch in a fresh arena; returns arena + layout. */
function sealAll(n: NativeDataplane, h: ReturnType<NativeDataplane['aeadCreate']>, msgs: Buffer[], ads: Buffer[], nonces: Buffer) {
  const offs = new Uint32Array(msgs.length), lens = new Uint32Array(msgs.length);
  const adOffs = new Uint32Array(msgs.length), adLens = new Uint32Array(msgs.length);
  let size = 0;
  msgs.forEach((m, i) => { adOffs[i] = size; adLens[i] = ads[i]!.length; size += ads[i]!.length; offs[i] = size; lens[i] = m.length; size += m.length + 16; });
  const arena = Buffer.alloc(size);
  msgs.forEach((m, i) => { ads[i]!.copy(arena, adOffs[i]); m.copy(arena, offs[i]); });
  assert.equal(n.aeadSealBatch(h, arena, offs, lens, nonces, adOffs, adLens, msgs.length), msgs.length);
  return { arena, offs, lens, adOffs, adLens };
}

describe('native addon: AEAD', { skip }, () => {
  const sizes = [0, 1, 15, 16, 17, 64, 1400, 9000];

  for (const alg of ALGS) {
    it(`${alg}: seal/open round trip for sizes ${sizes.join(',')} with and without AD`, () => {
      const n = dp as NativeDataplane;
      const h = n.aeadCreate(alg, randomBytes(32));
      const msgs = sizes.map((s) => randomBytes(s));
      const ads = sizes.map((s, i) => randomBytes(i % 2 ? 0 : 1 + (s % 40)));
      const nonces = randomBytes(12 * sizes.length);
      const s = sealAll(n, h, msgs, ads, nonces);
      const sealed = Buffer.from(s.arena);
      const openLens = s.lens.map((l) => l + 16);
      const ok = new Uint8Array(sizes.length);
      assert.equal(n.aeadOpenBatch(h, s.arena, s.offs, openLens, nonces, s.adOffs, s.adLens, ok, sizes.length), sizes.length);
      msgs.forEach((m, i) => assert.deepEqual(s.arena.subarray(s.offs[i], s.offs[i]! + m.length), m));
      assert.notDeepEqual(sealed, s.arena);
      n.aeadFree(h);
    });
  }

  it('chacha20-poly1305 output is byte-identical to sodium-native and opens each other', () => {
    const n = dp as NativeDataplane;
    const key = randomBytes(32), nonce = randomBytes(12), ad = randomBytes(13), m = randomBytes(1400);
    const h = n.aeadCreate('chacha20-poly1305', key);
    const s = sealAll(n, h, [m], [ad], nonce);
    const c = Buffer.alloc(m.length + 16);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, ad, null, nonce, key);
    assert.deepEqual(s.arena.subarray(s.offs[0], s.offs[0]! + c.length), c);
    // sodium → ours
    const arena = Buffer.concat([c]);
    const ok = new Uint8Array(1);
    assert.equal(n.aeadOpenBatch(h, arena, u32(0), u32(c.length), nonce, u32(0), u32(0), ok, 1), 0); // AD missing
    const arena2 = Buffer.concat([ad, c]);
    assert.equal(n.aeadOpenBatch(h, arena2, u32(ad.length), u32(c.length), nonce, u32(0), u32(ad.length), ok, 1), 1);
    assert.deepEqual(arena2.subarray(ad.length, ad.length + m.length), m);
    n.aeadFree(h);
  });

  it('aes-256-gcm output is byte-identical to node:crypto', () => {
    const n = dp as NativeDataplane;
    const key = randomBytes(32), nonce = randomBytes(12), ad = randomBytes(20), m = randomBytes(777);
    const h = n.aeadCreate('aes-256-gcm', key);
    const s = sealAll(n, h, [m], [ad], nonce);
    const ci = createCipheriv('aes-256-gcm', key, nonce).setAAD(ad);
    const expect = Buffer.concat([ci.update(m), ci.final(), ci.getAuthTag()]);
    assert.deepEqual(s.arena.subarray(s.offs[0], s.offs[0]! + expect.length), expect);
    n.aeadFree(h);
  });

  for (const alg of ALGS) {
    it(`${alg}: batch of 64 mixed messages, tampered ones fail and stay byte-identical`, () => {
      const n = dp as NativeDataplane;
      const h = n.aeadCreate(alg, randomBytes(32));
      const count = 64;
      const msgs = Array.from({ length: count }, (_, i) => randomBytes((i * 97) % 1500));
      const ads = Array.from({ length: count }, (_, i) => randomBytes(i % 3 === 0 ? 0 : 8 + (i % 5)));
      const nonces = randomBytes(12 * count);
      const s = sealAll(n, h, msgs, ads, nonces);
      const openLens = s.lens.map((l) => l + 16);
      const tampered = new Set<number>();
      for (let i = 0; i < count; i += 5) {
        const where = i % 3; // 0: ciphertext/tag byte, 1: AD byte (or tag), 2: nonce
        if (where === 0 || (where === 1 && s.adLens[i] === 0)) s.arena[s.offs[i]! + ((i * 13) % openLens[i]!)]! ^= 0x40;
        else if (where === 1) s.arena[s.adOffs[i]!]! ^= 0x01;
        else nonces[12 * i + 3]! ^= 0x80;
        tampered.add(i);
      }
      const before = Buffer.from(s.arena);
      const ok = new Uint8Array(count).fill(7);
      assert.equal(n.aeadOpenBatch(h, s.arena, s.offs, openLens, nonces, s.adOffs, s.adLens, ok, count), count - tampered.size);
      for (let i = 0; i < count; i++) {
        const region = [s.offs[i]!, s.offs[i]! + openLens[i]!] as const;
        if (tampered.has(i)) {
          assert.equal(ok[i], 0, `message ${i} should fail`);
          assert.deepEqual(s.arena.subarray(...region), before.subarray(...region), `message ${i} changed`);
        } else {
          assert.equal(ok[i], 1, `message ${i} should verify`);
          assert.deepEqual(s.arena.subarray(region[0], region[0] + msgs[i]!.length), msgs[i]);
        }
      }
      // A message shorter than the tag never verifies.
      assert.equal(n.aeadOpenBatch(h, s.arena, u32(0), u32(15), nonces, u32(0), u32(0), ok, 1), 0);
      n.aeadFree(h);
    });
  }
});
