/**
 * The kernel side of weft-net: a pod's veth on the daemon's bridge (through src/host's
 * HostPlumbing), its routes, and reading it back for CHECK and GC. Every namespace operation
 * runs in a short-lived `nsenter --net=PATH ip …` helper, never in this process.
 */
import { statfs, stat } from 'node:fs/promises';
import type { Logger } from '../common/index.js';
import type { CommandRunner, HostPlumbing, ListedEndpoint } from '../host/index.js';
import { CniError } from './cni-error.js';
import type { CniRoute } from './cni-result.js';

/** statfs magic of namespace files (bind mounts of /proc/PID/ns/net and the links themselves). */
const NSFS_MAGIC = 0x6e736673;

/** What CHECK reads back from a pod interface. */
export interface PodInterfaceState {
  mac: string;
  mtu: number;
  /** "10.32.0.5/12"; link-local IPv6 left out. */
  addresses: string[];
  /** Destinations ("10.32.0.0/12", "0.0.0.0/0") with their gateway, if any. */
  routes: CniRoute[];
}

/** The attachment ADD created (for the result and for rollback). */
export interface PodAttachment {
  hostIfname: string;
  hostMac: string;
  mac: string;
}

interface IpAddrRow { ifname?: string; mtu?: number; address?: string; addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[] }
interface IpRouteRow { dst?: string; gateway?: string; dev?: string }

function parseJson<T>(what: string, stdout: string): T[] {
  try {
    const v: unknown = JSON.parse(stdout.trim() || '[]');
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    throw new CniError(999, `${what}: unexpected output from ip -j`);
  }
}

function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'unknown error';
}

/**
 * Check that `path` is a network namespace other than the plugin's own. Missing: 3 (nothing to
 * clean up); not a namespace, or the host's own namespace: 4 (CNI_NETNS is wrong).
 */
export async function checkNetns(path: string): Promise<void> {
  let type: number;
  try {
    type = (await statfs(path)).type;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CniError(3, `network namespace ${path} (CNI_NETNS) does not exist`);
    throw new CniError(4, `network namespace ${path} (CNI_NETNS) cannot be opened: ${code ?? (e as Error).message}`);
  }
  if (type !== NSFS_MAGIC) {
    throw new CniError(4, `CNI_NETNS ${path} is not a network namespace (expected /proc/PID/ns/net or a bind mount of one, like /run/netns/NAME)`);
  }
  const [ns, own] = await Promise.all([stat(path), stat('/proc/self/ns/net')]);
  if (ns.ino === own.ino && ns.dev === own.dev) {
    throw new CniError(4, `CNI_NETNS ${path} is the plugin's own (host) network namespace; it must be the container's`);
  }
}

/** True when `path` exists and is a namespace file (DEL: false means "already gone"). */
export async function netnsPresent(path: string): Promise<boolean> {
  if (path === '') return false;
  try {
    return (await statfs(path)).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** True when an interface named `ifname` exists inside the namespace (needs no bridge, so ADD runs it beside the daemon query). */
export async function interfaceExists(netns: string, ifname: string): Promise<boolean> {
  const { execRunner } = await import('../host/index.js');
  const r = await execRunner()('nsenter', [`--net=${netns}`, 'ip', 'link', 'show', 'dev', ifname]);
  if (r.code === 0) return true;
  if (/does not exist|cannot find device/i.test(r.stderr)) return false;
  throw new CniError(999, `reading interfaces of ${netns} failed: ${firstLine(r.stderr)}`);
}

/** Pod plumbing for `bridge` with the real command runner (src/host is loaded on first use). */
export async function openPodLinks(bridge: string, log: Logger): Promise<PodLinks> {
  const { HostPlumbing, execRunner } = await import('../host/index.js');
  return new PodLinks(new HostPlumbing({ bridge, log }), execRunner(), log);
}

/** Pod plumbing on one bridge. Stateless; every method is one or a few helper processes. */
export class PodLinks {
  constructor(private readonly host: HostPlumbing, private readonly run: CommandRunner, private readonly log: Logger) {}

  private ns(netns: string, ...args: string[]) {
    return this.run('nsenter', [`--net=${netns}`, ...args]);
  }

  /**
   * veth pair with the host side on the bridge and `ifname` (addressed, up) in the namespace,
   * TX checksum offload as the daemon asks; on failure nothing of it is left.
   */
  async attach(o: { netns: string; ifname: string; cidr: string; mtu: number; txChecksumOff: boolean }): Promise<PodAttachment> {
    const ep = await this.host.attach({ netns: o.netns, ifname: o.ifname, cidr: o.cidr, mtu: o.mtu, txOff: o.txChecksumOff });
    try {
      const r = await this.run('ip', ['-j', 'link', 'show', 'dev', ep.hostIfname]);
      const hostMac = r.code === 0 ? parseJson<IpAddrRow>('reading the host veth', r.stdout)[0]?.address ?? '' : '';
      return { hostIfname: ep.hostIfname, hostMac, mac: ep.mac };
    } catch (e) {
      await this.deleteHostLink(ep.hostIfname);
      throw e;
    }
  }

  /** `ip route replace` each route on `ifname` inside the namespace (idempotent). */
  async addRoutes(netns: string, ifname: string, routes: CniRoute[]): Promise<void> {
    for (const rt of routes) {
      const args = ['ip', 'route', 'replace', rt.dst, ...(rt.gw ? ['via', rt.gw] : []), 'dev', ifname];
      const r = await this.ns(netns, ...args);
      if (r.code !== 0) throw new CniError(999, `adding route ${rt.dst}${rt.gw ? ` via ${rt.gw}` : ''} on ${ifname} in ${netns} failed: ${firstLine(r.stderr)}`);
    }
  }

  /** MAC, MTU, addresses and routes of `ifname` inside the namespace; null if it does not exist. */
  async inspect(netns: string, ifname: string): Promise<PodInterfaceState | null> {
    const a = await this.ns(netns, 'ip', '-j', 'addr', 'show', 'dev', ifname);
    if (a.code !== 0) {
      if (/does not exist|cannot find device/i.test(a.stderr)) return null;
      throw new CniError(999, `reading ${ifname} in ${netns} failed: ${firstLine(a.stderr)}`);
    }
    const row = parseJson<IpAddrRow>(`reading ${ifname}`, a.stdout)[0];
    if (!row) return null;
    const r = await this.ns(netns, 'ip', '-j', 'route', 'show', 'dev', ifname);
    if (r.code !== 0) throw new CniError(999, `reading routes of ${ifname} in ${netns} failed: ${firstLine(r.stderr)}`);
    const routes = parseJson<IpRouteRow>('reading routes', r.stdout).map((x): CniRoute => ({
      dst: x.dst === 'default' || x.dst === undefined ? '0.0.0.0/0' : x.dst.includes('/') ? x.dst : `${x.dst}/32`,
      ...(x.gateway ? { gw: x.gateway } : {}),
    }));
    const addresses = (row.addr_info ?? []).filter((x) => x.scope !== 'link' && x.local)
      .map((x) => `${x.local}/${x.prefixlen ?? 32}`);
    return { mac: row.address ?? '', mtu: row.mtu ?? 0, addresses, routes };
  }

  /** Remove the pod's veth pair by namespace (false when it or the namespace is gone). */
  detach(netns: string, ifname: string): Promise<boolean> {
    return this.host.detach(netns, ifname);
  }

  /**
   * Delete a host-side veth named in a prevResult, but only one weft attached to this bridge
   * (its alias starts with "weft:"); false when it is not there.
   */
  async deleteHostVeth(name: string): Promise<boolean> {
    const r = await this.run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
    if (r.code !== 0) return false;
    const row = parseJson<{ ifalias?: string; master?: string; linkinfo?: { info_kind?: string } }>(`reading ${name}`, r.stdout)[0];
    if (!row || row.master !== this.host.bridge || row.linkinfo?.info_kind !== 'veth' || !row.ifalias?.startsWith('weft:')) {
      this.log.debug({ name }, 'cni: not deleting a link weft did not attach to its bridge');
      return false;
    }
    return this.deleteHostLink(name);
  }

  /** The bridge a host-side link is attached to: null when the link does not exist, '' when on none. */
  async masterOf(name: string): Promise<string | null> {
    const r = await this.run('ip', ['-j', 'link', 'show', 'dev', name]);
    if (r.code !== 0) return null;
    return parseJson<{ master?: string }>(`reading ${name}`, r.stdout)[0]?.master ?? '';
  }

  /** Endpoints on the bridge whose namespace still exists (for GC); [] when there is no bridge yet. */
  async listEndpoints(): Promise<ListedEndpoint[]> {
    if ((await this.masterOf(this.host.bridge)) === null) return [];
    return this.host.listAttached();
  }

  /** `ip link del` (the peer goes with it); false when the link was already gone. */
  async deleteHostLink(name: string): Promise<boolean> {
    const r = await this.run('ip', ['link', 'del', 'dev', name]);
    if (r.code === 0) return true;
    if (/cannot find device|does not exist/i.test(r.stderr)) return false;
    throw new CniError(999, `deleting ${name} failed: ${firstLine(r.stderr)}`);
  }
}
