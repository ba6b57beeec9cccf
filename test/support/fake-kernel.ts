/**
 * An in-memory {@link Kernel}: the same typed interface as the netlink edge
 * (src/host/kernel.ts), so unit tests drive the real VxlanEdge, HostGwEdge and HostPlumbing and
 * assert on the resulting kernel state (links, addresses, routes, neighbours, FDB entries,
 * nftables elements), not on command strings. Errors carry the codes the real edge maps from
 * errno (WEFT_ERR_HOST_EXISTS, _NO_DEVICE, _NOT_FOUND, WEFT_ERR_HOST). The contract test
 * test/integration/fake-kernel.test.ts runs one script against this fake and against the real
 * kernel in a namespace and requires the same state and the same error codes.
 *
 * Modelled: what weft's edges use. Not modelled: traffic, learning (see {@link FakeKernel.learn}),
 * the kernel's automatic local FDB entries, IPv6 link-local addresses.
 */
import { WeftError, type WeftErrorCode } from '../../src/common/index.js';
import { parseCidr } from '../../src/net/index.js';
import type {
  AddrRecord, FdbSpec, Kernel, LinkChange, LinkRecord, NeighRecord, NftElementChange, RouteRecord, RouteSpec, RtnlOps,
} from '../../src/host/index.js';
import { elementChangeScript } from '../../src/host/index.js';
import { applyNft, type FakeRuleset } from './fake-nft.js';

const AF_BRIDGE = 7;
const NTF_SELF = 0x02;
const NTF_MASTER = 0x04;
const NTF_STICKY = 0x40;
const NUD_REACHABLE = 0x02;
const NUD_NOARP = 0x40;
const NUD_PERMANENT = 0x80;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const RTPROT_KERNEL = 2;
const RTPROT_BOOT = 3;
const RT_TABLE_MAIN = 254;
const RTN_UNICAST = 1;

/** A link as the fake keeps it (a superset of what `links()` reports). */
export interface FakeLink extends LinkRecord {
  learning: boolean;
  isolated: boolean;
  txChecksum: boolean;
  vxlan?: { vni: number; port: number };
  /** The other end of a veth. */
  peer?: { ns: FakeNetns; name: string };
  inetConf: Map<number, number>;
  addrGenModeNone: boolean;
  /** Bridge option nf_call_iptables/ip6tables (br_netfilter for this bridge). */
  nfCall?: boolean;
}

interface FdbEntry { index: number; mac: string; table: 'self' | 'master'; state: number; flags: number; remotes: { dst?: string; port?: number }[] }

/** One namespace's state. */
export class FakeNetns {
  readonly links = new Map<string, FakeLink>();
  readonly addresses: AddrRecord[] = [];
  readonly routes: RouteRecord[] = [];
  readonly neighbours: NeighRecord[] = [];
  readonly fdbEntries: FdbEntry[] = [];
  private nextIndex = 2;

  constructor(readonly path: string) {
    this.links.set('lo', this.newLink('lo', '', 65536, 1));
    this.links.get('lo')!.up = true;
  }

  newLink(name: string, kind: string, mtu: number, index = this.nextIndex++, mac = fakeMac(index + (this.path.length << 8))): FakeLink {
    return { index, name, kind, mac, mtu, master: 0, up: false, learning: true, isolated: false, txChecksum: true, inetConf: new Map(), addrGenModeNone: false };
  }

  byIndex(index: number): FakeLink | undefined {
    for (const l of this.links.values()) if (l.index === index) return l;
    return undefined;
  }

  freeIndex(index: number): number {
    if (!this.byIndex(index)) {
      this.nextIndex = Math.max(this.nextIndex, index + 1);
      return index;
    }
    return this.nextIndex++;
  }

  /** Drop everything that refers to `index` (the link is gone or left the namespace). */
  forget(index: number): void {
    const keep = <T>(a: T[], f: (x: T) => boolean): void => {
      const k = a.filter(f);
      a.splice(0, a.length, ...k);
    };
    keep(this.addresses, (a) => a.index !== index);
    keep(this.routes, (r) => r.oif !== index);
    keep(this.neighbours, (n) => n.index !== index);
    keep(this.fdbEntries, (f) => f.index !== index);
    for (const l of this.links.values()) if (l.master === index) l.master = 0;
  }
}

let macSeq = 0;
function fakeMac(seed: number): string {
  const n = (seed * 7919 + ++macSeq) & 0xffffff;
  return `02:fa:ce:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

const fail = (code: WeftErrorCode, what: string, why: string): never => {
  throw new WeftError(code, `${what} failed: ${why}`);
};

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}

function inPrefix(ip: string, net: string, len: number): boolean {
  if (ip.includes(':') || net.includes(':')) return false;
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(net) & mask) >>> 0);
}

function networkOf(ip: string, len: number): string {
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  const n = (ipToInt(ip) & mask) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

/** The typed operations of one fake namespace (what `Rtnl` does against the real kernel). */
export class FakeRtnl implements RtnlOps {
  constructor(private readonly kernel: FakeKernel, private readonly ns: FakeNetns, readonly nsPath: string | undefined) {}

  close(): void {}

  private where(what: string): string {
    return this.nsPath ? `${what} in ${this.nsPath}` : what;
  }

  private must(name: string, what: string): FakeLink {
    return this.ns.links.get(name) ?? fail('WEFT_ERR_HOST_NO_DEVICE', this.where(what), 'No such device (ENODEV)');
  }

  private static record(l: FakeLink): LinkRecord {
    return { index: l.index, name: l.name, kind: l.kind, mac: l.mac, mtu: l.mtu, master: l.master, up: l.up, ...(l.alias !== undefined ? { alias: l.alias } : {}) };
  }

  async link(name: string): Promise<LinkRecord | null> {
    const l = this.ns.links.get(name);
    return l ? FakeRtnl.record(l) : null;
  }

  async mustLink(name: string): Promise<LinkRecord> {
    const l = this.ns.links.get(name);
    if (!l) throw new WeftError('WEFT_ERR_HOST_NO_DEVICE', `${this.where(`link ${name}`)} does not exist`);
    return FakeRtnl.record(l);
  }

  async links(): Promise<LinkRecord[]> {
    return [...this.ns.links.values()].map(FakeRtnl.record);
  }

  private create(name: string, what: string, make: () => FakeLink): FakeLink {
    if (this.ns.links.has(name)) fail('WEFT_ERR_HOST_EXISTS', this.where(what), 'File exists (EEXIST)');
    const l = make();
    this.ns.links.set(name, l);
    return l;
  }

  async addBridge(name: string): Promise<void> {
    this.create(name, `creating bridge ${name}`, () => this.ns.newLink(name, 'bridge', 1500));
  }

  async addVeth(name: string, peer: string, mtu: number, peerNsPath?: string): Promise<void> {
    const what = this.where(`creating veth ${name}`);
    const peerNs = peerNsPath ? this.kernel.netns(peerNsPath) : this.ns;
    if (peerNs.links.has(peer) || (peerNs === this.ns && peer === name)) fail('WEFT_ERR_HOST_EXISTS', what, 'File exists (EEXIST)');
    const a = this.create(name, `creating veth ${name}`, () => this.ns.newLink(name, 'veth', mtu));
    const b = peerNs.newLink(peer, 'veth', mtu);
    peerNs.links.set(peer, b);
    a.peer = { ns: peerNs, name: peer };
    b.peer = { ns: this.ns, name };
  }

  async addVxlan(name: string, o: { vni: number; port: number; mtu?: number; mac?: string }): Promise<void> {
    const l = this.create(name, `creating VXLAN device ${name}`, () => this.ns.newLink(name, 'vxlan', o.mtu ?? 1500));
    l.vxlan = { vni: o.vni, port: o.port };
    if (o.mac !== undefined) l.mac = o.mac.toLowerCase();
  }

  async setLink(name: string, c: LinkChange): Promise<void> {
    const what = `changing link ${name}`;
    const l = this.must(name, what);
    if (c.master !== undefined && c.master !== 0) {
      const m = this.ns.byIndex(c.master) ?? fail('WEFT_ERR_HOST_NO_DEVICE', this.where(what), 'No such device (ENODEV)');
      if (m.kind !== 'bridge') fail('WEFT_ERR_HOST', this.where(what), 'Operation not supported (EOPNOTSUPP)');
    }
    if (c.name !== undefined && c.name !== name && this.ns.links.has(c.name)) fail('WEFT_ERR_HOST_EXISTS', this.where(what), 'File exists (EEXIST)');
    if (c.master !== undefined) {
      if (c.master !== l.master) this.ns.fdbEntries.splice(0, this.ns.fdbEntries.length, ...this.ns.fdbEntries.filter((f) => !(f.index === l.index && f.table === 'master')));
      l.master = c.master;
    }
    if (c.mtu !== undefined) l.mtu = c.mtu;
    if (c.up !== undefined) l.up = c.up;
    if (c.alias !== undefined) l.alias = c.alias;
    if (c.mac !== undefined) l.mac = c.mac.toLowerCase();
    if (c.name !== undefined && c.name !== name) {
      this.ns.links.delete(name);
      l.name = c.name;
      this.ns.links.set(c.name, l);
      if (l.peer) l.peer.ns.links.get(l.peer.name)!.peer = { ns: this.ns, name: c.name };
    }
  }

  async moveLink(name: string, nsPath: string): Promise<void> {
    const what = this.where(`moving ${name} to ${nsPath}`);
    const l = this.must(name, what);
    const to = this.kernel.netns(nsPath);
    if (to.links.has(name)) fail('WEFT_ERR_HOST_EXISTS', what, 'File exists (EEXIST)');
    this.ns.links.delete(name);
    this.ns.forget(l.index);
    l.index = to.freeIndex(l.index);
    l.master = 0;
    l.up = false;
    to.links.set(name, l);
    if (l.peer) l.peer.ns.links.get(l.peer.name)!.peer = { ns: to, name };
  }

  async deleteLink(name: string): Promise<void> {
    const l = this.must(name, `deleting ${name}`);
    this.ns.links.delete(name);
    this.ns.forget(l.index);
    if (l.peer) {
      const p = l.peer.ns.links.get(l.peer.name);
      if (p) {
        l.peer.ns.links.delete(p.name);
        l.peer.ns.forget(p.index);
      }
    }
  }

  async setBridgePort(name: string, o: { learning?: boolean; isolated?: boolean }): Promise<void> {
    const what = `configuring bridge port ${name}`;
    const l = this.must(name, what);
    if (l.master === 0) fail('WEFT_ERR_HOST', this.where(what), 'Operation not supported (EOPNOTSUPP)');
    if (o.learning !== undefined) l.learning = o.learning;
    if (o.isolated !== undefined) l.isolated = o.isolated;
  }

  async setInetConf(name: string, conf: ReadonlyMap<number, number>): Promise<void> {
    const l = this.must(name, `configuring IPv4 on ${name}`);
    for (const [k, v] of conf) l.inetConf.set(k, v);
  }

  async setAddrGenModeNone(name: string): Promise<void> {
    this.must(name, `configuring IPv6 on ${name}`).addrGenModeNone = true;
  }

  private parse(cidr: string): { address: string; prefixLength: number; family: 4 | 6 } {
    const c = parseCidr(cidr);
    if (c === null) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid address "${cidr}" (want ADDRESS/LENGTH)`);
    const address = cidr.slice(0, cidr.lastIndexOf('/'));
    return { address, prefixLength: c.prefixLength, family: address.includes(':') ? 6 : 4 };
  }

  async addAddress(dev: string, cidr: string, replace = false): Promise<void> {
    const what = `adding ${cidr} to ${dev}`;
    const l = this.must(dev, what);
    const a = this.parse(cidr);
    const have = this.ns.addresses.find((x) => x.index === l.index && x.address === a.address && x.prefixLength === a.prefixLength);
    if (have) {
      if (!replace) fail('WEFT_ERR_HOST_EXISTS', this.where(what), 'File exists (EEXIST)');
      return;
    }
    this.ns.addresses.push({ index: l.index, family: a.family, address: a.address, prefixLength: a.prefixLength, scope: 0 });
  }

  async deleteAddress(dev: string, cidr: string): Promise<void> {
    const what = `removing ${cidr} from ${dev}`;
    const l = this.must(dev, what);
    const a = this.parse(cidr);
    const i = this.ns.addresses.findIndex((x) => x.index === l.index && x.address === a.address && x.prefixLength === a.prefixLength);
    if (i < 0) fail('WEFT_ERR_HOST_NOT_FOUND', this.where(what), 'Cannot assign requested address (EADDRNOTAVAIL)');
    this.ns.addresses.splice(i, 1);
  }

  async addresses(index?: number): Promise<AddrRecord[]> {
    return this.ns.addresses.filter((a) => index === undefined || a.index === index).map((a) => ({ ...a }));
  }

  /** Connected routes the kernel derives from addresses on up links. */
  private connected(): RouteRecord[] {
    const out: RouteRecord[] = [];
    for (const a of this.ns.addresses) {
      const l = this.ns.byIndex(a.index);
      if (!l?.up || a.family !== 4 || a.prefixLength === 32) continue;
      out.push({ family: 4, dst: `${networkOf(a.address, a.prefixLength)}/${a.prefixLength}`, oif: a.index, prefsrc: a.address,
        table: RT_TABLE_MAIN, protocol: RTPROT_KERNEL, scope: RT_SCOPE_LINK, type: RTN_UNICAST });
    }
    return out;
  }

  async replaceRoute(r: RouteSpec): Promise<void> {
    const via = r.gateway !== undefined ? ` via ${r.gateway}` : '';
    const dev = r.oifName ?? (r.oif !== undefined ? `ifindex ${r.oif}` : undefined);
    const what = this.where(`adding route ${r.dst}${via}${dev !== undefined ? ` on ${dev}` : ''}`);
    const c = parseCidr(r.dst) ?? fail('WEFT_ERR_BAD_ARGS', what, `invalid route destination "${r.dst}"`);
    if (r.oif !== undefined && !this.ns.byIndex(r.oif)) fail('WEFT_ERR_HOST_NO_DEVICE', what, 'No such device (ENODEV)');
    let oif = r.oif;
    if (r.gateway !== undefined) {
      const gw = r.gateway;
      const on = this.connected().find((x) => inPrefix(gw, x.dst.split('/')[0]!, Number(x.dst.split('/')[1])) && (oif === undefined || x.oif === oif));
      if (!on) return fail('WEFT_ERR_HOST', what, 'Nexthop has invalid gateway (ENETUNREACH)');
      oif ??= on.oif;
    }
    const dst = `${networkOf(r.dst.split('/')[0]!, c.prefixLength)}/${c.prefixLength}`;
    const rec: RouteRecord = {
      family: r.dst.includes(':') ? 6 : 4, dst, ...(r.gateway !== undefined ? { gateway: r.gateway } : {}), ...(oif !== undefined ? { oif } : {}),
      table: RT_TABLE_MAIN, protocol: r.protocol ?? RTPROT_BOOT,
      scope: r.scope ?? (r.gateway === undefined && r.oif !== undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE), type: RTN_UNICAST,
    };
    const i = this.ns.routes.findIndex((x) => x.dst === dst);
    if (i >= 0) this.ns.routes[i] = rec;
    else this.ns.routes.push(rec);
  }

  async deleteRoute(r: RouteSpec): Promise<void> {
    const i = this.ns.routes.findIndex((x) => x.dst === r.dst && (r.oif === undefined || x.oif === r.oif)
      && (!r.protocol || x.protocol === r.protocol) && (r.scope === undefined || r.scope === RT_SCOPE_NOWHERE || x.scope === r.scope)
      && (r.gateway === undefined || x.gateway === r.gateway));
    if (i < 0) fail('WEFT_ERR_HOST_NOT_FOUND', this.where(`removing the route to ${r.dst}`), 'No such process (ESRCH)');
    this.ns.routes.splice(i, 1);
  }

  async routes(): Promise<RouteRecord[]> {
    return [...this.connected(), ...this.ns.routes.map((r) => ({ ...r }))];
  }

  async routeGet(ip: string): Promise<RouteRecord> {
    const best = (await this.routes()).filter((r) => r.family === 4 && inPrefix(ip, r.dst.split('/')[0]!, Number(r.dst.split('/')[1])))
      .sort((a, b) => Number(b.dst.split('/')[1]) - Number(a.dst.split('/')[1]))[0];
    if (!best) return fail('WEFT_ERR_HOST', this.where(`route lookup for ${ip}`), 'Network is unreachable (ENETUNREACH)');
    const src = this.ns.addresses.find((a) => a.index === best.oif && a.family === 4)?.address;
    return { ...best, dst: `${ip}/32`, ...(src !== undefined ? { prefsrc: src } : {}) };
  }

  async replaceNeighbour(dev: string, ip: string, mac: string): Promise<void> {
    const l = this.must(dev, `neighbour entry for ${ip} on ${dev}`);
    const rec: NeighRecord = { family: ip.includes(':') ? 10 : 2, index: l.index, state: NUD_PERMANENT, flags: 0, mac: mac.toLowerCase(), dst: ip };
    const i = this.ns.neighbours.findIndex((n) => n.index === l.index && n.dst === ip);
    if (i >= 0) this.ns.neighbours[i] = rec;
    else this.ns.neighbours.push(rec);
  }

  async deleteNeighbour(dev: string, ip: string): Promise<void> {
    const what = `removing the neighbour ${ip} on ${dev}`;
    const l = this.must(dev, what);
    const i = this.ns.neighbours.findIndex((n) => n.index === l.index && n.dst === ip);
    if (i < 0) fail('WEFT_ERR_HOST_NOT_FOUND', this.where(what), 'No such file or directory (ENOENT)');
    this.ns.neighbours.splice(i, 1);
  }

  async setFdb(f: FdbSpec, mode: 'replace' | 'append' = 'replace'): Promise<void> {
    const what = this.where(`FDB entry ${f.mac}${f.dst ? ` → ${f.dst}` : ''}`);
    const l = this.ns.byIndex(f.index) ?? fail('WEFT_ERR_HOST_NO_DEVICE', what, 'No such device (ENODEV)');
    if (f.table === 'master' && l.master === 0) fail('WEFT_ERR_HOST', what, 'Invalid argument (EINVAL)');
    const mac = f.mac.toLowerCase();
    const state = f.state === 'static' ? NUD_NOARP : NUD_PERMANENT;
    const flags = (f.table === 'self' ? NTF_SELF : NTF_MASTER) | (f.sticky ? NTF_STICKY : 0);
    const remote = { ...(f.dst !== undefined ? { dst: f.dst } : {}), ...(f.port !== undefined ? { port: f.port } : {}) };
    const have = this.ns.fdbEntries.find((e) => e.index === f.index && e.mac === mac && e.table === f.table);
    if (!have) {
      this.ns.fdbEntries.push({ index: f.index, mac, table: f.table, state, flags, remotes: [remote] });
      return;
    }
    if (mode === 'append') {
      if (have.remotes.some((r) => r.dst === f.dst)) fail('WEFT_ERR_HOST_EXISTS', what, 'File exists (EEXIST)');
      have.remotes.push(remote);
      return;
    }
    have.state = state;
    have.flags = flags;
    have.remotes = [remote];
  }

  async deleteFdb(f: FdbSpec): Promise<void> {
    const what = this.where(`removing FDB entry ${f.mac}${f.dst ? ` → ${f.dst}` : ''}`);
    if (!this.ns.byIndex(f.index)) fail('WEFT_ERR_HOST_NO_DEVICE', what, 'No such device (ENODEV)');
    const mac = f.mac.toLowerCase();
    const i = this.ns.fdbEntries.findIndex((e) => e.index === f.index && e.mac === mac && e.table === f.table);
    const e = this.ns.fdbEntries[i];
    if (!e) return fail('WEFT_ERR_HOST_NOT_FOUND', what, 'No such file or directory (ENOENT)');
    if (f.table === 'self' && f.dst !== undefined && e.remotes.length > 1) {
      const j = e.remotes.findIndex((r) => r.dst === f.dst);
      if (j < 0) fail('WEFT_ERR_HOST_NOT_FOUND', what, 'No such file or directory (ENOENT)');
      e.remotes.splice(j, 1);
      return;
    }
    if (f.table === 'self' && f.dst !== undefined && e.remotes[0]?.dst !== f.dst) fail('WEFT_ERR_HOST_NOT_FOUND', what, 'No such file or directory (ENOENT)');
    this.ns.fdbEntries.splice(i, 1);
  }

  async fdb(): Promise<NeighRecord[]> {
    const out: NeighRecord[] = [];
    for (const e of this.ns.fdbEntries) {
      const master = this.ns.byIndex(e.index)?.master;
      for (const r of e.remotes) {
        out.push({ family: AF_BRIDGE, index: e.index, state: e.state, flags: e.flags, mac: e.mac, ...(r.dst !== undefined ? { dst: r.dst } : {}),
          ...(e.table === 'master' && master ? { master } : {}) });
      }
    }
    return out;
  }

  async setBridgeNfCall(name: string, on: boolean): Promise<void> {
    const l = this.must(name, `br_netfilter ${on ? 'on' : 'off'} for bridge ${name}`);
    if (l.kind !== 'bridge') fail('WEFT_ERR_HOST', this.where(`br_netfilter for ${name}`), 'Operation not supported (EOPNOTSUPP)');
    l.nfCall = on;
  }

  async neighbours(): Promise<NeighRecord[]> {
    return this.ns.neighbours.map((n) => ({ ...n }));
  }
}

/** The in-memory kernel: namespaces by path ("" is the daemon's own), nftables and sysctls of the daemon's namespace. */
export class FakeKernel implements Kernel {
  private readonly spaces = new Map<string, FakeNetns>();
  readonly hostNs: FakeNetns;
  readonly host: FakeRtnl;
  ruleset: FakeRuleset = new Map();
  readonly sysctls = new Map<string, string>();
  /** nft transactions applied (what), in order; failed ones are not recorded. */
  readonly nftLog: string[] = [];

  constructor() {
    this.hostNs = new FakeNetns('');
    this.spaces.set('', this.hostNs);
    this.host = new FakeRtnl(this, this.hostNs, undefined);
  }

  /** Create a namespace (what `ip netns add` does); returns its state. */
  addNetns(path: string): FakeNetns {
    const ns = this.spaces.get(path) ?? new FakeNetns(path);
    this.spaces.set(path, ns);
    return ns;
  }

  /** Remove a namespace: its veths' peers go with it. */
  deleteNetns(path: string): void {
    const ns = this.spaces.get(path);
    if (!ns) return;
    for (const l of ns.links.values()) {
      if (!l.peer) continue;
      const p = l.peer.ns.links.get(l.peer.name);
      if (p) {
        l.peer.ns.links.delete(p.name);
        l.peer.ns.forget(p.index);
      }
    }
    this.spaces.delete(path);
  }

  /** The namespace at `path`; WEFT_ERR_HOST_NOT_FOUND when there is none (as opening its file fails). */
  netns(path: string): FakeNetns {
    return this.spaces.get(path) ?? fail('WEFT_ERR_HOST_NOT_FOUND', `opening ${path}`, `network namespace ${path} does not exist`);
  }

  openNetns(nsPath: string): FakeRtnl {
    return new FakeRtnl(this, this.netns(nsPath), nsPath);
  }

  /** Simulate the bridge learning `mac` on `port` (what traffic from a pod does). */
  learn(port: string, mac: string): void {
    const l = this.hostNs.links.get(port) ?? fail('WEFT_ERR_HOST_NO_DEVICE', `learning on ${port}`, 'no such port');
    this.hostNs.fdbEntries.push({ index: l.index, mac: mac.toLowerCase(), table: 'master', state: NUD_REACHABLE, flags: NTF_MASTER, remotes: [{}] });
  }

  async setTxChecksum(ifname: string, on: boolean, nsPath?: string): Promise<void> {
    const ns = nsPath ? this.netns(nsPath) : this.hostNs;
    const l = ns.links.get(ifname) ?? fail('WEFT_ERR_HOST_NO_DEVICE', `TX checksum offload ${on ? 'on' : 'off'} for ${ifname}`, 'No such device (ENODEV)');
    l.txChecksum = on;
  }

  async createTap(name: string): Promise<void> {
    const have = this.hostNs.links.get(name);
    if (have?.kind === 'tun') return; // TUNSETIFF attaches to an existing persistent TAP
    if (have) fail('WEFT_ERR_HOST', `creating TAP ${name}`, 'Invalid argument (EINVAL)');
    this.hostNs.links.set(name, this.hostNs.newLink(name, 'tun', 1500));
  }

  async sysctl(key: string, value: string): Promise<void> {
    this.sysctls.set(key, value);
  }

  async readSysctl(key: string): Promise<string> {
    return this.sysctls.get(key) ?? fail('WEFT_ERR_HOST_NOT_FOUND', `reading ${key}`, 'ENOENT');
  }

  /** `nft -j list ruleset FAMILY` only (the fake models no counters or table lists). */
  async nftList(what: string, args: readonly string[]): Promise<unknown> {
    const [kind, family] = args;
    if (kind === 'ruleset' && (family === 'netdev' || family === 'inet' || family === 'ip')) return this.nftRuleset(family);
    return fail('WEFT_ERR_HOST', what, `fake nft: listing "${args.join(' ')}" is not modelled`);
  }

  /** The ruleset of one family in libnftables' JSON shape (`nft -j list ruleset FAMILY`). */
  async nftRuleset(family: 'netdev' | 'inet' | 'ip'): Promise<unknown> {
    const items: unknown[] = [{ metainfo: { version: 'fake', json_schema_version: 1 } }];
    const value = (v: string): unknown => (v.includes(' . ') ? { concat: v.split(' . ') } : v);
    for (const [key, t] of this.ruleset) {
      const [fam, table] = key.split(' ');
      if (fam !== family) continue;
      items.push({ table: { family: fam, name: table } });
      for (const [name, set] of t.sets) {
        const elem = [...set.elements].map(([k, v]) => (v === null ? value(k) : [value(k), v]));
        items.push({ [set.isMap ? 'map' : 'set']: { family: fam, table, name, ...(elem.length > 0 ? { elem } : {}) } });
      }
      for (const [name, c] of t.chains) {
        items.push({ chain: { family: fam, table, name, ...(c.hookDevice !== undefined ? { type: 'filter', hook: 'ingress', prio: 0 } : {}) } });
        for (const r of c.rules) items.push({ rule: { family: fam, table, chain: name, expr: r } });
      }
    }
    return { nftables: items };
  }

  async nft(what: string, script: string): Promise<void> {
    this.ruleset = applyNft(this.ruleset, what, script);
    this.nftLog.push(what);
  }

  /** The element batch as the same transaction in nft's text (the fake models one language). */
  async nftElements(what: string, changes: readonly NftElementChange[]): Promise<void> {
    await this.nft(what, elementChangeScript(changes));
  }
}
