/**
 * `--only policy-latency` (issue 12): three real daemons in a namespace lab; `weft policy apply`
 * on host 1 until the policy is enforced on every host, and `weft policy delete` until it is
 * lifted, measured in each host's traffic: every host has a server pod (`lat/server-N`,
 * `app=lat-server`) and a prober in a client pod on the next host opens a new TCP connection
 * to it every PROBE_INTERVAL_MS (each attempt times out after PROBE_TIMEOUT_MS). The policy
 * isolates every server and allows only `app=lat-friend`, which no pod has. Enforcement on a
 * host = the start of the first attempt, after the apply call began, from which on 3
 * consecutive attempts to that host's server fail (lifting: succeed). So a sample is the time
 * from the API call to the kernel of that host refusing new connections, gossip included,
 * with PROBE_INTERVAL_MS resolution. Daemons run with weft's default timings, bounded by
 * timeout(1); everything is removed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WeftError } from '../src/common/index.js';
import { API_ROUTES } from '../src/api/index.js';
import { Lab, type LabHost } from '../lab/index.js';
import { CONN_RATE_PORT, buildConnLoop, connServerArgv } from './conn-rate.js';
import { inNs, spawnDaemon } from './netns.js';
import { THIS_BUILD } from './scenarios/weft-build.js';
import { percentile } from './stats.js';
import { isListening, waitUntil } from './wait.js';
import type { Daemon } from './types.js';

/** A new connection attempt per host every this long. ms */
const PROBE_INTERVAL_MS = 5;
/** An attempt without a completed handshake after this long has failed. ms */
const PROBE_TIMEOUT_MS = 250;
/** Consecutive attempts in the new state that count as a transition. */
const STABLE_ATTEMPTS = 3;
/** Budget for one transition on every host. ms */
const TRANSITION_WAIT_MS = 20_000;
/** issue 12: apply on host 1 → enforced on every host. ms */
export const POLICY_LATENCY_TARGET_P99_MS = 1000;
const HOSTS = 3;

const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: lat-deny, namespace: lat }
spec:
  podSelector: { matchLabels: { app: lat-server } }
  ingress:
  - from:
    - podSelector: { matchLabels: { app: lat-friend } }
`;

const PROBER = `const net = require('net');
const [host, port, every, timeout] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
setInterval(() => {
  const start = Date.now();
  const s = net.connect({ host, port });
  let done = false;
  const end = (ok) => { if (done) return; done = true; clearTimeout(t); s.destroy(); process.stdout.write(start + (ok ? ' ok\\n' : ' fail\\n')); };
  const t = setTimeout(() => end(false), timeout);
  s.once('connect', () => end(true));
  s.once('error', () => end(false));
}, every);
`;

/** p50 / p99 (nearest rank) / max of a set of latencies. ms */
export interface LatencyStats { p50: number; p99: number; max: number; n: number }

export function latencyStats(xs: readonly number[]): LatencyStats {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, n: s.length };
}

/** Latencies of one kind of change (apply or delete). */
export interface TransitionResult {
  /** samples[host][iteration]. ms */
  samples: number[][];
  perHost: LatencyStats[];
  /** Per change, the slowest host: the time until EVERY host enforces. */
  everyHost: LatencyStats;
  /** All hosts' samples together. */
  all: LatencyStats;
}

export interface PolicyLatencyResult {
  mode: 'vxlan' | 'hostgw';
  iterations: number;
  apply: TransitionResult;
  delete: TransitionResult;
  /** Duration of the apply API call on host 1 (it replies once host 1's kernel has it). ms */
  applyCall: LatencyStats;
}

interface Prober { results: { start: number; ok: boolean }[]; proc: ChildProcess }

function startProber(lab: Lab, script: string, ns: string, ip: string, lifetimeS: number): Prober {
  const proc = lab.track(spawn('timeout', ['-k', '2', String(lifetimeS), ...inNs(ns, [process.execPath, script, ip, String(CONN_RATE_PORT),
    String(PROBE_INTERVAL_MS), String(PROBE_TIMEOUT_MS)])], { stdio: ['ignore', 'pipe', 'ignore'] }));
  const p: Prober = { results: [], proc };
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const [t, r] = l.split(' ');
      p.results.push({ start: Number(t), ok: r === 'ok' });
    }
  });
  return p;
}

/** Start of the first attempt since t0 from which on STABLE_ATTEMPTS attempts are all `want`; null if none yet. */
function transitionAt(p: Prober, t0: number, want: boolean): number | null {
  const rs = p.results.filter((r) => r.start >= t0).sort((a, b) => a.start - b.start);
  for (let i = 0; i + STABLE_ATTEMPTS <= rs.length; i++) {
    if (rs.slice(i, i + STABLE_ATTEMPTS).every((r) => r.ok === want)) return rs[i]!.start;
  }
  return null;
}

async function transition(probers: Prober[], t0: number, want: boolean, what: string): Promise<number[]> {
  const at: (number | null)[] = probers.map(() => null);
  await waitUntil(what, TRANSITION_WAIT_MS, async () => {
    probers.forEach((p, k) => { at[k] ??= transitionAt(p, t0, want); });
    return at.every((x) => x !== null);
  }, { intervalMs: 10 });
  return at.map((x) => x! - t0);
}

function summarise(samples: number[][]): TransitionResult {
  const iterations = samples[0]?.length ?? 0;
  const slowest = Array.from({ length: iterations }, (_, i) => Math.max(...samples.map((h) => h[i]!)));
  return { samples, perHost: samples.map(latencyStats), everyHost: latencyStats(slowest), all: latencyStats(samples.flat()) };
}

/** Runs the measurement (root). Throws WeftError when the lab cannot be built or a transition never comes. */
export async function runPolicyLatency(o: { iterations?: number; mode?: 'vxlan' | 'hostgw'; say?: (l: string) => void } = {}): Promise<PolicyLatencyResult> {
  const iterations = o.iterations ?? 20;
  const mode = o.mode ?? 'vxlan';
  const say = o.say ?? (() => undefined);
  if (!(Number.isInteger(iterations) && iterations >= 1 && iterations <= 500)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'iterations must be 1–500');
  const lifetimeS = 120 + iterations * 2 * (TRANSITION_WAIT_MS / 1000);
  const lab = new Lab({ prefix: `wfl${randomBytes(2).toString('hex')}`, dirPrefix: 'weft-bench-latency-' });
  const daemons: Daemon[] = [];
  try {
    const hosts = lab.addHosts(HOSTS);
    for (const h of hosts) {
      const args = lab.launchArgs(h, {
        peers: h === hosts[0] ? [] : [hosts[0]!.ip], defaultTimings: true,
        extraArgs: ['--foreground', '--status-addr', '', '--log-level', 'warn', ...(mode === 'vxlan' ? ['--no-hostgw'] : [])],
      });
      daemons.push(spawnDaemon(h.ns, `weft host${h.index}`, [process.execPath, THIS_BUILD.cli, ...args], lifetimeS));
    }
    for (const [k, h] of hosts.entries()) {
      await waitUntil(`weft host${h.index} API`, 30_000, () => h.client.isRunning(), { daemons: [daemons[k]!] });
    }
    const bin = await buildConnLoop(lab.dir);
    const script = join(lab.dir, 'prober.cjs');
    writeFileSync(script, PROBER);
    const serverIp = (k: number): string => `10.32.0.${10 + k}`;
    const attach = async (h: LabHost, ns: string, ip: string, name: string, app: string): Promise<void> => {
      await h.client.call(API_ROUTES.attach, { netns: ns, ip: `${ip}/12`, namespace: 'lat', name, labels: { app } });
    };
    for (const [k, h] of hosts.entries()) {
      const ns = lab.netns(`s${k}`);
      await attach(h, ns, serverIp(k), `server-${k + 1}`, 'lat-server');
      daemons.push(spawnDaemon(ns, `server ${k + 1}`, connServerArgv(bin, serverIp(k), CONN_RATE_PORT), lifetimeS));
      await waitUntil(`server ${k + 1} listening`, 10_000, () => isListening(ns, 'tcp', CONN_RATE_PORT));
    }
    // The prober of host k's server runs in a client pod on the next host, so every probe crosses the mesh.
    const probers: Prober[] = [];
    for (let k = 0; k < HOSTS; k++) {
      const h = hosts[(k + 1) % HOSTS]!;
      const ns = lab.netns(`c${k}`);
      await attach(h, ns, `10.32.0.${30 + k}`, `client-${k + 1}`, 'lat-client');
      probers.push(startProber(lab, script, ns, serverIp(k), lifetimeS));
    }
    await waitUntil('every host sees the 6 pods', 60_000, async () => {
      for (const h of hosts) if ((await h.client.status()).policy?.pods !== 2 * HOSTS) return false;
      return true;
    }, { daemons, intervalMs: 200 });
    await transition(probers, Date.now(), true, 'every server reachable before any policy');
    say(`policy-latency: 3 hosts up (${mode}); ${iterations} applies and deletes`);
    const applied: number[][] = hosts.map(() => []);
    const deleted: number[][] = hosts.map(() => []);
    const calls: number[] = [];
    const h1 = hosts[0]!;
    for (let i = 0; i < iterations; i++) {
      const t0 = Date.now();
      await h1.client.call(API_ROUTES.policyApply, { text: POLICY, source: 'bench' });
      calls.push(Date.now() - t0);
      (await transition(probers, t0, false, `apply ${i + 1}: new connections refused on every host`)).forEach((ms, k) => applied[k]!.push(ms));
      const t1 = Date.now();
      await h1.client.call(API_ROUTES.policyDelete, { refs: ['lat/lat-deny'] });
      (await transition(probers, t1, true, `delete ${i + 1}: new connections allowed on every host`)).forEach((ms, k) => deleted[k]!.push(ms));
      for (const p of probers) p.results = p.results.filter((r) => r.start >= t1); // bounded memory
    }
    return { mode, iterations, apply: summarise(applied), delete: summarise(deleted), applyCall: latencyStats(calls) };
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    lab.destroy();
  }
}

/** The report lines. */
export function formatPolicyLatency(r: PolicyLatencyResult): string {
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
  const row = (what: string, who: string, s: LatencyStats, target = ''): string =>
    `${what.padEnd(7)} ${who.padEnd(31)} ${f(s.p50).padStart(6)} ${f(s.p99).padStart(6)} ${f(s.max).padStart(6)}  ${target}`;
  const target = (s: LatencyStats): string => `${s.p99 < POLICY_LATENCY_TARGET_P99_MS ? 'ok' : 'MISSES'} (p99 < ${POLICY_LATENCY_TARGET_P99_MS})`;
  const lines = [
    `policy latency: weft policy apply / delete on host 1 -> new connections refused / allowed again, measured in each host's traffic`,
    `(3 real daemons, ${r.mode === 'vxlan' ? 'VXLAN (--no-hostgw)' : 'host-gw'}, default timings; ${r.iterations} applies, ${r.iterations} deletes; ` +
      `a new connection to each host's server every ${PROBE_INTERVAL_MS} ms from a pod on the next host, ${PROBE_TIMEOUT_MS} ms timeout)`,
    `${'change'.padEnd(7)} ${'where'.padEnd(31)} ${'p50 ms'.padStart(6)} ${'p99 ms'.padStart(6)} ${'max ms'.padStart(6)}  target`,
  ];
  for (const [what, t] of [['apply', r.apply], ['delete', r.delete]] as const) {
    t.perHost.forEach((s, k) => lines.push(row(what, `host ${k + 1}${k === 0 ? ' (where it was applied)' : ''}`, s)));
    lines.push(row(what, 'every host (slowest per change)', t.everyHost, what === 'apply' ? target(t.everyHost) : ''));
    lines.push(row(what, `all samples (n=${t.all.n})`, t.all));
  }
  lines.push(row('apply', 'API call on host 1 (its reply)', r.applyCall));
  return lines.join('\n');
}
