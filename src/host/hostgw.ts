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
 *   chain port_<hex ifname>  (ingress on a pod veth)     the to-peer rule ({@link TO_PEER_RULE})
 *   chain up_<hex ifname>    (ingress on an underlay)    the to-pod rule ({@link TO_POD_RULE})
 * A map miss leaves the packet to the bridge / the IP stack. The rules sit in the hook chains
 * themselves (no jump) and count nothing: the hot path is as short as nft allows.
 */
import { FASTPATH_NFT_TABLE, FASTPATH_ROUTE_PROTO, WeftError, type Logger } from '../common/index.js';
import { isIp } from '../net/index.js';
import { check, execRunner, firstLine, parseIpJson, type CommandRunner } from './exec.js';
import { isValidIfname } from './netns.js';

const T = `netdev ${FASTPATH_NFT_TABLE}`;
/** On a pod veth: IPv4 to a remote host-gw pod's (MAC, address) goes straight to its host. */
export const TO_PEER_RULE = 'ip ttl > 1 fwd ip to ether daddr . ip daddr map @remote device ether daddr . ip daddr map @remote_dev';
/** On an underlay device: IPv4 for us from a remote host-gw pod goes straight to the local pod's veth. */
export const TO_POD_RULE = 'meta pkttype host ip ttl > 1 ip saddr @remote_src fwd ip to ip daddr device ip daddr map @local_dev';
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

const gone = (stderr: string) => /no such|not found|does not exist|cannot find/i.test(stderr);

/** How the kernel reaches an underlay address (`ip route get`). */
export interface UnderlayRoute {
  dev: string;
  /** Local source address used toward it. */
  src?: string;
  /** Next-hop router, when the address is not on a directly attached subnet. */
  gateway?: string;
}

/** Options of {@link HostGwEdge}. */
export interface HostGwEdgeOptions {
  bridge: string;
  log: Logger;
  run?: CommandRunner;
}

/**
 * Programs host-gw state. Stateless: the kernel holds everything, `reset()` removes all of it
 * (the nft table, routes by protocol number). Lifecycle: `setup()` once, then the add/delete
 * calls in the order KernelSync uses (hooks before the entries that need them), `reset()` at
 * stop. Methods throw WEFT_ERR_HOST on failure; deletes of what is already gone succeed.
 */
export class HostGwEdge {
  private readonly run: CommandRunner;
  private readonly proto = String(FASTPATH_ROUTE_PROTO);

  constructor(private readonly o: HostGwEdgeOptions) {
    checkDev(o.bridge);
    this.run = o.run ?? execRunner();
  }

  /** Forwarding on, a fresh nft table with its maps and rules, no stale routes. */
  async setup(): Promise<void> {
    check('enabling IPv4 forwarding', await this.run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']));
    await this.reset();
    await this.nft('creating the host-gw nftables table', [
      `add table ${T}`,
      `add map ${T} remote { type ether_addr . ipv4_addr : ipv4_addr ; }`,
      `add map ${T} remote_dev { type ether_addr . ipv4_addr : iface_index ; }`,
      `add set ${T} remote_src { type ipv4_addr ; }`,
      `add map ${T} local_dev { type ipv4_addr : iface_index ; }`,
    ]);
    // Host-originated traffic to local pods is routed onto the bridge: with TX offload off
    // there, every 64 KB TCP super-packet would be segmented and checksummed in software.
    await this.bridgeTxOffload(true);
    this.o.log.info({ bridge: this.o.bridge, table: FASTPATH_NFT_TABLE }, 'host: host-gw forwarding ready');
  }

  /** Remove the nft table and every route weft's host-gw installed (also after a crash). Never throws. */
  async reset(): Promise<void> {
    await this.run('nft', [`delete table ${T}`]);
    await this.run('ip', ['route', 'flush', 'proto', this.proto]);
  }

  /** TX checksum offload (and with it TSO) of the bridge device on or off. Best effort. */
  async bridgeTxOffload(on: boolean): Promise<void> {
    const r = await this.run('ethtool', ['-K', this.o.bridge, 'tx', on ? 'on' : 'off']);
    if (r.code !== 0) this.o.log.debug({ bridge: this.o.bridge, err: firstLine(r.stderr) }, 'host: bridge TX offload not changeable');
  }

  /** Ingress hook on a local pod's host-side veth: its frames to remote host-gw pods skip the bridge. */
  async addPort(dev: string): Promise<void> {
    await this.addHook('port', dev, TO_PEER_RULE);
  }

  async deletePort(dev: string): Promise<void> {
    await this.deleteHook('port', dev);
  }

  /** Ingress hook on an underlay device: packets from remote host-gw pods go straight to local pods. */
  async addUnderlay(dev: string): Promise<void> {
    await this.addHook('up', dev, TO_POD_RULE);
  }

  async deleteUnderlay(dev: string): Promise<void> {
    await this.deleteHook('up', dev);
  }

  /** Route a remote pod address via the peer's underlay address (host-originated traffic). */
  async addRemote(podIp: string, via: string): Promise<void> {
    check(`routing ${podIp} via ${via}`, await this.run('ip', ['route', 'replace', `${checkIp(podIp)}/32`, 'via', checkIp(via), 'proto', this.proto]));
  }

  async deleteRemote(podIp: string): Promise<void> {
    const r = await this.run('ip', ['route', 'del', `${checkIp(podIp)}/32`, 'proto', this.proto]);
    if (r.code !== 0 && !gone(r.stderr)) check(`removing the route to ${podIp}`, r);
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
    // One command each: an element that is already gone must not keep the others.
    for (const cmd of [`delete element ${T} remote { ${key} }`, `delete element ${T} remote_dev { ${key} }`, `delete element ${T} remote_src { ${ip} }`]) {
      const r = await this.run('nft', [cmd]);
      if (r.code !== 0 && !gone(r.stderr)) check(`removing the forwarding of ${ip}`, r);
    }
  }

  /**
   * A local pod: reachable by routing (a /32 on the bridge with a static neighbour, so the host
   * needs no ARP), and — with its host-side veth `port` — straight from the underlay.
   */
  async addLocal(podIp: string, mac: string, port?: string): Promise<void> {
    const b = this.o.bridge;
    check(`routing local pod ${podIp}`, await this.run('ip', ['route', 'replace', `${checkIp(podIp)}/32`, 'dev', b, 'scope', 'link', 'proto', this.proto]));
    check(`neighbour entry for ${podIp}`, await this.run('ip', ['neigh', 'replace', podIp, 'lladdr', checkMac(mac), 'dev', b, 'nud', 'permanent']));
    if (!port) return;
    check(`neighbour entry for ${podIp} on ${port}`, await this.run('ip', ['neigh', 'replace', podIp, 'lladdr', mac.toLowerCase(), 'dev', checkDev(port), 'nud', 'permanent']));
    await this.nft(`forwarding to local pod ${podIp}`, [`add element ${T} local_dev { ${podIp} : "${port}" }`]);
  }

  async deleteLocal(podIp: string, port?: string): Promise<void> {
    const b = this.o.bridge;
    const e = await this.run('nft', [`delete element ${T} local_dev { ${checkIp(podIp)} }`]);
    if (e.code !== 0 && !gone(e.stderr)) check(`removing the forwarding to local pod ${podIp}`, e);
    if (port) await this.run('ip', ['neigh', 'del', podIp, 'dev', checkDev(port)]);
    const r = await this.run('ip', ['route', 'del', `${podIp}/32`, 'dev', b, 'proto', this.proto]);
    if (r.code !== 0 && !gone(r.stderr)) check(`removing the route to local pod ${podIp}`, r);
    await this.run('ip', ['neigh', 'del', podIp, 'dev', b]);
  }

  private async addHook(kind: 'port' | 'up', dev: string, rule: string): Promise<void> {
    const chain = hookChain(kind, dev);
    await this.run('nft', [`delete chain ${T} ${chain}`]); // a leftover hook of an earlier device of that name
    await this.nft(`hooking ${dev} ingress`, [
      `add chain ${T} ${chain} { type filter hook ingress device "${dev}" priority 0 ; }`,
      `add rule ${T} ${chain} ${rule}`,
    ]);
  }

  private async deleteHook(kind: 'port' | 'up', dev: string): Promise<void> {
    const r = await this.run('nft', [`delete chain ${T} ${hookChain(kind, dev)}`]);
    if (r.code !== 0 && !gone(r.stderr)) check(`unhooking ${dev} ingress`, r);
  }

  /** One atomic nft batch. */
  private async nft(what: string, cmds: string[]): Promise<void> {
    check(what, await this.run('nft', [cmds.join(' ; ')]));
  }
}

/** `ip route get ADDR`: device, source and gateway (none when the address is on-link). */
export async function underlayRoute(ip: string, run: CommandRunner = execRunner()): Promise<UnderlayRoute> {
  const r = await run('ip', ['-j', 'route', 'get', checkIp(ip)]);
  if (r.code !== 0) throw new WeftError('WEFT_ERR_HOST', `route lookup for ${ip} failed: ${firstLine(r.stderr)}`);
  const row = parseIpJson<{ dev?: string; prefsrc?: string; gateway?: string }>(`route lookup for ${ip}`, r.stdout)[0];
  if (!row?.dev) throw new WeftError('WEFT_ERR_HOST', `route lookup for ${ip} failed: no device`);
  return { dev: row.dev, ...(row.prefsrc ? { src: row.prefsrc } : {}), ...(row.gateway ? { gateway: row.gateway } : {}) };
}
