/**
 * Synthesised ICMP errors for frames too big for a peer's path: IPv4 "fragmentation needed"
 * (type 3 code 4, with the next-hop MTU) and IPv6 "packet too big" (type 2). The reply is an
 * Ethernet frame addressed back to the sender, from the original destination's MAC and IP
 * (as a router on that path would), so the sender's kernel lowers its PMTU for that
 * destination. Pure functions: they read a frame and write a reply into a caller buffer.
 */
import { ETHERNET_HEADER_BYTES, missingIndex } from '../common/index.js';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const IPV4_MIN_HDR = 20;
const IPV6_HDR = 40;
const ICMP_HDR = 8;
/** RFC 1812: an ICMPv4 error carries as much of the original as fits in 576 bytes. */
const ICMP4_MAX_IP_BYTES = 576;
/** RFC 4443: an ICMPv6 error must not exceed the IPv6 minimum MTU. */
const ICMP6_MAX_IP_BYTES = 1280;
const IPV6_MIN_MTU = 1280;
/** Largest reply frame either builder writes. */
export const ICMP_REPLY_MAX_BYTES = ETHERNET_HEADER_BYTES + ICMP6_MAX_IP_BYTES;

/** What a too-big frame is, for the forwarder's decision. */
export const enum TooBigKind {
  /** Not IP, or an IPv4 packet without DF, or something we must not answer (ICMP error, fragment). */
  None = 0,
  Ipv4Df = 4,
  Ipv6 = 6,
}

/** Internet checksum (RFC 1071) of buf[off, off+len), continuing from `sum` (unfolded). */
export function onesSum(buf: Buffer, off: number, len: number, sum = 0): number {
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += ((buf[i] ?? missingIndex('onesSum', i)) << 8) | (buf[i + 1] ?? missingIndex('onesSum', i + 1));
  if (i < end) sum += (buf[i] ?? missingIndex('onesSum', i)) << 8;
  return sum;
}

/** Fold a ones-complement sum and complement it. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Classify a frame (at off, len bytes) for an ICMP too-big reply. */
export function classifyTooBig(f: Buffer, off: number, len: number): TooBigKind {
  if (len < ETHERNET_HEADER_BYTES + IPV4_MIN_HDR) return TooBigKind.None;
  if (f.readUInt8(off) & 1) return TooBigKind.None; // group destination: never answered (Weave drops too)
  const type = f.readUInt16BE(off + 12);
  const ip = off + ETHERNET_HEADER_BYTES;
  if (type === ETH_IPV4) {
    const vihl = f.readUInt8(ip);
    if (vihl >> 4 !== 4 || (vihl & 0x0f) < 5) return TooBigKind.None;
    const flags = f.readUInt16BE(ip + 6);
    if ((flags & 0x4000) === 0 || (flags & 0x1fff) !== 0) return TooBigKind.None; // no DF, or a fragment
    const ihl = (vihl & 0x0f) * 4;
    if (f[ip + 9] === 1 && len >= ETHERNET_HEADER_BYTES + ihl + 1) {
      const icmpType = f.readUInt8(ip + ihl);
      if (icmpType !== 0 && icmpType !== 8) return TooBigKind.None; // only echo may provoke errors
    }
    const src = f.readUInt32BE(ip + 12);
    if (src === 0 || src >>> 28 === 0xe || src === 0xffffffff) return TooBigKind.None;
    return TooBigKind.Ipv4Df;
  }
  if (type === ETH_IPV6 && len >= ETHERNET_HEADER_BYTES + IPV6_HDR) {
    if (f.readUInt8(ip) >> 4 !== 6) return TooBigKind.None;
    if (f[ip + 6] === 58 && len > ETHERNET_HEADER_BYTES + IPV6_HDR && f.readUInt8(ip + IPV6_HDR) < 128) return TooBigKind.None;
    let unspecified = true;
    for (let i = 8; i < 24; i++) if (f[ip + i] !== 0) { unspecified = false; break; }
    if (unspecified || f[ip + 8] === 0xff) return TooBigKind.None;
    return TooBigKind.Ipv6;
  }
  return TooBigKind.None;
}

function writeEthernetReply(out: Buffer, o: number, f: Buffer, off: number): void {
  f.copy(out, o, off + 6, off + 12); // dst = original source MAC
  f.copy(out, o + 6, off, off + 6); // src = original destination MAC
  out.writeUInt16BE(f.readUInt16BE(off + 12), o + 12);
}

/**
 * Write an Ethernet + IPv4 + ICMP "fragmentation needed" reply to the IPv4 DF frame
 * `f[off, off+len)` into `out` at `o`, advertising `mtu` (the IP MTU the path can carry).
 * Returns the reply length (0 if `f` is not IPv4). `out` needs ICMP_REPLY_MAX_BYTES from `o`.
 */
export function buildFragNeeded(f: Buffer, off: number, len: number, mtu: number, out: Buffer, o: number): number {
  const ip = off + ETHERNET_HEADER_BYTES;
  if (len < ETHERNET_HEADER_BYTES + IPV4_MIN_HDR || f.readUInt16BE(off + 12) !== ETH_IPV4) return 0;
  const origIpLen = Math.min(len - ETHERNET_HEADER_BYTES, f.readUInt16BE(ip + 2) || len);
  const quote = Math.min(origIpLen, ICMP4_MAX_IP_BYTES - IPV4_MIN_HDR - ICMP_HDR);
  const total = IPV4_MIN_HDR + ICMP_HDR + quote;
  writeEthernetReply(out, o, f, off);
  const h = o + ETHERNET_HEADER_BYTES;
  out[h] = 0x45;
  out[h + 1] = 0xc0; // precedence "internetwork control", as Linux uses for ICMP errors
  out.writeUInt16BE(total, h + 2);
  out.writeUInt32BE(0, h + 4); // id 0, no flags, offset 0
  out[h + 8] = 64;
  out[h + 9] = 1;
  out.writeUInt16BE(0, h + 10);
  f.copy(out, h + 12, ip + 16, ip + 20); // src = original destination
  f.copy(out, h + 16, ip + 12, ip + 16); // dst = original source
  out.writeUInt16BE(finishChecksum(onesSum(out, h, IPV4_MIN_HDR)), h + 10);
  const c = h + IPV4_MIN_HDR;
  out[c] = 3;
  out[c + 1] = 4;
  out.writeUInt16BE(0, c + 2);
  out.writeUInt16BE(0, c + 4);
  out.writeUInt16BE(Math.max(0, Math.min(0xffff, mtu)), c + 6);
  f.copy(out, c + ICMP_HDR, ip, ip + quote);
  out.writeUInt16BE(finishChecksum(onesSum(out, c, ICMP_HDR + quote)), c + 2);
  return ETHERNET_HEADER_BYTES + total;
}

/**
 * Write an Ethernet + IPv6 + ICMPv6 "packet too big" reply to the IPv6 frame `f[off, off+len)`
 * into `out` at `o`, advertising max(mtu, 1280). Returns the reply length (0 if not IPv6).
 */
export function buildPacketTooBig(f: Buffer, off: number, len: number, mtu: number, out: Buffer, o: number): number {
  const ip = off + ETHERNET_HEADER_BYTES;
  if (len < ETHERNET_HEADER_BYTES + IPV6_HDR || f.readUInt16BE(off + 12) !== ETH_IPV6) return 0;
  const quote = Math.min(len - ETHERNET_HEADER_BYTES, ICMP6_MAX_IP_BYTES - IPV6_HDR - ICMP_HDR);
  const payload = ICMP_HDR + quote;
  writeEthernetReply(out, o, f, off);
  const h = o + ETHERNET_HEADER_BYTES;
  out.writeUInt32BE(0x60000000, h);
  out.writeUInt16BE(payload, h + 4);
  out[h + 6] = 58;
  out[h + 7] = 64;
  f.copy(out, h + 8, ip + 24, ip + 40); // src = original destination
  f.copy(out, h + 24, ip + 8, ip + 24); // dst = original source
  const c = h + IPV6_HDR;
  out[c] = 2;
  out[c + 1] = 0;
  out.writeUInt16BE(0, c + 2);
  out.writeUInt32BE(Math.max(IPV6_MIN_MTU, mtu) >>> 0, c + 4);
  f.copy(out, c + ICMP_HDR, ip, ip + quote);
  // Pseudo-header: src, dst, upper-layer length (32 bit), next header 58.
  let sum = onesSum(out, h + 8, 32);
  sum += payload + 58;
  sum = onesSum(out, c, payload, sum);
  out.writeUInt16BE(finishChecksum(sum), c + 2);
  return ETHERNET_HEADER_BYTES + IPV6_HDR + payload;
}
