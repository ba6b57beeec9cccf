/**
 * The kernel edge of the host-gateway path.
 *
 * Pods stay on the weft bridge and keep one flat L2 view (they ARP for remote pods over the
 * L2 path and see their real MACs); host-gw only changes how *IPv4 unicast between pods*
 * moves, with nftables `netdev` ingress hooks that run before the bridge:
 *
 *  - on every local pod's host-side veth, a frame whose (destination MAC, destination IPv4)
 *    is a remote host-gw pod is forwarded straight to that pod's host over the underlay
 *    (`fwd ip to PEER_UNDERLAY device UNDERLAY`: neighbour output, no bridge, no routing; the
 *    TTL drops by one per host as when routed, and a packet with TTL ≤ 1 is left to the IP
 *    stack, which answers "time exceeded");
 *  - on the underlay device, a packet for us (pkttype host) from a known remote host-gw pod to
 *    a local pod goes straight out of that pod's host-side veth.
 *
 * Anything the maps don't hold takes the ordinary way: bridged frames (VXLAN or sleeve), and
 * the /32 routes kept here for traffic the host itself originates or routes (remote pods via
 * the peer's underlay address; local pods on the bridge with static neighbours).
 *
 * Table `weft_hostgw` (netdev):
 *   map remote      ether_addr . ipv4_addr : ipv4_addr     remote pod → peer underlay address
 *   map remote_dev  ether_addr . ipv4_addr : iface_index   remote pod → underlay device
 *   set remote_src  ipv4_addr                              remote host-gw pod addresses
 *   map local_dev   ipv4_addr : iface_index                local pod → its host-side veth
 *   set policed     ipv4_addr                              local pods under network policy
 *                                                          (filled by PolicyEdge): routed, not shortcut
 *   chain port_<hex ifname>  (ingress on a pod veth)     {@link policedToPeerRule}, the to-peer rule ({@link TO_PEER_RULE})
 *   chain up_<hex ifname>    (ingress on an underlay)    the to-pod rule ({@link TO_POD_RULE})
 * A map miss leaves the packet to the bridge / the IP stack. The rules sit in the hook chains
 * themselves (no jump) and count nothing: the hot path is as short as nft allows.
 */
import { FASTPATH_NFT_TABLE, FASTPATH_ROUTE_PROTO, WeftError, type Logger } from '../common/index.js';
import { isIp } from '../net/index.js';
import { netlinkKernel, type Kernel } from './kernel.js';
import { NUD_PERMANENT, RT_SCOPE_LINK } from './netlink-abi.js';
import { ignoreMissing } from './rtnl.js';
import { isValidIfname } from './netns.js';

const T = `netdev ${FASTPATH_NFT_TABLE}`;
/** On a pod veth: IPv4 to a remote host-gw pod's (MAC, address) goes straight to its host. */
export const TO_PEER_RULE = 'ip ttl > 1 fwd ip to ether daddr . ip daddr map @remote device ether daddr . ip daddr map @remote_dev';
/**
 * On an underlay device: IPv4 for us from a remote host-gw pod goes straight to the local pod's
 * veth — unless that pod is policed (then the IP stack routes it, through conntrack and policy).
 */
export const TO_POD_RULE = 'meta pkttype host ip ttl > 1 ip saddr @remote_src ip daddr != @policed fwd ip to ip daddr device ip daddr map @local_dev';
/**
 * On a pod veth, before {@link TO_PEER_RULE}: a policed pod's IPv4 to a remote host-gw pod is
 * handed to the host's IP stack instead (destination MAC := the port's own MAC, which the bridge
 * delivers locally), so it is routed by the /32 route via the peer, through conntrack and the
 * policy table; the rewritten frame no longer matches TO_PEER_RULE.
 */
export function policedToPeerRule(localMac: string): string {
  // The packet type was computed for the original destination (another host's pod: "otherhost");
  // the IP stack drops otherhost packets the bridge passes up, so it becomes "host" with the MAC.
  return `ip saddr @policed ether daddr . ip daddr @remote ether daddr set ${checkMac(localMac)} meta pkttype set host`;
}
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function checkIp(ip: string): string {
  if (!isIp(ip, 4)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid IPv4 address "${ip}"`);
  return ip;
}

function checkMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!MAC.test(m)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid MAC address "${mac}"`);
  return m;
}

function checkDev(dev: string): string {
  if (!isValidIfname(dev)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${dev}"`);
  return dev;
}

/** nft chain name for a device's ingress hook (hex keeps any interface name a valid identifier). */
export function hookChain(kind: 'port' | 'up', dev: string): string {
  return `${kind}_${Buffer.from(checkDev(dev)).toString('hex')}`;
}

/** How the kernel reaches an underlay address (`ip route get`). */
export interface UnderlayRoute {
  dev: string;
  /** Local source address used toward it. */
  src?: string;
  /** Next-hop router, when the address is not on a directly attached subnet. */
  gateway?: string;
}

/** Host-gw state read back from the kernel ({@link HostGwEdge.entries}). */
export interface HostGwEntries {
  routes: Map<string, string>;
  local: Map<string, string>;
  forwards: Map<string, string>;
  underlays: Set<string>;
  ports: Set<string>;
}

/** One object of `nft -j list ruleset`: a chain (name only) or a set/map with its elements. */
interface NftObject {
  kind: 'chain' | 'set';
  table: string;
  name: string;
  /** [key, value]: key a string or a concatenation's parts; value a string or null (sets). */
  elems: [string | string[], string | null][];
}

/** The chains, sets and maps of a libnftables JSON listing (anything unexpected is skipped). */
export function nftObjects(json: unknown): NftObject[] {
  const out: NftObject[] = [];
  const list = (json as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(list)) return out;
  const str = (x: unknown): string | null => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : null);
  const keyOf = (x: unknown): string | string[] | null => {
    const s = str(x);
    if (s !== null) return s;
    const c = (x as { concat?: unknown } | null)?.concat;
    if (Array.isArray(c)) {
      const parts = c.map(str);
      return parts.every((p): p is string => p !== null) ? parts : null;
    }
    const inner = (x as { elem?: { val?: unknown } } | null)?.elem?.val;
    return inner !== undefined ? keyOf(inner) : null;
  };
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const rec = item as Record<string, unknown>;
    const chain = rec.chain as { table?: unknown; name?: unknown } | undefined;
    if (chain && typeof chain.table === 'string' && typeof chain.name === 'string') {
      out.push({ kind: 'chain', table: chain.table, name: chain.name, elems: [] });
      continue;
    }
    const set = (rec.set ?? rec.map) as { table?: unknown; name?: unknown; elem?: unknown } | undefined;
    if (!set || typeof set.table !== 'string' || typeof set.name !== 'string') continue;
    const elems: [string | string[], string | null][] = [];
    for (const e of Array.isArray(set.elem) ? set.elem : []) {
      if (Array.isArray(e) && e.length === 2) {
        const k = keyOf(e[0]);
        const v = str(e[1]);
        if (k !== null && v !== null) elems.push([k, v]);
      } else {
        const k = keyOf(e);
        if (k !== null) elems.push([k, null]);
      }
    }
    out.push({ kind: 'set', table: set.table, name: set.name, elems });
  }
  return out;
}

/** Options of {@link HostGwEdge}. */
export interface HostGwEdgeOptions {
  bridge: string;
  log: Logger;
  /** The kernel (tests inject an in-memory one); default: netlink through the native addon. */
  kernel?: Kernel;
  /**
   * The local pods network policy polices (PolicyEdge.policedPods): setup() writes them into a
   * re-created `policed` set, so a host-gw reset + setup never opens a policed pod's shortcut.
   */
  policedPods?: () => readonly string[];
}

/**
 * Programs host-gw state. Stateless: the kernel holds everything, `reset()` removes all of it
 * (the nft table, routes by protocol number). Lifecycle: `setup()` once (keeps what a previous
 * daemon left; `entries()` reads it back), then the add/delete calls in the order KernelSync uses
 * (hooks before the entries that need them); a plain stop leaves everything in place, `reset()`
 * (weft reset, or host-gw turned off) removes it. Routes and neighbours go over netlink; every nftables change set is one `nft -f -`
 * transaction. Methods throw typed WeftErrors; deletes of what is already gone succeed (an
 * nft delete is preceded by an add of the same object in the same transaction, so it never
 * fails on a missing one).
 */
export class HostGwEdge {
  private readonly kernel: Kernel;
  private readonly proto = FASTPATH_ROUTE_PROTO;

  constructor(private readonly o: HostGwEdgeOptions) {
    checkDev(o.bridge);
    this.kernel = o.kernel ?? netlinkKernel();
  }

  /**
   * Forwarding on; the nft table with its maps (created when missing). A table a previous daemon
   * left is kept with its elements and hooks (host-gw traffic does not stop across a restart):
   * read it with {@link entries}; if its maps do not have the wanted types it is replaced.
   */
  async setup(): Promise<void> {
    await this.kernel.sysctl('net.ipv4.ip_forward', '1');
    const create = [
      `add table ${T}`,
      `add map ${T} remote { type ether_addr . ipv4_addr : ipv4_addr ; }`,
      `add map ${T} remote_dev { type ether_addr . ipv4_addr : iface_index ; }`,
      `add set ${T} remote_src { type ipv4_addr ; }`,
      `add map ${T} local_dev { type ipv4_addr : iface_index ; }`,
      `add set ${T} policed { type ipv4_addr ; }`,
    ];
    const policed = (this.o.policedPods?.() ?? []).map(checkIp);
    if (policed.length > 0) create.push(`flush set ${T} policed`, `add element ${T} policed { ${policed.join(', ')} }`);
    try {
      await this.nft('creating the host-gw nftables table', create);
    } catch (e) {
      this.o.log.warn({ err: String(e) }, 'host: existing host-gw table unusable; replacing it');
      await this.reset();
      await this.nft('creating the host-gw nftables table', create);
    }
    await this.rehookStale();
    // Host-originated traffic to local pods is routed onto the bridge: with TX offload off
    // there, every 64 KB TCP super-packet would be segmented and checksummed in software.
    await this.bridgeTxOffload(true);
    this.o.log.info({ bridge: this.o.bridge, table: FASTPATH_NFT_TABLE }, 'host: host-gw forwarding ready');
  }

  /**
   * What the kernel holds of host-gw state, in KernelSync's terms (see kernel-state.ts): routes
   * (remote pod → peer underlay), local pods (ip → "mac port"), forwards ("mac ip" → "via dev"),
   * and the hooked underlay devices and pod ports. One `nft -j list ruleset netdev` and netlink
   * dumps; for adopting a previous daemon's state at start.
   */
  async entries(): Promise<HostGwEntries> {
    const out: HostGwEntries = { routes: new Map(), local: new Map(), forwards: new Map(), underlays: new Set(), ports: new Set() };
    const k = this.kernel.host;
    const br = await k.link(this.o.bridge);
    const localDev = new Map<string, string>();
    const via = new Map<string, string>();
    const dev = new Map<string, string>();
    for (const o of nftObjects(await this.kernel.nftRuleset('netdev'))) {
      if (o.table !== FASTPATH_NFT_TABLE) continue;
      if (o.kind === 'chain') {
        const m = /^(port|up)_([0-9a-f]+)$/.exec(o.name);
        if (!m) continue;
        const name = Buffer.from(m[2]!, 'hex').toString();
        if (isValidIfname(name)) (m[1] === 'port' ? out.ports : out.underlays).add(name);
        continue;
      }
      for (const [key, value] of o.elems) {
        if (o.name === 'local_dev' && typeof key === 'string' && typeof value === 'string') localDev.set(key, value);
        const pair = Array.isArray(key) ? `${String(key[0]).toLowerCase()} ${String(key[1])}` : null;
        if (pair === null || typeof value !== 'string') continue;
        if (o.name === 'remote') via.set(pair, value);
        if (o.name === 'remote_dev') dev.set(pair, value);
      }
    }
    for (const [pair, v] of via) out.forwards.set(pair, `${v} ${dev.get(pair) ?? ''}`);
    const macs = new Map<string, string>();
    if (br) {
      for (const n of await k.neighbours()) {
        if (n.index === br.index && n.dst !== undefined && n.mac !== undefined && (n.state & NUD_PERMANENT) !== 0) macs.set(n.dst, n.mac.toLowerCase());
      }
    }
    for (const r of await k.routes()) {
      if (r.protocol !== this.proto || r.family !== 4 || !r.dst.endsWith('/32')) continue;
      const ip = r.dst.slice(0, -3);
      if (r.gateway !== undefined) out.routes.set(ip, r.gateway);
      else if (br && r.oif === br.index) out.local.set(ip, `${macs.get(ip) ?? ''} ${localDev.get(ip) ?? ''}`);
    }
    return out;
  }

  /**
   * Hooks an earlier weft left without the `policed` check (which would let policed pods take
   * the shortcut) are re-created with the current rules; current ones are kept as they are.
   */
  private async rehookStale(): Promise<void> {
    const list = (await this.kernel.nftRuleset('netdev') as { nftables?: unknown[] } | null)?.nftables ?? [];
    const hooks = new Set<string>();
    const current = new Set<string>();
    for (const item of list) {
      const c = (item as { chain?: { table?: unknown; name?: unknown } }).chain;
      if (c?.table === FASTPATH_NFT_TABLE && typeof c.name === 'string' && /^(port|up)_[0-9a-f]+$/.test(c.name)) hooks.add(c.name);
      const r = (item as { rule?: { table?: unknown; chain?: unknown } }).rule;
      if (r?.table === FASTPATH_NFT_TABLE && typeof r.chain === 'string' && JSON.stringify(r).includes('policed')) current.add(r.chain);
    }
    for (const chain of hooks) {
      if (current.has(chain)) continue;
      const [kind, hex] = chain.split('_') as ['port' | 'up', string];
      const dev = Buffer.from(hex, 'hex').toString();
      if (!isValidIfname(dev)) continue;
      this.o.log.info({ dev }, 'host: re-hooking a host-gw device hooked by an earlier version');
      await (kind === 'port' ? this.addPort(dev) : this.addUnderlay(dev));
    }
  }

  /** Remove the nft table and every route weft's host-gw installed (also after a crash). Never throws. */
  async reset(): Promise<void> {
    await this.nft('removing the host-gw table', [`add table ${T}`, `delete table ${T}`]).catch((e: unknown) =>
      this.o.log.warn({ err: String(e) }, 'host: host-gw table not removed'));
    try {
      for (const r of await this.kernel.host.routes()) {
        if (r.protocol !== this.proto) continue;
        await ignoreMissing(this.kernel.host.deleteRoute({ dst: r.dst, protocol: this.proto, ...(r.oif ? { oif: r.oif } : {}), scope: r.scope }));
      }
    } catch (e) {
      this.o.log.warn({ err: String(e) }, 'host: host-gw routes not removed');
    }
  }

  /** TX checksum offload (and with it TSO) of the bridge device on or off. Best effort. */
  async bridgeTxOffload(on: boolean): Promise<void> {
    await this.kernel.setTxChecksum(this.o.bridge, on).catch((e: unknown) =>
      this.o.log.debug({ bridge: this.o.bridge, err: String(e) }, 'host: bridge TX offload not changeable'));
  }

  /** Ingress hook on a local pod's host-side veth: its frames to remote host-gw pods skip the bridge. */
  async addPort(dev: string): Promise<void> {
    // The port's own MAC (stable; a bridge's own MAC follows its ports unless set).
    const mac = (await this.kernel.host.link(checkDev(dev)))?.mac ?? (await this.kernel.host.mustLink(this.o.bridge)).mac;
    await this.addHook('port', dev, [policedToPeerRule(mac), TO_PEER_RULE]);
  }

  async deletePort(dev: string): Promise<void> {
    await this.deleteHook('port', dev);
  }

  /** Ingress hook on an underlay device: packets from remote host-gw pods go straight to local pods. */
  async addUnderlay(dev: string): Promise<void> {
    await this.addHook('up', dev, [TO_POD_RULE]);
  }

  async deleteUnderlay(dev: string): Promise<void> {
    await this.deleteHook('up', dev);
  }

  /** Route a remote pod address via the peer's underlay address (host-originated traffic). */
  async addRemote(podIp: string, via: string): Promise<void> {
    await this.kernel.host.replaceRoute({ dst: `${checkIp(podIp)}/32`, gateway: checkIp(via), protocol: this.proto });
  }

  async deleteRemote(podIp: string): Promise<void> {
    await ignoreMissing(this.kernel.host.deleteRoute({ dst: `${checkIp(podIp)}/32`, protocol: this.proto }));
  }

  /** Pods' frames to (mac, ip) go to the peer at `via` out of `dev`; its packets are let in. */
  async addForward(mac: string, ip: string, via: string, dev: string): Promise<void> {
    const key = `${checkMac(mac)} . ${checkIp(ip)}`;
    await this.nft(`forwarding ${ip} (${mac}) via ${via}`, [
      `add element ${T} remote { ${key} : ${checkIp(via)} }`,
      `add element ${T} remote_dev { ${key} : "${checkDev(dev)}" }`,
      `add element ${T} remote_src { ${ip} }`,
    ]);
  }

  async deleteForward(mac: string, ip: string): Promise<void> {
    const key = `${checkMac(mac)} . ${checkIp(ip)}`;
    await this.deleteElements(`removing the forwarding of ${ip}`, [
      `delete element ${T} remote { ${key} }`, `delete element ${T} remote_dev { ${key} }`, `delete element ${T} remote_src { ${ip} }`,
    ]);
  }

  /**
   * A local pod: reachable by routing (a /32 on the bridge with a static neighbour, so the host
   * needs no ARP), and — with its host-side veth `port` — straight from the underlay.
   */
  async addLocal(podIp: string, mac: string, port?: string): Promise<void> {
    const b = this.o.bridge;
    const k = this.kernel.host;
    const br = await k.mustLink(b);
    await k.replaceRoute({ dst: `${checkIp(podIp)}/32`, oif: br.index, scope: RT_SCOPE_LINK, protocol: this.proto });
    await k.replaceNeighbour(b, podIp, checkMac(mac));
    if (!port) return;
    await k.replaceNeighbour(checkDev(port), podIp, mac.toLowerCase());
    await this.nft(`forwarding to local pod ${podIp}`, [`add element ${T} local_dev { ${podIp} : "${port}" }`]);
  }

  async deleteLocal(podIp: string, port?: string): Promise<void> {
    const b = this.o.bridge;
    const k = this.kernel.host;
    await this.deleteElements(`removing the forwarding to local pod ${podIp}`, [`delete element ${T} local_dev { ${checkIp(podIp)} }`]);
    if (port) await ignoreMissing(k.deleteNeighbour(checkDev(port), podIp));
    const br = await k.link(b);
    await ignoreMissing(k.deleteRoute({ dst: `${podIp}/32`, protocol: this.proto, ...(br ? { oif: br.index } : {}), scope: RT_SCOPE_LINK }));
    if (br) await ignoreMissing(k.deleteNeighbour(b, podIp));
  }

  private async addHook(kind: 'port' | 'up', dev: string, rules: readonly string[]): Promise<void> {
    const chain = hookChain(kind, dev);
    // One transaction: drop a leftover hook of an earlier device of that name, then hook.
    await this.nft(`hooking ${dev} ingress`, [
      `add chain ${T} ${chain}`, `delete chain ${T} ${chain}`,
      `add chain ${T} ${chain} { type filter hook ingress device "${dev}" priority 0 ; }`,
      ...rules.map((r) => `add rule ${T} ${chain} ${r}`),
    ]);
  }

  private async deleteHook(kind: 'port' | 'up', dev: string): Promise<void> {
    const chain = hookChain(kind, dev);
    await this.nft(`unhooking ${dev} ingress`, [`add chain ${T} ${chain}`, `delete chain ${T} ${chain}`]);
  }

  /**
   * Delete elements in one transaction. A delete of a missing element fails the whole
   * transaction (nft 1.0.6 has no `destroy`), so on failure each delete is retried on its own
   * and a failing one is taken as already gone (logged): deletes are idempotent.
   */
  private async deleteElements(what: string, cmds: string[]): Promise<void> {
    try {
      await this.nft(what, cmds);
      return;
    } catch {
      // some element was already gone: fall through to one transaction per element
    }
    for (const c of cmds) {
      await this.nft(what, [c]).catch((e: unknown) => this.o.log.debug({ cmd: c, err: String(e) }, 'host: nft element already gone'));
    }
  }

  /** One atomic nft transaction. */
  private async nft(what: string, cmds: string[]): Promise<void> {
    await this.kernel.nft(what, `${cmds.join('\n')}\n`);
  }
}

/** The kernel's route to an underlay address (`ip route get`): device, source, gateway. */
export async function underlayRoute(ip: string, kernel: Kernel = netlinkKernel()): Promise<UnderlayRoute> {
  const r = await kernel.host.routeGet(checkIp(ip));
  if (r.oif === undefined) throw new WeftError('WEFT_ERR_HOST', `route lookup for ${ip} failed: no device`);
  const links = await kernel.host.links();
  const dev = links.find((l) => l.index === r.oif)?.name;
  if (!dev) throw new WeftError('WEFT_ERR_HOST_NO_DEVICE', `route lookup for ${ip} failed: device ${r.oif} not found`);
  return { dev, ...(r.prefsrc ? { src: r.prefsrc } : {}), ...(r.gateway ? { gateway: r.gateway } : {}) };
}
