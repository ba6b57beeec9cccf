/**
 * Sleeve datagram codec: the clear header, frame records, heartbeat/probe bodies and the
 * control messages sent over the mesh's TCP connection. Pure functions over Buffers at given
 * offsets; nothing here allocates on the per-datagram path. Layout: see DESIGN.md.
 *
 *   header (20 B, AEAD associated data):
 *     0  u8   version << 4 | type
 *     1  u8   flags   (bit0 PLAIN: not sealed; bit1 AES: sealed with AES-256-GCM, else ChaCha20-Poly1305)
 *     2  6 B  sender peer name
 *     8  u32  key epoch (big endian)
 *     12 u64  counter   (big endian; per sender, per epoch; also the nonce)
 *   body (sealed unless PLAIN; the 16-byte tag follows it):
 *     DATA:       records [src peer 6][dst peer 6][len u16][ethernet frame], one or more
 *     HEARTBEAT:  [flags u8: bit0 heard-you][u32 highest epoch we authenticated from you]
 *     PMTU_PROBE: [u32 probe id][u16 probed IP packet size][zero padding]
 */
import {
  SLEEVE_HEADER_BYTES, SLEEVE_RECORD_HEADER_BYTES, SLEEVE_VERSION, AEAD_TAG_BYTES,
  UDP_IPV4_OVERHEAD_BYTES, ETHERNET_HEADER_BYTES, missingIndex,
} from '../common/index.js';

export const enum DatagramType { Data = 1, Heartbeat = 2, PmtuProbe = 3 }
export const FLAG_PLAIN = 0x01;
export const FLAG_AES = 0x02;
/** Flag bits a receiver understands; others make the datagram malformed. */
export const KNOWN_FLAGS = FLAG_PLAIN | FLAG_AES;

export const HEARTBEAT_BODY_BYTES = 5;
export const HB_HEARD_YOU = 0x01;
export const PROBE_BODY_MIN_BYTES = 6;

/** Control message kinds carried by `sendControl` / `onControl`. */
export const enum ControlKind { PmtuAck = 1 }
export const PMTU_ACK_BYTES = 7;

/** Largest counter we ever emit or accept: stays an exact JS number. */
export const MAX_COUNTER = 2 ** 52;

// ─────────────── peer names and MACs as 48-bit numbers (exact in a double) ───────────────

/** Read 6 bytes big-endian as a number (peer names, MAC addresses). */
export function read48(buf: Buffer, off: number): number {
  return buf.readUInt16BE(off) * 0x1_0000_0000 + buf.readUInt32BE(off + 2);
}

/** Write a 48-bit number as 6 bytes big-endian. */
export function write48(buf: Buffer, off: number, v: number): void {
  buf.writeUInt16BE(Math.floor(v / 0x1_0000_0000), off);
  buf.writeUInt32BE(v >>> 0, off + 2);
}

// ─────────────── header ───────────────

/** Fields of a parsed header (reused object; see {@link readHeader}). */
export interface HeaderView {
  type: number;
  flags: number;
  sender: number;
  epoch: number;
  counter: number;
}

/** Write a header at `off`. */
export function writeHeader(buf: Buffer, off: number, type: DatagramType, flags: number,
  sender: number, epoch: number, counter: number): void {
  buf[off] = (SLEEVE_VERSION << 4) | type;
  buf[off + 1] = flags;
  write48(buf, off + 2, sender);
  buf.writeUInt32BE(epoch >>> 0, off + 8);
  buf.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), off + 12);
  buf.writeUInt32BE(counter >>> 0, off + 16);
}

/**
 * Parse the header of a datagram of `len` bytes at `off` into `out`. Returns false (nothing
 * thrown) for short datagrams, an unknown version/type/flag, a counter beyond MAX_COUNTER, or
 * a body too short for the tag of a sealed datagram.
 */
export function readHeader(buf: Buffer, off: number, len: number, out: HeaderView): boolean {
  if (len < SLEEVE_HEADER_BYTES || off + len > buf.length) return false;
  const b0 = buf[off] ?? missingIndex('sleeve header', off); // in range: checked above
  if (b0 >> 4 !== SLEEVE_VERSION) return false;
  const type = b0 & 0x0f;
  if (type < DatagramType.Data || type > DatagramType.PmtuProbe) return false;
  const flags = buf[off + 1] ?? missingIndex('sleeve header', off + 1);
  if ((flags & ~KNOWN_FLAGS) !== 0 || (flags & FLAG_PLAIN && flags & FLAG_AES)) return false;
  const hi = buf.readUInt32BE(off + 12);
  const counter = hi * 0x1_0000_0000 + buf.readUInt32BE(off + 16);
  if (counter > MAX_COUNTER) return false;
  if (!(flags & FLAG_PLAIN) && len < SLEEVE_HEADER_BYTES + AEAD_TAG_BYTES) return false;
  out.type = type;
  out.flags = flags;
  out.sender = read48(buf, off + 2);
  out.epoch = buf.readUInt32BE(off + 8);
  out.counter = counter;
  return true;
}

/** Write the 12-byte AEAD nonce for (epoch, counter) at `off` of `nonces`. */
export function writeNonce(nonces: Buffer, off: number, epoch: number, counter: number): void {
  nonces.writeUInt32BE(epoch >>> 0, off);
  nonces.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), off + 4);
  nonces.writeUInt32BE(counter >>> 0, off + 8);
}

// ─────────────── records ───────────────

/** Write a record header at `off`; the frame follows at off + 14. */
export function writeRecordHeader(buf: Buffer, off: number, src: number, dst: number, frameLen: number): void {
  write48(buf, off, src);
  write48(buf, off + 6, dst);
  buf.writeUInt16BE(frameLen, off + 12);
}

/**
 * Visit every record of a DATA body `[off, off+len)`. The visitor gets the origin and
 * destination peer numbers and the frame's offset/length inside `buf`. Returns false if the
 * body is malformed (a record runs past the end, a frame is shorter than an Ethernet header,
 * or trailing bytes remain); records before the malformed one have been visited. Never throws
 * for bad input.
 */
export function forEachRecord(buf: Buffer, off: number, len: number,
  visit: (src: number, dst: number, frameOff: number, frameLen: number) => void): boolean {
  const end = off + len;
  if (len <= 0 || end > buf.length) return false;
  let p = off;
  while (p < end) {
    if (end - p < SLEEVE_RECORD_HEADER_BYTES) return false;
    const flen = buf.readUInt16BE(p + 12);
    const fOff = p + SLEEVE_RECORD_HEADER_BYTES;
    if (flen < ETHERNET_HEADER_BYTES || fOff + flen > end) return false;
    visit(read48(buf, p), read48(buf, p + 6), fOff, flen);
    p = fOff + flen;
  }
  return true;
}

// ─────────────── control messages (over the mesh's TCP connection) ───────────────

/** PMTU acknowledgement: [kind][u32 probe id][u16 size]. */
export function encodePmtuAck(probeId: number, size: number): Buffer {
  const b = Buffer.alloc(PMTU_ACK_BYTES);
  b[0] = ControlKind.PmtuAck;
  b.writeUInt32BE(probeId >>> 0, 1);
  b.writeUInt16BE(size, 5);
  return b;
}

/** Decode a control message; null for unknown kinds or bad lengths (ignored, never thrown). */
export function decodeControl(msg: Buffer): { kind: ControlKind.PmtuAck; probeId: number; size: number } | null {
  if (msg.length === PMTU_ACK_BYTES && msg[0] === ControlKind.PmtuAck) {
    return { kind: ControlKind.PmtuAck, probeId: msg.readUInt32BE(1), size: msg.readUInt16BE(5) };
  }
  return null;
}

// ─────────────── MTU arithmetic ───────────────

/** Bytes a sealed (or plain) single-frame datagram adds around the inner IP packet. */
export function sleeveOverheadBytes(encrypted: boolean): number {
  return UDP_IPV4_OVERHEAD_BYTES + SLEEVE_HEADER_BYTES + (encrypted ? AEAD_TAG_BYTES : 0)
    + SLEEVE_RECORD_HEADER_BYTES + ETHERNET_HEADER_BYTES;
}

/**
 * MTU for pods (the bridge, the TAP, container veths) given the underlay path MTU: every
 * overhead subtracted (IPv4+UDP 28, header 20, tag 16 if encrypted, record 14, Ethernet 14),
 * so 1500 → 1408 encrypted, 1424 plain.
 */
export function podMtu(underlayMtu: number, encrypted = true): number {
  return underlayMtu - sleeveOverheadBytes(encrypted);
}

/** Largest UDP payload (whole datagram incl. tag) for an underlay path MTU. */
export function maxDatagramBytes(underlayMtu: number): number {
  return underlayMtu - UDP_IPV4_OVERHEAD_BYTES;
}

/** Largest Ethernet frame that fits one datagram on a path of `underlayMtu`. */
export function maxFrameBytes(underlayMtu: number, encrypted: boolean): number {
  return podMtu(underlayMtu, encrypted) + ETHERNET_HEADER_BYTES;
}
