/**
 * The kernel edge of the host-gateway path: IPv4 forwarding, /32 routes to remote pods via
 * the peer's underlay address, /32 routes and static neighbours for local pods on the bridge,
 * and ebtables "redirect" rules that hand pods' IPv4 unicast frames for remote host-gw pods
 * to the host's IP stack instead of bridging them (so pods keep their flat L2 view: they ARP
 * and see the real remote MACs; only the forwarding underneath changes).
 */
import { FASTPATH_ROUTE_PROTO, WeftError, type Logger } from '../common/index.js';
import { check, execRunner, firstLine, parseIpJson, type CommandRunner } from './exec.js';
import { isValidIfname } from './netns.js';

/** ebtables chain (nat table) holding weft's host-gw redirect rules. */
export const HOSTGW_CHAIN = 'WEFT-HOSTGW';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function checkIp(ip: string): string {
  if (!IPV4.test(ip) || ip.split('.').some((o) => Number(o) > 255)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid IPv4 address "${ip}"`);
  return ip;
}

function checkMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!MAC.test(m)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid MAC address "${mac}"`);
  return m;
}

const gone = (stderr: string) => /no such|not found|does not exist|cannot find|bad rule|no chain/i.test(stderr);

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
 * Programs host-gw state. Stateless: the kernel holds everything and `reset()` removes all of
 * it (routes by protocol number, the ebtables chain). Methods throw WEFT_ERR_HOST on failure.
 */
export class HostGwEdge {
  private readonly run: CommandRunner;
  private readonly proto = String(FASTPATH_ROUTE_PROTO);

  constructor(private readonly o: HostGwEdgeOptions) {
    if (!isValidIfname(o.bridge)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid bridge name "${o.bridge}"`);
    this.run = o.run ?? execRunner();
  }

  /** Forwarding on, a fresh redirect chain hooked into the bridge's nat PREROUTING, no stale routes. */
  async setup(): Promise<void> {
    check('enabling IPv4 forwarding', await this.run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']));
    await this.reset();
    check(`creating ebtables chain ${HOSTGW_CHAIN}`, await this.run('ebtables', ['-t', 'nat', '-N', HOSTGW_CHAIN, '-P', 'RETURN']));
    check(`hooking ${HOSTGW_CHAIN}`, await this.run('ebtables', ['-t', 'nat', '-A', 'PREROUTING', '-j', HOSTGW_CHAIN]));
    // Routed packets enter the bridge from the host stack: with TX offload off there, every
    // 64 KB TCP super-packet would be segmented and checksummed in software (≈ 3× slower).
    // The sleeve does not need it off: its TAP has offloads off, so the kernel completes
    // checksums before frames reach userspace.
    await this.bridgeTxOffload(true);
    this.o.log.info({ bridge: this.o.bridge }, 'host: host-gw forwarding ready');
  }

  /** Remove every rule and route weft's host-gw installed (also after a crash). Never throws. */
  async reset(): Promise<void> {
    await this.run('ebtables', ['-t', 'nat', '-D', 'PREROUTING', '-j', HOSTGW_CHAIN]);
    await this.run('ebtables', ['-t', 'nat', '-F', HOSTGW_CHAIN]);
    await this.run('ebtables', ['-t', 'nat', '-X', HOSTGW_CHAIN]);
    await this.run('ip', ['route', 'flush', 'proto', this.proto]);
  }

  /** TX checksum offload (and with it TSO) of the bridge device on or off. Best effort. */
  async bridgeTxOffload(on: boolean): Promise<void> {
    const r = await this.run('ethtool', ['-K', this.o.bridge, 'tx', on ? 'on' : 'off']);
    if (r.code !== 0) this.o.log.debug({ bridge: this.o.bridge, err: firstLine(r.stderr) }, 'host: bridge TX offload not changeable');
  }

  /** Route a remote pod address via the peer's underlay address. */
  async addRemote(podIp: string, via: string): Promise<void> {
    check(`routing ${podIp} via ${via}`, await this.run('ip', ['route', 'replace', `${checkIp(podIp)}/32`, 'via', checkIp(via), 'proto', this.proto]));
  }

  async deleteRemote(podIp: string): Promise<void> {
    const r = await this.run('ip', ['route', 'del', `${checkIp(podIp)}/32`, 'proto', this.proto]);
    if (r.code !== 0 && !gone(r.stderr)) check(`removing the route to ${podIp}`, r);
  }

  /** Frames from local pods to (mac, ip) are routed by the host instead of bridged. */
  async addRedirect(mac: string, ip: string): Promise<void> {
    check(`redirecting ${ip} (${mac}) to the host stack`, await this.run('ebtables', ['-t', 'nat', '-A', HOSTGW_CHAIN, ...this.ruleSpec(mac, ip)]));
  }

  async deleteRedirect(mac: string, ip: string): Promise<void> {
    const r = await this.run('ebtables', ['-t', 'nat', '-D', HOSTGW_CHAIN, ...this.ruleSpec(mac, ip)]);
    if (r.code !== 0 && !gone(r.stderr)) check(`removing the redirect of ${ip}`, r);
  }

  /** A local pod reachable from the underlay: /32 route on the bridge and a static neighbour. */
  async addLocal(podIp: string, mac: string): Promise<void> {
    const b = this.o.bridge;
    check(`routing local pod ${podIp}`, await this.run('ip', ['route', 'replace', `${checkIp(podIp)}/32`, 'dev', b, 'scope', 'link', 'proto', this.proto]));
    check(`neighbour entry for ${podIp}`, await this.run('ip', ['neigh', 'replace', podIp, 'lladdr', checkMac(mac), 'dev', b, 'nud', 'permanent']));
  }

  async deleteLocal(podIp: string): Promise<void> {
    const b = this.o.bridge;
    const r = await this.run('ip', ['route', 'del', `${checkIp(podIp)}/32`, 'dev', b, 'proto', this.proto]);
    if (r.code !== 0 && !gone(r.stderr)) check(`removing the route to local pod ${podIp}`, r);
    await this.run('ip', ['neigh', 'del', podIp, 'dev', b]);
  }

  private ruleSpec(mac: string, ip: string): string[] {
    return ['-p', 'IPv4', '-d', checkMac(mac), '--ip-dst', checkIp(ip), '-j', 'redirect', '--redirect-target', 'ACCEPT'];
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
