import { randomBytes } from 'node:crypto';
import {
  BENCH_DEFAULT_DURATION_S,
  BENCH_DEFAULT_ROUNDS,
  BENCH_PARALLEL_STREAMS,
  BENCH_PING_COUNT,
  BENCH_PING_INTERVAL_S,
  BENCH_REACH_TIMEOUT_MS,
  WeftError,
  describeError,
  type Logger,
} from '../common/index.js';
import { iperfServerArgv, runIperfClient, waitIperfListening } from './iperf.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { exec } from './netns.js';
import { measureRound, type AccountingScope } from './measure.js';
import { waitReachable } from './ping.js';
import { summarize, type Baselines, type ScenarioResult, type ScenarioSummary } from './report.js';
import { Sandbox } from './sandbox.js';
import { lastLine } from './scenarios/wait.js';
import { roundOrder } from './stats.js';
import type { Daemon, Scenario, ScenarioEndpoints } from './types.js';

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Scenarios in row order; weft's own scenarios are simply appended here. */
  scenarios: readonly Scenario[];
  /** Only run these scenario names (unknown names: WEFT_ERR_BAD_ARGS). */
  only?: readonly string[];
  /** iperf3 run length. s (default BENCH_DEFAULT_DURATION_S) */
  durationS?: number;
  /** Interleaved rounds. (default BENCH_DEFAULT_ROUNDS) */
  rounds?: number;
  /**
   * Before each iperf3 run, wait up to this long for the foreign load to drop below
   * BENCH_QUIET_FOREIGN_PCT (shared machines). s (default 0: measure right away)
   */
  quietWaitS?: number;
  /** Rows the ratios refer to (default raw-veth and wireguard-go). */
  baselines?: Baselines;
  log: Logger;
  /** Abort (Ctrl-C): the run stops measuring, tears everything down and resolves aborted. */
  signal?: AbortSignal;
  /** Human progress lines (the CLI prints them to stderr). */
  progress?: (line: string) => void;
}

/** Everything a run produced; what `--json FILE` writes. */
export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  /** Unique name prefix of this run's namespaces and links. */
  runId: string;
  machine: MachineInfo;
  options: {
    durationS: number;
    rounds: number;
    quietWaitS: number;
    streams: number;
    pingCount: number;
    pingIntervalS: number;
    baselines: Baselines;
  };
  /** True when a signal stopped the run early (results are partial). */
  aborted: boolean;
  results: ScenarioResult[];
  summary: ScenarioSummary[];
}

/** Ratios refer to these rows unless BenchOptions.baselines says otherwise. */
export const DEFAULT_BASELINES: Baselines = { raw: 'raw-veth', reference: 'wireguard-go' };

/** Budget for a scenario's check(). ms */
const CHECK_TIMEOUT_MS = 15_000;
/** Budget for building hosts + scenario setup. ms */
const SETUP_TIMEOUT_MS = 90_000;
/** Budget for one scenario's teardown plus namespace removal. ms */
const TEARDOWN_TIMEOUT_MS = 30_000;
const WARMUP_S = 1;

interface Active {
  scenario: Scenario;
  sandbox: Sandbox;
  endpoints: ScenarioEndpoints;
  result: ScenarioResult;
  scope: AccountingScope;
  server: Daemon;
  /** The last round ended with a failed iperf3 run: restart the server before the next. */
  restartServer: boolean;
}

/** Resolves with `p`, or rejects WEFT_ERR_TIMEOUT after `ms` (calling `onTimeout` first). */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new WeftError('WEFT_ERR_TIMEOUT', `${what} took longer than ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Names of existing `wfb…` namespaces (left by a SIGKILLed run, or another run in progress). */
async function staleNamespaces(): Promise<string[]> {
  const r = await exec(null, ['ip', 'netns', 'list'], { allowFail: true, timeoutMs: 5_000 }).catch(() => null);
  return (r?.stdout ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => /^wfb[0-9a-f]{4}/.test(n));
}

/** Tears one scenario down: its own teardown, then the sandbox. Bounded; never throws. */
async function tearDown(s: Scenario, sandbox: Sandbox, log: Logger): Promise<void> {
  sandbox.beginTeardown();
  try {
    await withTimeout(s.teardown(), TEARDOWN_TIMEOUT_MS, `${s.name} teardown`);
  } catch (e) {
    log.warn({ scenario: s.name, err: describeError(e) }, 'scenario teardown failed');
  }
  await withTimeout(sandbox.destroy(), TEARDOWN_TIMEOUT_MS, `${s.name} namespace removal`).catch((e) =>
    log.warn({ scenario: s.name, err: describeError(e) }, 'namespace removal failed'),
  );
}

/**
 * Measures every scenario in interleaved rounds and reports medians and ratios.
 *
 * All scenarios are set up first (each in its own namespaces, prefixed with a per-run id), then
 * measured round by round in rotating order, then torn down — in `finally`, so also after
 * errors and aborts. A scenario whose check or setup fails gets a one-line reason and the run
 * goes on. Throws only WEFT_ERR_BAD_ARGS for bad options.
 */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const durationS = opts.durationS ?? BENCH_DEFAULT_DURATION_S;
  const rounds = opts.rounds ?? BENCH_DEFAULT_ROUNDS;
  const baselines = opts.baselines ?? DEFAULT_BASELINES;
  const quietWaitS = opts.quietWaitS ?? 0;
  if (!(quietWaitS >= 0 && quietWaitS <= 600)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'quiet wait must be 0–600 s');
  if (!(durationS >= 1 && durationS <= 600)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'duration must be 1–600 s');
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'rounds must be 1–50');
  const names = opts.scenarios.map((s) => s.name);
  const unknown = (opts.only ?? []).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `unknown scenario(s) ${unknown.join(', ')}; known: ${names.join(', ')}`);
  }
  const selected = opts.only && opts.only.length > 0 ? opts.scenarios.filter((s) => opts.only!.includes(s.name)) : [...opts.scenarios];
  if (selected.length > 36) throw new WeftError('WEFT_ERR_BAD_ARGS', 'at most 36 scenarios per run');
  const signal = opts.signal ?? new AbortController().signal;
  const say = opts.progress ?? (() => undefined);
  const log = opts.log;
  const runId = `wfb${randomBytes(2).toString('hex')}`;
  const startedAt = new Date().toISOString();
  const machine = await machineInfo();
  const stale = await staleNamespaces();
  if (stale.length > 0) {
    say(`note: ${stale.length} namespace(s) from an earlier or concurrent run exist (${stale.slice(0, 4).join(', ')}` +
      `${stale.length > 4 ? ', …' : ''}); if no other bench runs, remove them with: ip netns del NAME`);
  }
  // Every daemon ends by itself after this, even if the harness is killed hard. s
  const lifetimeS = selected.length * (rounds * (2 * (durationS + quietWaitS + 15) + 15) + 120) + 120;
  const results: ScenarioResult[] = selected.map((s) => ({
    name: s.name, description: s.description, userspace: s.userspace, status: 'ok', rounds: [],
  }));
  const active: Active[] = [];
  let aborted = false;

  const bringUp = async (s: Scenario, idx: number, result: ScenarioResult): Promise<void> => {
    const ctl = new AbortController();
    const sandbox = new Sandbox(`${runId}${idx.toString(36)}`, lifetimeS, log.child({ scenario: s.name }), AbortSignal.any([signal, ctl.signal]));
    const t0 = Date.now();
    try {
      const setup = (async () => {
        await sandbox.create();
        return s.setup(sandbox);
      })();
      const endpoints = await withTimeout(setup, SETUP_TIMEOUT_MS, `${s.name} setup`, () => ctl.abort()).catch(async (e) => {
        await withTimeout(setup, 10_000, 'aborted setup').catch(() => undefined); // let it unwind
        throw e;
      });
      await waitReachable(endpoints.clientNs, endpoints.serverIp, BENCH_REACH_TIMEOUT_MS, sandbox.signal);
      result.setupMs = Date.now() - t0;
      const server = sandbox.spawnDaemon(endpoints.serverNs, 'iperf3 server', iperfServerArgv(endpoints.serverIp));
      await waitIperfListening(endpoints.serverNs, 10_000, sandbox.signal);
      await runIperfClient(endpoints.clientNs, endpoints.serverIp, WARMUP_S, 1, sandbox.signal); // ARP, handshakes, caches
      if (endpoints.mtu !== undefined) result.mtu = endpoints.mtu;
      if (endpoints.detail !== undefined) result.detail = endpoints.detail;
      const [h1, h2] = sandbox.hosts;
      active.push({
        scenario: s, sandbox, endpoints, result, server, restartServer: false,
        scope: { hostNs: [h1.ns, h2.ns], allNs: sandbox.allNamespaces, userspace: s.userspace, clkTck: machine.clkTck },
      });
      say(`${s.name}: up in ${(result.setupMs / 1000).toFixed(1)} s`);
    } catch (e) {
      const dead = sandbox.exitedDaemons().map((d) => `; ${d.label} exited: ${lastLine(d)}`).join('');
      await tearDown(s, sandbox, log);
      if (signal.aborted) throw e;
      result.status = 'failed';
      result.reason = `${describeError(e)}${dead}`;
      say(`${s.name}: failed: ${result.reason}`);
    }
  };

  /** (Re)starts a scenario's iperf3 server when it died or the previous client run failed. */
  const ensureServer = (a: Active) => async (previousFailed: boolean): Promise<void> => {
    if (a.server.running && !previousFailed && !a.restartServer) return;
    a.restartServer = false;
    await a.server.stop();
    a.server = a.sandbox.spawnDaemon(a.endpoints.serverNs, 'iperf3 server', iperfServerArgv(a.endpoints.serverIp));
    await waitIperfListening(a.endpoints.serverNs, 10_000, signal);
  };

  try {
    for (const [idx, s] of selected.entries()) {
      signal.throwIfAborted();
      const result = results[idx]!;
      const reason = await withTimeout(s.check(), CHECK_TIMEOUT_MS, `${s.name} check`)
        .catch((e: unknown) => `check failed: ${describeError(e)}`);
      if (reason !== null) {
        result.status = 'skipped';
        result.reason = reason;
        say(`${s.name}: skipped: ${reason}`);
        continue;
      }
      say(`${s.name}: setting up`);
      await bringUp(s, idx, result);
    }
    for (let round = 0; round < rounds; round++) {
      for (const a of roundOrder(active, round)) {
        signal.throwIfAborted();
        const sample = await measureRound(round + 1, a.scope, a.endpoints, durationS, quietWaitS * 1000, signal, ensureServer(a));
        a.result.rounds.push(sample);
        a.restartServer = sample.multi === undefined;
        const f = (v: number | undefined, d = 0): string => (v === undefined ? '–' : v.toFixed(d));
        say(
          `round ${round + 1}/${rounds} ${a.scenario.name}: ${f(sample.single?.mbps)} / ${f(sample.multi?.mbps)} Mbit/s, ` +
            `rtt ${f(sample.ping?.avgMs, 3)} ms, cpu ${f(sample.single?.overlayCpuPct ?? undefined)} %, ` +
            `foreign ${f(sample.single?.foreignPct)} %${sample.errors.length ? `; ${sample.errors.join('; ')}` : ''}`,
        );
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
    aborted = true;
    say('aborted: tearing down');
  } finally {
    for (const a of [...active].reverse()) await tearDown(a.scenario, a.sandbox, log);
  }
  for (const r of results) {
    if (aborted && r.status === 'ok' && r.rounds.length === 0) {
      r.status = 'skipped';
      r.reason = 'aborted before it was measured';
    }
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    runId,
    machine,
    options: {
      durationS, rounds, quietWaitS, streams: BENCH_PARALLEL_STREAMS, pingCount: BENCH_PING_COUNT,
      pingIntervalS: BENCH_PING_INTERVAL_S, baselines,
    },
    aborted,
    results,
    summary: summarize(results, baselines),
  };
}
