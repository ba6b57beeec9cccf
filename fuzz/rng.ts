/**
 * Seeded pseudo-random numbers for the fuzzer (xoshiro128**, seeded through splitmix32).
 * Deterministic: the same seed gives the same sequence on every machine, so a failing input
 * is reproduced from (seed, target, index) alone. Not cryptographic.
 */

/** splitmix32 step: a well-mixed 32-bit value from any 32-bit state. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A 32-bit hash of a string (FNV-1a), to give each target its own stream. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Integers at the edges of the usual field widths (0, 1, 2^k - 1, 2^k, 2^k + 1, …). */
export const BOUNDARY_INTS: readonly number[] = [
  0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x101, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xfffe, 0xffff,
  0x10000, 0x10001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 2 ** 32, 2 ** 48, 2 ** 52, 2 ** 53 - 1, 2 ** 53,
];

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = mix32(seed);
    this.b = mix32(this.a ^ 0x1234567);
    this.c = mix32(this.b ^ 0x7654321);
    this.d = mix32(this.c ^ 0x0badf00d) | 1;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const m = Math.imul(this.b, 5);
    const r = (m << 7) | (m >>> 25);
    const result = Math.imul(r, 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = (this.d << 11) | (this.d >>> 21);
    return result;
  }

  /** Uniform integer in [0, n) (n ≤ 2^32). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    const v = xs[this.int(xs.length)];
    if (v === undefined) throw new Error('Rng.pick: empty list');
    return v;
  }

  /** A length biased toward small values: mostly < 16, sometimes up to `max`. */
  smallLength(max: number): number {
    const r = this.int(8);
    if (r < 5) return Math.min(max, this.int(16));
    if (r < 7) return Math.min(max, this.int(256));
    return this.int(max + 1);
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A boundary integer, occasionally a uniform 32-bit one. */
  boundary(): number {
    return this.chance(0.85) ? this.pick(BOUNDARY_INTS) : this.u32();
  }

  /** A short string: ASCII mostly, sometimes multi-byte or astral characters. */
  text(maxChars: number): string {
    const n = this.smallLength(maxChars);
    let s = '';
    for (let i = 0; i < n; i++) {
      const r = this.int(20);
      if (r < 16) s += String.fromCharCode(0x61 + this.int(26));
      else if (r < 18) s += String.fromCharCode(0x20 + this.int(0x5f));
      else if (r < 19) s += String.fromCharCode(0xa0 + this.int(0x700));
      else s += String.fromCodePoint(0x1f300 + this.int(0x200));
    }
    return s;
  }
}
