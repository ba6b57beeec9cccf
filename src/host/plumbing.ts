/**
 * HostPlumbing: the bridge, the sleeve TAP, container endpoints and exposed host addresses,
 * programmed over netlink (see kernel.ts): no helper processes.
 */
import { HOST_TAP_TXQUEUELEN, WeftError, isWeftError, type Logger } from '../common/index.js';
import {
  attachEndpoint, detachEndpoint, handoffEndpoint, listEndpoints, podInterface, txOff, type AttachedEndpoint, type HandoffOptions, type ListedEndpoint,
  type PodInterfaceState,
} from './endpoints.js';
import { netlinkKernel, type Kernel } from './kernel.js';
import { checkCidr, isValidIfname, resolveNetns } from './netns.js';
import { ignoreMissing } from './rtnl.js';

export interface HostPlumbingOptions {
  /** Bridge name (e.g. "weft"). */
  bridge: string;
  log: Logger;
  /** The kernel (tests inject an in-memory one); default: netlink through the native addon. */
  kernel?: Kernel;
}

/**
 * The kernel edge of one weft bridge. Stateless (everything lives in the kernel, so a
 * restarted daemon sees what the previous one created); not Startable. Every method is
 * idempotent where the operation allows it and throws typed WeftErrors (WEFT_ERR_HOST_*, by
 * errno) when the kernel refuses, WEFT_ERR_BAD_ARGS for bad input.
 */
export class HostPlumbing {
  readonly bridge: string;
  readonly kernel: Kernel;
  private readonly log: Logger;

  constructor(o: HostPlumbingOptions) {
    if (!isValidIfname(o.bridge)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid bridge name "${o.bridge}"`);
    this.bridge = o.bridge;
    this.kernel = o.kernel ?? netlinkKernel();
    this.log = o.log;
  }

  /** Create the bridge if missing, set its MTU, TX checksum offload off, ARP tuning, up. */
  async setupBridge(mtu: number): Promise<void> {
    const b = this.bridge;
    const k = this.kernel.host;
    const link = await k.link(b);
    if (link === null) {
      try {
        await k.addBridge(b);
      } catch (e) {
        if (!isWeftError(e, 'WEFT_ERR_HOST_EXISTS')) throw e;
      }
    } else if (link.kind !== 'bridge') {
      throw new WeftError('WEFT_ERR_HOST_EXISTS', `creating bridge ${b} failed: a ${link.kind || 'non-bridge'} link with that name exists`);
    }
    await k.setLink(b, { mtu, up: true });
    await txOff(this.kernel, this.log, b);
    // Best effort (IPv6 may be disabled): no router advertisements; relearn moved MACs quickly.
    for (const [key, value] of [[`net.ipv6.conf.${b}.accept_ra`, '0'], [`net.ipv4.neigh.${b}.base_reachable_time_ms`, '5000'],
      [`net.ipv4.neigh.${b}.delay_first_probe_time`, '2'], [`net.ipv4.neigh.${b}.ucast_solicit`, '1']] as const) {
      await this.kernel.sysctl(key, value).catch((e: unknown) => this.log.debug({ key, err: String(e) }, 'host: sysctl not set'));
    }
  }

  /** Create the TAP if missing (persistent, no packet info), attach it to the bridge, up. */
  async setupTap(name: string, mtu: number): Promise<void> {
    if (!isValidIfname(name)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid TAP name "${name}"`);
    const k = this.kernel.host;
    const link = await k.link(name);
    if (link === null) await this.kernel.createTap(name);
    else if (link.kind !== 'tun') {
      throw new WeftError('WEFT_ERR_HOST_EXISTS', `creating TAP ${name} failed: a ${link.kind || 'non-TAP'} link with that name exists`);
    }
    const br = await k.mustLink(this.bridge);
    await k.setLink(name, { master: br.index, mtu, txqueuelen: HOST_TAP_TXQUEUELEN, up: true });
    await txOff(this.kernel, this.log, name);
  }

  /** Attach a namespace to the bridge (see AttachOptions). */
  attach(o: { netns: string; ifname?: string; cidr?: string; mtu: number; txOff?: boolean }): Promise<AttachedEndpoint> {
    return attachEndpoint(this.kernel, this.log, { ...o, bridge: this.bridge });
  }

  /** A veth pair whose pod end a runtime moves into its container itself (see handoffEndpoint). */
  handoff(o: Omit<HandoffOptions, 'bridge'>): Promise<AttachedEndpoint> {
    return handoffEndpoint(this.kernel, this.log, { ...o, bridge: this.bridge });
  }

  /** Remove a namespace's endpoint; false if it was not attached. */
  detach(netns: string, ifname?: string): Promise<boolean> {
    return detachEndpoint(this.kernel, this.log, netns, ifname);
  }

  /** Endpoints on the bridge (for `weft ps`). */
  listAttached(): Promise<ListedEndpoint[]> {
    return listEndpoints(this.kernel, this.bridge);
  }

  /**
   * What a pod interface looks like from inside its namespace (MAC, MTU, addresses, routes
   * through it), or null when the interface does not exist (for CNI CHECK and GC).
   */
  podInterface(netns: string, ifname: string): Promise<PodInterfaceState | null> {
    return podInterface(this.kernel, resolveNetns(netns), ifname);
  }

  /** Add routes through a pod interface inside its namespace (replace: idempotent). */
  async addPodRoutes(netns: string, ifname: string, routes: readonly { dst: string; gw?: string }[]): Promise<void> {
    const k = this.kernel.openNetns(resolveNetns(netns));
    try {
      const index = (await k.mustLink(ifname)).index;
      for (const r of routes) await k.replaceRoute({ dst: r.dst, oif: index, oifName: ifname, ...(r.gw ? { gateway: r.gw } : {}) });
    } finally {
      k.close();
    }
  }

  /** True when `ifname` exists inside the namespace (false when the namespace is gone too). */
  async interfaceExists(netns: string, ifname: string): Promise<boolean> {
    return (await this.podInterface(netns, ifname)) !== null;
  }

  /**
   * A link of the daemon's namespace as CNI cleanup needs it: kind, the name of its master
   * ('' when none), alias and MAC; null when it does not exist.
   */
  async hostLink(name: string): Promise<{ kind: string; master: string; alias?: string; mac: string } | null> {
    const k = this.kernel.host;
    const l = await k.link(name);
    if (!l) return null;
    const master = l.master === 0 ? '' : (await k.links()).find((x) => x.index === l.master)?.name ?? '';
    return { kind: l.kind, master, mac: l.mac, ...(l.alias !== undefined ? { alias: l.alias } : {}) };
  }

  /** Delete a link of the daemon's namespace (a veth takes its peer along); false when it was gone. */
  deleteHostLink(name: string): Promise<boolean> {
    return ignoreMissing(this.kernel.host.deleteLink(name));
  }

  /** Put `cidr` on the bridge so the host itself is on the overlay. Idempotent. */
  async expose(cidr: string): Promise<void> {
    try {
      await this.kernel.host.addAddress(this.bridge, checkCidr(cidr));
    } catch (e) {
      if (!isWeftError(e, 'WEFT_ERR_HOST_EXISTS')) throw e;
    }
  }

  /** Remove `cidr` from the bridge; false if it was not there. */
  hide(cidr: string): Promise<boolean> {
    return ignoreMissing(this.kernel.host.deleteAddress(this.bridge, checkCidr(cidr)));
  }

  /** Addresses currently exposed on the bridge ("10.32.0.1/12"). */
  async exposed(): Promise<string[]> {
    const br = await this.kernel.host.mustLink(this.bridge);
    return (await this.kernel.host.addresses(br.index)).filter((a) => a.scope !== 253).map((a) => `${a.address}/${a.prefixLength}`);
  }

  /** Delete the TAP (if given) and the bridge (for `weft reset` and tests). Missing links are fine. */
  async teardown(tapName?: string): Promise<void> {
    for (const dev of tapName ? [tapName, this.bridge] : [this.bridge]) await ignoreMissing(this.kernel.host.deleteLink(dev));
  }
}
