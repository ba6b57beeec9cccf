/**
 * rtnetlink family headers (ifinfomsg, ifaddrmsg, rtmsg, ndmsg) and the typed records weft
 * reads back: links, addresses, routes, neighbour / bridge FDB entries. Pure: no I/O; every
 * decoder is bounds-checked (WeftError('WEFT_ERR_DECODE') on malformed input).
 */
import { WeftError } from '../common/index.js';
import { formatIpv4, formatIpv6, parseIp } from '../net/index.js';
import {
  AF_INET, AF_INET6, IFA_ADDRESS, IFA_LOCAL, IFLA_ADDRESS, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_VXLAN_ID, IFLA_VXLAN_PORT, NDA_PORT,
  IFLA_MASTER, IFLA_MTU, IFF_UP, NDA_DST, NDA_LLADDR, NDA_MASTER, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC, RTA_TABLE,
} from './netlink-abi.js';
import { cString, parseAttrs, u32Attr, type NlMessage } from './netlink-codec.js';

const bad = (what: string): WeftError => new WeftError('WEFT_ERR_DECODE', `netlink: ${what}`);

/** ifinfomsg (16 bytes). */
export function ifinfomsg(o: { family?: number; index?: number; flags?: number; change?: number }): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(o.family ?? 0, 0);
  b.writeInt32LE(o.index ?? 0, 4);
  b.writeUInt32LE((o.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((o.change ?? 0) >>> 0, 12);
  return b;
}

/** ifaddrmsg (8 bytes). */
export function ifaddrmsg(o: { family: number; prefixLength: number; scope?: number; index: number }): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(o.family, 0);
  b.writeUInt8(o.prefixLength, 1);
  b.writeUInt8(o.scope ?? 0, 3);
  b.writeUInt32LE(o.index >>> 0, 4);
  return b;
}

/** rtmsg (12 bytes). */
export function rtmsg(o: { family: number; dstLength?: number; table?: number; protocol?: number; scope?: number; type?: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(o.family, 0);
  b.writeUInt8(o.dstLength ?? 0, 1);
  b.writeUInt8(o.table ?? 0, 4);
  b.writeUInt8(o.protocol ?? 0, 5);
  b.writeUInt8(o.scope ?? 0, 6);
  b.writeUInt8(o.type ?? 0, 7);
  return b;
}

/** ndmsg (12 bytes). */
export function ndmsg(o: { family: number; index?: number; state?: number; flags?: number }): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(o.family, 0);
  b.writeInt32LE(o.index ?? 0, 4);
  b.writeUInt16LE(o.state ?? 0, 8);
  b.writeUInt8(o.flags ?? 0, 10);
  return b;
}

/** A link as read back (RTM_NEWLINK / RTM_DELLINK). */
export interface LinkRecord {
  index: number;
  name: string;
  /** "bridge", "veth", "vxlan", "tun", … ('' when the link has no kind). */
  kind: string;
  /** Lower-case "aa:bb:…" ('' when the link has no hardware address). */
  mac: string;
  mtu: number;
  /** ifindex of the bridge this link is a port of, 0 when none. */
  master: number;
  up: boolean;
  /** ifi_family: AF_UNSPEC for links, AF_BRIDGE for a bridge port's port-info notifications. */
  family?: number;
  alias?: string;
  /** VNI and UDP port of a VXLAN device. */
  vxlan?: { vni: number; port: number };
}

/** An address (RTM_NEWADDR / RTM_DELADDR). */
export interface AddrRecord {
  index: number;
  family: 4 | 6;
  address: string;
  prefixLength: number;
  scope: number;
}

/** A route (RTM_NEWROUTE). `dst` is a CIDR; '0.0.0.0/0' for the default route. */
export interface RouteRecord {
  family: 4 | 6;
  dst: string;
  gateway?: string;
  oif?: number;
  /** Preferred source address (RTA_PREFSRC; route lookups report it). */
  prefsrc?: string;
  table: number;
  protocol: number;
  scope: number;
  type: number;
}

/** A neighbour or bridge FDB entry (RTM_NEWNEIGH / RTM_DELNEIGH). */
export interface NeighRecord {
  /** AF_INET / AF_INET6 for neighbours, AF_BRIDGE for FDB entries. */
  family: number;
  index: number;
  state: number;
  flags: number;
  mac?: string;
  /** Neighbour address, or the VXLAN remote of an FDB entry. */
  dst?: string;
  /** ifindex of the bridge, for FDB entries on a bridge port. */
  master?: number;
  /** UDP port of a VXLAN FDB entry's remote (NDA_PORT), when the entry has one. */
  port?: number;
}

export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function ipOf(b: Buffer | undefined, what: string): string | undefined {
  if (b === undefined) return undefined;
  if (b.length !== 4 && b.length !== 16) throw bad(`${what}: ${b.length}-byte address`);
  if (b.length === 4) return formatIpv4(b.readUInt32BE(0));
  return formatIpv6((b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8));
}

/** An IP address as the 4 or 16 bytes netlink carries; WEFT_ERR_BAD_ARGS for anything else. */
export function ipBytes(ip: string): { family: number; bytes: Buffer } {
  const a = parseIp(ip);
  if (a === null) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid IP address "${ip}"`);
  if (a.family === 4) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(a.value);
    return { family: AF_INET, bytes: b };
  }
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(a.value >> 64n, 0);
  b.writeBigUInt64BE(a.value & 0xffffffffffffffffn, 8);
  return { family: AF_INET6, bytes: b };
}

/** "aa:bb:cc:dd:ee:ff" as 6 bytes; WEFT_ERR_BAD_ARGS otherwise. */
export function macBytes(mac: string): Buffer {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid MAC address "${mac}"`);
  return Buffer.from(mac.replaceAll(':', ''), 'hex');
}

function need(m: NlMessage, n: number, what: string): void {
  if (m.payload.length < n) throw bad(`${what} of ${m.payload.length} bytes, want at least ${n}`);
}

export function decodeLink(m: NlMessage): LinkRecord {
  need(m, 16, 'ifinfomsg');
  const p = m.payload;
  const a = parseAttrs(p, 16);
  const info = a.get(IFLA_LINKINFO);
  const infoAttrs = info ? parseAttrs(info) : undefined;
  const kind = infoAttrs?.get(IFLA_INFO_KIND);
  const kindName = kind ? cString(kind) : '';
  const data = kindName === 'vxlan' ? infoAttrs?.get(IFLA_INFO_DATA) : undefined;
  let vxlan: { vni: number; port: number } | undefined;
  if (data) {
    const d = parseAttrs(data);
    const port = d.get(IFLA_VXLAN_PORT);
    vxlan = { vni: u32Attr(d.get(IFLA_VXLAN_ID), 'IFLA_VXLAN_ID') ?? 0, port: port && port.length >= 2 ? port.readUInt16BE(0) : 0 };
  }
  const alias = a.get(IFLA_IFALIAS);
  const mac = a.get(IFLA_ADDRESS);
  return {
    index: p.readInt32LE(4),
    name: cString(a.get(IFLA_IFNAME) ?? Buffer.alloc(0)),
    kind: kindName,
    mac: mac && mac.length === 6 ? formatMac(mac) : '',
    mtu: u32Attr(a.get(IFLA_MTU), 'IFLA_MTU') ?? 0,
    master: u32Attr(a.get(IFLA_MASTER), 'IFLA_MASTER') ?? 0,
    up: (p.readUInt32LE(8) & IFF_UP) !== 0,
    family: p.readUInt8(0),
    ...(alias && alias.length > 0 ? { alias: cString(alias) } : {}),
    ...(vxlan ? { vxlan } : {}),
  };
}

export function decodeAddr(m: NlMessage): AddrRecord {
  need(m, 8, 'ifaddrmsg');
  const p = m.payload;
  const family = p.readUInt8(0);
  if (family !== AF_INET && family !== AF_INET6) throw bad(`address family ${family}`);
  const a = parseAttrs(p, 8);
  const address = ipOf(a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS), 'IFA_ADDRESS');
  if (address === undefined) throw bad('address message without IFA_ADDRESS');
  return { index: p.readUInt32LE(4), family: family === AF_INET ? 4 : 6, address, prefixLength: p.readUInt8(1), scope: p.readUInt8(3) };
}

export function decodeRoute(m: NlMessage): RouteRecord {
  need(m, 12, 'rtmsg');
  const p = m.payload;
  const family = p.readUInt8(0);
  if (family !== AF_INET && family !== AF_INET6) throw bad(`route family ${family}`);
  const a = parseAttrs(p, 12);
  const len = p.readUInt8(1);
  const dst = ipOf(a.get(RTA_DST), 'RTA_DST') ?? (family === AF_INET ? '0.0.0.0' : '::');
  const gateway = ipOf(a.get(RTA_GATEWAY), 'RTA_GATEWAY');
  const oif = u32Attr(a.get(RTA_OIF), 'RTA_OIF');
  const prefsrc = ipOf(a.get(RTA_PREFSRC), 'RTA_PREFSRC');
  return {
    family: family === AF_INET ? 4 : 6, dst: `${dst}/${len}`,
    ...(gateway !== undefined ? { gateway } : {}), ...(oif !== undefined ? { oif } : {}), ...(prefsrc !== undefined ? { prefsrc } : {}),
    table: u32Attr(a.get(RTA_TABLE), 'RTA_TABLE') ?? p.readUInt8(4),
    protocol: p.readUInt8(5), scope: p.readUInt8(6), type: p.readUInt8(7),
  };
}

export function decodeNeigh(m: NlMessage): NeighRecord {
  need(m, 12, 'ndmsg');
  const p = m.payload;
  const a = parseAttrs(p, 12);
  const ll = a.get(NDA_LLADDR);
  const dst = ipOf(a.get(NDA_DST), 'NDA_DST');
  const master = u32Attr(a.get(NDA_MASTER), 'NDA_MASTER');
  const port = a.get(NDA_PORT);
  if (port !== undefined && port.length < 2) throw bad(`NDA_PORT of ${port.length} bytes`);
  return {
    family: p.readUInt8(0), index: p.readInt32LE(4), state: p.readUInt16LE(8), flags: p.readUInt8(10),
    ...(ll && ll.length === 6 ? { mac: formatMac(ll) } : {}),
    ...(dst !== undefined ? { dst } : {}),
    ...(master !== undefined ? { master } : {}),
    ...(port !== undefined ? { port: port.readUInt16BE(0) } : {}),
  };
}
