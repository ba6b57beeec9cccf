import { WeftError, PEER_NAME_BYTES, missingIndex } from '../common/index.js';
import { peerNameFromBytes, peerNameToBytes, type PeerName } from './peer-name.js';

/**
 * Bounds-checked binary codec shared by every wire format in weft. All integers are
 * big-endian (network order). Variable-length fields:
 *
 *   bytes   u32 length + raw bytes     (reader enforces a caller-given maximum)
 *   string  u16 length + UTF-8 bytes   (reader enforces a caller-given maximum)
 *   varint  unsigned LEB128, 1..8 bytes, canonical (shortest) form, value ≤ 2^53-1
 *   peerName 6 raw bytes
 *
 * Encodings are canonical: one value has exactly one encoding, and the reader rejects every
 * other byte sequence, so re-encoding a decoded message gives back the same bytes.
 */

const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;
const MAX_U64 = (1n << 64n) - 1n;
/** Longest canonical varint (7 payload bits per byte, 53-bit values). bytes */
const MAX_VARINT_BYTES = 8;
const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

function writerMisuse(msg: string): WeftError {
  return new WeftError('WEFT_ERR_INTERNAL', `codec writer: ${msg}`);
}

/**
 * Growable encoder. Lifecycle: create, append fields, call `finish()` once. `finish()` returns a
 * view of the internal buffer (no copy); the writer refuses further writes afterwards, so the
 * returned bytes never change. Writing an out-of-range value is a programming error and throws
 * `WEFT_ERR_INTERNAL`.
 */
export class Writer {
  private buf: Buffer;
  private pos = 0;
  private finished = false;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity | 0));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.finished) throw writerMisuse('write after finish()');
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw writerMisuse(`u8 out of range: ${v}`);
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > MAX_U16) throw writerMisuse(`u16 out of range: ${v}`);
    this.ensure(2);
    this.buf[this.pos] = v >>> 8;
    this.buf[this.pos + 1] = v & 0xff;
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > MAX_U32) throw writerMisuse(`u32 out of range: ${v}`);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) throw writerMisuse(`u64 out of range: ${String(v)}`);
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Unsigned LEB128 of a safe integer (0 ≤ v ≤ 2^53-1). */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw writerMisuse(`varint out of range: ${v}`);
    this.ensure(MAX_VARINT_BYTES);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** Raw bytes without a length prefix (fixed-size fields). */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Raw bytes given as a latin1 string (each char 0..255 is one byte), no length prefix. */
  latin1(s: string): this {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, s.length, 'latin1');
    return this;
  }

  /** u32 length + bytes. */
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    return this.raw(b);
  }

  /** u16 length + UTF-8 (lone surrogates are encoded as U+FFFD, as Buffer does). */
  string(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    if (n > MAX_U16) throw writerMisuse(`string of ${n} bytes over the u16 length limit`);
    this.u16(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
    return this;
  }

  /** 6 raw bytes of a normalised peer name (WEFT_ERR_BAD_ARGS if malformed). */
  peerName(name: PeerName): this {
    this.ensure(PEER_NAME_BYTES);
    peerNameToBytes(name, this.buf, this.pos);
    this.pos += PEER_NAME_BYTES;
    return this;
  }

  /** The encoded bytes (a view, not a copy). The writer is unusable afterwards. */
  finish(): Buffer {
    if (this.finished) throw writerMisuse('finish() called twice');
    this.finished = true;
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * Bounds-checked decoder over one Buffer. Every read checks the remaining length first and
 * throws `WeftError('WEFT_ERR_DECODE', '<context> <what>: needed N bytes at offset O, have M')`;
 * nothing else is ever thrown for bad input. `bytes()`/`raw()` return views into the input
 * (copy them if you keep them beyond the input's lifetime). Call `end()` to assert that the
 * whole input was consumed.
 */
export class Reader {
  private pos = 0;

  /** @param context names the message in errors, e.g. 'topology update'. */
  constructor(readonly buf: Buffer, readonly context = 'message') {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** A DECODE error carrying the reader's context and current offset. */
  fail(what: string, detail: string): WeftError {
    return new WeftError('WEFT_ERR_DECODE', `${this.context} ${what}: ${detail} at offset ${this.pos}`);
  }

  private need(n: number, what: string): void {
    if (this.buf.length - this.pos < n) {
      throw new WeftError('WEFT_ERR_DECODE',
        `${this.context} ${what}: needed ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos}`);
    }
  }

  /** Check that `n` bytes remain, step past them and return the offset where they start. */
  private take(n: number, what: string): number {
    this.need(n, what);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The byte at `i`, which a take()/need() already proved to be inside the buffer. */
  private byte(i: number): number {
    return this.buf[i] ?? missingIndex('codec reader', i);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    const p = this.pos++;
    return this.buf[p] ?? missingIndex('codec reader', p);
  }

  /** One byte that must be 0 or 1. */
  bool(what = 'bool'): boolean {
    const v = this.u8(what);
    if (v > 1) {
      this.pos--;
      throw this.fail(what, `bad boolean ${v}`);
    }
    return v === 1;
  }

  // Indexed reads, not Buffer#readUInt16BE/readUInt32BE: those are several times slower here.
  u16(what = 'u16'): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return ((b[p] ?? missingIndex('codec reader', p)) << 8) | (b[p + 1] ?? missingIndex('codec reader', p + 1));
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    const b0 = b[p] ?? missingIndex('codec reader', p), b1 = b[p + 1] ?? missingIndex('codec reader', p + 1);
    const b2 = b[p + 2] ?? missingIndex('codec reader', p + 2), b3 = b[p + 3] ?? missingIndex('codec reader', p + 3);
    return b0 * 0x1000000 + ((b1 << 16) | (b2 << 8) | b3);
  }

  u64(what = 'u64'): bigint {
    return this.buf.readBigUInt64BE(this.take(8, what));
  }

  /** Canonical unsigned LEB128 ≤ 2^53-1; overlong, oversized or truncated forms are refused. */
  varint(what = 'varint'): number {
    const b = this.buf;
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (start + i >= b.length) {
        throw new WeftError('WEFT_ERR_DECODE',
          `${this.context} ${what}: needed ${i + 1} bytes at offset ${start}, have ${b.length - start}`);
      }
      const byte = this.byte(start + i);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw this.fail(what, 'non-canonical varint');
        if (value > Number.MAX_SAFE_INTEGER) throw this.fail(what, 'varint over 2^53-1');
        this.pos = start + i + 1;
        return value;
      }
      scale *= 0x80;
    }
    throw this.fail(what, `varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  /** A view of the next `n` bytes (fixed-size field, no length prefix). */
  raw(n: number, what = 'raw'): Buffer {
    const at = this.take(n, what);
    return this.buf.subarray(at, at + n);
  }

  /** Skip `n` bytes. */
  skip(n: number, what = 'skip'): void {
    this.take(n, what);
  }

  /** u32 length (≤ maxLen) + bytes, as a view. */
  bytes(maxLen: number, what = 'bytes'): Buffer {
    const n = this.u32(what);
    if (n > maxLen) {
      this.pos -= 4;
      throw this.fail(what, `length ${n} over limit ${maxLen}`);
    }
    return this.raw(n, what);
  }

  /** u16 length (≤ maxBytes) + strict UTF-8 (invalid sequences are DECODE errors). */
  string(maxBytes: number, what = 'string'): string {
    const start = this.stringStart(maxBytes, what);
    const end = this.pos;
    if (start < 0) return this.buf.toString('latin1', -start - 1, end);
    try {
      return utf8Fatal.decode(this.buf.subarray(start, end));
    } catch {
      this.pos = start - 2;
      throw this.fail(what, 'invalid UTF-8');
    }
  }

  /** Validate a string exactly like `string()` without building it; returns its byte length. */
  skipString(maxBytes: number, what = 'string'): number {
    const start = this.stringStart(maxBytes, what);
    if (start >= 0) {
      try {
        utf8Fatal.decode(this.buf.subarray(start, this.pos));
      } catch {
        this.pos = start - 2;
        throw this.fail(what, 'invalid UTF-8');
      }
      return this.pos - start;
    }
    return this.pos + start + 1;
  }

  /**
   * Read a string's length prefix, check the limit and skip its bytes. Returns the start offset
   * when the bytes need UTF-8 decoding, or -(start+1) when they are plain ASCII.
   */
  private stringStart(maxBytes: number, what: string): number {
    const n = this.u16(what);
    if (n > maxBytes) {
      this.pos -= 2;
      throw this.fail(what, `length ${n} over limit ${maxBytes}`);
    }
    this.need(n, what);
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    for (let i = start; i < end; i++) {
      if (this.byte(i) >= 0x80) return start;
    }
    return -start - 1;
  }

  peerName(what = 'peer name'): PeerName {
    return peerNameFromBytes(this.buf, this.take(PEER_NAME_BYTES, what));
  }

  /** Assert that every byte was consumed. */
  end(what = 'end'): void {
    if (this.pos !== this.buf.length) throw this.fail(what, `${this.buf.length - this.pos} trailing bytes`);
  }
}
