import { randomBytes } from 'node:crypto';
import {
  BENCH_DEFAULT_DURATION_S,
  BENCH_DEFAULT_ROUNDS,
  BENCH_PARALLEL_STREAMS,
  BENCH_PING_COUNT,
  BENCH_PING_INTERVAL_S,
  WeftError,
  type Logger,
} from '../src/common/index.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { measureRound } from './measure.js';
import { summarize, type Baselines, type ScenarioResult, type ScenarioSummary } from './report.js';
import {
  bringUp,
  checkScenario,
  roundLine,
  serverKeeper,
  staleNamespaces,
  tearDown,
  type ActiveScenario,
  type RunContext,
} from './scenario-run.js';
import { roundOrder } from './stats.js';
import type { Scenario } from './types.js';

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

/**
 * Measures every scenario in interleaved rounds and reports medians and ratios.
 *
 * Round by round, in rotating order, each scenario is set up (in its own namespaces, prefixed
 * with a per-run id), measured and torn down before the next one is set up — so idle daemons
 * of other rows are never part of the load a row is measured under. Teardown also runs after
 * errors and aborts. A scenario whose check or setup fails gets a one-line reason, is dropped
 * from later rounds, and the run goes on. `setupMs` is the slowest set-up of the row. Throws
 * only WEFT_ERR_BAD_ARGS for bad options.
 */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const { durationS, rounds, quietWaitS, baselines, selected } = validate(opts);
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
    ...(s.pairedWith !== undefined ? { pairedWith: s.pairedWith } : {}),
  }));
  const ctx: RunContext = { runId, lifetimeS, clkTck: machine.clkTck, log, signal, say };
  /** Rows that passed their check and have not failed a set-up. */
  let rows: { s: Scenario; idx: number; result: ScenarioResult }[] = [];
  let current: ActiveScenario | null = null;
  let aborted = false;

  try {
    for (const [idx, s] of selected.entries()) {
      signal.throwIfAborted();
      const result = results[idx]!;
      const reason = await checkScenario(s);
      if (reason !== null) {
        result.status = 'skipped';
        result.reason = reason;
        say(`${s.name}: skipped: ${reason}`);
        continue;
      }
      rows.push({ s, idx, result });
    }
    // Each row is set up, measured and torn down on its own, in rotating order per round: the
    // row being measured is the only overlay on the machine.
    for (let round = 0; round < rounds; round++) {
      for (const row of roundOrder(rows, round)) {
        signal.throwIfAborted();
        say(`${row.s.name}: setting up (round ${round + 1}/${rounds})`);
        const setupBefore = row.result.setupMs;
        current = await bringUp(ctx, row.s, row.idx, row.result);
        if (!current) {
          rows = rows.filter((r) => r !== row);
          continue;
        }
        if (setupBefore !== undefined) row.result.setupMs = Math.max(setupBefore, row.result.setupMs ?? 0);
        const a: ActiveScenario = current;
        const sample = await measureRound({
          round: round + 1, scope: a.scope, target: a.target, durationS, quietWaitMs: quietWaitS * 1000, signal,
          beforeIperf: serverKeeper(a, signal),
        });
        a.result.rounds.push(sample);
        say(roundLine(a.scenario.name, round + 1, rounds, sample));
        current = null;
        await tearDown(a.scenario, a.sandbox, log);
      }
    }
  } catch (e) {
    if (!signal.aborted) throw e;
    aborted = true;
    say('aborted: tearing down');
  } finally {
    if (current) await tearDown(current.scenario, current.sandbox, log);
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

/** Checks and defaults the options. Throws WEFT_ERR_BAD_ARGS. */
function validate(opts: BenchOptions): {
  durationS: number; rounds: number; quietWaitS: number; baselines: Baselines; selected: Scenario[];
} {
  const durationS = opts.durationS ?? BENCH_DEFAULT_DURATION_S;
  const rounds = opts.rounds ?? BENCH_DEFAULT_ROUNDS;
  const quietWaitS = opts.quietWaitS ?? 0;
  const baselines = opts.baselines ?? DEFAULT_BASELINES;
  if (!(durationS >= 1 && durationS <= 600)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'duration must be 1–600 s');
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 50)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'rounds must be 1–50');
  if (!(quietWaitS >= 0 && quietWaitS <= 600)) throw new WeftError('WEFT_ERR_BAD_ARGS', 'quiet wait must be 0–600 s');
  const names = opts.scenarios.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new WeftError('WEFT_ERR_BAD_ARGS', 'scenario names must be unique');
  const only = opts.only ?? [];
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `unknown scenario(s) ${unknown.join(', ')}; known: ${names.join(', ')}`);
  }
  const selected = only.length > 0 ? opts.scenarios.filter((s) => only.includes(s.name)) : [...opts.scenarios];
  if (selected.length > 36) throw new WeftError('WEFT_ERR_BAD_ARGS', 'at most 36 scenarios per run');
  return { durationS, rounds, quietWaitS, baselines, selected };
}
