/**
 * Handshake message 1 timestamp (TAI64N-like, without the TAI offset): u64 seconds since the
 * Unix epoch ‖ u32 nanoseconds (< 10^9), both big-endian, 12 bytes. Pure; internal to src/crypto.
 */
import { HANDSHAKE_TIMESTAMP_BYTES } from '../common/index.js';

/** Encode a millisecond wall-clock time (as from Date.now()). */
export function encodeTimestamp(ms: number): Buffer {
  const out = Buffer.alloc(HANDSHAKE_TIMESTAMP_BYTES);
  const whole = Math.floor(ms);
  const seconds = Math.floor(whole / 1000);
  out.writeBigUInt64BE(BigInt(Math.max(0, seconds)), 0);
  out.writeUInt32BE((whole - seconds * 1000) * 1_000_000, 8);
  return out;
}

/** Decode to milliseconds since the epoch, or null when the bytes are not a valid timestamp. */
export function decodeTimestamp(buf: Buffer): number | null {
  if (buf.length !== HANDSHAKE_TIMESTAMP_BYTES) return null;
  const seconds = buf.readBigUInt64BE(0);
  const nanos = buf.readUInt32BE(8);
  if (nanos >= 1_000_000_000 || seconds > BigInt(Number.MAX_SAFE_INTEGER) / 1000n) return null;
  return Number(seconds) * 1000 + Math.floor(nanos / 1_000_000);
}
