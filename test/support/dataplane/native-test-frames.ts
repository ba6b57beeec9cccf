/**
 * Test-only helpers for the native addon tests: Ethernet/IPv4/IPv6/TCP/UDP frame builders,
 * the Internet checksum, virtio_net_hdr encoding, and bounded waiting. Pure, no I/O.
 */
import { endianness } from 'node:os';
import { parseIpv4 } from '../../../src/net/index.js';

/** Internet checksum over the concatenation of parts (RFC 1071); 0 means "verifies". */
export function inetSum(...parts: Buffer[]): number {
  const b = Buffer.concat(parts);
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** One's-complement folded sum, not complemented (what a partial-checksum field holds). */
export function foldedSum(...parts: Buffer[]): number {
  return ~inetSum(...parts) & 0xffff;
}

export const mac = (s: string): Buffer => Buffer.from(s.replace(/:/g, ''), 'hex');
export const ip4 = (s: string): Buffer => {
  const v = parseIpv4(s);
  if (v === null) throw new Error(`test frame: bad IPv4 address ${s}`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};

/** Ethernet ARP request "who-has tpa tell spa" from sha. */
export function arpRequest(sha: string, spa: string, tpa: string): Buffer {
  return Buffer.concat([mac('ff:ff:ff:ff:ff:ff'), mac(sha), Buffer.from('08060001080006040001', 'hex'),
    mac(sha), ip4(spa), Buffer.alloc(6), ip4(tpa)]);
}

/** IPv4 header (20 bytes, DF, checksum filled in). */
export function ipv4Header(proto: number, src: string, dst: string, payloadLen: number, id = 0): Buffer {
  const ip = Buffer.concat([Buffer.from([0x45, 0, 0, 0, id >> 8, id & 255, 0x40, 0, 64, proto, 0, 0]), ip4(src), ip4(dst)]);
  ip.writeUInt16BE(20 + payloadLen, 2);
  ip.writeUInt16BE(inetSum(ip), 10);
  return ip;
}

/** Ethernet + IPv4 + ICMP echo request. */
export function icmpEcho(dstMac: string, srcMac: string, src: string, dst: string, id: number, payload: Buffer): Buffer {
  const icmp = Buffer.concat([Buffer.from([8, 0, 0, 0, id >> 8, id & 255, 0, 1]), payload]);
  icmp.writeUInt16BE(inetSum(icmp), 2);
  return Buffer.concat([mac(dstMac), mac(srcMac), Buffer.from([8, 0]), ipv4Header(1, src, dst, icmp.length), icmp]);
}

/** virtio_net_hdr (10 bytes, host byte order as the TAP uses). */
export function vnetHdr(flags: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number): Buffer {
  const h = Buffer.alloc(10);
  h[0] = flags;
  h[1] = gsoType;
  const w = (v: number, at: number) => (endianness() === 'LE' ? h.writeUInt16LE(v, at) : h.writeUInt16BE(v, at));
  w(hdrLen, 2); w(gsoSize, 4); w(csumStart, 6); w(csumOffset, 8);
  return h;
}

/** Pack frames into one arena; returns arena, offs, lens. */
export function pack(frames: Buffer[]): { arena: Buffer; offs: Uint32Array; lens: Uint32Array } {
  const offs = new Uint32Array(frames.length), lens = new Uint32Array(frames.length);
  let at = 0;
  frames.forEach((f, i) => { offs[i] = at; lens[i] = f.length; at += f.length; });
  return { arena: Buffer.concat(frames), offs, lens };
}

/** Await `pred()` for at most `ms` (bounded polling). */
export async function until(pred: () => boolean, ms = 2_000): Promise<boolean> {
  for (let t = 0; t < ms && !pred(); t += 5) await new Promise((r) => setTimeout(r, 5));
  return pred();
}
