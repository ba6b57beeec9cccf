/**
 * Idle cost of one weft daemon (issue 10): a daemon with default timings, a cluster secret, 1
 * (then 20) connected peers and 1 attached pod, left alone for a window (60 s by default).
 * Measured on the real daemon of host 1:
 *  - programs its process tree started in the window (execve under `strace -f --seccomp-bpf`,
 *    which stops the tracee only at execve, so the trace does not load the daemon): target 0;
 *  - CPU: Δ(utime+stime+cutime+cstime) of the daemon from /proc/PID/stat over the window, as a
 *    percentage of one core: target ≤ 0.5 % with 1 peer, ≤ 1 % with 20.
 * The peers are real daemons in their own namespaces of the one Lab; everything is removed
 * afterwards. Root only; needs strace (scripts/setup-system.sh bench).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab, WEFT, waitFor, type LabHost } from '../lab/index.js';
import { readProcTicks } from './cpu.js';
import { execsBetween, parseExecTrace, summarizeExecs } from './exec-trace.js';
import { clockTicks } from './machine.js';

const SECRET = 'weft idle bench secret 0123456789abcdef';
/** Issue 10's targets. */
export const IDLE_TARGETS = { execs: 0, cpuPct: { 1: 0.5, 20: 1 } as Record<number, number> };

/** One idle configuration's result. */
export interface IdleResult {
  peers: number;
  windowS: number;
  /** Programs started by the daemon's process tree during the window. */
  execs: number;
  /** "ip ×3, …" (empty when none). */
  execSummary: string;
  /** Daemon (+ reaped children) CPU over the window. % of one core */
  cpuPct: number;
  /** Daemon RSS at the end of the window. MB */
  rssMb: number | null;
  /** Target CPU for this peer count (%), null when the issue gives none. */
  targetCpuPct: number | null;
}

async function rssMb(pid: number): Promise<number | null> {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/** Measure one configuration: host 1 traced, `peers` more daemons joined to it, a pod on host 1. */
export async function runIdleOnce(peers: number, windowS: number, say: (l: string) => void = () => undefined): Promise<IdleResult> {
  const lab = new Lab();
  try {
    const hosts = lab.addHosts(peers + 1) as LabHost[];
    const h1 = hosts[0]!;
    const trace = join(lab.dir, 'h1.strace');
    const ipam = ['--ipalloc-init', `consensus=${hosts.length}`];
    const argv = ['ip', 'netns', 'exec', h1.ns, 'strace', '-f', '--seccomp-bpf', '-qq', '-e', 'trace=execve,execveat', '-e', 'signal=none',
      '-ttt', '-o', trace, process.execPath, WEFT, ...lab.launchArgs(h1, { password: SECRET, defaultTimings: true, extraArgs: ipam })];
    const tracer = lab.track(spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }));
    let tracerExit: number | null = null;
    tracer.once('exit', (c) => { tracerExit = c ?? -1; });
    const status = await waitFor(async () => (await h1.client.status().catch(() => null)), { timeoutMs: 60_000, intervalMs: 200, what: 'host 1 daemon (traced) answering' });
    const pid = status.pid;
    if (pid === undefined) throw new Error('the daemon status has no pid');
    for (const h of hosts.slice(1)) lab.launch(h, { peers: [h1.ip], password: SECRET, defaultTimings: true, extraArgs: ipam });
    await lab.until(`host 1 connected to ${peers} peer(s)`, 60_000 + 3_000 * peers, async () =>
      (await h1.client.status()).connections.filter((c) => c.state === 'established').length >= peers);
    const pod = lab.netns('p1');
    await waitFor(() => {
      lab.exec(h1, process.execPath, [WEFT, 'attach', `/run/netns/${pod}`, '--api-socket', h1.socket], { timeoutMs: 30_000 });
      return true;
    }, { timeoutMs: 60_000, intervalMs: 1_000, what: 'weft attach of the pod (IPAM ready)' });
    // The window measures an idle daemon: the attach's own kernel programming (one nft transaction
    // for the host-gw local pod) must be done first.
    await waitFor(async () => {
      const fp = ((await h1.client.status()) as { dataplane?: { fastpath?: { hostGw?: { enabled?: boolean }; kernel?: { localPods?: number } } } }).dataplane?.fastpath;
      return fp?.hostGw?.enabled === false || (fp?.kernel?.localPods ?? 0) >= 1;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'the attached pod programmed' });
    say(`idle ${peers} peer(s): converged, pod attached; measuring ${windowS} s`);
    const clk = await clockTicks();
    const ticks0 = await readProcTicks(pid, true);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, windowS * 1000)); // the measurement window itself
    const ticks1 = await readProcTicks(pid, true);
    const t1 = Date.now();
    const rss = await rssMb(pid);
    if (ticks0 === null || ticks1 === null) throw new Error(`daemon ${pid} exited during the window (tracer exit ${tracerExit})`);
    const events = execsBetween(parseExecTrace(await readFile(trace, 'utf8').catch(() => '')), t0 / 1000, t1 / 1000);
    return {
      peers, windowS, execs: events.length, execSummary: summarizeExecs(events),
      cpuPct: Math.round(((ticks1 - ticks0) / clk / ((t1 - t0) / 1000)) * 100 * 100) / 100,
      rssMb: rss, targetCpuPct: IDLE_TARGETS.cpuPct[peers] ?? null,
    };
  } finally {
    for (const h of lab.hosts) lab.stop(h);
    lab.destroy();
  }
}

/** Both configurations of the issue: 1 peer, then 20 peers. */
export async function runIdleBench(o: { windowS?: number; peerCounts?: number[]; say?: (l: string) => void } = {}): Promise<IdleResult[]> {
  const out: IdleResult[] = [];
  for (const n of o.peerCounts ?? [1, 20]) out.push(await runIdleOnce(n, o.windowS ?? 60, o.say));
  return out;
}

export function formatIdleBench(rows: readonly IdleResult[]): string {
  const lines = ['idle daemon (default timings, secret, 1 pod): host 1\'s daemon over the window',
    'peers  window s  programs started (target 0)  CPU % of a core (target)  RSS MB  programs'];
  for (const r of rows) {
    const execs = `${r.execs}${r.execs > IDLE_TARGETS.execs ? ' MISSES' : ' ok'}`;
    const cpu = `${r.cpuPct.toFixed(2)} (≤ ${r.targetCpuPct ?? '–'})${r.targetCpuPct !== null ? (r.cpuPct > r.targetCpuPct ? ' MISSES' : ' ok') : ''}`;
    lines.push(`${String(r.peers).padStart(5)}  ${String(r.windowS).padStart(8)}  ${execs.padEnd(27)}  ${cpu.padEnd(24)}  ${String(r.rssMb ?? '–').padStart(6)}  ${r.execSummary || '–'}`);
  }
  return lines.join('\n');
}
