/**
 * Network-namespace references and derived names. Pure except {@link netnsIdentity} (a stat).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { WeftError } from '../common/index.js';
import { isCidr } from '../net/index.js';

const NETNS_RUN_DIR = '/run/netns';
/** Longest Linux interface name. chars */
export const IFNAME_MAX = 15;

/**
 * Path of a namespace given as a bare name ("pod1" → /run/netns/pod1), /run/netns/NAME, or
 * /proc/PID/ns/net (or any other absolute path to a namespace file). WEFT_ERR_BAD_ARGS otherwise.
 */
export function resolveNetns(netns: string): string {
  if (netns.startsWith('/')) {
    if (netns.includes('\0') || netns.split('/').includes('..')) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid network namespace path "${netns}"`);
    }
    return netns;
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(netns) || netns === '.' || netns === '..') {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid network namespace name "${netns}"`);
  }
  return `${NETNS_RUN_DIR}/${netns}`;
}

/** Valid Linux interface name (1–15 chars, no '/', ':' or whitespace). */
export function isValidIfname(name: string): boolean {
  return name.length >= 1 && name.length <= IFNAME_MAX && /^[A-Za-z0-9_.-]+$/.test(name) && name !== '.' && name !== '..';
}

/** Stable identity of a namespace file: "dev:inode" (the same namespace under any path). */
export async function netnsIdentity(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    throw new WeftError('WEFT_ERR_NOT_FOUND', `network namespace ${path} does not exist`);
  }
}

/**
 * Host-side veth name for (namespace identity, container ifname): "vwe" + 10 hex chars of a
 * hash (13 chars), and the temporary name of the container side before it is renamed.
 */
export function vethNames(identity: string, ifname: string): { host: string; temp: string } {
  const h = createHash('sha256').update(`${identity}/${ifname}`).digest('hex').slice(0, 10);
  return { host: `vwe${h}`, temp: `vwt${h}` };
}

/** Alias stored on the host-side veth so `listAttached` can find the endpoint again. */
export function endpointAlias(nsPath: string, ifname: string): string {
  return `weft:${ifname}:${nsPath}`;
}

/** Inverse of {@link endpointAlias}; null for links weft did not create. */
export function parseEndpointAlias(alias: string | undefined): { ifname: string; netns: string } | null {
  const m = /^weft:([A-Za-z0-9_.-]{1,15}):(\/.+)$/.exec(alias ?? '');
  return m ? { ifname: m[1]!, netns: m[2]! } : null;
}

/** Accepts "a.b.c.d/len" or an IPv6 "x::y/len"; WEFT_ERR_BAD_ARGS otherwise. */
export function checkCidr(cidr: string): string {
  if (isCidr(cidr)) return cidr;
  throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid address "${cidr}" (want a.b.c.d/len)`);
}
