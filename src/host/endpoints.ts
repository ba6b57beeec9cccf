/**
 * Container endpoints: a veth pair per (namespace, interface), host side on the bridge,
 * container side created directly inside the namespace, renamed, addressed and brought up.
 * Work inside a namespace goes through a netlink socket opened in it (no nsenter).
 */
import { WeftError, isWeftError, type Logger } from '../common/index.js';
import { IPV4_DEVCONF_ARP_NOTIFY, RTN_UNICAST, RT_SCOPE_LINK } from './netlink-abi.js';
import type { Kernel, RtnlOps } from './kernel.js';
import {
  checkCidr, endpointAlias, isValidIfname, netnsIdentity, parseEndpointAlias, resolveNetns, vethNames,
} from './netns.js';
import { ignoreMissing } from './rtnl.js';

/** Result of attaching a namespace to the bridge. */
export interface AttachedEndpoint {
  /** Interface name inside the namespace (e.g. "ethwe"). */
  ifname: string;
  /** Host-side veth on the bridge. */
  hostIfname: string;
  /** MAC address of the host-side veth. */
  hostMac: string;
  /** MAC address of the container interface. */
  mac: string;
  /** Address that was set, if any. */
  cidr?: string;
  /** This call created the veth pair (false: the endpoint existed and only `cidr` was added). */
  created: boolean;
}

/** One attached endpoint as listed for `weft ps`. */
export interface ListedEndpoint {
  /** Namespace path (as given at attach time, resolved). */
  netns: string;
  ifname: string;
  hostIfname: string;
  mac: string;
  /** Addresses on the container interface ("10.32.0.2/12"); link-local IPv6 omitted. */
  addresses: string[];
}

/** What CNI CHECK reads back from a pod interface. */
export interface PodInterfaceState {
  mac: string;
  mtu: number;
  /** "10.32.0.5/12"; link-local addresses left out. */
  addresses: string[];
  /** Routes through the interface ("10.32.0.0/12", "0.0.0.0/0") with their gateway, if any. */
  routes: { dst: string; gw?: string }[];
}

export interface AttachOptions {
  /** Namespace: bare name, /run/netns/NAME or /proc/PID/ns/net. */
  netns: string;
  /** Interface name inside the namespace; default "ethwe". */
  ifname?: string;
  cidr?: string;
  mtu: number;
  bridge: string;
  /**
   * Switch TX checksum offload (and with it TSO) off on both veth ends (default true). Safe to
   * leave on with weft's sleeve: the TAP advertises no checksum offload, so the kernel completes
   * checksums before a frame reaches userspace; off only costs the pod CPU and throughput.
   */
  txOff?: boolean;
}

const EOPNOTSUPP = 95;
const EINVAL = 22;

async function addAddress(k: RtnlOps, ifname: string, cidr: string): Promise<void> {
  try {
    await k.addAddress(ifname, cidr);
  } catch (e) {
    if (!isWeftError(e, 'WEFT_ERR_HOST_EXISTS')) throw e;
  }
}

/** Attach (see {@link AttachOptions}). Re-attaching an attached namespace only adds `cidr`. */
export async function attachEndpoint(kernel: Kernel, log: Logger, o: AttachOptions): Promise<AttachedEndpoint> {
  const ifname = o.ifname ?? 'ethwe';
  if (!isValidIfname(ifname)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${ifname}"`);
  const cidr = o.cidr === undefined ? undefined : checkCidr(o.cidr);
  const nsPath = resolveNetns(o.netns);
  const { host, temp } = vethNames(await netnsIdentity(nsPath), ifname);
  const k = kernel.host;
  const pod = kernel.openNetns(nsPath);
  try {
    const existing = await k.link(host);
    if (existing) {
      if (cidr) await addAddress(pod, ifname, cidr);
      const inside = await pod.mustLink(ifname);
      return { ifname, hostIfname: host, hostMac: existing.mac, mac: inside.mac, created: false, ...(cidr ? { cidr } : {}) };
    }
    const bridge = await k.mustLink(o.bridge);
    await k.addVeth(host, temp, o.mtu, nsPath);
    try {
      await k.setLink(host, { master: bridge.index, alias: endpointAlias(nsPath, ifname), up: true });
      if (o.txOff !== false) await txOff(kernel, log, host);
      await pod.setLink(temp, { name: ifname });
      if (o.txOff !== false) await txOff(kernel, log, ifname, nsPath);
      // The kernel sends a gratuitous ARP when the interface comes up with arp_notify set.
      await pod.setInetConf(ifname, new Map([[IPV4_DEVCONF_ARP_NOTIFY, 1]]));
      if (cidr) await addAddress(pod, ifname, cidr);
      await pod.setLink(ifname, { up: true });
      const [inside, outside] = await Promise.all([pod.mustLink(ifname), k.mustLink(host)]);
      log.info({ netns: nsPath, ifname, hostIfname: host, mac: inside.mac, cidr }, 'host: endpoint attached');
      return { ifname, hostIfname: host, hostMac: outside.mac, mac: inside.mac, created: true, ...(cidr ? { cidr } : {}) };
    } catch (e) {
      await ignoreMissing(k.deleteLink(host)).catch(() => undefined);
      throw e;
    }
  } finally {
    pod.close();
  }
}

/** A veth pair for a runtime that moves the pod end into its container itself (Docker's libnetwork). */
export interface HandoffOptions {
  /** Host-side veth, put on the bridge. */
  hostIfname: string;
  /** Pod-side veth, left down in the daemon's namespace for the runtime to move and rename. */
  peerIfname: string;
  mtu: number;
  bridge: string;
  /** Alias stored on the host-side veth (lets a restarted daemon recognise it). */
  alias: string;
  /** TX checksum offload off on both ends (default true; see {@link AttachOptions.txOff}). */
  txOff?: boolean;
}

/**
 * Create (or find) a handoff veth pair: host end on the bridge and up, pod end in the
 * daemon's namespace with the MTU set, for the runtime to move. Idempotent: an existing host
 * end is returned with `created: false` (its pod end may already be in the container).
 */
export async function handoffEndpoint(kernel: Kernel, log: Logger, o: HandoffOptions): Promise<AttachedEndpoint> {
  for (const n of [o.hostIfname, o.peerIfname]) if (!isValidIfname(n)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${n}"`);
  const k = kernel.host;
  const existing = await k.link(o.hostIfname);
  if (existing) {
    const peer = await k.link(o.peerIfname);
    return { ifname: o.peerIfname, hostIfname: o.hostIfname, hostMac: existing.mac, mac: peer?.mac ?? '', created: false };
  }
  const bridge = await k.mustLink(o.bridge);
  await k.addVeth(o.hostIfname, o.peerIfname, o.mtu);
  try {
    await k.setLink(o.hostIfname, { master: bridge.index, alias: o.alias, up: true });
    if (o.txOff !== false) {
      await txOff(kernel, log, o.hostIfname);
      await txOff(kernel, log, o.peerIfname);
    }
    await k.setInetConf(o.peerIfname, new Map([[IPV4_DEVCONF_ARP_NOTIFY, 1]]));
    const [outside, peer] = await Promise.all([k.mustLink(o.hostIfname), k.mustLink(o.peerIfname)]);
    log.info({ hostIfname: o.hostIfname, peerIfname: o.peerIfname, mac: peer.mac }, 'host: handoff veth created');
    return { ifname: o.peerIfname, hostIfname: o.hostIfname, hostMac: outside.mac, mac: peer.mac, created: true };
  } catch (e) {
    await ignoreMissing(k.deleteLink(o.hostIfname)).catch(() => undefined);
    throw e;
  }
}

/** Detach: delete the veth pair. False if the namespace or endpoint does not exist. */
export async function detachEndpoint(kernel: Kernel, log: Logger, netns: string, ifname = 'ethwe'): Promise<boolean> {
  const nsPath = resolveNetns(netns);
  let identity: string;
  try {
    identity = await netnsIdentity(nsPath);
  } catch {
    return false; // namespace gone: its veth went with it
  }
  const { host } = vethNames(identity, ifname);
  if (!(await ignoreMissing(kernel.host.deleteLink(host)))) return false;
  log.info({ netns: nsPath, ifname, hostIfname: host }, 'host: endpoint detached');
  return true;
}

/** Every endpoint weft attached to `bridge` whose namespace still exists. */
export async function listEndpoints(kernel: Kernel, bridge: string): Promise<ListedEndpoint[]> {
  const k = kernel.host;
  const br = await k.link(bridge);
  if (!br) return [];
  const out: ListedEndpoint[] = [];
  for (const l of await k.links()) {
    if (l.master !== br.index || l.kind !== 'veth') continue;
    const ep = parseEndpointAlias(l.alias);
    if (!ep) continue;
    const state = await podInterface(kernel, ep.netns, ep.ifname).catch(() => null);
    if (!state) continue;
    out.push({ netns: ep.netns, ifname: ep.ifname, hostIfname: l.name, mac: state.mac, addresses: state.addresses });
  }
  return out;
}

/** A pod interface seen from inside its namespace; null when the namespace or interface is gone. */
export async function podInterface(kernel: Kernel, nsPath: string, ifname: string): Promise<PodInterfaceState | null> {
  let pod: RtnlOps;
  try {
    pod = kernel.openNetns(nsPath);
  } catch (e) {
    if (isWeftError(e, 'WEFT_ERR_HOST_NOT_FOUND')) return null;
    throw e;
  }
  try {
    const link = await pod.link(ifname);
    if (!link) return null;
    const [addrs, routes] = await Promise.all([pod.addresses(link.index), pod.routes()]);
    return {
      mac: link.mac, mtu: link.mtu,
      addresses: addrs.filter((a) => a.scope !== RT_SCOPE_LINK).map((a) => `${a.address}/${a.prefixLength}`),
      routes: routes.filter((r) => r.oif === link.index && r.type === RTN_UNICAST && r.family === 4)
        .map((r) => ({ dst: r.dst, ...(r.gateway ? { gw: r.gateway } : {}) })),
    };
  } finally {
    pod.close();
  }
}

/** TX checksum offload off (frames cross userspace; partial checksums would break TCP). */
export async function txOff(kernel: Kernel, log: Logger, dev: string, nsPath?: string): Promise<void> {
  try {
    await kernel.setTxChecksum(dev, false, nsPath);
  } catch (e) {
    // Some devices cannot change it (EOPNOTSUPP, EINVAL): not an error for weft.
    const errno = (e as { errno?: unknown }).errno;
    if (errno !== EOPNOTSUPP && errno !== EINVAL) throw e;
    log.debug({ dev, errno }, 'host: tx checksum offload not changeable');
  }
}
