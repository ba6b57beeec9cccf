/**
 * The namespace lab — the one used by `npm run demo`, the bench (bench/sandbox.ts builds on it)
 * and the tests (directly, and through test/support's sleeve lab). Lives outside src/ because
 * it is not part of the daemon, and outside test/ because the demo (a shipped entry point) uses
 * it and shipped code never imports test code.
 *
 * A Lab owns everything it creates: network namespaces (`netns()`, hosts from `addHosts()`),
 * links in the caller's namespace, long-lived processes (`sleeper()`, `track()`), cleanup hooks
 * (`onDestroy()`) and a temp dir. Every name carries a per-run prefix. `destroy()` runs the hooks,
 * kills what still runs in the lab's namespaces, deletes them, its links and its dir; it is
 * idempotent and never throws. Hosts run real weft daemons launched through bin/weft in the
 * background, like an operator would. Addresses: underlay 198.18.<net>.<i>/24 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiClient } from '../src/api/index.js';
import type { StatusReport } from '../src/api/index.js';
import { waitFor } from './wait.js';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);
export const WEFT = join(REPO, 'bin', 'weft');

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim().split('\n')[0]}`);
  }
  return r.stdout ?? '';
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export interface LabHost {
  index: number;
  ns: string;
  ip: string;
  dataDir: string;
  socket: string;
  client: ApiClient;
}

/** `N` hosts as a tuple when `N` is a literal (so `hosts[2]` is typed), else an array. */
export type LabHosts<N extends number> = HostTuple<N, []> & LabHost[];
type HostTuple<N extends number, Acc extends LabHost[]> =
  number extends N ? LabHost[] : Acc['length'] extends N ? Acc : HostTuple<N, [...Acc, LabHost]>;

export interface LaunchOptions {
  peers?: string[];
  password?: string | null;
  extraArgs?: string[];
  nickname?: string;
  /** Launch with weft's default timings instead of {@link FAST_TIMING} (what users run). */
  defaultTimings?: boolean;
}

/** Fast timings so tests converge in seconds. */
export const FAST_TIMING = ['--heartbeat-interval', '500', '--heartbeat-timeout', '2500', '--gossip-interval', '1000', '--backoff-scale', '0.1'];

/** Options of a {@link Lab}. */
export interface LabOptions {
  /** Name prefix of everything the lab creates (default "wft" + 4 random hex digits). */
  prefix?: string;
  /** Prefix of the temp dir's name (default "weft-lab-"). */
  dirPrefix?: string;
}

export class Lab {
  readonly prefix: string;
  readonly dir: string;
  readonly hosts: LabHost[] = [];
  private readonly underlayBridge: string;
  private bridgeUp = false;
  private readonly net: number;
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly cleanups: (() => void)[] = [];
  private destroyed = false;

  constructor(o: LabOptions = {}) {
    this.prefix = o.prefix ?? 'wft' + randomBytes(2).toString('hex');
    this.dir = mkdtempSync(join(tmpdir(), o.dirPrefix ?? 'weft-lab-'));
    this.underlayBridge = `${this.prefix}br`;
    this.net = 100 + (randomBytes(1).readUInt8(0) % 100);
  }

  /** Every namespace created so far, in creation order. */
  get allNamespaces(): readonly string[] {
    return this.namespaces;
  }

  /** Create netns `<prefix><suffix>` with loopback up (tracked first: a half-made one is still removed). */
  netns(suffix: string): string {
    const name = `${this.prefix}${suffix}`;
    this.namespaces.push(name);
    sh('ip', ['netns', 'add', name]);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Delete a namespace now (it stays tracked; destroy() tolerates it being gone). */
  removeNetns(name: string): void {
    sh('ip', ['netns', 'del', name], { allowFail: true });
  }

  /** A bridge `<prefix><suffix>` (up) inside namespace `ns`. */
  bridge(ns: string, suffix: string, mtu = 1500): string {
    const name = `${this.prefix}${suffix}`;
    sh('ip', ['-n', ns, 'link', 'add', name, 'type', 'bridge']);
    sh('ip', ['-n', ns, 'link', 'set', name, 'mtu', String(mtu), 'up']);
    return name;
  }

  /** `ip -n ns …` (throws on failure unless allowFail). */
  ip(ns: string, args: string[], allowFail = false): string {
    return sh('ip', ['-n', ns, ...args], { allowFail });
  }

  /** Run a command inside namespace `ns`. */
  execIn(ns: string, cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  /** Keep `p` until destroy(), which SIGKILLs it if it still runs. */
  track(p: ChildProcess): ChildProcess {
    this.procs.push(p);
    return p;
  }

  /** A long-lived process inside `ns` (for /proc/PID/ns/net paths); killed by destroy(). */
  async sleeper(ns: string): Promise<number> {
    const p = this.track(spawn('nsenter', [`--net=/run/netns/${ns}`, 'sleep', '600'], { stdio: 'ignore' }));
    const want = statSync(`/run/netns/${ns}`).ino;
    return waitFor(() => {
      try { return statSync(`/proc/${p.pid}/ns/net`).ino === want ? p.pid! : 0; } catch { return 0; }
    }, { timeoutMs: 5_000, intervalMs: 20, what: `a process in ${ns}` });
  }

  /** Run `fn` first at destroy() (latest registered first), e.g. stopping daemons. */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Create `n` hosts on the underlay bridge. */
  addHosts<N extends number>(n: N): LabHosts<N> {
    this.ensureBridge();
    const out: LabHost[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.hosts.length + 1;
      const ns = `${this.prefix}h${i}`;
      const ip = `198.18.${this.net}.${i}`;
      this.namespaces.push(ns);
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['link', 'add', `${this.prefix}u${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['link', 'set', `${this.prefix}u${i}`, 'master', this.underlayBridge, 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const dataDir = join(this.dir, `h${i}`);
      const socket = join(this.dir, `h${i}.sock`);
      const h: LabHost = { index: i, ns, ip, dataDir, socket, client: new ApiClient({ socketPath: socket, timeoutMs: 5000 }) };
      this.hosts.push(h);
      out.push(h);
    }
    return out as LabHosts<N>;
  }

  /**
   * A host behind its own NAT router (issue 16's "site"): namespace `<prefix>h<i>` (a LabHost,
   * address 192.168.<i>.2 on its LAN) routed through router namespace `<prefix>r<i>`, whose WAN
   * side sits on the underlay bridge at 198.18.<net>.<150+i> (`wanIp`). The router masquerades
   * outbound traffic with nftables and drops every unsolicited inbound packet (forward and
   * input): an "outbound only" home/cloud NAT. `nat`: 'preserve' = plain `masquerade` (keeps the
   * source port when free: endpoint-independent mapping); 'random' = `masquerade random` and
   * 'fully-random' = `masquerade fully-random` (a new random port per destination: symmetric).
   */
  addNatHost(nat: 'preserve' | 'random' | 'fully-random'): LabHost & { router: string; wanIp: string } {
    this.ensureBridge();
    const i = this.hosts.length + 1;
    const router = `${this.prefix}r${i}`;
    const ns = `${this.prefix}h${i}`;
    const wanIp = `198.18.${this.net}.${150 + i}`;
    const lan = `192.168.${i}`;
    for (const n of [router, ns]) {
      this.namespaces.push(n);
      sh('ip', ['netns', 'add', n]);
      sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['link', 'add', `${this.prefix}u${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', router]);
    sh('ip', ['link', 'set', `${this.prefix}u${i}`, 'master', this.underlayBridge, 'up']);
    sh('ip', ['-n', router, 'addr', 'add', `${wanIp}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', router, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', router, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['-n', router, 'addr', 'add', `${lan}.1/24`, 'dev', 'lan0']);
    sh('ip', ['-n', router, 'link', 'set', 'lan0', 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${lan}.2/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `${lan}.1`]);
    sh('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const flag = nat === 'preserve' ? '' : ` ${nat}`;
    const rules = `table inet ${this.prefix}nat {
  chain postnat { type nat hook postrouting priority srcnat; oifname "eth0" masquerade${flag}; }
  chain forwarding { type filter hook forward priority filter; policy drop; ct state established,related accept; iifname "lan0" oifname "eth0" accept; }
  chain incoming { type filter hook input priority filter; policy drop; ct state established,related accept; iifname { "lo", "lan0" } accept; }
}
`;
    sh('ip', ['netns', 'exec', router, 'nft', '-f', '-'], { input: rules });
    const dataDir = join(this.dir, `h${i}`);
    const socket = join(this.dir, `h${i}.sock`);
    const h: LabHost = { index: i, ns, ip: `${lan}.2`, dataDir, socket, client: new ApiClient({ socketPath: socket, timeoutMs: 5000 }) };
    this.hosts.push(h);
    return { ...h, router, wanIp };
  }

  private ensureBridge(): void {
    if (this.bridgeUp) return;
    sh('ip', ['link', 'add', this.underlayBridge, 'type', 'bridge']);
    sh('ip', ['link', 'set', this.underlayBridge, 'up']);
    this.bridgeUp = true;
  }

  /** Run a command inside a host's namespace. */
  exec(h: LabHost, cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
    return sh('ip', ['netns', 'exec', h.ns, cmd, ...args], opts);
  }

  /** `weft launch` (background) on a host; returns the CLI's stdout. */
  launch(h: LabHost, o: LaunchOptions = {}): string {
    return this.exec(h, process.execPath, [WEFT, ...this.launchArgs(h, o)], { timeoutMs: 30_000 });
  }

  /** The `weft …` arguments {@link launch} runs (writes the password file, 0600). */
  launchArgs(h: LabHost, o: LaunchOptions = {}): string[] {
    const args = ['launch', ...(o.peers ?? []), '--data-dir', h.dataDir, '--api-socket', h.socket,
      '--nickname', o.nickname ?? `host${h.index}`, ...(o.defaultTimings ? [] : FAST_TIMING), ...(o.extraArgs ?? [])];
    // The Docker plugin's default socket is machine-wide: lab hosts serve it only when asked.
    if (!args.includes('--docker-plugin-socket')) args.push('--no-docker-plugin');
    if (o.password) {
      const pw = join(this.dir, `pw-${h.index}`);
      writeFileSync(pw, o.password + '\n', { mode: 0o600 });
      args.push('--password-file', pw);
    }
    return args;
  }

  /** `weft stop` on a host (tolerates a daemon that is already gone). */
  stop(h: LabHost): void {
    this.exec(h, process.execPath, [WEFT, 'stop', '--api-socket', h.socket], { allowFail: true, timeoutMs: 15_000 });
  }

  /** SIGKILL every process in the host's namespace (a crashed host). */
  kill(h: LabHost): void {
    killIn(h.ns);
  }

  async status(h: LabHost): Promise<StatusReport> {
    return h.client.status();
  }

  /** Poll `check` (bounded) until it returns true; throws with `what` on timeout. Resolves with the ms waited. */
  async until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
    const start = Date.now();
    await waitFor(check, { what, timeoutMs, intervalMs: 200 });
    return Date.now() - start;
  }

  log(h: LabHost): string {
    const f = join(h.dataDir, 'weft.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Hooks, then kill everything and delete every namespace, link and file of this lab. Idempotent; never throws. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const fn of this.cleanups.splice(0).reverse()) {
      try { fn(); } catch { /* keep cleaning */ }
    }
    for (const p of this.procs.splice(0)) {
      try { if (p.exitCode === null) p.kill('SIGKILL'); } catch { /* gone */ }
    }
    for (const ns of [...this.namespaces].reverse()) {
      killIn(ns);
      sh('ip', ['netns', 'del', ns], { allowFail: true });
    }
    if (this.bridgeUp) sh('ip', ['link', 'del', this.underlayBridge], { allowFail: true });
    this.bridgeUp = false;
    rmSync(this.dir, { recursive: true, force: true });
  }

}

/** SIGKILL every process in namespace `ns` (none when it does not exist). */
function killIn(ns: string): void {
  const pids = sh('ip', ['netns', 'pids', ns], { allowFail: true }).split(/\s+/).filter(Boolean);
  for (const p of pids) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
}
