import { WeftError, PEER_NAME_BYTES, missingIndex } from '../common/index.js';

/**
 * Peer names: 6 bytes on the wire, printed as lowercase hex pairs joined by ':'
 * ("8e:1f:00:a2:3b:c4"). The printed form is fixed-width lowercase hex, so comparing two
 * normalised names as strings gives the same order as comparing their bytes. The data plane
 * also carries names (and MAC addresses, which share the format) as 48-bit numbers.
 * This is the only place names are parsed or printed.
 */

/** A peer's name, normalised: 6 lowercase hex pairs joined by ':' ("8e:1f:00:a2:3b:c4"). */
export type PeerName = string;

/** ASCII codes of the hex digits (String#charCodeAt is slower in the decode loop). */
const HEX_CODES: readonly number[] = [...'0123456789abcdef'].map((c) => c.charCodeAt(0));

/** Nibble value of an ASCII code, or -1 (accepts upper and lower case). */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

const PRINTED_LENGTH = PEER_NAME_BYTES * 3 - 1;

/** Check (and, when `out` is given, write) the 6 bytes of a printed name in any hex case. */
function parseBytes(s: string, out: Buffer | null, offset: number): boolean {
  if (typeof s !== 'string' || s.length !== PRINTED_LENGTH) return false;
  for (let i = 0; i < PEER_NAME_BYTES; i++) {
    const p = i * 3;
    const hi = nibble(s.charCodeAt(p));
    const lo = nibble(s.charCodeAt(p + 1));
    if (hi < 0 || lo < 0) return false;
    if (i < PEER_NAME_BYTES - 1 && s.charCodeAt(p + 2) !== 58 /* ':' */) return false;
    if (out !== null) out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

/** True when `s` is a *normalised* peer name (lowercase hex pairs joined by ':'). */
export function isPeerName(s: unknown): s is PeerName {
  return typeof s === 'string' && parseBytes(s, null, 0) && s === s.toLowerCase();
}

/**
 * Parse a user-supplied peer name, accepting upper or lower case, and return the normalised
 * form. Throws `WEFT_ERR_BAD_ARGS` on anything else.
 */
export function parsePeerName(s: string): PeerName {
  if (!parseBytes(s, null, 0)) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `bad peer name ${JSON.stringify(String(s)).slice(0, 40)}: want 6 hex pairs joined by ':'`);
  }
  return s.toLowerCase();
}

/**
 * Write the 6 bytes of `name` into `buf` at `offset` (a new 6-byte buffer when omitted) and
 * return the buffer. Throws `WEFT_ERR_BAD_ARGS` for a malformed name and `WEFT_ERR_INTERNAL`
 * when the buffer is too small.
 */
export function peerNameToBytes(name: PeerName, buf?: Buffer, offset = 0): Buffer {
  const out = buf ?? Buffer.allocUnsafe(PEER_NAME_BYTES);
  if (!Number.isInteger(offset) || offset < 0 || offset + PEER_NAME_BYTES > out.length) {
    throw new WeftError('WEFT_ERR_INTERNAL', `peer name: no room for ${PEER_NAME_BYTES} bytes at offset ${offset} of ${out.length}`);
  }
  if (!parseBytes(name, out, offset)) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `bad peer name ${JSON.stringify(String(name)).slice(0, 40)}`);
  }
  return out;
}

/**
 * Read a peer name from 6 bytes of `buf` at `offset`. Throws `WEFT_ERR_DECODE` when fewer than
 * 6 bytes are available there.
 */
export function peerNameFromBytes(buf: Uint8Array, offset = 0): PeerName {
  if (!Number.isInteger(offset) || offset < 0 || offset + PEER_NAME_BYTES > buf.length) {
    const have = Math.max(0, buf.length - (Number.isInteger(offset) && offset > 0 ? offset : 0));
    throw new WeftError('WEFT_ERR_DECODE', `peer name: needed ${PEER_NAME_BYTES} bytes at offset ${offset}, have ${have}`);
  }
  return formatBytes(buf, offset);
}

/** Hex pairs of buf[o, o+6) joined by ':'. Written out flat: this runs for every name decoded. */
function formatBytes(buf: Uint8Array, o: number): PeerName {
  const b0 = buf[o] ?? missingIndex('peer name', o), b1 = buf[o + 1] ?? missingIndex('peer name', o + 1);
  const b2 = buf[o + 2] ?? missingIndex('peer name', o + 2), b3 = buf[o + 3] ?? missingIndex('peer name', o + 3);
  const b4 = buf[o + 4] ?? missingIndex('peer name', o + 4), b5 = buf[o + 5] ?? missingIndex('peer name', o + 5);
  const H = HEX_CODES; // indices b >> 4 and b & 15 are 0..15: the `?? 0` never applies
  // one flat string (concatenation would build a rope that every Map lookup flattens again)
  return String.fromCharCode(
    H[b0 >> 4] ?? 0, H[b0 & 15] ?? 0, 58, H[b1 >> 4] ?? 0, H[b1 & 15] ?? 0, 58,
    H[b2 >> 4] ?? 0, H[b2 & 15] ?? 0, 58, H[b3 >> 4] ?? 0, H[b3 & 15] ?? 0, 58,
    H[b4 >> 4] ?? 0, H[b4 & 15] ?? 0, 58, H[b5 >> 4] ?? 0, H[b5 & 15] ?? 0,
  );
}

const TWO_POW_32 = 0x1_0000_0000;
const MAX_48 = 2 ** 48 - 1;
const NUM_SCRATCH = Buffer.alloc(PEER_NAME_BYTES);

/**
 * A name as the 48-bit number of its bytes (big-endian), as the data plane carries it.
 * Accepts upper or lower case; throws `WEFT_ERR_BAD_ARGS` on anything else.
 */
export function peerNameToNumber(name: string): number {
  if (!parseBytes(name, NUM_SCRATCH, 0)) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `bad peer name ${JSON.stringify(String(name)).slice(0, 40)}: want 6 hex pairs joined by ':'`);
  }
  return NUM_SCRATCH.readUInt16BE(0) * TWO_POW_32 + NUM_SCRATCH.readUInt32BE(2);
}

/** The printed name (or MAC address) of a 48-bit number; WEFT_ERR_INTERNAL outside 0..2^48-1. */
export function peerNameFromNumber(v: number): PeerName {
  if (!Number.isInteger(v) || v < 0 || v > MAX_48) throw new WeftError('WEFT_ERR_INTERNAL', `peer name number out of range: ${v}`);
  NUM_SCRATCH.writeUInt16BE(Math.floor(v / TWO_POW_32), 0);
  NUM_SCRATCH.writeUInt32BE(v >>> 0, 2);
  return formatBytes(NUM_SCRATCH, 0);
}

/** Total order of normalised names; equals the byte order of their wire form. */
export function comparePeerNames(a: PeerName, b: PeerName): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
