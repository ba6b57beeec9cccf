/**
 * Scratch namespaces for CNI tests: every name carries a per-run prefix ("wft" + 4 hex), every
 * namespace, process and temp file is tracked and removed by `destroy()` (idempotent, also
 * after a failure). Addresses used inside are 10.x / 198.18.x only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function run(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env });
  if (r.status !== 0 && !opts.allowFail) {
    const lines = (r.stderr || r.stdout || '').trim().split('\n').filter((l) => !/level=warning/.test(l));
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${lines.slice(-3).join(' | ')}`);
  }
  return r.stdout ?? '';
}

/** Like run(), without blocking the event loop (an in-process stand-in daemon keeps answering). */
export function runAsync(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => { stdout += c; });
    p.stderr!.on('data', (c: Buffer) => { stderr += c; });
    p.once('error', reject);
    p.once('close', (code, signal) => {
      if (code === 0 || opts.allowFail) return resolve(stdout);
      const lines = (stderr || stdout).trim().split('\n').filter((l) => !/level=warning/.test(l));
      reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${lines.slice(-3).join(' | ')}`));
    });
  });
}

export class CniLab {
  readonly prefix = 'wft' + randomBytes(2).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'weft-cni-lab-'));
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly cleanups: (() => void)[] = [];

  /** Create netns `<prefix><suffix>` (lo up); returns its name. */
  netns(suffix: string): string {
    const name = `${this.prefix}${suffix}`;
    run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** A bridge named `<prefix><suffix>` (up) inside namespace `ns`. */
  bridge(ns: string, suffix: string, mtu = 1500): string {
    const name = `${this.prefix}${suffix}`;
    run('ip', ['-n', ns, 'link', 'add', name, 'type', 'bridge']);
    run('ip', ['-n', ns, 'link', 'set', name, 'mtu', String(mtu), 'up']);
    return name;
  }

  /** `ip -n ns …` (throws on failure unless allowFail). */
  ip(ns: string, args: string[], allowFail = false): string {
    return run('ip', ['-n', ns, ...args], { allowFail });
  }

  /** A long-lived process inside `ns` (for /proc/PID/ns/net paths); killed by destroy(). */
  async sleeper(ns: string): Promise<number> {
    const p = spawn('nsenter', [`--net=/run/netns/${ns}`, 'sleep', '600'], { stdio: 'ignore' });
    this.procs.push(p);
    const want = statSync(`/run/netns/${ns}`).ino;
    for (let i = 0; i < 100; i++) {
      try {
        if (statSync(`/proc/${p.pid}/ns/net`).ino === want) return p.pid!;
      } catch { /* not started yet */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`process in ${ns} did not start`);
  }

  /** Remove a namespace now (it stays tracked; destroy() tolerates it being gone). */
  removeNetns(name: string): void {
    run('ip', ['netns', 'del', name], { allowFail: true });
  }

  /** Run `fn` at destroy() (before namespaces go), e.g. stopping daemons. */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  destroy(): void {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try { fn(); } catch { /* keep cleaning */ }
    }
    for (const p of this.procs.splice(0)) {
      try { p.kill('SIGKILL'); } catch { /* gone */ }
    }
    for (const ns of this.namespaces.splice(0)) run('ip', ['netns', 'del', ns], { allowFail: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
