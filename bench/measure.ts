import { BENCH_PARALLEL_STREAMS, BENCH_QUIET_FOREIGN_PCT, BENCH_SETTLE_MS, describeError } from '../src/common/index.js';
import {
  cpuPercent,
  foreignPercent,
  readMachineTicks,
  readProcTicks,
  readRssKb,
  readTicksOf,
  tickDelta,
  type MachineTicks,
} from './cpu.js';
import { runConnRate } from './conn-rate.js';
import { runIperfClient, type IperfResult } from './iperf.js';
import { pidsInNetns } from './netns.js';
import { runPing } from './ping.js';
import type { ConnSample, RoundSample, StreamSample } from './report.js';

/** Where one scenario's processes live, for CPU accounting. */
export interface AccountingScope {
  /** Host namespaces (host 1, host 2): their processes are the overlay. */
  hostNs: readonly [string, string];
  /** Every namespace of the scenario (hosts and pods): all of it is "our" load. */
  allNs: readonly string[];
  /** Overlay runs as processes (false: CPU/RSS reported as n/a). */
  userspace: boolean;
  clkTck: number;
}

/** The endpoints a round measures between. */
export interface RoundTarget {
  clientNs: string;
  serverIp: string;
  /** False: the pods drop ICMP, no ping step (ScenarioEndpoints.icmp). */
  icmp?: boolean;
  /** Also measure the new-connection rate against this server (ScenarioEndpoints.connRate). */
  connRate?: { bin: string; port: number };
}

/** Length of one foreign-load probe while waiting for a quiet machine. ms */
const QUIET_PROBE_MS = 1_000;

interface WindowStart {
  wallMs: number;
  machine: MachineTicks;
  self: number;
  pids: Map<number, number>;
  hostPids: [number[], number[]];
}

/** Opens a CPU accounting window: /proc snapshots of the machine, us, and our namespaces. */
async function openWindow(scope: AccountingScope): Promise<WindowStart> {
  const byNs = await pidsInNetns(scope.allNs);
  const all = [...byNs.values()].flat();
  const hostPids: [number[], number[]] = [byNs.get(scope.hostNs[0]) ?? [], byNs.get(scope.hostNs[1]) ?? []];
  const pids = await readTicksOf(all);
  const self = (await readProcTicks('self', true)) ?? 0;
  const machine = await readMachineTicks();
  return { wallMs: performance.now(), machine, self, pids, hostPids };
}

/** Machine busy time since `w` not spent by our processes (see cpu.ts foreignPercent). */
async function foreignSince(scope: AccountingScope, w: WindowStart) {
  const machine = await readMachineTicks();
  const wallMs = performance.now() - w.wallMs;
  const self = (await readProcTicks('self', true)) ?? w.self;
  const pidsAfter = await readTicksOf([...w.pids.keys()]);
  const ours = tickDelta(w.pids, pidsAfter) + Math.max(0, self - w.self);
  const foreignPct = foreignPercent(machine.busy - w.machine.busy, ours, wallMs, scope.clkTck);
  return { wallMs, pidsAfter, foreignPct };
}

/** Closes the window and attributes the machine's busy time. */
async function closeWindow(scope: AccountingScope, w: WindowStart, r: IperfResult, waitedMs: number): Promise<StreamSample> {
  const { wallMs, pidsAfter, foreignPct } = await foreignSince(scope, w);
  let perHost: [number, number] | null = null;
  let rssMb: number | null = null;
  if (scope.userspace && w.hostPids[0].length + w.hostPids[1].length > 0) {
    const hostPct = (pids: number[]): number => {
      const before = new Map(pids.flatMap((p) => (w.pids.has(p) ? [[p, w.pids.get(p)!] as [number, number]] : [])));
      return cpuPercent(tickDelta(before, pidsAfter), wallMs, scope.clkTck);
    };
    perHost = [hostPct(w.hostPids[0]), hostPct(w.hostPids[1])];
    let rssKb = 0;
    for (const pid of [...w.hostPids[0], ...w.hostPids[1]]) rssKb += (await readRssKb(pid)) ?? 0;
    rssMb = rssKb / 1024;
  }
  return {
    ...r,
    foreignPct,
    overlayCpuPct: perHost ? perHost[0] + perHost[1] : null,
    overlayCpuPctPerHost: perHost,
    rssMb,
    quietWaitMs: Math.round(waitedMs),
  };
}

/**
 * Waits (at most `maxWaitMs`) until the foreign load over a 1 s window drops below
 * BENCH_QUIET_FOREIGN_PCT. Returns the time waited. ms
 */
export async function waitQuiet(scope: AccountingScope, maxWaitMs: number, signal?: AbortSignal): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < maxWaitMs) {
    signal?.throwIfAborted();
    const w = await openWindow(scope);
    await new Promise((res) => setTimeout(res, QUIET_PROBE_MS));
    if ((await foreignSince(scope, w)).foreignPct < BENCH_QUIET_FOREIGN_PCT) break;
  }
  return performance.now() - start;
}

/** One iperf3 run inside a CPU accounting window. Throws WeftError when iperf3 fails. */
export async function measureStream(o: {
  scope: AccountingScope;
  target: RoundTarget;
  durationS: number;
  streams: number;
  /** Wait up to this long for a quiet machine first (0 = do not wait). ms */
  quietWaitMs: number;
  signal?: AbortSignal;
}): Promise<StreamSample> {
  const { scope, target, durationS, streams, quietWaitMs, signal } = o;
  const waited = quietWaitMs > 0 ? await waitQuiet(scope, quietWaitMs, signal) : 0;
  const w = await openWindow(scope);
  const r = await runIperfClient(target.clientNs, target.serverIp, durationS, streams, signal);
  return closeWindow(scope, w, r, waited);
}

/** One new-connection rate run inside a foreign-load window. Throws WeftError. */
export async function measureConnRate(o: {
  scope: AccountingScope;
  target: RoundTarget & { connRate: { bin: string; port: number } };
  quietWaitMs: number;
  signal?: AbortSignal;
}): Promise<ConnSample> {
  const { scope, target, quietWaitMs, signal } = o;
  if (quietWaitMs > 0) await waitQuiet(scope, quietWaitMs, signal);
  const w = await openWindow(scope);
  const r = await runConnRate(target.clientNs, target.connRate.bin, target.serverIp, target.connRate.port, signal ? { signal } : {});
  const { foreignPct } = await foreignSince(scope, w);
  return { ...r, foreignPct };
}

const settle = (): Promise<void> => new Promise((res) => setTimeout(res, BENCH_SETTLE_MS));

/**
 * One round of one scenario: ping (unless the pods drop ICMP), 1-stream and N-stream iperf3, and
 * the new-connection rate when the scenario asks for it, with settle pauses. A failed
 * step is recorded in `errors` and the round goes on; an abort propagates. `beforeIperf` runs
 * before each iperf3 client (told whether the previous one failed) to (re)start the server.
 */
export async function measureRound(o: {
  /** Round number (1-based), recorded in the sample. */
  round: number;
  scope: AccountingScope;
  target: RoundTarget;
  durationS: number;
  /** Wait up to this long for a quiet machine before each iperf3 run. ms */
  quietWaitMs: number;
  signal: AbortSignal;
  beforeIperf: (previousFailed: boolean) => Promise<void>;
}): Promise<RoundSample> {
  const { round, scope, target, durationS, quietWaitMs, signal, beforeIperf } = o;
  const sample: RoundSample = { round, errors: [] };
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    signal.throwIfAborted();
    try {
      return await fn();
    } catch (e) {
      signal.throwIfAborted();
      sample.errors.push(`${what}: ${describeError(e)}`);
      return undefined;
    }
  };
  if (target.icmp !== false) {
    sample.ping = await step('ping', () => runPing(target.clientNs, target.serverIp, signal));
    await settle();
  }
  sample.single = await step('1-stream', async () => {
    await beforeIperf(false);
    return measureStream({ scope, target, durationS, streams: 1, quietWaitMs, signal });
  });
  await settle();
  sample.multi = await step(`${BENCH_PARALLEL_STREAMS}-stream`, async () => {
    await beforeIperf(sample.single === undefined);
    return measureStream({ scope, target, durationS, streams: BENCH_PARALLEL_STREAMS, quietWaitMs, signal });
  });
  await settle();
  const conn = target.connRate;
  if (conn) {
    sample.conn = await step('connection rate', () => measureConnRate({ scope, target: { ...target, connRate: conn }, quietWaitMs, signal }));
    await settle();
  }
  return sample;
}
