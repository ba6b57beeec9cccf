/**
 * The kernel interface every part of src/host programs through: rtnetlink per namespace,
 * ethtool TX checksum offload, persistent TAPs, sysctls of the daemon's own namespace, and
 * nftables transactions. `netlinkKernel()` is the real one (netlink sockets and ioctls from the
 * native addon; nftables as one `nft -f -` process per change set, stdin, no shell); unit tests
 * pass an in-memory implementation of the same interface (test/support/fake-kernel.ts).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { HOST_EXEC_TIMEOUT_MS, WeftError } from '../common/index.js';
import { AF_INET, SOCK_DGRAM } from './netlink-abi.js';
import { addonError, kernelAddon } from './netlink-socket.js';
import { NftNetlink, type NftElementChange } from './nft-netlink.js';
import { Rtnl } from './rtnl.js';

/** Rtnl's public operations (what a fake implements). */
export type RtnlOps = { [K in keyof Rtnl]: Rtnl[K] };

/** The kernel as src/host uses it. Every method throws typed WeftErrors (see rtnl.ts). */
export interface Kernel {
  /** rtnetlink of the daemon's namespace (shared; never close it). */
  readonly host: RtnlOps;
  /** rtnetlink inside another namespace; the caller closes it. */
  openNetns(nsPath: string): RtnlOps;
  /** TX checksum offload (and TSO with it) on `ifname`, in `nsPath` or the daemon's namespace. */
  setTxChecksum(ifname: string, on: boolean, nsPath?: string): Promise<void>;
  /** Create a persistent TAP (no packet information) in the daemon's namespace. */
  createTap(name: string): Promise<void>;
  /** Write a sysctl of the daemon's namespace ("net.ipv4.ip_forward", "1"). */
  sysctl(key: string, value: string): Promise<void>;
  /** Read a sysctl of the daemon's namespace (trimmed); WEFT_ERR_HOST_NOT_FOUND when the key does not exist. */
  readSysctl(key: string): Promise<string>;
  /** Apply one nftables transaction (all or nothing). */
  nft(what: string, script: string): Promise<void>;
  /**
   * Add and delete elements of existing (non-interval) sets in ONE transaction, all or nothing,
   * without an `nft` process (nf_tables netlink batch, nft-netlink.ts). ENOENT (an element or
   * set that is not there) is WEFT_ERR_HOST_NOT_FOUND.
   */
  nftElements(what: string, changes: readonly NftElementChange[]): Promise<void>;
  /**
   * The nftables ruleset of one family as libnftables JSON (`nft -j list ruleset FAMILY`: every
   * table with its sets, maps, elements, chains and rules); read once at start-up to adopt what
   * a previous daemon left.
   */
  nftRuleset(family: 'netdev' | 'inet' | 'ip'): Promise<unknown>;
  /**
   * One libnftables JSON listing, `nft -j list ARGS` (e.g. `['counters', 'table', 'inet', 'weft_policy']`
   * or `['tables', 'inet']`): what a reader needs without dumping a whole family's sets.
   */
  nftList(what: string, args: readonly string[]): Promise<unknown>;
}

/**
 * The real kernel: netlink + ioctls through the addon, `nft -f -` for nftables.
 *
 * `nsPath` binds "host" to another namespace than the caller's (tests and tools that program a
 * simulated host from outside it). Netlink and ethtool still need no process there; sysctls and
 * nft then run under `nsenter --net=PATH` (the daemon itself runs inside its namespace and never
 * does that).
 */
export function netlinkKernel(o: { timeoutMs?: number; nsPath?: string } = {}): Kernel {
  let host: Rtnl | null = null;
  let nfnl: NftNetlink | null = null;
  const timeoutMs = o.timeoutMs ?? HOST_EXEC_TIMEOUT_MS;
  const ns = o.nsPath;
  return {
    get host(): RtnlOps {
      host ??= Rtnl.open({ timeoutMs, ...(ns ? { nsPath: ns } : {}) });
      return host;
    },
    openNetns: (nsPath) => Rtnl.open({ timeoutMs, nsPath }),
    setTxChecksum: (ifname, on, nsPath) => setTxChecksum(ifname, on, nsPath ?? ns),
    createTap: async (name) => {
      try {
        kernelAddon().tunSetPersist(name, true);
      } catch (e) {
        throw addonError(`creating TAP ${name}`, e);
      }
      if (!ns) return;
      // The ioctl acts in the caller's namespace: move the new TAP where "host" is.
      const here = Rtnl.open({ timeoutMs });
      try {
        await here.moveLink(name, ns);
      } finally {
        here.close();
      }
    },
    sysctl: async (key, value) => {
      if (ns) await runIn(ns, `setting ${key}`, ['sysctl', '-q', '-w', `${checkSysctl(key)}=${value}`], '', timeoutMs);
      else await writeSysctl(key, value);
    },
    readSysctl: async (key) => {
      if (ns) return (await runIn(ns, `reading ${key}`, ['sysctl', '-n', checkSysctl(key)], '', timeoutMs)).trim();
      return readSysctl(key);
    },
    nft: async (what, script) => { await runIn(ns, what, ['nft', '-f', '-'], script, timeoutMs); },
    nftElements: (what, changes) => {
      nfnl ??= NftNetlink.open({ timeoutMs, ...(ns ? { nsPath: ns } : {}) });
      return nfnl.apply(what, changes);
    },
    nftRuleset: (family) => nftJson(ns, `reading the nftables ${family} ruleset`, ['ruleset', family], timeoutMs),
    nftList: (what, args) => nftJson(ns, what, args, timeoutMs),
  };
}

async function nftJson(ns: string | undefined, what: string, args: readonly string[], timeoutMs: number): Promise<unknown> {
  const out = await runIn(ns, what, ['nft', '-j', 'list', ...args], '', timeoutMs);
  try {
    return JSON.parse(out) as unknown;
  } catch {
    throw new WeftError('WEFT_ERR_HOST', `${what} failed: nft printed no JSON`);
  }
}

function setTxChecksum(ifname: string, on: boolean, nsPath?: string): Promise<void> {
  const a = kernelAddon();
  let fd = -1;
  try {
    fd = a.netnsSocket(AF_INET, SOCK_DGRAM, 0, nsPath);
    a.ethtoolSetTxCsum(fd, ifname, on);
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(addonError(`TX checksum offload ${on ? 'on' : 'off'} for ${ifname}`, e));
  } finally {
    if (fd >= 0) a.close(fd);
  }
}

const SYSCTL_KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_.-]+)+$/;

function checkSysctl(key: string): string {
  if (!SYSCTL_KEY.test(key) || key.includes('..')) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid sysctl name "${key}"`);
  return key;
}

async function readSysctl(key: string): Promise<string> {
  checkSysctl(key);
  try {
    return (await readFile(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8')).trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WeftError(code === 'ENOENT' ? 'WEFT_ERR_HOST_NOT_FOUND' : 'WEFT_ERR_HOST', `reading ${key} failed: ${code ?? String(e)}`);
  }
}

async function writeSysctl(key: string, value: string): Promise<void> {
  checkSysctl(key);
  // Interface names may contain dots; the kernel's path keeps them (net.ipv4.conf.a.b.rp_filter
  // is ambiguous there, so weft only writes keys of interfaces it named, which have no dots).
  const path = `/proc/sys/${key.replaceAll('.', '/')}`;
  try {
    await writeFile(path, `${value}\n`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const map = code === 'ENOENT' ? 'WEFT_ERR_HOST_NOT_FOUND' : code === 'EACCES' || code === 'EPERM' ? 'WEFT_ERR_HOST_PERMISSION' : 'WEFT_ERR_HOST';
    throw new WeftError(map, `setting ${key}=${value} failed: ${code ?? String(e)}`);
  }
}

/**
 * One process (`nft -f -` with the transaction on stdin, or a listing whose stdout is returned; under `nsenter --net` for a foreign
 * namespace). WEFT_ERR_HOST with the tool's first error line on failure.
 */
function runIn(nsPath: string | undefined, what: string, argv: readonly [string, ...string[]], stdin: string, timeoutMs: number): Promise<string> {
  const [cmd, ...args] = nsPath ? ['nsenter', `--net=${nsPath}`, ...argv] : argv;
  const tool = argv[0];
  return new Promise((resolve, reject) => {
    let stderr = '';
    let stdout = '';
    let settled = false;
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { if (stdout.length < 16 * 1024 * 1024) stdout += d; });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
    const fail = (msg: string): void => {
      if (settled) return;
      settled = true;
      reject(new WeftError('WEFT_ERR_HOST', `${what} failed: ${msg}`));
    };
    child.on('error', (e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' ? `${cmd}: command not found (install ${tool === 'nft' ? 'nftables' : tool})` : `${cmd}: ${e.message}`));
    child.on('close', (code, signal) => {
      if (settled) return;
      if (code === 0) {
        settled = true;
        resolve(stdout);
        return;
      }
      const line = stderr.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? (signal ? `${tool} killed by ${signal}` : `${tool} exited with ${code}`);
      fail(line);
    });
    child.stdin.on('error', () => undefined); // nft exiting early surfaces through 'close'
    child.stdin.end(stdin);
  });
}
