/**
 * CNI latency benchmark (not a test): ADD and DEL of weft-net versus the reference `bridge` +
 * `host-local` plugins, interleaved in one run inside scratch namespaces, plus VERSION (process
 * start-up alone). Needs root and containernetworking-plugins. Run alone:
 *   sudo node dist/bench/cni-bench.js [iterations]
 * weft-net talks to a real daemon launched in the scratch host namespace when that daemon
 * serves IPAM; otherwise to the in-memory stand-in (the report says which).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WeftError, isWeftError } from '../src/common/index.js';
import { pluginScript } from '../test/support/cni/run-plugin.js';

const REFERENCE = '/usr/lib/cni';
const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Latency percentiles of one operation. ms */
export interface LatencyRow {
  plugin: string;
  op: 'ADD' | 'DEL' | 'VERSION';
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

/** Result of one {@link runCniBench} run. */
export interface CniBenchReport {
  iterations: number;
  /** "real daemon" or "stand-in daemon (…why…)". */
  daemon: string;
  rows: LatencyRow[];
}

function sh(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 && !allowFail) throw new WeftError('WEFT_ERR_HOST', `${cmd} ${args.join(' ')} failed: ${(r.stderr || '').trim().split('\n')[0]}`);
  return r.stdout ?? '';
}

/** Run one plugin in `hostNs`; resolves with wall time. ms */
function timed(cmd: string[], env: Record<string, string>, stdin: string, hostNs: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('nsenter', [`--net=/run/netns/${hostNs}`, ...cmd], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 60_000 });
    let out = '';
    p.stdout.on('data', (c: Buffer) => { out += c; });
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(performance.now() - t0)
      : reject(new WeftError('WEFT_ERR_INTERNAL', `${cmd.at(-1)} ${env.CNI_COMMAND} failed: ${out.trim().slice(0, 300)}`))));
    p.stdin.on('error', () => { /* a plugin may exit without reading stdin (VERSION) */ });
    p.stdin.end(stdin);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function row(plugin: string, op: LatencyRow['op'], ms: number[]): LatencyRow {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { plugin, op, n: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

/** Launch a real daemon in `ns`; null (and nothing left running) when it has no CNI endpoints. */
async function realDaemon(ns: string, dir: string): Promise<{ socket: string; stop(): void } | string> {
  const socket = join(dir, 'weft.sock');
  const weft = join(REPO, 'bin', 'weft');
  const launch = spawnSync('nsenter', [`--net=/run/netns/${ns}`, process.execPath, weft, 'launch', '--data-dir', join(dir, 'data'),
    '--api-socket', socket, '--ipalloc-range', '10.94.0.0/16', '--ipalloc-init', 'consensus=1', '--status-addr', ''], { encoding: 'utf8', timeout: 40_000 });
  const stop = () => {
    sh('nsenter', [`--net=/run/netns/${ns}`, process.execPath, weft, 'stop', '--api-socket', socket], true);
    for (const pid of sh('ip', ['netns', 'pids', ns], true).split(/\s+/).filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
  };
  if (launch.status !== 0) {
    stop();
    return `weft launch failed: ${(launch.stderr || launch.stdout).trim().split('\n')[0]}`;
  }
  const { ApiClient } = await import('../src/api/index.js');
  const client = new ApiClient({ socketPath: socket, timeoutMs: 5_000 });
  for (let i = 0; i < 100; i++) {
    try {
      const s = (await client.request('GET', '/ipam/status')) as { status?: string };
      if (s.status === 'ready') return { socket, stop };
    } catch (e) {
      if (isWeftError(e, 'WEFT_ERR_NO_ENDPOINT')) {
        stop();
        return `the daemon does not serve GET /ipam/status yet`;
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  stop();
  return 'the daemon\'s IPAM did not become ready within 20 s';
}

/**
 * Measure `iterations` ADD+DEL pairs per plugin set (interleaved) and as many VERSION calls.
 * Everything it creates (namespaces, daemon, files) is removed before it returns or throws.
 */
export async function runCniBench(opts: { iterations?: number } = {}): Promise<CniBenchReport> {
  if (process.getuid?.() !== 0) throw new WeftError('WEFT_ERR_BAD_ARGS', 'the CNI benchmark needs root (network namespaces)');
  const n = opts.iterations ?? 30;
  const prefix = 'wfc' + randomBytes(2).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'weft-cni-bench-'));
  const hostNs = `${prefix}h`;
  const podNs = `${prefix}p`;
  const stops: (() => unknown)[] = [];
  try {
    for (const ns of [hostNs, podNs]) {
      sh('ip', ['netns', 'add', ns]);
      stops.push(() => sh('ip', ['netns', 'del', ns], true));
    }
    let socket: string;
    let daemon: string;
    const real = await realDaemon(hostNs, dir);
    if (typeof real === 'string') {
      const bridge = `${prefix}wb`;
      sh('ip', ['-n', hostNs, 'link', 'add', bridge, 'type', 'bridge']);
      sh('ip', ['-n', hostNs, 'link', 'set', bridge, 'up']);
      const { StandInDaemon } = await import('../test/support/cni/stand-in-daemon.js');
      const s = new StandInDaemon({ socketPath: join(dir, 'stand-in.sock'), network: { bridge, mtu: 1376, range: '10.94.0.0/16' } });
      await s.start();
      stops.push(() => s.stop());
      socket = s.server.socketPath;
      daemon = `stand-in daemon (${real})`;
    } else {
      stops.push(real.stop);
      socket = real.socket;
      daemon = 'real daemon';
    }
    const sets = [
      { name: 'weft-net', cmd: [process.execPath, pluginScript('weft-net')], path: REFERENCE,
        conf: JSON.stringify({ cniVersion: '1.0.0', name: 'benchnet', type: 'weft-net', socket }) },
      { name: 'bridge+host-local', cmd: [join(REFERENCE, 'bridge')], path: REFERENCE,
        conf: JSON.stringify({ cniVersion: '1.0.0', name: 'benchbr', type: 'bridge', bridge: `${prefix}cb`, ipam: { type: 'host-local', dataDir: join(dir, 'host-local'), ranges: [[{ subnet: '10.93.0.0/24' }]] } }) },
    ];
    const times = new Map<string, number[]>();
    const add = (k: string, ms: number) => times.set(k, [...(times.get(k) ?? []), ms]);
    for (let i = 0; i < n; i++) {
      for (const s of i % 2 === 0 ? sets : [...sets].reverse()) {
        const env = { CNI_CONTAINERID: `bench${i}`, CNI_NETNS: `/run/netns/${podNs}`, CNI_IFNAME: 'eth0', CNI_PATH: s.path };
        add(`${s.name} VERSION`, await timed(s.cmd, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}', hostNs));
        add(`${s.name} ADD`, await timed(s.cmd, { ...env, CNI_COMMAND: 'ADD' }, s.conf, hostNs));
        add(`${s.name} DEL`, await timed(s.cmd, { ...env, CNI_COMMAND: 'DEL' }, s.conf, hostNs));
      }
    }
    const rows: LatencyRow[] = [];
    for (const s of sets) for (const op of ['ADD', 'DEL', 'VERSION'] as const) rows.push(row(s.name, op, times.get(`${s.name} ${op}`)!));
    return { iterations: n, daemon, rows };
  } finally {
    for (const stop of stops.reverse()) {
      try { await stop(); } catch { /* keep cleaning */ }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report as a text table. */
export function formatCniBench(r: CniBenchReport): string {
  const lines = [`CNI latency, ${r.iterations} interleaved iterations, weft-net against a ${r.daemon}`,
    'plugin              op       p50 ms   p99 ms  mean ms'];
  for (const x of r.rows) {
    lines.push(`${x.plugin.padEnd(18)}  ${x.op.padEnd(7)} ${String(x.p50).padStart(7)}  ${String(x.p99).padStart(7)}  ${String(x.mean).padStart(7)}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const iterations = process.argv[2] ? Number(process.argv[2]) : undefined;
  runCniBench(iterations ? { iterations } : {}).then(
    (r) => { process.stdout.write(formatCniBench(r) + '\n'); },
    (e: unknown) => { process.stderr.write(`cni-bench: ${(e as Error).message}\n`); process.exitCode = 1; },
  );
}
