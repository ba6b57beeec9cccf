/**
 * Overlay control messages of the switch (pure). Every message the switch sends over the
 * mesh's encrypted TCP connection starts with a channel byte: 0 = the sleeve's own control
 * message (passed through unchanged), 1 = fast-path control. Fast-path control messages:
 *
 *   HELLO  kind=1 | version=1 | flags u8 | vxlanPort u16 | probePort u16 | token(8)
 *     flags: bit0 kernel paths enabled, bit1 host-gw enabled, bit2 we trust your address,
 *            bit3 we have a cluster secret
 *
 * Unknown channels and kinds are ignored (newer peers may add some).
 */
import { WeftError } from '../../common/index.js';
import { PROBE_TOKEN_BYTES } from './probe-wire.js';

export const CHANNEL_SLEEVE = 0;
export const CHANNEL_FASTPATH = 1;
const KIND_HELLO = 1;
const HELLO_VERSION = 1;
const HELLO_BYTES = 2 + 1 + 2 + 2 + PROBE_TOKEN_BYTES;

/** What a peer announces about its fast paths. */
export interface FastpathHello {
  kernelPaths: boolean;
  hostGw: boolean;
  /** The sender's address-based trust in us (our address is inside its --trusted-subnets). */
  trustsYou: boolean;
  encrypted: boolean;
  vxlanPort: number;
  probePort: number;
  /** Token the receiver must put into probes and replies it sends to the hello's sender. */
  token: Buffer;
}

/** Prefix `msg` with its channel byte. */
export function wrapControl(channel: number, msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 1);
  out[0] = channel;
  msg.copy(out, 1);
  return out;
}

/** Split a received control message into channel and body; null when empty. */
export function unwrapControl(msg: Buffer): { channel: number; body: Buffer } | null {
  if (msg.length < 1) return null;
  return { channel: msg.readUInt8(0), body: msg.subarray(1) };
}

export function encodeHello(h: FastpathHello): Buffer {
  if (h.token.length !== PROBE_TOKEN_BYTES) throw new WeftError('WEFT_ERR_BAD_ARGS', 'hello token must be 8 bytes');
  const b = Buffer.alloc(HELLO_BYTES);
  b[0] = KIND_HELLO;
  b[1] = HELLO_VERSION;
  b[2] = (h.kernelPaths ? 1 : 0) | (h.hostGw ? 2 : 0) | (h.trustsYou ? 4 : 0) | (h.encrypted ? 8 : 0);
  b.writeUInt16BE(h.vxlanPort, 3);
  b.writeUInt16BE(h.probePort, 5);
  h.token.copy(b, 7);
  return b;
}

/** Parse a fast-path control message: a hello, or null for kinds this version ignores. */
export function decodeFastpathControl(body: Buffer): FastpathHello | null {
  if (body.length < 1 || body[0] !== KIND_HELLO) return null;
  if (body.length < HELLO_BYTES || body[1] !== HELLO_VERSION) {
    throw new WeftError('WEFT_ERR_DECODE', `fast-path hello: ${body.length} bytes, version ${body[1] ?? '-'}`);
  }
  const flags = body.readUInt8(2);
  const vxlanPort = body.readUInt16BE(3);
  const probePort = body.readUInt16BE(5);
  if (vxlanPort === 0 || probePort === 0) throw new WeftError('WEFT_ERR_DECODE', 'fast-path hello: port 0');
  return {
    kernelPaths: (flags & 1) !== 0, hostGw: (flags & 2) !== 0, trustsYou: (flags & 4) !== 0, encrypted: (flags & 8) !== 0,
    vxlanPort, probePort, token: Buffer.from(body.subarray(7, 7 + PROBE_TOKEN_BYTES)),
  };
}
