/**
 * Container endpoints: a veth pair per (namespace, interface), host side on the bridge,
 * container side moved into the namespace, renamed, addressed and brought up. All work
 * inside a namespace runs in `nsenter --net=PATH` helper processes.
 */
import { WeftError, type Logger } from '../common/index.js';
import { check, firstLine, parseIpJson, type CommandRunner } from './exec.js';
import {
  checkCidr, endpointAlias, isValidIfname, netnsIdentity, parseEndpointAlias, resolveNetns, vethNames,
} from './netns.js';

/** Result of attaching a namespace to the bridge. */
export interface AttachedEndpoint {
  /** Interface name inside the namespace (e.g. "ethwe"). */
  ifname: string;
  /** Host-side veth on the bridge. */
  hostIfname: string;
  /** MAC address of the container interface. */
  mac: string;
  /** Address that was set, if any. */
  cidr?: string;
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

interface IpLink { ifname: string; address?: string; ifalias?: string }
interface IpAddr { ifname: string; address?: string; addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[] }

const inNs = (nsPath: string, cmd: string, ...args: string[]): [string, string[]] => ['nsenter', [`--net=${nsPath}`, cmd, ...args]];

async function linkExists(run: CommandRunner, name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

/** Attach (see {@link AttachOptions}). Re-attaching an attached namespace only adds `cidr`. */
export async function attachEndpoint(run: CommandRunner, log: Logger, o: AttachOptions): Promise<AttachedEndpoint> {
  const ifname = o.ifname ?? 'ethwe';
  if (!isValidIfname(ifname)) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid interface name "${ifname}"`);
  const cidr = o.cidr === undefined ? undefined : checkCidr(o.cidr);
  const nsPath = resolveNetns(o.netns);
  const { host, temp } = vethNames(await netnsIdentity(nsPath), ifname);
  const ns = (cmd: string, ...args: string[]) => run(...inNs(nsPath, cmd, ...args));
  if (await linkExists(run, host)) {
    if (cidr) await addAddress(ns, ifname, cidr);
    return { ifname, hostIfname: host, mac: await containerMac(ns, ifname), ...(cidr ? { cidr } : {}) };
  }
  const mtu = String(o.mtu);
  check(`creating veth ${host} for ${nsPath}`, await run('ip', ['link', 'add', host, 'mtu', mtu, 'type', 'veth',
    'peer', 'name', temp, 'mtu', mtu, 'netns', nsPath]));
  try {
    check(`attaching ${host} to bridge ${o.bridge}`, await run('ip', ['link', 'set', 'dev', host, 'master', o.bridge,
      'alias', endpointAlias(nsPath, ifname), 'up']));
    if (o.txOff !== false) await txOff(run, log, host);
    check(`renaming ${temp} to ${ifname} in ${nsPath}`, await ns('ip', 'link', 'set', 'dev', temp, 'name', ifname));
    if (o.txOff !== false) await txOff((c, a) => ns(c, ...a), log, ifname);
    // The kernel sends a gratuitous ARP when the interface comes up with arp_notify set.
    await ns('sysctl', '-q', '-w', `net.ipv4.conf.${ifname}.arp_notify=1`);
    if (cidr) await addAddress(ns, ifname, cidr);
    check(`bringing ${ifname} up in ${nsPath}`, await ns('ip', 'link', 'set', 'dev', ifname, 'up'));
    const mac = await containerMac(ns, ifname);
    log.info({ netns: nsPath, ifname, hostIfname: host, mac, cidr }, 'host: endpoint attached');
    return { ifname, hostIfname: host, mac, ...(cidr ? { cidr } : {}) };
  } catch (e) {
    await run('ip', ['link', 'del', 'dev', host]);
    throw e;
  }
}

/** Detach: delete the veth pair. False if the namespace or endpoint does not exist. */
export async function detachEndpoint(run: CommandRunner, log: Logger, netns: string, ifname = 'ethwe'): Promise<boolean> {
  const nsPath = resolveNetns(netns);
  let identity: string;
  try {
    identity = await netnsIdentity(nsPath);
  } catch {
    return false; // namespace gone: its veth went with it
  }
  const { host } = vethNames(identity, ifname);
  const r = await run('ip', ['link', 'del', 'dev', host]);
  if (r.code !== 0) {
    if (/cannot find device|does not exist/i.test(r.stderr)) return false;
    check(`deleting ${host}`, r);
  }
  log.info({ netns: nsPath, ifname, hostIfname: host }, 'host: endpoint detached');
  return true;
}

/** Every endpoint weft attached to `bridge` whose namespace still exists. */
export async function listEndpoints(run: CommandRunner, bridge: string): Promise<ListedEndpoint[]> {
  const links = parseIpJson<IpLink>(`listing ports of ${bridge}`,
    check(`listing ports of ${bridge}`, await run('ip', ['-j', 'link', 'show', 'master', bridge, 'type', 'veth'])));
  const out: ListedEndpoint[] = [];
  for (const l of links) {
    const ep = parseEndpointAlias(l.ifalias);
    if (!ep) continue;
    const r = await run(...inNs(ep.netns, 'ip', '-j', 'addr', 'show', 'dev', ep.ifname));
    if (r.code !== 0) continue;
    const a = parseIpJson<IpAddr>('reading endpoint addresses', r.stdout)[0];
    if (!a) continue;
    const addresses = (a.addr_info ?? []).filter((x) => x.scope !== 'link').map((x) => `${x.local}/${x.prefixlen}`);
    out.push({ netns: ep.netns, ifname: ep.ifname, hostIfname: l.ifname, mac: a.address ?? '', addresses });
  }
  return out;
}

async function addAddress(ns: (cmd: string, ...a: string[]) => ReturnType<CommandRunner>, ifname: string, cidr: string): Promise<void> {
  const r = await ns('ip', 'addr', 'add', cidr, 'dev', ifname);
  if (r.code !== 0 && !/already assigned|file exists/i.test(r.stderr)) check(`adding ${cidr} to ${ifname}`, r);
}

async function containerMac(ns: (cmd: string, ...a: string[]) => ReturnType<CommandRunner>, ifname: string): Promise<string> {
  const r = await ns('ip', '-j', 'link', 'show', 'dev', ifname);
  return parseIpJson<IpLink>(`reading ${ifname}`, check(`reading ${ifname}`, r))[0]?.address ?? '';
}

/** TX checksum offload off (frames cross userspace; partial checksums would break TCP). */
export async function txOff(run: CommandRunner, log: Logger, dev: string): Promise<void> {
  const r = await run('ethtool', ['-K', dev, 'tx', 'off']);
  if (r.code === 0) return;
  if (/not supported|cannot change/i.test(r.stderr)) {
    log.debug({ dev, err: firstLine(r.stderr) }, 'host: tx checksum offload not changeable');
    return;
  }
  check(`ethtool -K ${dev} tx off`, r);
}
