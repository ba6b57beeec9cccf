/**
 * The sleeve integration test's topology, built with the one namespace Lab (lab/): an underlay
 * namespace with a bridge, N host namespaces each on that bridge (198.18.0.i/24) running
 * test/support/sleeve-host.js, and pod namespaces attached to the hosts' bridges. The Lab owns
 * every namespace, name prefix and the temp dir; `destroy()` stops the harness processes, then
 * destroys the Lab (safe to call twice).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { SleeveHostConfig } from './sleeve-host.js';
import { Lab } from './lab.js';
import { waitFor } from './wait.js';

export const REPO = resolve(new URL('../../..', import.meta.url).pathname);
const HARNESS = join(REPO, 'dist', 'test', 'support', 'sleeve-host.js');

/** Run a command; throws with the first stderr line unless allowFail. */
export function sh(cmd: string, args: string[], o: { allowFail?: boolean; timeoutMs?: number } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: o.timeoutMs ?? 30_000 });
  const res = { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
  if (res.code !== 0 && !o.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(res.err || res.out).trim().split('\n')[0]}`);
  }
  return res;
}

export const peerName = (i: number): string => `0a:00:00:00:00:0${i}`;

/** One harness process with a JSON-lines RPC. */
export class HarnessProc {
  private nextId = 1;
  private readonly waiting = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  readonly stderr: string[] = [];
  readonly ready: Promise<void>;

  constructor(readonly proc: ChildProcess, readonly index: number) {
    let markReady: () => void = () => {};
    let failReady: (e: Error) => void = () => {};
    this.ready = new Promise((res, rej) => { markReady = res; failReady = rej; });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let m: { id: number; ok: boolean; result?: unknown; error?: string };
      try { m = JSON.parse(line); } catch { return; }
      if (m.id === 0) return markReady();
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.ok) w?.res(m.result); else w?.rej(new Error(`host ${index}: ${m.error}`));
    });
    createInterface({ input: proc.stderr! }).on('line', (l) => {
      this.stderr.push(l);
      if (this.stderr.length > 400) this.stderr.shift();
    });
    proc.once('exit', (code) => {
      failReady(new Error(`host ${index} exited (${code}): ${this.stderr.slice(-3).join(' | ')}`));
      for (const w of this.waiting.values()) w.rej(new Error(`host ${index} exited`));
      this.waiting.clear();
    });
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((res, rej) => {
      const t = setTimeout(() => { this.waiting.delete(id); rej(new Error(`host ${this.index}: ${cmd} timed out`)); }, timeoutMs);
      this.waiting.set(id, { res: (v) => { clearTimeout(t); res(v as T); }, rej: (e) => { clearTimeout(t); rej(e); } });
      this.proc.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n');
    });
  }
}

export interface LabOptions {
  hosts: number;
  /** Undirected edges between host indexes (1-based) with a control link. */
  edges: [number, number][];
  encrypted?: boolean;
  /** Underlay MTU per host index (default 1500). */
  underlayMtu?: Record<number, number>;
}

export class SleeveLab {
  private readonly lab = new Lab({ dirPrefix: 'weft-sleeve-' });
  readonly prefix = this.lab.prefix;
  readonly dir = this.lab.dir;
  readonly hosts: HarnessProc[] = [];
  private destroyed = false;

  get underlay(): string { return `${this.prefix}u`; }
  get underlayBridge(): string { return `${this.prefix}ub`; }
  hostNs(i: number): string { return `${this.prefix}h${i}`; }
  podNs(i: number): string { return `${this.prefix}p${i}`; }
  hostIp(i: number): string { return `198.18.0.${i}`; }
  podIp(i: number): string { return `10.40.0.${i}`; }

  private addNs(name: string): void {
    this.lab.netns(name.slice(this.prefix.length));
  }

  /** Build the namespaces and start one harness per host (resolves when all are ready). */
  async start(o: LabOptions): Promise<void> {
    this.addNs(this.underlay);
    sh('ip', ['-n', this.underlay, 'link', 'add', this.underlayBridge, 'type', 'bridge']);
    sh('ip', ['-n', this.underlay, 'addr', 'add', '198.18.0.254/24', 'dev', this.underlayBridge]);
    sh('ip', ['-n', this.underlay, 'link', 'set', this.underlayBridge, 'up']);
    const secretFile = join(this.dir, 'secret');
    writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
    const names = Array.from({ length: o.hosts }, (_, k) => peerName(k + 1));
    for (let i = 1; i <= o.hosts; i++) {
      const ns = this.hostNs(i);
      this.addNs(ns);
      this.addNs(this.podNs(i));
      const mtu = String(o.underlayMtu?.[i] ?? 1500);
      const up = `${this.prefix}u${i}`;
      const eth = `${this.prefix}e${i}`;
      sh('ip', ['-n', this.underlay, 'link', 'add', up, 'mtu', mtu, 'type', 'veth', 'peer', 'name', eth, 'mtu', mtu, 'netns', ns]);
      sh('ip', ['-n', this.underlay, 'link', 'set', up, 'master', this.underlayBridge, 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${this.hostIp(i)}/24`, 'dev', eth]);
      sh('ip', ['-n', ns, 'link', 'set', eth, 'up']);
    }
    for (let i = 1; i <= o.hosts; i++) {
      const peers = o.edges.filter(([a, b]) => a === i || b === i).map(([a, b]) => (a === i ? b : a))
        .map((j) => ({ name: peerName(j), ip: this.hostIp(j), dial: i < j }));
      const cfg: SleeveHostConfig = {
        name: peerName(i), ip: this.hostIp(i), port: 6783, bridge: `${this.prefix}br`, tap: `${this.prefix}tap`,
        secretFile, encrypted: o.encrypted ?? true, peers,
        edges: o.edges.map(([a, b]) => [names[a - 1]!, names[b - 1]!]),
        timing: { pmtuProbeTimeoutMs: 100 },
      };
      const file = join(this.dir, `host${i}.json`);
      writeFileSync(file, JSON.stringify(cfg));
      // WEFT_SLEEVE_NODE_ARGS: extra node flags for the harnesses (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
      const extra = (process.env.WEFT_SLEEVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const proc = spawn('ip', ['netns', 'exec', this.hostNs(i), process.execPath, ...extra, HARNESS, file], { stdio: ['pipe', 'pipe', 'pipe'] });
      this.lab.track(proc);
      this.hosts.push(new HarnessProc(proc, i));
    }
    await Promise.all(this.hosts.map((h) => h.ready));
  }

  host(i: number): HarnessProc {
    return this.hosts[i - 1]!;
  }

  /** Run a command inside namespace `ns`. */
  exec(ns: string, cmd: string, args: string[], o: { allowFail?: boolean; timeoutMs?: number } = {}): { code: number; out: string; err: string } {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], o);
  }

  /** Kill harnesses (SIGTERM, then SIGKILL), delete namespaces and the temp dir. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const h of this.hosts) h.proc.stdin?.end();
    for (const h of this.hosts) if (h.proc.exitCode === null) h.proc.kill('SIGTERM');
    // A clean exit first (bounded); the Lab SIGKILLs whatever is left, then removes everything.
    await waitFor(() => this.hosts.every((h) => h.proc.exitCode !== null || h.proc.signalCode !== null),
      { timeoutMs: 3_000, intervalMs: 50, what: 'the sleeve hosts to exit' }).catch(() => undefined);
    this.lab.destroy();
  }
}
