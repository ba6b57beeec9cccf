/**
 * Netlink message codec: building requests and parsing replies and events (rtnetlink links,
 * addresses, routes, neighbours and bridge FDB entries). Pure: no I/O. Host byte order
 * (little-endian on every platform weft runs on), 4-byte attribute alignment.
 *
 * Guarantee: every decoder checks each length against the bytes that are really there before
 * reading; malformed, truncated or hostile input throws WeftError('WEFT_ERR_DECODE') and never
 * reads out of range. Unknown attributes are ignored (the kernel adds new ones over time).
 */
import { WeftError } from '../common/index.js';
import {
  NLA_ALIGNTO, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_ERROR, NLMSG_HDRLEN, NLMSGERR_ATTR_MSG, NLM_F_ACK_TLVS, NLM_F_CAPPED,
} from './netlink-abi.js';

/** An attribute to encode: raw bytes, or nested attributes (NLA_F_NESTED is set for those). */
export interface NlAttr {
  type: number;
  value: Uint8Array | readonly NlAttr[];
}

/** A request to encode. `header` is the family header (ifinfomsg, rtmsg, …). */
export interface NlRequest {
  type: number;
  flags: number;
  seq: number;
  header: Uint8Array;
  attrs?: readonly NlAttr[];
}

/** One decoded message; `payload` is everything after the 16-byte nlmsghdr (a view). */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

const align = (n: number): number => (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
const bad = (what: string): WeftError => new WeftError('WEFT_ERR_DECODE', `netlink: ${what}`);

function attrsLength(attrs: readonly NlAttr[]): number {
  let n = 0;
  for (const a of attrs) n += align(NLA_HDRLEN + valueLength(a));
  return n;
}

function valueLength(a: NlAttr): number {
  return a.value instanceof Uint8Array ? a.value.length : attrsLength(a.value as readonly NlAttr[]);
}

function writeAttrs(buf: Buffer, off: number, attrs: readonly NlAttr[]): number {
  for (const a of attrs) {
    const len = NLA_HDRLEN + valueLength(a);
    if (len > 0xffff) throw new WeftError('WEFT_ERR_INTERNAL', `netlink: attribute ${a.type} too long (${len} bytes)`);
    const nested = !(a.value instanceof Uint8Array);
    buf.writeUInt16LE(len, off);
    buf.writeUInt16LE((a.type & NLA_TYPE_MASK) | (nested ? NLA_F_NESTED : 0), off + 2);
    if (nested) writeAttrs(buf, off + NLA_HDRLEN, a.value as readonly NlAttr[]);
    else buf.set(a.value as Uint8Array, off + NLA_HDRLEN);
    off += align(len);
  }
  return off;
}

/** Encode one request (nlmsghdr + header + attributes; padding zeroed). */
export function encodeRequest(r: NlRequest): Buffer {
  const hdrLen = align(r.header.length);
  const total = NLMSG_HDRLEN + hdrLen + attrsLength(r.attrs ?? []);
  const buf = Buffer.alloc(total);
  buf.writeUInt32LE(total, 0);
  buf.writeUInt16LE(r.type, 4);
  buf.writeUInt16LE(r.flags, 6);
  buf.writeUInt32LE(r.seq >>> 0, 8);
  buf.writeUInt32LE(0, 12);
  buf.set(r.header, NLMSG_HDRLEN);
  writeAttrs(buf, NLMSG_HDRLEN + hdrLen, r.attrs ?? []);
  return buf;
}

/** Split one received datagram into messages (several per datagram in dumps). */
export function decodeMessages(data: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off < data.length) {
    if (data.length - off < NLMSG_HDRLEN) throw bad(`truncated message header at byte ${off}`);
    const len = data.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > data.length - off) throw bad(`message length ${len} at byte ${off} outside the datagram (${data.length} bytes)`);
    out.push({
      type: data.readUInt16LE(off + 4),
      flags: data.readUInt16LE(off + 6),
      seq: data.readUInt32LE(off + 8),
      pid: data.readUInt32LE(off + 12),
      payload: data.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align(len);
  }
  return out;
}

/** Attributes of a region, by type (NLA_F_NESTED masked; a repeated type keeps the last). */
export function parseAttrs(buf: Buffer, start = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  forEachAttr(buf, start, (type, value) => { out.set(type, value); });
  return out;
}

/** Every attribute of a region in order (for lists of repeated types). */
export function forEachAttr(buf: Buffer, start: number, fn: (type: number, value: Buffer) => void): void {
  if (start < 0 || start > buf.length) throw bad(`attributes start at ${start}, outside the ${buf.length}-byte region`);
  let off = start;
  while (buf.length - off >= NLA_HDRLEN) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > buf.length - off) throw bad(`attribute length ${len} at byte ${off} outside its message`);
    fn(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align(len);
  }
}

/** The error (negative errno, 0 for an ack) carried by an NLMSG_ERROR, with the extended-ack text. */
export interface NlErrorReply {
  /** errno as a positive number; 0 = success (an ack). */
  errno: number;
  /** Extended-ack message from the kernel, if it sent one. */
  message?: string;
}

/** Decode the payload of an NLMSG_ERROR message. */
export function decodeError(m: NlMessage): NlErrorReply {
  if (m.type !== NLMSG_ERROR) throw bad(`message type ${m.type} is not NLMSG_ERROR`);
  const p = m.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw bad(`error message of ${p.length} bytes is shorter than errno + the request header`);
  const errno = -p.readInt32LE(0) | 0;
  if (errno < 0 || errno > 4095) throw bad(`error code ${-errno} out of range`);
  const reply: NlErrorReply = { errno };
  if (m.flags & NLM_F_ACK_TLVS) {
    // The echoed request is only its header when NLM_F_CAPPED; otherwise the whole request.
    const echoed = p.readUInt32LE(4);
    const capped = (m.flags & NLM_F_CAPPED) !== 0;
    // echoed is the peer's u32: clamp before aligning (align() is 32-bit bitwise: ≥ 2^31 turns negative)
    const skip = 4 + (capped ? NLMSG_HDRLEN : align(Math.min(echoed, p.length)));
    if (skip <= p.length) {
      const msg = parseAttrs(p, skip).get(NLMSGERR_ATTR_MSG);
      if (msg) reply.message = cString(msg);
    }
  }
  return reply;
}

/** A NUL-terminated (or not) string attribute. */
export function cString(b: Buffer): string {
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z < 0 ? b.length : z);
}

/** A u32 attribute; WEFT_ERR_DECODE when it is not 4 bytes. */
export function u32Attr(b: Buffer | undefined, what: string): number | undefined {
  if (b === undefined) return undefined;
  if (b.length < 4) throw bad(`${what}: ${b.length}-byte value, want 4`);
  return b.readUInt32LE(0);
}

/** Encoders of attribute values. */
export const attr = {
  u8: (type: number, v: number): NlAttr => ({ type, value: Uint8Array.of(v & 0xff) }),
  u16: (type: number, v: number): NlAttr => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return { type, value: b }; },
  be16: (type: number, v: number): NlAttr => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return { type, value: b }; },
  u32: (type: number, v: number): NlAttr => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return { type, value: b }; },
  str: (type: number, s: string): NlAttr => ({ type, value: Buffer.from(`${s}\0`, 'utf8') }),
  bytes: (type: number, v: Uint8Array): NlAttr => ({ type, value: v }),
  nest: (type: number, attrs: readonly NlAttr[]): NlAttr => ({ type, value: attrs }),
};
