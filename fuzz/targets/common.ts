/** Helpers shared by the targets: random peer names, deep equality that throws, etc. */
import assert from 'node:assert/strict';
import { peerNameFromBytes, type PeerName } from '../../src/net/index.js';
import type { Rng } from '../rng.js';

/** A random peer name; from a small pool half the time so that duplicates and order matter. */
export function peerName(rng: Rng): PeerName {
  if (rng.chance(0.5)) return peerNameFromBytes(Buffer.from([2, 0, 0, 0, 0, rng.int(16)]), 0);
  return peerNameFromBytes(rng.bytes(6), 0);
}

/** `n` distinct peer names, sorted. */
export function sortedNames(rng: Rng, n: number): PeerName[] {
  const set = new Set<PeerName>();
  for (let i = 0; i < n * 2 && set.size < n; i++) set.add(peerNameFromBytes(rng.bytes(6), 0));
  return [...set].sort();
}

/** Throws (an AssertionError: a fuzz failure) unless a and b are deeply equal. */
export function same(actual: unknown, expected: unknown, what: string): void {
  assert.deepStrictEqual(actual, expected, what);
}

/** Throws unless two buffers hold the same bytes. */
export function sameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (!actual.equals(expected)) assert.fail(`${what}: re-encoded ${actual.toString('hex').slice(0, 120)} ≠ input ${expected.toString('hex').slice(0, 120)}`);
}

/** A random u64 as a bigint, never 0 when `nonZero`. */
export function u64(rng: Rng, nonZero = false): bigint {
  const v = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
  return nonZero && v === 0n ? 1n : v;
}

/** A varint-sized number: small mostly, sometimes up to 2^53-1. */
export function varintValue(rng: Rng, max = Number.MAX_SAFE_INTEGER): number {
  const r = rng.int(4);
  const v = r === 0 ? rng.int(128) : r === 1 ? rng.int(1 << 14) : r === 2 ? rng.u32() : rng.u32() * 0x20_0000 + rng.int(0x20_0000);
  return Math.min(max, v);
}
