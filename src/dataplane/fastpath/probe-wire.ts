/**
 * Fast-path probe datagrams (pure). A probe is a UDP payload:
 *
 *   magic "WFP1"(4) | path(1: 1 hostgw, 2 vxlan) | kind(1: 0 probe, 1 reply) | sender peer(6)
 *   | token(8) | seq u32 | size u16 | zero padding
 *
 * `token` is the *receiver's* random per-connection token (exchanged over the authenticated
 * control connection), so an off-path sender cannot fake a probe or a reply. `size` is the IP
 * packet size the sender padded to; replies have the probe's size, so a reply proves the path
 * carries full-size packets both ways.
 *
 * host-gw probes are sent as they are, from probe socket to probe socket, between the two
 * underlay addresses. VXLAN probes are sent VXLAN-encapsulated (built here) to the peer's
 * VXLAN port: the peer's kernel decapsulates them on its probe device (probe VNI) and delivers
 * the inner IPv4/UDP packet to its probe socket, exactly like a pod frame on the data VNI.
 */
import { read48, write48 } from '../wire-format.js';

export const PROBE_MAGIC = 0x57465031;
export const PROBE_HEADER_BYTES = 26;
export const PROBE_TOKEN_BYTES = 8;
/** VXLAN header (8) + inner Ethernet (14) before the inner IPv4 packet. bytes */
export const VXLAN_ENCAP_BYTES = 22;
const IPV4_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
/** Smallest IP packet a probe fits in (IPv4 + UDP + probe header). bytes */
export const PROBE_MIN_IP_BYTES = IPV4_HEADER_BYTES + UDP_HEADER_BYTES + PROBE_HEADER_BYTES;

export type ProbePath = 'hostgw' | 'vxlan';

export interface ProbeMessage {
  path: ProbePath;
  reply: boolean;
  /** Sender's peer name as a 48-bit number. */
  sender: number;
  /** The receiver's token (8 bytes). */
  token: Buffer;
  seq: number;
  /** IP packet size the sender padded to. bytes */
  size: number;
}

const PATH_CODE: Record<ProbePath, number> = { hostgw: 1, vxlan: 2 };

/** Write a probe payload of `payloadLen` bytes at buf[off]. Returns payloadLen. */
export function writeProbe(buf: Buffer, off: number, m: ProbeMessage, payloadLen: number): number {
  if (payloadLen < PROBE_HEADER_BYTES || off + payloadLen > buf.length) throw new RangeError('probe does not fit');
  buf.fill(0, off, off + payloadLen);
  buf.writeUInt32BE(PROBE_MAGIC, off);
  buf[off + 4] = PATH_CODE[m.path];
  buf[off + 5] = m.reply ? 1 : 0;
  write48(buf, off + 6, m.sender);
  m.token.copy(buf, off + 12, 0, PROBE_TOKEN_BYTES);
  buf.writeUInt32BE(m.seq >>> 0, off + 20);
  buf.writeUInt16BE(m.size, off + 24);
  return payloadLen;
}

/** Parse a probe payload; null for anything that is not a well-formed probe. */
export function readProbe(buf: Buffer, off: number, len: number): ProbeMessage | null {
  if (len < PROBE_HEADER_BYTES || off + len > buf.length) return null;
  if (buf.readUInt32BE(off) !== PROBE_MAGIC) return null;
  const code = buf[off + 4];
  const path: ProbePath | null = code === 1 ? 'hostgw' : code === 2 ? 'vxlan' : null;
  const kind = buf[off + 5];
  if (path === null || (kind !== 0 && kind !== 1)) return null;
  return {
    path, reply: kind === 1, sender: read48(buf, off + 6),
    token: Buffer.from(buf.subarray(off + 12, off + 20)),
    seq: buf.readUInt32BE(off + 20), size: buf.readUInt16BE(off + 24),
  };
}

/** host-gw probe: UDP payload sized so that the IP packet is `ipSize` bytes. Returns its length. */
export function writeHostGwProbe(buf: Buffer, m: ProbeMessage): number {
  return writeProbe(buf, 0, m, m.size - IPV4_HEADER_BYTES - UDP_HEADER_BYTES);
}

/** Addresses of the inner packet of a VXLAN probe. */
export interface VxlanProbeFrame {
  vni: number;
  /** Inner Ethernet: the peer's probe device MAC and ours (48-bit numbers). */
  dstMac: number;
  srcMac: number;
  /** Inner IPv4 addresses as u32 and UDP ports. */
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
}

/**
 * VXLAN probe: the whole outer UDP payload (VXLAN header, inner Ethernet, inner IPv4 with DF
 * and checksum, inner UDP without checksum, probe). The inner IP packet is `m.size` bytes, so
 * the outer IP packet is m.size + 50. Returns the payload length.
 */
export function writeVxlanProbe(buf: Buffer, m: ProbeMessage, f: VxlanProbeFrame): number {
  const total = VXLAN_ENCAP_BYTES + m.size;
  if (m.size < PROBE_MIN_IP_BYTES || total > buf.length) throw new RangeError('vxlan probe does not fit');
  buf.fill(0, 0, VXLAN_ENCAP_BYTES + IPV4_HEADER_BYTES + UDP_HEADER_BYTES);
  buf[0] = 0x08; // I flag: VNI valid
  buf.writeUIntBE(f.vni & 0xffffff, 4, 3);
  write48(buf, 8, f.dstMac);
  write48(buf, 14, f.srcMac);
  buf.writeUInt16BE(0x0800, 20);
  const ip = VXLAN_ENCAP_BYTES;
  buf[ip] = 0x45;
  buf.writeUInt16BE(m.size, ip + 2);
  buf.writeUInt16BE(0x4000, ip + 6); // DF
  buf[ip + 8] = 64;
  buf[ip + 9] = 17;
  buf.writeUInt32BE(f.srcIp >>> 0, ip + 12);
  buf.writeUInt32BE(f.dstIp >>> 0, ip + 16);
  buf.writeUInt16BE(ipv4Checksum(buf, ip, IPV4_HEADER_BYTES), ip + 10);
  const udp = ip + IPV4_HEADER_BYTES;
  buf.writeUInt16BE(f.srcPort, udp);
  buf.writeUInt16BE(f.dstPort, udp + 2);
  buf.writeUInt16BE(m.size - IPV4_HEADER_BYTES, udp + 4);
  writeProbe(buf, udp + UDP_HEADER_BYTES, m, m.size - IPV4_HEADER_BYTES - UDP_HEADER_BYTES);
  return total;
}

/** RFC 791 header checksum of buf[off .. off+len). */
export function ipv4Checksum(buf: Buffer, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) if (i !== 10) sum += buf.readUInt16BE(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The probe device MAC of a peer: its name with the locally administered unicast bits set. */
export function probeMacOf(peer: number): number {
  const hi = Math.floor(peer / 0x100_0000_0000);
  return peer - hi * 0x100_0000_0000 + ((hi & 0xfc) | 0x02) * 0x100_0000_0000;
}
