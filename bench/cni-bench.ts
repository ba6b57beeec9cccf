/**
 * CNI latency benchmark (not a test): ADD and DEL of the installed `weft-net` — what
 * `weft setup-cni` installs: the compiled front end, with the Node plugin beside it as
 * weft-net-node, measured too for comparison — against the reference `bridge` + `host-local`
 * plugins, all alternated in one run, plus VERSION (process start-up alone). Targets (issue 10):
 * weft-net ADD p50 ≤ 2× and p99 ≤ 3× the reference's, DEL likewise. A real weft daemon (IPAM over one consensus peer) runs in a
 * scratch host namespace of the one Lab; pods are one scratch namespace. Needs root and
 * containernetworking-plugins. `npm run bench -- --only cni`, or alone:
 *   sudo node dist/bench/cni-bench.js [iterations]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WeftError } from '../src/common/index.js';
import { Lab, WEFT } from '../lab/index.js';
import { percentile } from './stats.js';

const REFERENCE = '/usr/lib/cni';
/** Row of the daemon's own share: `POST /cni` timed from the bench process (no plugin process). */
const DAEMON_ROW = 'daemon POST /cni';

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
  /** What `weft setup-cni` installed as weft-net (first line of the file, e.g. "#!/bin/sh"). */
  installed: string;
  rows: LatencyRow[];
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

/** `sets` rotated by `i` (every plugin runs first, middle and last equally often). */
function rotate<T>(sets: T[], i: number): T[] {
  const k = i % sets.length;
  return [...sets.slice(k), ...sets.slice(0, k)];
}

/** "compiled front end (ELF, N bytes)" or the first line of a script. */
function describeInstalled(file: string): string {
  const head = readFileSync(file).subarray(0, 200);
  if (head[0] === 0x7f && head.subarray(1, 4).toString('latin1') === 'ELF') return `compiled front end, ${statSync(file).size} bytes`;
  return head.toString('utf8').split('\n')[0]!.trim();
}

function row(plugin: string, op: LatencyRow['op'], ms: number[]): LatencyRow {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { plugin, op, n: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

/**
 * Measure `iterations` ADD+DEL pairs per plugin set (alternated, order flipped every iteration)
 * and as many VERSION calls. Everything it creates (namespaces, daemon, files) is removed
 * before it returns or throws.
 */
export async function runCniBench(opts: { iterations?: number } = {}): Promise<CniBenchReport> {
  if (process.getuid?.() !== 0) throw new WeftError('WEFT_ERR_BAD_ARGS', 'the CNI benchmark needs root (network namespaces)');
  if (spawnSync('test', ['-x', join(REFERENCE, 'bridge')]).status !== 0) {
    throw new WeftError('WEFT_ERR_HOST', `${REFERENCE}/bridge missing (bash scripts/setup-system.sh installs containernetworking-plugins)`);
  }
  const n = opts.iterations ?? 100;
  const lab = new Lab({ dirPrefix: 'weft-cni-bench-' });
  try {
    const [host] = lab.addHosts(1);
    lab.launch(host, { defaultTimings: true, extraArgs: ['--ipalloc-range', '10.94.0.0/16', '--ipalloc-init', 'consensus=1'] });
    await lab.until('the daemon\'s IPAM ready', 30_000, async () =>
      ((await host.client.request('GET', '/ipam/status')) as { status?: string }).status === 'ready');
    const podNs = lab.netns('p');
    const bin = join(lab.dir, 'cni-bin');
    mkdirSync(bin, { recursive: true });
    lab.exec(host, process.execPath, [WEFT, 'setup-cni', '--bin-dir', bin, '--conf-dir', join(lab.dir, 'net.d'), '--socket', host.socket]);
    const weftNet = join(bin, 'weft-net');
    const installed = describeInstalled(weftNet);
    const weftConf = JSON.stringify({ cniVersion: '1.0.0', name: 'benchnet', type: 'weft-net', socket: host.socket });
    const sets = [
      { name: 'weft-net', cmd: [weftNet], path: `${bin}:${REFERENCE}`, conf: weftConf },
      { name: 'weft-net (node)', cmd: [join(bin, 'weft-net-node')], path: `${bin}:${REFERENCE}`, conf: weftConf },
      { name: 'bridge+host-local', cmd: [join(REFERENCE, 'bridge')], path: REFERENCE,
        conf: JSON.stringify({ cniVersion: '1.0.0', name: 'benchbr', type: 'bridge', bridge: `${lab.prefix}cb`, ipam: { type: 'host-local', dataDir: join(lab.dir, 'host-local'), ranges: [[{ subnet: '10.93.0.0/24' }]] } }) },
    ];
    const times = new Map<string, number[]>();
    const add = (k: string, ms: number) => times.set(k, [...(times.get(k) ?? []), ms]);
    for (let i = 0; i < n; i++) {
      for (const s of rotate(sets, i)) {
        const env = { CNI_CONTAINERID: `bench${i}`, CNI_NETNS: `/run/netns/${podNs}`, CNI_IFNAME: 'eth0', CNI_PATH: s.path };
        add(`${s.name} VERSION`, await timed(s.cmd, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}', host.ns));
        add(`${s.name} ADD`, await timed(s.cmd, { ...env, CNI_COMMAND: 'ADD' }, s.conf, host.ns));
        add(`${s.name} DEL`, await timed(s.cmd, { ...env, CNI_COMMAND: 'DEL' }, s.conf, host.ns));
      }
      // The daemon's side alone: the same request the front ends send, from this process.
      const env = { CNI_CONTAINERID: `benchd${i}`, CNI_NETNS: `/run/netns/${podNs}`, CNI_IFNAME: 'eth0', CNI_PATH: REFERENCE };
      for (const op of ['ADD', 'DEL'] as const) {
        const t0 = performance.now();
        const r = (await host.client.request('POST', '/cni', { env: { ...env, CNI_COMMAND: op }, stdin: weftConf })) as { exitCode: number; output: string };
        if (r.exitCode !== 0) throw new WeftError('WEFT_ERR_INTERNAL', `daemon /cni ${op} failed: ${r.output.trim().slice(0, 300)}`);
        add(`${DAEMON_ROW} ${op}`, performance.now() - t0);
      }
    }
    const rows: LatencyRow[] = [];
    for (const s of sets) for (const op of ['ADD', 'DEL', 'VERSION'] as const) rows.push(row(s.name, op, times.get(`${s.name} ${op}`)!));
    for (const op of ['ADD', 'DEL'] as const) rows.push(row(DAEMON_ROW, op, times.get(`${DAEMON_ROW} ${op}`)!));
    return { iterations: n, installed, rows };
  } finally {
    for (const h of lab.hosts) lab.stop(h);
    lab.destroy();
  }
}

/** Issue 10's targets: weft-net's p50 and p99 at most these multiples of the reference's. */
export const CNI_TARGET = { p50: 2, p99: 3 } as const;

/**
 * The report as a text table, with weft-net's p50/p99 as ratios of the reference plugins' and,
 * for the installed weft-net's ADD and DEL, whether the target is met.
 */
export function formatCniBench(r: CniBenchReport): string {
  const lines = [`CNI latency, ${r.iterations} alternated iterations against a real daemon; weft-net as installed by setup-cni (${r.installed})`,
    `plugin              op       p50 ms   p99 ms  mean ms   p50 / p99 vs bridge+host-local (target ≤ ${CNI_TARGET.p50}× / ≤ ${CNI_TARGET.p99}×)`];
  const ref = (op: string) => r.rows.find((x) => x.plugin === 'bridge+host-local' && x.op === op);
  for (const x of r.rows) {
    const b = ref(x.op);
    let vs = '';
    if ((x.plugin.startsWith('weft-net') || x.plugin === DAEMON_ROW) && b) {
      const p50 = x.p50 / b.p50;
      const p99 = x.p99 / b.p99;
      vs = `${p50.toFixed(2)}× / ${p99.toFixed(2)}×`;
      if (x.plugin === 'weft-net' && x.op !== 'VERSION') vs += p50 <= CNI_TARGET.p50 && p99 <= CNI_TARGET.p99 ? '  target met' : '  TARGET MISSED';
    }
    lines.push(`${x.plugin.padEnd(18)}  ${x.op.padEnd(7)} ${String(x.p50).padStart(7)}  ${String(x.p99).padStart(7)}  ${String(x.mean).padStart(7)}   ${vs}`);
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
