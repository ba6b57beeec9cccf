/**
 * Structure-unaware mutations of a valid message: bit flips, byte insertions and deletions,
 * boundary integers written over any field width (length fields, counts, versions), truncation,
 * splicing with a second valid message, chunk duplication. Each mutation returns a new Buffer;
 * inputs are never modified.
 */
import type { Rng } from './rng.js';

/** Names of the mutations, for statistics. */
export const MUTATIONS = ['flip', 'byte', 'insert', 'delete', 'int', 'varint', 'truncate', 'splice', 'duplicate', 'append'] as const;
export type MutationName = (typeof MUTATIONS)[number];

/** A position, biased to the first bytes (headers, counts and length fields live there). */
function position(rng: Rng, len: number): number {
  if (len === 0) return 0;
  return rng.chance(0.5) ? rng.int(Math.min(len, 24)) : rng.int(len);
}

function writeInt(rng: Rng, b: Buffer, v: number): Buffer {
  const widths = [1, 2, 4, 8];
  const w = rng.pick(widths);
  if (b.length < w) return b;
  const at = position(rng, b.length - w + 1);
  const out = Buffer.from(b);
  const little = rng.chance(0.3);
  if (w === 1) out[at] = v & 0xff;
  else if (w === 2) { if (little) out.writeUInt16LE(v & 0xffff, at); else out.writeUInt16BE(v & 0xffff, at); }
  else if (w === 4) { if (little) out.writeUInt32LE(v >>> 0, at); else out.writeUInt32BE(v >>> 0, at); }
  else {
    const big = BigInt(Math.floor(Math.abs(v))) & 0xffffffffffffffffn;
    if (little) out.writeBigUInt64LE(big, at); else out.writeBigUInt64BE(big, at);
  }
  return out;
}

/** Unsigned LEB128 of `v` (any width; may be longer than canonical when `pad`). */
function leb128(v: number, pad: number): Buffer {
  const bytes: number[] = [];
  let x = Math.floor(Math.abs(v));
  do {
    let byte = x % 0x80;
    x = Math.floor(x / 0x80);
    if (x > 0 || pad > 0) byte |= 0x80;
    bytes.push(byte);
  } while (x > 0);
  while (pad-- > 0) bytes.push(pad > 0 ? 0x80 : 0);
  return Buffer.from(bytes);
}

/** Apply one mutation chosen at random; `other` is a second valid message for splicing. */
export function mutateOnce(rng: Rng, b: Buffer, other: Buffer): { out: Buffer; kind: MutationName } {
  const kind = rng.pick(MUTATIONS);
  const len = b.length;
  switch (kind) {
    case 'flip': {
      if (len === 0) return { out: rng.bytes(1), kind };
      const out = Buffer.from(b);
      const n = rng.range(1, 4);
      for (let i = 0; i < n; i++) {
        const at = position(rng, len);
        out[at] = (out[at] ?? 0) ^ (1 << rng.int(8));
      }
      return { out, kind };
    }
    case 'byte': {
      if (len === 0) return { out: rng.bytes(1), kind };
      const out = Buffer.from(b);
      out[position(rng, len)] = rng.pick([0, 1, 0x7f, 0x80, 0xfe, 0xff, rng.int(256)]);
      return { out, kind };
    }
    case 'insert': {
      const at = position(rng, len + 1);
      return { out: Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)]), kind };
    }
    case 'delete': {
      if (len === 0) return { out: b, kind };
      const at = position(rng, len);
      const n = rng.range(1, Math.min(8, len - at));
      return { out: Buffer.concat([b.subarray(0, at), b.subarray(at + n)]), kind };
    }
    case 'int':
      return { out: writeInt(rng, b, rng.boundary()), kind };
    case 'varint': {
      // a count or length as a (possibly overlong or huge) varint spliced in at a field start
      const at = position(rng, len + 1);
      const enc = leb128(rng.boundary(), rng.chance(0.1) ? rng.range(1, 3) : 0);
      const replace = rng.chance(0.5) ? Math.min(enc.length, len - at) : 0;
      return { out: Buffer.concat([b.subarray(0, at), enc, b.subarray(at + replace)]), kind };
    }
    case 'truncate':
      return { out: b.subarray(0, len === 0 ? 0 : rng.int(len)), kind };
    case 'splice': {
      const cut = rng.int(len + 1);
      const from = rng.int(other.length + 1);
      return { out: Buffer.concat([b.subarray(0, cut), other.subarray(from)]), kind };
    }
    case 'duplicate': {
      if (len === 0) return { out: b, kind };
      const at = rng.int(len);
      const n = rng.range(1, Math.min(64, len - at));
      const chunk = b.subarray(at, at + n);
      const times = rng.range(1, 4);
      return { out: Buffer.concat([b.subarray(0, at + n), ...new Array<Buffer>(times).fill(chunk), b.subarray(at + n)]), kind };
    }
    case 'append':
      return { out: Buffer.concat([b, rng.bytes(rng.range(1, 32))]), kind };
  }
}

/** One to three mutations in a row. */
export function mutate(rng: Rng, b: Buffer, other: Buffer): Buffer {
  let out = b;
  const n = rng.chance(0.6) ? 1 : rng.range(2, 3);
  for (let i = 0; i < n; i++) out = mutateOnce(rng, out, other).out;
  return out;
}
