/**
 * `--only policy-scale` (issue 12's scale targets): the world of bench/policy-scale-world.ts —
 * 1,000 policies, 5,000 pods cluster-wide, 100 of them local — measured two ways (root).
 *
 * (1) The compile + kernel path in this process, on a real host namespace: a PolicyCompiler
 *     and a PolicyEdge. Full build = first compile + the one `nft -f -` that builds the table.
 *     Label change = one pod's `app` label changed (alternately a local and a remote pod),
 *     incremental compile + apply (a netlink element batch when only elements change), repeated
 *     LABEL_CHANGES times: p50 / p99 / max.
 * (2) A real daemon: host 1 gets the 100 local pods by `weft attach` (real netns and veths);
 *     its RSS is read (baseline); host 2 starts with the other 4,900 pods of 20 more hosts in
 *     its persisted directory and gossips them to host 1; the 1,000 policies are applied on
 *     host 1; once it enforces them, GOSSIP_ROUNDS anti-entropy rounds pass and the RSS is read
 *     again: growth = after − baseline. Then LABEL_CHANGES `weft label` calls on host 1, each
 *     until applied: the daemon's own compile+apply time (status lastApply) and the wall time
 *     from the call to applied (debounce included).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { GOSSIP_INTERVAL_MS, WeftError, silentLogger } from '../src/common/index.js';
import { API_ROUTES, ApiClient, type PolicyStatus } from '../src/api/index.js';
import { encodeWorkloads, type AnnouncedPod, type WorkloadRecord } from '../src/directory/index.js';
import { PolicyEdge, netlinkKernel } from '../src/host/index.js';
import { PolicyCompiler, type PodIdentity, type PolicyInput } from '../src/policy/index.js';
import type { PeerName } from '../src/mesh/index.js';
import { Lab } from '../lab/index.js';
import { PolicyLab } from '../test/support/policy-lab.js';
import { readRssKb } from './cpu.js';
import { spawnDaemon } from './netns.js';
import { policyApplyTexts } from './policy-documents.js';
import { latencyStats, type LatencyStats } from './policy-latency.js';
import { scaleWorld } from './policy-scale-world.js';
import { THIS_BUILD } from './scenarios/weft-build.js';
import { waitUntil } from './wait.js';
import type { Daemon } from './types.js';

const LABEL_CHANGES = 60;
const GOSSIP_ROUNDS = 2;
/** issue 12 targets. */
export const POLICY_SCALE_TARGETS = { fullBuildMs: 1000, labelChangeP99Ms: 50, rssGrowthMb: 50 } as const;

export interface PolicyScaleResult {
  fullBuild: { compileCpuMs: number; compileMs: number; applyMs: number; totalMs: number; rules: number; isolations: number; elements: number };
  labelLocal: LatencyStats;
  labelRemote: LatencyStats;
  /** CPU time (this process, kernel included) of the element-only label changes. */
  labelCpu: LatencyStats;
  /** Label changes that needed an nft process (structural: a new isolation, rule or set). */
  structural: number;
  daemon: {
    rssBeforeMb: number; rssAfterMb: number; growthMb: number; pods: number; policies: number; localPods: number;
    labelApply: LatencyStats; labelWall: LatencyStats;
  };
}

const relabel = (input: PolicyInput, i: number, app: string): PolicyInput => ({
  ...input, pods: input.pods.map((p, k) => (k === i ? { ...p, labels: { ...p.labels, app } } : p)),
});

async function inProcess(say: (l: string) => void): Promise<Omit<PolicyScaleResult, 'daemon'>> {
  const lab = new PolicyLab();
  try {
    const h = lab.host('h', '10.40.255.254', 'fd40::fe');
    const edge = new PolicyEdge({ kernel: netlinkKernel({ nsPath: `/run/netns/${h}` }), log: silentLogger() });
    await edge.start();
    const w = scaleWorld();
    const compiler = new PolicyCompiler();
    let input = w.input;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const rs = compiler.update(input, w.localIps);
    const cpu1 = process.cpuUsage(cpu0);
    const t1 = performance.now();
    const r = await edge.apply(rs);
    const t2 = performance.now();
    const fullBuild = { compileCpuMs: (cpu1.user + cpu1.system) / 1000, compileMs: t1 - t0, applyMs: t2 - t1, totalMs: t2 - t0, rules: rs.rules.length, isolations: rs.isolations.length, elements: r.elementsAdded };
    say(`policy-scale: full build ${fullBuild.totalMs.toFixed(0)} ms; ${LABEL_CHANGES} label changes`);
    const local: number[] = [], remote: number[] = [], cpu: number[] = [];
    let structural = 0;
    for (let k = 0; k < LABEL_CHANGES; k++) {
      const isLocal = k % 2 === 0;
      const i = isLocal ? (k * 7) % 100 : 100 + ((k * 997) % 4900);
      const app = `app${(k * 31 + 7) % 100}`;
      input = relabel(input, i, app);
      const s = performance.now();
      const c0 = process.cpuUsage();
      const x = await edge.apply(compiler.update(input, w.localIps));
      const c = process.cpuUsage(c0);
      (isLocal ? local : remote).push(performance.now() - s);
      // CPU of this process (the netlink batch runs in the kernel inside sendmsg, so it counts): load-independent; element-only changes only
      if (x.rulesChanged > 0) structural++;
      else cpu.push((c.user + c.system) / 1000);
    }
    await edge.stop();
    return { fullBuild, labelLocal: latencyStats(local), labelRemote: latencyStats(remote), labelCpu: latencyStats(cpu), structural };
  } finally {
    lab.cleanup();
  }
}

/** Peer names of the 20 simulated hosts. */
const fakeHost = (n: number): PeerName => `0e:00:00:00:01:${n.toString(16).padStart(2, '0')}`;

async function daemonRun(say: (l: string) => void): Promise<PolicyScaleResult['daemon']> {
  const lab = new Lab({ prefix: `wfs${randomBytes(2).toString('hex')}`, dirPrefix: 'weft-bench-scale-' });
  const daemons: Daemon[] = [];
  const lifetimeS = 900;
  try {
    const hosts = lab.addHosts(2);
    const [h1, h2] = hosts;
    const w = scaleWorld({ localHost: 'h1' });
    // Host 2 starts knowing the 4,900 remote pods (20 hosts) from its persisted directory.
    const records = new Map<PeerName, WorkloadRecord>();
    w.input.pods.slice(100).forEach((p, i) => {
      const host = fakeHost(i % 20);
      const rec = records.get(host) ?? { version: 1000, pods: [] };
      (rec.pods as AnnouncedPod[]).push({ namespace: p.namespace, name: p.name, labels: p.labels, ips: p.ips, ports: p.ports });
      records.set(host, rec);
    });
    mkdirSync(h2.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(h2.dataDir, 'workloads.bin'), encodeWorkloads(records));
    const launch = (h: typeof h1, peers: string[]): Daemon => spawnDaemon(h.ns, `weft host${h.index}`, [process.execPath, THIS_BUILD.cli,
      ...lab.launchArgs(h, { peers, defaultTimings: true, extraArgs: ['--foreground', '--status-addr', '', '--log-level', 'warn', '--no-hostgw'] })], lifetimeS);
    daemons.push(launch(h1, []));
    await waitUntil('weft host1 API', 30_000, () => h1.client.isRunning(), { daemons });
    const slow = new ApiClient({ socketPath: h1.socket, timeoutMs: 120_000 }); // a loaded machine: applies of 1,000 policies take seconds
    const locals: PodIdentity[] = w.input.pods.slice(0, 100);
    const netns: string[] = [];
    for (const [i, p] of locals.entries()) {
      const ns = lab.netns(`p${i}`);
      netns.push(ns);
      await slow.call(API_ROUTES.attach, { netns: ns, ip: `${p.ips[0]!}/14`, namespace: p.namespace, name: p.name, labels: { ...p.labels }, ports: p.ports.map((x) => ({ ...x })) });
    }
    const pid = (await slow.status()).pid;
    if (pid === undefined) throw new WeftError('WEFT_ERR_INTERNAL', 'the daemon status has no pid');
    const rss = async (): Promise<number> => ((await readRssKb(pid)) ?? NaN) / 1024;
    const rssBeforeMb = await rss();
    say(`policy-scale: host 1 has 100 pods, RSS ${rssBeforeMb.toFixed(1)} MB; starting host 2 with 4,900 more`);
    daemons.push(launch(h2, [h1.ip]));
    for (const text of policyApplyTexts(w.input)) await slow.call(API_ROUTES.policyApply, { text, source: 'bench' });
    let last: PolicyStatus | undefined;
    await waitUntil('host 1 enforces 1,000 policies over 5,000 pods', 120_000, async () => {
      last = (await slow.status()).policy;
      return last !== undefined && last.enforcing && last.policies === w.input.policies.length && last.pods >= 5000 && last.localPods === 100 && !last.pending;
    }, { daemons, intervalMs: 250 });
    say(`policy-scale: enforced; waiting ${GOSSIP_ROUNDS} gossip rounds`);
    await new Promise((r) => setTimeout(r, GOSSIP_ROUNDS * GOSSIP_INTERVAL_MS + 2000));
    const rssAfterMb = await rss();
    const apply: number[] = [], wall: number[] = [];
    for (let k = 0; k < LABEL_CHANGES / 2; k++) {
      const before = (await slow.status()).policy?.applies ?? 0;
      const s = performance.now();
      await slow.call(API_ROUTES.label, { netns: netns[(k * 7) % 100]!, set: { app: `app${(k * 31 + 7) % 100}` } });
      let st: PolicyStatus | undefined;
      await waitUntil(`label change ${k + 1} applied`, 10_000, async () => {
        st = (await slow.status()).policy;
        return st !== undefined && st.applies > before && !st.pending;
      }, { daemons, intervalMs: 2 });
      wall.push(performance.now() - s);
      apply.push(st!.lastApply?.durationMs ?? NaN);
    }
    return {
      rssBeforeMb, rssAfterMb, growthMb: rssAfterMb - rssBeforeMb, pods: last!.pods, policies: last!.policies, localPods: last!.localPods,
      labelApply: latencyStats(apply), labelWall: latencyStats(wall),
    };
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    lab.destroy();
  }
}

/** Runs both parts (root). */
export async function runPolicyScale(o: { say?: (l: string) => void } = {}): Promise<PolicyScaleResult> {
  const say = o.say ?? (() => undefined);
  const a = await inProcess(say);
  return { ...a, daemon: await daemonRun(say) };
}

/** The report lines. */
export function formatPolicyScale(r: PolicyScaleResult): string {
  const T = POLICY_SCALE_TARGETS;
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
  const ok = (good: boolean): string => (good ? 'ok' : 'MISSES');
  const lat = (what: string, s: LatencyStats, target?: number): string =>
    `${what.padEnd(52)} p50 ${f(s.p50).padStart(6)}  p99 ${f(s.p99).padStart(6)}  max ${f(s.max).padStart(6)} ms (n=${s.n})${target !== undefined ? `  ${ok(s.p99 < target)} (p99 < ${target})` : ''}`;
  const b = r.fullBuild;
  return [
    'policy scale: 1,000 policies, 5,000 pods cluster-wide, 100 local (bench/policy-scale-world.ts)',
    `full kernel ruleset (compile ${f(b.compileMs)} + nft ${f(b.applyMs)} ms)`.padEnd(52) + ` ${f(b.totalMs)} ms  ${ok(b.totalMs < T.fullBuildMs)} (< ${T.fullBuildMs})  ` +
      `[${b.rules} rules, ${b.isolations} isolations, ${b.elements} elements; compile CPU ${f(b.compileCpuMs)} ms]`,
    lat('label change, local pod (compile + kernel)', r.labelLocal, T.labelChangeP99Ms),
    lat('label change, remote pod (compile + kernel)', r.labelRemote, T.labelChangeP99Ms),
    lat('label change, element-only: CPU time (compile + batch)', r.labelCpu, T.labelChangeP99Ms),
    `label changes that were structural (nft process)`.padEnd(52) + ` ${r.structural} of ${r.labelLocal.n + r.labelRemote.n}`,
    `daemon RSS: ${f(r.daemon.rssBeforeMb)} MB (100 pods, no policy) -> ${f(r.daemon.rssAfterMb)} MB (world + ${GOSSIP_ROUNDS} gossip rounds)`.padEnd(52) +
      ` +${f(r.daemon.growthMb)} MB  ${ok(r.daemon.growthMb < T.rssGrowthMb)} (< ${T.rssGrowthMb})  [${r.daemon.policies} policies, ${r.daemon.pods} pods, ${r.daemon.localPods} local]`,
    lat('daemon: weft label -> applied (its compile + kernel)', r.daemon.labelApply, T.labelChangeP99Ms),
    lat('daemon: weft label call -> applied (wall, debounce incl.)', r.daemon.labelWall),
  ].join('\n');
}
