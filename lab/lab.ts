/**
 * Test lab: "hosts" are network namespaces on one underlay bridge, each running a real weft
 * daemon (launched through bin/weft, in the background, like an operator would). Every name
 * carries a per-run prefix; `destroy()` kills every process in the namespaces and deletes
 * everything, and is safe to call twice. Addresses: underlay 198.18.<net>.<i>/24 only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiClient } from '../src/api/index.js';
import type { StatusReport } from '../src/api/index.js';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);
export const WEFT = join(REPO, 'bin', 'weft');

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env });
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
}

/** Fast timings so tests converge in seconds. */
export const FAST_TIMING = ['--heartbeat-interval', '500', '--heartbeat-timeout', '2500', '--gossip-interval', '1000', '--backoff-scale', '0.1'];

export class Lab {
  readonly prefix = 'wft' + randomBytes(2).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'weft-lab-'));
  readonly hosts: LabHost[] = [];
  private readonly bridge = `${this.prefix}br`;
  private bridgeUp = false;
  private readonly net: number;

  constructor() {
    this.net = 100 + (randomBytes(1).readUInt8(0) % 100);
  }

  /** Create `n` hosts on the underlay bridge. */
  addHosts<N extends number>(n: N): LabHosts<N> {
    if (!this.bridgeUp) {
      sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
      sh('ip', ['link', 'set', this.bridge, 'up']);
      this.bridgeUp = true;
    }
    const out: LabHost[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.hosts.length + 1;
      const ns = `${this.prefix}h${i}`;
      const ip = `198.18.${this.net}.${i}`;
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['link', 'add', `${this.prefix}u${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['link', 'set', `${this.prefix}u${i}`, 'master', this.bridge, 'up']);
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

  /** Run a command inside a host's namespace. */
  exec(h: LabHost, cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
    return sh('ip', ['netns', 'exec', h.ns, cmd, ...args], opts);
  }

  /** `weft launch` (background) on a host; returns the CLI's stdout. */
  launch(h: LabHost, o: LaunchOptions = {}): string {
    const args = ['launch', ...(o.peers ?? []), '--data-dir', h.dataDir, '--api-socket', h.socket,
      '--nickname', o.nickname ?? `host${h.index}`, ...FAST_TIMING, ...(o.extraArgs ?? [])];
    if (o.password) {
      const pw = join(this.dir, `pw-${h.index}`);
      writeFileSync(pw, o.password + '\n', { mode: 0o600 });
      args.push('--password-file', pw);
    }
    return this.exec(h, process.execPath, [WEFT, ...args], { timeoutMs: 30_000 });
  }

  /** `weft stop` on a host (tolerates a daemon that is already gone). */
  stop(h: LabHost): void {
    this.exec(h, process.execPath, [WEFT, 'stop', '--api-socket', h.socket], { allowFail: true, timeoutMs: 15_000 });
  }

  /** SIGKILL every process in the host's namespace (a crashed host). */
  kill(h: LabHost): void {
    const pids = sh('ip', ['netns', 'pids', h.ns], { allowFail: true }).split(/\s+/).filter(Boolean);
    for (const p of pids) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
  }

  async status(h: LabHost): Promise<StatusReport> {
    return h.client.status();
  }

  /** Poll `check` (bounded) until it returns true; throws with `what` on timeout. */
  async until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
    const start = Date.now();
    let lastErr: unknown = null;
    while (Date.now() - start < timeoutMs) {
      try {
        if (await check()) return Date.now() - start;
      } catch (e) { lastErr = e; }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
  }

  log(h: LabHost): string {
    const f = join(h.dataDir, 'weft.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Kill everything and delete every namespace, link and file of this lab. Idempotent. */
  destroy(): void {
    for (const h of this.hosts) this.kill(h);
    for (const h of this.hosts) sh('ip', ['netns', 'del', h.ns], { allowFail: true });
    if (this.bridgeUp) sh('ip', ['link', 'del', this.bridge], { allowFail: true });
    this.bridgeUp = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

