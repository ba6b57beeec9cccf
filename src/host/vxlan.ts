/**
 * The kernel VXLAN edge of the fast path: the data device (a bridge port, learning off,
 * isolated from the sleeve TAP), the probe device (not on the bridge; it only decapsulates
 * probes into the host stack), and the forwarding entries the daemon programs.
 */
import { WeftError, type Logger } from '../common/index.js';
import { isIp } from '../net/index.js';
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { isWeftError } from '../common/index.js';
import { netlinkKernel, type Kernel, type RtnlOps } from './kernel.js';
import { IPV4_DEVCONF_RP_FILTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT } from './netlink-abi.js';
import { ignoreMissing } from './rtnl.js';
import type { NeighRecord } from './rtnl-messages.js';
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
  /** The kernel (tests inject an in-memory one); default: netlink through the native addon. */
  kernel?: Kernel;
}

/** One learned MAC on a local bridge port, from the bridge FDB. */
export interface LocalFdbEntry {
  mac: string;
  port: string;
}

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

/**
 * Creates, configures and removes the fast path's VXLAN devices and their FDB entries, over
 * netlink. Stateless (the kernel holds everything); every method is idempotent where the kernel
 * allows it and throws typed WeftErrors (WEFT_ERR_HOST_*) otherwise.
 */
export class VxlanEdge {
  private readonly kernel: Kernel;

  constructor(private readonly o: VxlanEdgeOptions) {
    for (const n of [o.bridge, o.dataDevice, o.probeDevice]) {
      if (!isValidIfname(n)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${n}"`);
    }
    this.kernel = o.kernel ?? netlinkKernel();
  }

  private get k(): RtnlOps {
    return this.kernel.host;
  }

  /**
   * Make both devices exist with the wanted attributes: VXLAN with learning off and DF set on
   * the outer header; the data device on the bridge with bridge learning off and port isolation
   * (frames never cross between it and other isolated ports such as the sleeve TAP); the probe
   * device up with its /30 address. Devices a previous daemon left with the same VNI, port,
   * MTU (data) and MAC (probe) are kept, with their FDB entries (a restart does not interrupt
   * VXLAN traffic); otherwise both are deleted and created afresh (attributes are fixed at
   * creation). Returns true when existing devices were kept.
   */
  async setup(): Promise<boolean> {
    const o = this.o;
    const adopted = await this.reusable();
    if (!adopted) {
      await this.remove();
      await this.k.addVxlan(o.dataDevice, { vni: o.dataVni, port: o.port, mtu: o.mtu });
      await this.k.addVxlan(o.probeDevice, { vni: o.probeVni, port: o.port, mac: checkMac(o.probeMac) });
      for (const dev of [o.dataDevice, o.probeDevice]) await this.k.setAddrGenModeNone(dev);
    }
    const br = await this.k.mustLink(o.bridge);
    await this.k.setLink(o.dataDevice, { master: br.index, up: true });
    await this.k.setBridgePort(o.dataDevice, { learning: false, isolated: true });
    await this.k.addAddress(o.probeDevice, o.probeCidr, true);
    await this.k.setLink(o.probeDevice, { up: true });
    // The inner source of a peer's probe sits in our /30; keep reverse-path filtering from
    // dropping it on hosts that set rp_filter on "default".
    await this.k.setInetConf(o.probeDevice, new Map([[IPV4_DEVCONF_RP_FILTER, 0]]));
    this.o.log.info({ data: o.dataDevice, probe: o.probeDevice, port: o.port, mtu: o.mtu, adopted }, 'host: VXLAN devices ready');
    return adopted;
  }

  /** True when both devices exist as {@link setup} would make them. */
  private async reusable(): Promise<boolean> {
    const o = this.o;
    const [data, probe] = await Promise.all([this.k.link(o.dataDevice), this.k.link(o.probeDevice)]);
    return data !== null && probe !== null
      && data.vxlan?.vni === o.dataVni && data.vxlan.port === o.port && data.mtu === o.mtu
      && probe.vxlan?.vni === o.probeVni && probe.vxlan.port === o.port && probe.mac === checkMac(o.probeMac);
  }

  /**
   * The forwarding entries on the data device (after an adopting {@link setup}): unicast MAC →
   * "ip port" (a MAC pinned on the bridge without a remote reads as ""), and the "ip port" of
   * every flood (all-zero MAC) entry.
   */
  async entries(): Promise<{ unicast: Map<string, string>; flood: Set<string> }> {
    const unicast = new Map<string, string>();
    const flood = new Set<string>();
    const l = await this.k.link(this.o.dataDevice);
    if (!l) return { unicast, flood };
    for (const r of await this.k.fdb()) {
      if (r.index !== l.index || r.mac === undefined) continue;
      const mac = r.mac.toLowerCase();
      if ((r.flags & NTF_SELF) !== 0) {
        if (r.dst === undefined) continue;
        const dst = `${r.dst} ${r.port ?? this.o.port}`;
        if (mac === ZERO_MAC) flood.add(dst);
        else unicast.set(mac, dst);
      } else if (r.master !== undefined && (r.state & NUD_NOARP) !== 0 && !unicast.has(mac)) {
        unicast.set(mac, ''); // a pin; its remote (if any) is read with the self entries
      }
    }
    return { unicast, flood };
  }

  /** Isolate another bridge port (the sleeve TAP) from the data device. */
  async isolatePort(port: string): Promise<void> {
    if (!isValidIfname(port)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${port}"`);
    await this.k.setBridgePort(port, { isolated: true });
  }

  /** Undo {@link isolatePort} (the port exists without fast paths). Missing port is fine. */
  async unisolatePort(port: string): Promise<void> {
    await ignoreMissing(this.k.setBridgePort(port, { isolated: false }));
  }

  /** Delete both devices (with every FDB entry on them). Missing devices are fine. */
  async remove(): Promise<void> {
    for (const dev of [this.o.dataDevice, this.o.probeDevice]) await ignoreMissing(this.k.deleteLink(dev));
  }

  private async dataIndex(): Promise<number> {
    return (await this.k.mustLink(this.o.dataDevice)).index;
  }

  /** Unicast entry: frames for `mac` go to ip:port. */
  async setUnicast(mac: string, ip: string, port: number): Promise<void> {
    await this.k.setFdb({ mac: checkMac(mac), index: await this.dataIndex(), table: 'self', dst: checkIp(ip), port });
  }

  async deleteUnicast(mac: string): Promise<void> {
    const index = await this.k.link(this.o.dataDevice);
    if (!index) return;
    await ignoreMissing(this.k.deleteFdb({ mac: checkMac(mac), index: index.index, table: 'self' }));
  }

  /** Flood entry (all-zero MAC): broadcast, multicast and unknown unicast also go to ip:port. */
  async addFlood(ip: string, port: number): Promise<void> {
    try {
      await this.k.setFdb({ mac: ZERO_MAC, index: await this.dataIndex(), table: 'self', dst: checkIp(ip), port }, 'append');
    } catch (e) {
      if (!isWeftError(e, 'WEFT_ERR_HOST_EXISTS')) throw e;
    }
  }

  async deleteFlood(ip: string): Promise<void> {
    const l = await this.k.link(this.o.dataDevice);
    if (!l) return;
    await ignoreMissing(this.k.deleteFdb({ mac: ZERO_MAC, index: l.index, table: 'self', dst: checkIp(ip) }));
  }

  /** Pin `mac` on the data device in the bridge FDB (static + sticky: learning cannot move it). */
  async pinOnBridge(mac: string): Promise<void> {
    await this.k.setFdb({ mac: checkMac(mac), index: await this.dataIndex(), table: 'master', state: 'static', sticky: true });
  }

  async unpinFromBridge(mac: string): Promise<void> {
    const l = await this.k.link(this.o.dataDevice);
    if (!l) return;
    await ignoreMissing(this.k.deleteFdb({ mac: checkMac(mac), index: l.index, table: 'master' }));
  }

  /**
   * MACs behind local bridge ports (learned entries on ports other than `exclude`), plus the
   * bridge's own MAC (the host itself when an address is exposed on the bridge).
   */
  async localMacs(exclude: readonly string[]): Promise<LocalFdbEntry[]> {
    const br = await this.k.mustLink(this.o.bridge);
    const names = new Map((await this.k.links()).map((l) => [l.index, l.name]));
    return localMacsFrom(await this.k.fdb(), br, names, exclude);
  }
}

const ZERO_MAC = '00:00:00:00:00:00';

/**
 * Pure part of {@link VxlanEdge.localMacs}: learned (not permanent, not static, not `self`)
 * unicast entries on ports of `bridge` other than `exclude`, plus the bridge's own MAC.
 */
export function localMacsFrom(fdb: readonly NeighRecord[], bridge: { index: number; name: string; mac: string },
  names: ReadonlyMap<number, string>, exclude: readonly string[]): LocalFdbEntry[] {
  const out: LocalFdbEntry[] = [];
  const seen = new Set<string>();
  for (const r of fdb) {
    if (r.master !== bridge.index || r.mac === undefined) continue;
    if ((r.state & (NUD_PERMANENT | NUD_NOARP)) !== 0 || (r.flags & NTF_SELF) !== 0) continue;
    const port = names.get(r.index);
    if (!port || port === bridge.name || exclude.includes(port)) continue;
    const mac = r.mac.toLowerCase();
    if (!MAC.test(mac) || seen.has(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) continue;
    seen.add(mac);
    out.push({ mac, port });
  }
  const own = bridge.mac.toLowerCase();
  if (MAC.test(own) && !seen.has(own)) out.push({ mac: own, port: bridge.name });
  return out;
}

/**
 * Probe ESP transport mode support without touching any state: the kernel lists the AEAD
 * algorithm rfc4106(gcm(aes)) in /proc/crypto once the esp4 module is available, and
 * /proc/net/xfrm_stat exists only with XFRM. (No scratch namespace, no `ip xfrm`.)
 */
export async function probeEspTransport(): Promise<{ supported: boolean; reason: string }> {
  const read = (p: string): Promise<string | null> => readFile(p, 'utf8').catch(() => null);
  const [xfrm, modules, crypto] = await Promise.all([read('/proc/net/xfrm_stat'), read('/proc/modules'), read('/proc/crypto')]);
  if (xfrm === null) return { supported: false, reason: 'the kernel has no XFRM (IPsec) support (/proc/net/xfrm_stat missing)' };
  const builtin = await read(`/lib/modules/${release()}/modules.builtin`);
  const esp = /^esp4\b/m.test(modules ?? '') || /\/esp4\.ko/.test(builtin ?? '') || await hasEspModule();
  if (!esp) return { supported: false, reason: 'the kernel has no ESP (esp4) support' };
  if (!/rfc4106\(gcm\(aes\)\)|gcm\(aes\)/.test(crypto ?? '')) {
    return { supported: true, reason: 'ESP available; rfc4106(gcm(aes)) loads on first use' };
  }
  return { supported: true, reason: 'ESP transport mode with rfc4106(gcm(aes)) available' };
}

async function hasEspModule(): Promise<boolean> {
  try {
    const dep = await readFile(`/lib/modules/${release()}/modules.dep`, 'utf8');
    return /\/esp4\.ko/.test(dep);
  } catch {
    return false;
  }
}
