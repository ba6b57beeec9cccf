/**
 * Typed rtnetlink operations: links (bridge, veth, VXLAN), bridge ports, addresses, routes,
 * neighbours and bridge FDB entries, IPv4 per-device settings. One `Rtnl` per network
 * namespace, over one {@link NetlinkSocket}.
 *
 * Lifecycle: `Rtnl.open()` (daemon namespace) or `Rtnl.open({ nsPath })` (a pod's), then
 * `close()`. Errors are typed by errno (WEFT_ERR_HOST_EXISTS, _NO_DEVICE, _NOT_FOUND, _BUSY,
 * _PERMISSION, WEFT_ERR_HOST), never by message text. Deletes of what is already gone are the
 * caller's choice: `ignoreMissing()` wraps a promise.
 */
import { openSync, closeSync } from 'node:fs';
import { WeftError, isWeftError } from '../common/index.js';
import { parseCidr } from '../net/index.js';
import {
  AF_BRIDGE, AF_INET, AF_INET6, AF_UNSPEC, IFF_UP, IFLA_ADDRESS, IFLA_AF_SPEC, IFLA_BRPORT_ISOLATED, IFLA_BRPORT_LEARNING,
  IFLA_BR_NF_CALL_IP6TABLES, IFLA_BR_NF_CALL_IPTABLES,
  IFLA_IFALIAS, IFLA_IFNAME, IFLA_INET6_ADDR_GEN_MODE, IFLA_INET_CONF, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO,
  IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD, IFLA_PROTINFO, IFLA_TXQLEN, IFLA_VXLAN_ID, IFLA_VXLAN_LEARNING, IFLA_VXLAN_PORT,
  IFA_ADDRESS, IFA_LOCAL, IN6_ADDR_GEN_MODE_NONE, NDA_DST, NDA_LLADDR, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL,
  NLM_F_REPLACE, NTF_MASTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT, RTA_DST, RTA_GATEWAY, RTA_OIF, RTM_DELADDR, RTM_DELLINK,
  RTM_DELNEIGH, RTM_DELROUTE, RTM_GETADDR, RTM_GETLINK, RTM_GETNEIGH, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK,
  RTM_NEWNEIGH, RTM_NEWROUTE, RTM_SETLINK, RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, VETH_INFO_PEER,
} from './netlink-abi.js';
import { attr, type NlAttr } from './netlink-codec.js';
import { NetlinkSocket } from './netlink-socket.js';
import {
  decodeAddr, decodeLink, decodeNeigh, decodeRoute, ifaddrmsg, ifinfomsg, ipBytes, macBytes, ndmsg, rtmsg,
  type AddrRecord, type LinkRecord, type NeighRecord, type RouteRecord,
} from './rtnl-messages.js';

/** IFLA_VXLAN_DF (29) = VXLAN_DF_SET (1): DF on the outer header. */
const IFLA_VXLAN_DF = 29;
const VXLAN_DF_SET = 1;

/** Changes of `linkSet`. */
export interface LinkChange {
  /** ifindex of the new master (bridge); 0 detaches. */
  master?: number;
  mtu?: number;
  up?: boolean;
  alias?: string;
  name?: string;
  txqueuelen?: number;
  mac?: string;
}

/** A route to add or delete. */
export interface RouteSpec {
  /** Destination CIDR ("10.32.0.0/12", "0.0.0.0/0"). */
  dst: string;
  gateway?: string;
  oif?: number;
  /** The name of `oif`, used only in error messages. */
  oifName?: string;
  /** RT_SCOPE_*; default universe (link when no gateway and `oif` given, as `ip` does). */
  scope?: number;
  protocol?: number;
}

/** A bridge FDB entry: on a VXLAN device (`self`, with dst/port) or on a bridge port (`master`). */
export interface FdbSpec {
  mac: string;
  index: number;
  /** 'self': the device's own table (VXLAN remotes); 'master': the bridge's table. */
  table: 'self' | 'master';
  dst?: string;
  port?: number;
  /** 'permanent' (default for self) or 'static' (pinned, for master entries). */
  state?: 'permanent' | 'static';
  sticky?: boolean;
}

/** NTF_STICKY (0x40): a master entry that learning cannot move. */
const NTF_STICKY = 0x40;
/** NUD_NOARP alone is how `bridge fdb … static` stores a static (non-permanent) entry. */
const FDB_STATIC = NUD_NOARP;

/** Resolves `p`; a WEFT_ERR_HOST_NO_DEVICE / _NOT_FOUND rejection becomes `false`. */
export async function ignoreMissing(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (e) {
    if (isWeftError(e, 'WEFT_ERR_HOST_NO_DEVICE') || isWeftError(e, 'WEFT_ERR_HOST_NOT_FOUND')) return false;
    throw e;
  }
}

function u16be(v: number): NlAttr['value'] {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

/** The typed operations of one namespace. */
export class Rtnl {
  private constructor(private readonly sock: NetlinkSocket, readonly nsPath: string | undefined) {}

  static open(o: { nsPath?: string; timeoutMs?: number } = {}): Rtnl {
    return new Rtnl(NetlinkSocket.open(o), o.nsPath);
  }

  close(): void {
    this.sock.close();
  }

  private where(what: string): string {
    return this.nsPath ? `${what} in ${this.nsPath}` : what;
  }

  // ---- links ----

  /** The link named `name`, or null. */
  async link(name: string): Promise<LinkRecord | null> {
    try {
      const msgs = await this.sock.get(this.where(`reading link ${name}`), RTM_GETLINK, ifinfomsg({}), [attr.str(IFLA_IFNAME, name)]);
      const m = msgs[0];
      return m ? decodeLink(m) : null;
    } catch (e) {
      if (isWeftError(e, 'WEFT_ERR_HOST_NO_DEVICE')) return null;
      throw e;
    }
  }

  /** The link `name`; WEFT_ERR_HOST_NO_DEVICE when missing. */
  async mustLink(name: string): Promise<LinkRecord> {
    const l = await this.link(name);
    if (!l) throw new WeftError('WEFT_ERR_HOST_NO_DEVICE', `${this.where(`link ${name}`)} does not exist`);
    return l;
  }

  /** Every link of the namespace. */
  async links(): Promise<LinkRecord[]> {
    return (await this.sock.dump(this.where('listing links'), RTM_GETLINK, ifinfomsg({}))).map(decodeLink);
  }

  async addBridge(name: string): Promise<void> {
    await this.sock.request(this.where(`creating bridge ${name}`), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfomsg({}), [
      attr.str(IFLA_IFNAME, name), attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'bridge')]),
    ]);
  }

  /** A veth pair: `name` here, `peer` created directly inside `peerNsPath` (when given). */
  async addVeth(name: string, peer: string, mtu: number, peerNsPath?: string): Promise<void> {
    const nsFd = peerNsPath ? openNetns(peerNsPath) : -1;
    try {
      const peerAttrs: NlAttr[] = [attr.str(IFLA_IFNAME, peer), attr.u32(IFLA_MTU, mtu)];
      if (nsFd >= 0) peerAttrs.push(attr.u32(IFLA_NET_NS_FD, nsFd));
      const peerInfo = Buffer.concat([ifinfomsg({}), encodeAttrsFlat(peerAttrs)]);
      await this.sock.request(this.where(`creating veth ${name}`), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfomsg({}), [
        attr.str(IFLA_IFNAME, name), attr.u32(IFLA_MTU, mtu),
        attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'veth'), attr.nest(IFLA_INFO_DATA, [{ type: VETH_INFO_PEER, value: peerInfo }])]),
      ]);
    } finally {
      if (nsFd >= 0) closeSync(nsFd);
    }
  }

  /** A VXLAN device: learning off, DF set, UDP `port`. */
  async addVxlan(name: string, o: { vni: number; port: number; mtu?: number; mac?: string }): Promise<void> {
    const attrs: NlAttr[] = [attr.str(IFLA_IFNAME, name)];
    if (o.mtu !== undefined) attrs.push(attr.u32(IFLA_MTU, o.mtu));
    if (o.mac !== undefined) attrs.push(attr.bytes(IFLA_ADDRESS, macBytes(o.mac)));
    attrs.push(attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'vxlan'), attr.nest(IFLA_INFO_DATA, [
      attr.u32(IFLA_VXLAN_ID, o.vni), { type: IFLA_VXLAN_PORT, value: u16be(o.port) }, attr.u8(IFLA_VXLAN_LEARNING, 0),
      attr.u8(IFLA_VXLAN_DF, VXLAN_DF_SET),
    ])]));
    await this.sock.request(this.where(`creating VXLAN device ${name}`), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfomsg({}), attrs);
  }

  /** Change a link (by name). */
  async setLink(name: string, c: LinkChange): Promise<void> {
    const attrs: NlAttr[] = [];
    if (c.name !== undefined) attrs.push(attr.str(IFLA_IFNAME, c.name));
    if (c.master !== undefined) attrs.push(attr.u32(IFLA_MASTER, c.master));
    if (c.mtu !== undefined) attrs.push(attr.u32(IFLA_MTU, c.mtu));
    if (c.alias !== undefined) attrs.push(attr.str(IFLA_IFALIAS, c.alias));
    if (c.txqueuelen !== undefined) attrs.push(attr.u32(IFLA_TXQLEN, c.txqueuelen));
    if (c.mac !== undefined) attrs.push(attr.bytes(IFLA_ADDRESS, macBytes(c.mac)));
    const index = (await this.mustLink(name)).index;
    const hdr = ifinfomsg({ index, flags: c.up ? IFF_UP : 0, change: c.up === undefined ? 0 : IFF_UP });
    await this.sock.request(this.where(`changing link ${name}`), RTM_NEWLINK, 0, hdr, attrs);
  }

  /** Move a link into another namespace. */
  async moveLink(name: string, nsPath: string): Promise<void> {
    const index = (await this.mustLink(name)).index;
    const fd = openNetns(nsPath);
    try {
      await this.sock.request(this.where(`moving ${name} to ${nsPath}`), RTM_NEWLINK, 0, ifinfomsg({ index }), [attr.u32(IFLA_NET_NS_FD, fd)]);
    } finally {
      closeSync(fd);
    }
  }

  /** Delete a link; WEFT_ERR_HOST_NO_DEVICE when it does not exist. */
  async deleteLink(name: string): Promise<void> {
    const index = (await this.mustLink(name)).index;
    await this.sock.request(this.where(`deleting ${name}`), RTM_DELLINK, 0, ifinfomsg({ index }));
  }

  /** Bridge port flags (learning, isolated), like `bridge link set dev PORT …`. */
  async setBridgePort(name: string, o: { learning?: boolean; isolated?: boolean }): Promise<void> {
    const index = (await this.mustLink(name)).index;
    const flags: NlAttr[] = [];
    if (o.learning !== undefined) flags.push(attr.u8(IFLA_BRPORT_LEARNING, o.learning ? 1 : 0));
    if (o.isolated !== undefined) flags.push(attr.u8(IFLA_BRPORT_ISOLATED, o.isolated ? 1 : 0));
    await this.sock.request(this.where(`configuring bridge port ${name}`), RTM_SETLINK, 0, ifinfomsg({ family: AF_BRIDGE, index }),
      [attr.nest(IFLA_PROTINFO, flags)]);
  }

  /**
   * br_netfilter for one bridge (`ip link set NAME type bridge nf_call_iptables V nf_call_ip6tables V`):
   * its bridged IPv4/IPv6 frames pass the inet hooks (and conntrack) even while the namespace's
   * bridge-nf-call sysctls are 0.
   */
  async setBridgeNfCall(name: string, on: boolean): Promise<void> {
    const index = (await this.mustLink(name)).index;
    const v = on ? 1 : 0;
    await this.sock.request(this.where(`br_netfilter ${on ? 'on' : 'off'} for bridge ${name}`), RTM_NEWLINK, 0, ifinfomsg({ index }), [
      attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'bridge'), attr.nest(IFLA_INFO_DATA, [attr.u8(IFLA_BR_NF_CALL_IPTABLES, v), attr.u8(IFLA_BR_NF_CALL_IP6TABLES, v)])]),
    ]);
  }

  /** IPv4 per-device settings (IPV4_DEVCONF_* index → value), like net.ipv4.conf.DEV.KEY. */
  async setInetConf(name: string, conf: ReadonlyMap<number, number>): Promise<void> {
    const index = (await this.mustLink(name)).index;
    const entries = [...conf].map(([k, v]) => attr.u32(k, v));
    await this.sock.request(this.where(`configuring IPv4 on ${name}`), RTM_NEWLINK, 0, ifinfomsg({ index }),
      [attr.nest(IFLA_AF_SPEC, [attr.nest(AF_INET, [attr.nest(IFLA_INET_CONF, entries)])])]);
  }

  /** No IPv6 link-local address on this device (`ip link set DEV addrgenmode none`). */
  async setAddrGenModeNone(name: string): Promise<void> {
    const index = (await this.mustLink(name)).index;
    await this.sock.request(this.where(`configuring IPv6 on ${name}`), RTM_NEWLINK, 0, ifinfomsg({ index }),
      [attr.nest(IFLA_AF_SPEC, [attr.nest(AF_INET6, [attr.u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE)])])]);
  }

  // ---- addresses ----

  private addrMsg(index: number, cidr: string): { hdr: Buffer; attrs: NlAttr[] } {
    const c = parseCidr(cidr);
    if (c === null) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid address "${cidr}" (want ADDRESS/LENGTH)`);
    const { family, bytes } = ipBytes(cidr.slice(0, cidr.lastIndexOf('/')));
    return { hdr: ifaddrmsg({ family, prefixLength: c.prefixLength, index }), attrs: [attr.bytes(IFA_LOCAL, bytes), attr.bytes(IFA_ADDRESS, bytes)] };
  }

  /** Add an address; WEFT_ERR_HOST_EXISTS when it is there already. */
  async addAddress(dev: string, cidr: string, replace = false): Promise<void> {
    const index = (await this.mustLink(dev)).index;
    const { hdr, attrs } = this.addrMsg(index, cidr);
    await this.sock.request(this.where(`adding ${cidr} to ${dev}`), RTM_NEWADDR, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), hdr, attrs);
  }

  /** Remove an address; WEFT_ERR_HOST_NOT_FOUND when it is not there. */
  async deleteAddress(dev: string, cidr: string): Promise<void> {
    const index = (await this.mustLink(dev)).index;
    const { hdr, attrs } = this.addrMsg(index, cidr);
    await this.sock.request(this.where(`removing ${cidr} from ${dev}`), RTM_DELADDR, 0, hdr, attrs);
  }

  /** Addresses of one device (by ifindex), or of every device. */
  async addresses(index?: number): Promise<AddrRecord[]> {
    const all = (await this.sock.dump(this.where('listing addresses'), RTM_GETADDR, ifaddrmsg({ family: AF_UNSPEC, prefixLength: 0, index: 0 })))
      .map(decodeAddr);
    return index === undefined ? all : all.filter((a) => a.index === index);
  }

  // ---- routes ----

  private routeMsg(r: RouteSpec, forDelete = false): { hdr: Buffer; attrs: NlAttr[] } {
    const c = parseCidr(r.dst);
    if (c === null) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid route destination "${r.dst}"`);
    const { family, bytes } = ipBytes(r.dst.slice(0, r.dst.lastIndexOf('/')));
    const attrs: NlAttr[] = [];
    if (c.prefixLength > 0) attrs.push(attr.bytes(RTA_DST, bytes));
    if (r.gateway !== undefined) attrs.push(attr.bytes(RTA_GATEWAY, ipBytes(r.gateway).bytes));
    if (r.oif !== undefined) attrs.push(attr.u32(RTA_OIF, r.oif));
    if (forDelete) {
      // A delete matches any scope (RT_SCOPE_NOWHERE), protocol (0) and type (0) unless given.
      return { hdr: rtmsg({ family, dstLength: c.prefixLength, table: RT_TABLE_MAIN, protocol: r.protocol ?? 0, scope: r.scope ?? RT_SCOPE_NOWHERE, type: 0 }), attrs };
    }
    const scope = r.scope ?? (r.gateway === undefined && r.oif !== undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
    return { hdr: rtmsg({ family, dstLength: c.prefixLength, table: RT_TABLE_MAIN, protocol: r.protocol ?? RTPROT_BOOT, scope, type: RTN_UNICAST }), attrs };
  }

  /** Add or replace a route (`ip route replace`). */
  async replaceRoute(r: RouteSpec): Promise<void> {
    const { hdr, attrs } = this.routeMsg(r);
    const via = r.gateway !== undefined ? ` via ${r.gateway}` : '';
    const dev = r.oifName ?? (r.oif !== undefined ? `ifindex ${r.oif}` : undefined);
    await this.sock.request(this.where(`adding route ${r.dst}${via}${dev !== undefined ? ` on ${dev}` : ''}`), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, hdr, attrs);
  }

  /** Delete a route; WEFT_ERR_HOST_NOT_FOUND when there is none. */
  async deleteRoute(r: RouteSpec): Promise<void> {
    const { hdr, attrs } = this.routeMsg(r, true);
    await this.sock.request(this.where(`removing the route to ${r.dst}`), RTM_DELROUTE, 0, hdr, attrs);
  }

  /** Routes of the main table (IPv4 and IPv6). */
  async routes(): Promise<RouteRecord[]> {
    return (await this.sock.dump(this.where('listing routes'), RTM_GETROUTE, rtmsg({ family: AF_UNSPEC })))
      .map(decodeRoute).filter((r) => r.table === RT_TABLE_MAIN);
  }

  /** The kernel's route lookup for one address (`ip route get`). */
  async routeGet(ip: string): Promise<RouteRecord> {
    const { family, bytes } = ipBytes(ip);
    const msgs = await this.sock.get(this.where(`route lookup for ${ip}`), RTM_GETROUTE,
      rtmsg({ family, dstLength: family === AF_INET ? 32 : 128 }), [attr.bytes(RTA_DST, bytes)]);
    const m = msgs[0];
    if (!m) throw new WeftError('WEFT_ERR_HOST_NOT_FOUND', `route lookup for ${ip} failed: no route`);
    return decodeRoute(m);
  }

  // ---- neighbours and FDB ----

  /** A permanent neighbour entry (`ip neigh replace IP lladdr MAC dev DEV nud permanent`). */
  async replaceNeighbour(dev: string, ip: string, mac: string): Promise<void> {
    const index = (await this.mustLink(dev)).index;
    const { family, bytes } = ipBytes(ip);
    await this.sock.request(this.where(`neighbour entry for ${ip} on ${dev}`), RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
      ndmsg({ family, index, state: NUD_PERMANENT }), [attr.bytes(NDA_DST, bytes), attr.bytes(NDA_LLADDR, macBytes(mac))]);
  }

  async deleteNeighbour(dev: string, ip: string): Promise<void> {
    const index = (await this.mustLink(dev)).index;
    const { family, bytes } = ipBytes(ip);
    await this.sock.request(this.where(`removing the neighbour ${ip} on ${dev}`), RTM_DELNEIGH, 0, ndmsg({ family, index }),
      [attr.bytes(NDA_DST, bytes)]);
  }

  private fdbMsg(f: FdbSpec): { hdr: Buffer; attrs: NlAttr[] } {
    const state = f.state === 'static' ? FDB_STATIC : NUD_PERMANENT;
    const flags = (f.table === 'self' ? NTF_SELF : NTF_MASTER) | (f.sticky ? NTF_STICKY : 0);
    const attrs: NlAttr[] = [attr.bytes(NDA_LLADDR, macBytes(f.mac))];
    if (f.dst !== undefined) attrs.push(attr.bytes(NDA_DST, ipBytes(f.dst).bytes));
    if (f.port !== undefined) attrs.push({ type: 6 /* NDA_PORT */, value: u16be(f.port) });
    return { hdr: ndmsg({ family: AF_BRIDGE, index: f.index, state, flags }), attrs };
  }

  /** Add or replace an FDB entry (`bridge fdb replace`); `append` adds another remote for one MAC. */
  async setFdb(f: FdbSpec, mode: 'replace' | 'append' = 'replace'): Promise<void> {
    const { hdr, attrs } = this.fdbMsg(f);
    const flags = NLM_F_CREATE | (mode === 'append' ? NLM_F_APPEND : NLM_F_REPLACE);
    await this.sock.request(this.where(`FDB entry ${f.mac}${f.dst ? ` → ${f.dst}` : ''}`), RTM_NEWNEIGH, flags, hdr, attrs);
  }

  async deleteFdb(f: FdbSpec): Promise<void> {
    const { hdr, attrs } = this.fdbMsg(f);
    await this.sock.request(this.where(`removing FDB entry ${f.mac}${f.dst ? ` → ${f.dst}` : ''}`), RTM_DELNEIGH, 0, hdr, attrs);
  }

  /** Bridge FDB entries (every port and VXLAN device of the namespace). */
  async fdb(): Promise<NeighRecord[]> {
    return (await this.sock.dump(this.where('reading the FDB'), RTM_GETNEIGH, ndmsg({ family: AF_BRIDGE }))).map(decodeNeigh);
  }

  /** IPv4/IPv6 neighbour entries. */
  async neighbours(): Promise<NeighRecord[]> {
    return (await this.sock.dump(this.where('listing neighbours'), RTM_GETNEIGH, ndmsg({ family: AF_UNSPEC })))
      .map(decodeNeigh).filter((n) => n.family === AF_INET || n.family === AF_INET6);
  }
}

/** Attributes encoded back to back (for a nested header + attributes blob, e.g. the veth peer). */
function encodeAttrsFlat(attrs: readonly NlAttr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const v = a.value as Uint8Array;
    const len = 4 + v.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(a.type, 2);
    b.set(v, 4);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** Open a namespace file for IFLA_NET_NS_FD; WEFT_ERR_HOST_NOT_FOUND when it does not exist. */
function openNetns(nsPath: string): number {
  try {
    return openSync(nsPath, 'r');
  } catch {
    throw new WeftError('WEFT_ERR_HOST_NOT_FOUND', `network namespace ${nsPath} does not exist`);
  }
}
