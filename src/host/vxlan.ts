/**
 * The kernel VXLAN edge of the fast path: the data device (a bridge port, learning off,
 * isolated from the sleeve TAP), the probe device (not on the bridge; it only decapsulates
 * probes into the host stack), and the forwarding entries the daemon programs.
 */
import { WeftError, type Logger } from '../common/index.js';
import { isIp } from '../net/index.js';
import { check, execRunner, firstLine, parseIpJson, type CommandRunner } from './exec.js';
import { isValidIfname } from './netns.js';

/** Options of {@link VxlanEdge}. */
export interface VxlanEdgeOptions {
  bridge: string;
  /** Data device (bridge port) and probe device names. */
  dataDevice: string;
  probeDevice: string;
  /** UDP port both devices listen on (they share the kernel socket). */
  port: number;
  dataVni: number;
  probeVni: number;
  /** MTU of the data device. bytes */
  mtu: number;
  /** MAC and address (CIDR) of the probe device. */
  probeMac: string;
  probeCidr: string;
  log: Logger;
  run?: CommandRunner;
}

/** One learned MAC on a local bridge port, from the bridge FDB. */
export interface LocalFdbEntry {
  mac: string;
  port: string;
}

interface FdbRow { mac: string; ifname?: string; master?: string; state?: string; flags?: string[]; dst?: string }

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function checkMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!MAC.test(m)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid MAC address "${mac}"`);
  return m;
}

function checkIp(ip: string): string {
  if (!isIp(ip, 4)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid IPv4 address "${ip}"`);
  return ip;
}

const missing = (stderr: string) => /cannot find|does not exist|no such file|not found/i.test(stderr);

/**
 * Creates, configures and removes the fast path's VXLAN devices and their FDB entries.
 * Stateless (the kernel holds everything); every method is idempotent where the kernel
 * allows it and throws WeftError('WEFT_ERR_HOST', "<what> failed: <stderr>") otherwise.
 */
export class VxlanEdge {
  private readonly run: CommandRunner;

  constructor(private readonly o: VxlanEdgeOptions) {
    for (const n of [o.bridge, o.dataDevice, o.probeDevice]) {
      if (!isValidIfname(n)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${n}"`);
    }
    this.run = o.run ?? execRunner();
  }

  /**
   * (Re)create both devices with the wanted attributes: VXLAN with learning off and DF set on
   * the outer header; the data device on the bridge with bridge learning off and port isolation
   * (frames never cross between it and other isolated ports such as the sleeve TAP); the probe
   * device up with its /30 address. Existing devices are deleted first (attributes are fixed
   * at creation).
   */
  async setup(): Promise<void> {
    const o = this.o;
    await this.remove();
    const vxlan = (vni: number) => ['type', 'vxlan', 'id', String(vni), 'dstport', String(o.port), 'nolearning', 'df', 'set'];
    check(`creating VXLAN device ${o.dataDevice}`, await this.run('ip', ['link', 'add', o.dataDevice, 'mtu', String(o.mtu), ...vxlan(o.dataVni)]));
    check(`creating VXLAN probe device ${o.probeDevice}`, await this.run('ip', ['link', 'add', o.probeDevice,
      'address', checkMac(o.probeMac), ...vxlan(o.probeVni)]));
    for (const dev of [o.dataDevice, o.probeDevice]) {
      check(`configuring ${dev}`, await this.run('ip', ['link', 'set', 'dev', dev, 'addrgenmode', 'none']));
    }
    check(`attaching ${o.dataDevice} to ${o.bridge}`, await this.run('ip', ['link', 'set', 'dev', o.dataDevice, 'master', o.bridge, 'up']));
    check(`configuring bridge port ${o.dataDevice}`, await this.run('bridge', ['link', 'set', 'dev', o.dataDevice, 'learning', 'off', 'isolated', 'on']));
    check(`addressing ${o.probeDevice}`, await this.run('ip', ['addr', 'replace', o.probeCidr, 'dev', o.probeDevice]));
    check(`bringing ${o.probeDevice} up`, await this.run('ip', ['link', 'set', 'dev', o.probeDevice, 'up']));
    // The inner source of a peer's probe sits in our /30; keep reverse-path filtering from
    // dropping it on hosts that set rp_filter on "default".
    await this.run('sysctl', ['-q', '-w', `net.ipv4.conf.${o.probeDevice}.rp_filter=0`]);
    this.o.log.info({ data: o.dataDevice, probe: o.probeDevice, port: o.port, mtu: o.mtu }, 'host: VXLAN devices ready');
  }

  /** Isolate another bridge port (the sleeve TAP) from the data device. */
  async isolatePort(port: string): Promise<void> {
    if (!isValidIfname(port)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${port}"`);
    check(`isolating bridge port ${port}`, await this.run('bridge', ['link', 'set', 'dev', port, 'isolated', 'on']));
  }

  /** Undo {@link isolatePort} (the port exists without fast paths). Missing port is fine. */
  async unisolatePort(port: string): Promise<void> {
    const r = await this.run('bridge', ['link', 'set', 'dev', port, 'isolated', 'off']);
    if (r.code !== 0 && !missing(r.stderr)) check(`un-isolating bridge port ${port}`, r);
  }

  /** Delete both devices (with every FDB entry on them). Missing devices are fine. */
  async remove(): Promise<void> {
    for (const dev of [this.o.dataDevice, this.o.probeDevice]) {
      const r = await this.run('ip', ['link', 'del', 'dev', dev]);
      if (r.code !== 0 && !missing(r.stderr)) check(`deleting ${dev}`, r);
    }
  }

  /** Unicast entry: frames for `mac` go to ip:port. */
  async setUnicast(mac: string, ip: string, port: number): Promise<void> {
    check(`programming VXLAN entry for ${mac}`, await this.run('bridge', ['fdb', 'replace', checkMac(mac), 'dev', this.o.dataDevice,
      'dst', checkIp(ip), 'port', String(port), 'self', 'permanent']));
  }

  async deleteUnicast(mac: string): Promise<void> {
    const r = await this.run('bridge', ['fdb', 'del', checkMac(mac), 'dev', this.o.dataDevice, 'self']);
    if (r.code !== 0 && !missing(r.stderr)) check(`removing VXLAN entry for ${mac}`, r);
  }

  /** Flood entry (all-zero MAC): broadcast, multicast and unknown unicast also go to ip:port. */
  async addFlood(ip: string, port: number): Promise<void> {
    const r = await this.run('bridge', ['fdb', 'append', '00:00:00:00:00:00', 'dev', this.o.dataDevice,
      'dst', checkIp(ip), 'port', String(port), 'self', 'permanent']);
    if (r.code !== 0 && !/exists/i.test(r.stderr)) check(`adding VXLAN flood entry for ${ip}`, r);
  }

  async deleteFlood(ip: string): Promise<void> {
    const r = await this.run('bridge', ['fdb', 'del', '00:00:00:00:00:00', 'dev', this.o.dataDevice, 'dst', checkIp(ip), 'self']);
    if (r.code !== 0 && !missing(r.stderr)) check(`removing VXLAN flood entry for ${ip}`, r);
  }

  /** Pin `mac` on the data device in the bridge FDB (static + sticky: learning cannot move it). */
  async pinOnBridge(mac: string): Promise<void> {
    check(`pinning ${mac} on ${this.o.dataDevice}`, await this.run('bridge', ['fdb', 'replace', checkMac(mac), 'dev', this.o.dataDevice,
      'master', 'static', 'sticky']));
  }

  async unpinFromBridge(mac: string): Promise<void> {
    const r = await this.run('bridge', ['fdb', 'del', checkMac(mac), 'dev', this.o.dataDevice, 'master']);
    if (r.code !== 0 && !missing(r.stderr)) check(`unpinning ${mac}`, r);
  }

  /**
   * MACs behind local bridge ports (learned entries on ports other than `exclude`), plus the
   * bridge's own MAC (the host itself when an address is exposed on the bridge).
   */
  async localMacs(exclude: readonly string[]): Promise<LocalFdbEntry[]> {
    const b = this.o.bridge;
    const rows = parseIpJson<FdbRow>(`reading the FDB of ${b}`, check(`reading the FDB of ${b}`,
      await this.run('bridge', ['-j', 'fdb', 'show', 'br', b])));
    const out: LocalFdbEntry[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      if (!r.ifname || r.master !== b || r.state === 'permanent' || r.state === 'static') continue;
      if (exclude.includes(r.ifname) || r.ifname === b || (r.flags ?? []).includes('self')) continue;
      const mac = r.mac.toLowerCase();
      if (!MAC.test(mac) || seen.has(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) continue;
      seen.add(mac);
      out.push({ mac, port: r.ifname });
    }
    const link = parseIpJson<{ address?: string }>(`reading ${b}`, check(`reading ${b}`, await this.run('ip', ['-j', 'link', 'show', 'dev', b])))[0];
    const own = link?.address?.toLowerCase();
    if (own && MAC.test(own) && !seen.has(own)) out.push({ mac: own, port: b });
    return out;
  }
}

/** Probe ESP transport mode support: add and delete a dummy SA in a scratch namespace. */
export async function probeEspTransport(prefix: string, run: CommandRunner = execRunner()): Promise<{ supported: boolean; reason: string }> {
  const ns = `${prefix}xfrm`;
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(ns)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid namespace name "${ns}"`);
  const made = await run('ip', ['netns', 'add', ns]);
  if (made.code !== 0) return { supported: false, reason: `cannot create a scratch namespace: ${firstLine(made.stderr)}` };
  try {
    const key = '0x' + '00'.repeat(32) + '01020304';
    const r = await run('ip', ['-n', ns, 'xfrm', 'state', 'add', 'src', '192.0.2.1', 'dst', '192.0.2.2', 'proto', 'esp',
      'spi', '0x00000101', 'reqid', '1', 'mode', 'transport', 'aead', 'rfc4106(gcm(aes))', key, '128']);
    if (r.code !== 0) return { supported: false, reason: `kernel refused an ESP transport SA (rfc4106(gcm(aes))): ${firstLine(r.stderr)}` };
    await run('ip', ['-n', ns, 'xfrm', 'state', 'flush']);
    return { supported: true, reason: 'ESP transport mode with rfc4106(gcm(aes)) available' };
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
}
