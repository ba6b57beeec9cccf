/**
 * Decoders of the two netfilter-netlink (NETLINK_NETFILTER) event streams the flow recorder
 * reads: ctnetlink conntrack events (NEW, DESTROY) and NFLOG packet records (the policy
 * table's log statements), plus the IPv4/IPv6 header parse of a logged packet. Pure and
 * bounds-checked: anything malformed throws WEFT_ERR_DECODE (fuzzed: fuzz/targets/edges.ts),
 * nothing reads outside the message.
 */
import { WeftError } from '../common/index.js';
import { formatIpv4, formatIpv6 } from '../net/index.js';
import { forEachAttr, parseAttrs, type NlMessage } from './netlink-codec.js';
import { NETLINK_NETFILTER } from './netlink-abi.js';

export { NETLINK_NETFILTER };

/** Netfilter netlink subsystems (linux/netfilter/nfnetlink.h); the protocol number is in netlink-abi.ts. */
export const NFNL_SUBSYS_CTNETLINK = 1;
export const NFNL_SUBSYS_ULOG = 4;
/** Multicast groups of ctnetlink (nfnetlink_compat / NFNLGRP_*). */
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_DESTROY = 3;
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_DELETE = 2;
export const NFULNL_MSG_PACKET = 0;
export const NFULNL_MSG_CONFIG = 1;
const NFGENMSG_BYTES = 4;

const bad = (what: string): WeftError => new WeftError('WEFT_ERR_DECODE', `netfilter netlink: ${what}`);

/** One direction's addresses and ports as conntrack keeps them. */
export interface CtTuple {
  src: string;
  dst: string;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP). */
  proto: number;
  sport?: number;
  dport?: number;
}

/** One conntrack event. */
export interface ConntrackEvent {
  type: 'new' | 'destroy';
  orig: CtTuple;
  reply?: CtTuple;
  /** Conntrack entry id (stable for its life), when sent. */
  id?: number;
  tcpState?: string;
  /** Accounting (nf_conntrack_acct), on destroy. */
  origPackets?: number;
  origBytes?: number;
  replyPackets?: number;
  replyBytes?: number;
}

const TCP_STATES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'];

function be64(b: Buffer, what: string): number {
  if (b.length !== 8) throw bad(`${what}: ${b.length}-byte counter, want 8`);
  return Number(b.readBigUInt64BE(0));
}

function ipAttr(b: Buffer, len: 4 | 16, what: string): string {
  if (b.length !== len) throw bad(`${what}: ${b.length}-byte address, want ${len}`);
  if (len === 4) return formatIpv4(b.readUInt32BE(0));
  return formatIpv6((b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8));
}

function decodeTuple(b: Buffer, what: string): CtTuple {
  const a = parseAttrs(b);
  const ip = a.get(1);
  const proto = a.get(2);
  if (!ip || !proto) throw bad(`${what}: tuple without addresses or protocol`);
  const ipa = parseAttrs(ip);
  let src: string | undefined;
  let dst: string | undefined;
  if (ipa.has(1) || ipa.has(2)) { src = ipAttr(ipa.get(1) ?? Buffer.alloc(0), 4, what); dst = ipAttr(ipa.get(2) ?? Buffer.alloc(0), 4, what); }
  else if (ipa.has(3) || ipa.has(4)) { src = ipAttr(ipa.get(3) ?? Buffer.alloc(0), 16, what); dst = ipAttr(ipa.get(4) ?? Buffer.alloc(0), 16, what); }
  else throw bad(`${what}: tuple without IPv4 or IPv6 addresses`);
  const pa = parseAttrs(proto);
  const num = pa.get(1);
  if (!num || num.length !== 1) throw bad(`${what}: tuple without a 1-byte protocol number`);
  const t: CtTuple = { src, dst, proto: num[0]! };
  const sp = pa.get(2);
  const dp = pa.get(3);
  if (sp) { if (sp.length !== 2) throw bad(`${what}: ${sp.length}-byte port`); t.sport = sp.readUInt16BE(0); }
  if (dp) { if (dp.length !== 2) throw bad(`${what}: ${dp.length}-byte port`); t.dport = dp.readUInt16BE(0); }
  return t;
}

/** A ctnetlink event message, or null for other message types of the subsystem. */
export function decodeConntrackEvent(m: NlMessage): ConntrackEvent | null {
  if (m.type >> 8 !== NFNL_SUBSYS_CTNETLINK) return null;
  const kind = m.type & 0xff;
  if (kind !== IPCTNL_MSG_CT_NEW && kind !== IPCTNL_MSG_CT_DELETE) return null;
  if (m.payload.length < NFGENMSG_BYTES) throw bad(`conntrack message of ${m.payload.length} bytes`);
  const a = parseAttrs(m.payload, NFGENMSG_BYTES);
  const orig = a.get(1);
  if (!orig) throw bad('conntrack event without its original tuple');
  const ev: ConntrackEvent = { type: kind === IPCTNL_MSG_CT_NEW ? 'new' : 'destroy', orig: decodeTuple(orig, 'original tuple') };
  const reply = a.get(2);
  if (reply) ev.reply = decodeTuple(reply, 'reply tuple');
  const id = a.get(12);
  if (id) { if (id.length !== 4) throw bad(`${id.length}-byte conntrack id`); ev.id = id.readUInt32BE(0); }
  const protoinfo = a.get(4);
  if (protoinfo) {
    const tcp = parseAttrs(protoinfo).get(1);
    const st = tcp ? parseAttrs(tcp).get(1) : undefined;
    if (st) { if (st.length !== 1) throw bad('TCP state not 1 byte'); ev.tcpState = TCP_STATES[st[0]!] ?? `STATE_${st[0]!}`; }
  }
  for (const [type, dir] of [[9, 'orig'], [10, 'reply']] as const) {
    const c = a.get(type);
    if (!c) continue;
    const ca = parseAttrs(c);
    const p = ca.get(1);
    const by = ca.get(2);
    if (p) ev[dir === 'orig' ? 'origPackets' : 'replyPackets'] = be64(p, 'packet counter');
    if (by) ev[dir === 'orig' ? 'origBytes' : 'replyBytes'] = be64(by, 'byte counter');
  }
  return ev;
}

/** Addresses, protocol, ports and TCP flags of an IP packet's first bytes. */
export interface PacketHeader {
  family: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  tcpFlags?: string[];
}

const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

/** Parse an IPv4 or IPv6 header (and a TCP/UDP/SCTP one after it when present). */
export function decodePacketHeader(p: Buffer): PacketHeader {
  if (p.length < 1) throw bad('empty packet');
  const version = p[0]! >> 4;
  let h: PacketHeader;
  let l4: number;
  if (version === 4) {
    const ihl = (p[0]! & 0x0f) * 4;
    if (ihl < 20 || p.length < ihl) throw bad(`IPv4 header of ${ihl} bytes in a ${p.length}-byte packet`);
    h = { family: 4, proto: p[9]!, src: ipAttr(p.subarray(12, 16), 4, 'IPv4 source'), dst: ipAttr(p.subarray(16, 20), 4, 'IPv4 destination') };
    const fragOffset = p.readUInt16BE(6) & 0x1fff;
    l4 = fragOffset === 0 ? ihl : -1;
  } else if (version === 6) {
    if (p.length < 40) throw bad(`IPv6 packet of ${p.length} bytes`);
    h = { family: 6, proto: p[6]!, src: ipAttr(p.subarray(8, 24), 16, 'IPv6 source'), dst: ipAttr(p.subarray(24, 40), 16, 'IPv6 destination') };
    l4 = 40;
  } else {
    throw bad(`IP version ${version}`);
  }
  if (l4 >= 0 && (h.proto === 6 || h.proto === 17 || h.proto === 132) && p.length >= l4 + 4) {
    h.sport = p.readUInt16BE(l4);
    h.dport = p.readUInt16BE(l4 + 2);
    if (h.proto === 6 && p.length >= l4 + 14) {
      const f = p[l4 + 13]!;
      h.tcpFlags = FLAG_NAMES.filter((_, i) => (f & (1 << i)) !== 0);
    }
  }
  return h;
}

/** One NFLOG record: its prefix, and the logged packet's header when it was copied. */
export interface NflogRecord {
  prefix: string;
  packet?: PacketHeader;
  /** Why the header could not be parsed (the record is still kept). */
  packetError?: string;
}

/** An NFLOG packet message, or null for other ULOG message types. */
export function decodeNflogRecord(m: NlMessage): NflogRecord | null {
  if (m.type >> 8 !== NFNL_SUBSYS_ULOG || (m.type & 0xff) !== NFULNL_MSG_PACKET) return null;
  if (m.payload.length < NFGENMSG_BYTES) throw bad(`NFLOG message of ${m.payload.length} bytes`);
  let prefix = '';
  let payload: Buffer | undefined;
  forEachAttr(m.payload, NFGENMSG_BYTES, (type, value) => {
    if (type === 10) {
      const z = value.indexOf(0);
      prefix = value.toString('utf8', 0, z < 0 ? Math.min(value.length, 128) : Math.min(z, 128));
    } else if (type === 9) {
      payload = value;
    }
  });
  const rec: NflogRecord = { prefix };
  if (payload) {
    try {
      rec.packet = decodePacketHeader(payload);
    } catch (e) {
      rec.packetError = e instanceof Error ? e.message : String(e);
    }
  }
  return rec;
}
