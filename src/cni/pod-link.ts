/**
 * The kernel side of weft-net's CHECK, DEL and GC in the daemon: namespace checks, and reading
 * back (and deleting) pod links on the daemon's bridge through src/host's HostPlumbing (netlink,
 * no helper processes). Creating attachments is the daemon's attach orchestration.
 */
import { statfs, stat } from 'node:fs/promises';
import type { Logger } from '../common/index.js';
import type { HostPlumbing, ListedEndpoint, PodInterfaceState } from '../host/index.js';
import { CniError } from './cni-error.js';

/** statfs magic of namespace files (bind mounts of /proc/PID/ns/net and the links themselves). */
const NSFS_MAGIC = 0x6e736673;

/** What is wrong with a pod namespace path, if anything (see {@link netnsProblem}). */
export type NetnsProblem =
  | { kind: 'missing' }
  | { kind: 'unopenable'; errno: string }
  | { kind: 'not-netns' }
  | { kind: 'own' };

/**
 * Classify `path` as a pod's network namespace: null when it is one other than this process's
 * own; otherwise why not (missing, cannot be opened, not a namespace file, our own namespace).
 */
export async function netnsProblem(path: string): Promise<NetnsProblem | null> {
  let type: number;
  try {
    type = (await statfs(path)).type;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'unopenable', errno: code ?? (e as Error).message };
  }
  if (type !== NSFS_MAGIC) return { kind: 'not-netns' };
  const [ns, own] = await Promise.all([stat(path), stat('/proc/self/ns/net')]);
  return ns.ino === own.ino && ns.dev === own.dev ? { kind: 'own' } : null;
}

/**
 * Check that `path` is a network namespace other than the plugin's own. Missing: 3 (nothing to
 * clean up); not a namespace, or the host's own namespace: 4 (CNI_NETNS is wrong).
 */
export async function checkNetns(path: string): Promise<void> {
  const p = await netnsProblem(path);
  if (!p) return;
  switch (p.kind) {
    case 'missing': throw new CniError(3, `network namespace ${path} (CNI_NETNS) does not exist`);
    case 'unopenable': throw new CniError(4, `network namespace ${path} (CNI_NETNS) cannot be opened: ${p.errno}`);
    case 'not-netns': throw new CniError(4, `CNI_NETNS ${path} is not a network namespace (expected /proc/PID/ns/net or a bind mount of one, like /run/netns/NAME)`);
    case 'own': throw new CniError(4, `CNI_NETNS ${path} is the plugin's own (host) network namespace; it must be the container's`);
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

/** Kernel failures as the CNI's generic error (999) with the edge's one-line message. */
async function cni<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(999, e instanceof Error ? e.message : String(e));
  }
}

/** Pod plumbing on one bridge. Stateless; every method is a few netlink calls (no processes). */
export class PodLinks {
  constructor(private readonly host: HostPlumbing, private readonly log: Logger) {}

  /** MAC, MTU, addresses and routes of `ifname` inside the namespace; null if it does not exist. */
  async inspect(netns: string, ifname: string): Promise<PodInterfaceState | null> {
    return cni(this.host.podInterface(netns, ifname));
  }

  /**
   * Delete a host-side veth named in a prevResult, but only one weft attached to this bridge
   * (its alias starts with "weft:"); false when it is not there.
   */
  async deleteHostVeth(name: string): Promise<boolean> {
    const l = await cni(this.host.hostLink(name));
    if (!l || l.master !== this.host.bridge || l.kind !== 'veth' || !l.alias?.startsWith('weft:')) {
      if (l) this.log.debug({ name }, 'cni: not deleting a link weft did not attach to its bridge');
      return false;
    }
    return this.deleteHostLink(name);
  }

  /** The bridge a host-side link is attached to: null when the link does not exist, '' when on none. */
  async masterOf(name: string): Promise<string | null> {
    return (await cni(this.host.hostLink(name)))?.master ?? null;
  }

  /** Endpoints on the bridge whose namespace still exists (for GC); [] when there is no bridge yet. */
  async listEndpoints(): Promise<ListedEndpoint[]> {
    return cni(this.host.listAttached());
  }

  /** Delete a host link (the peer goes with it); false when the link was already gone. */
  deleteHostLink(name: string): Promise<boolean> {
    return cni(this.host.deleteHostLink(name));
  }
}
