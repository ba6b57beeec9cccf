import { BENCH_QUIET_FOREIGN_PCT } from '../src/common/index.js';
import type { ConnRateResult } from './conn-rate.js';
import type { IperfResult } from './iperf.js';
import type { PingResult } from './ping.js';
import { difference, median, ratio, spread, type Spread } from './stats.js';

/**
 * Results of a bench run and their presentation. Everything here is pure: the runner fills
 * {@link ScenarioResult}s, {@link summarize} turns them into medians and ratios, and
 * {@link formatTable} renders the stdout table.
 */

/** One iperf3 run plus the CPU accounting of its window. */
export interface StreamSample extends IperfResult {
  /** Machine busy time not spent by our processes during the run. % of one core */
  foreignPct: number;
  /** CPU of the overlay processes (both hosts summed); null for kernel-only paths. % of one core */
  overlayCpuPct: number | null;
  /** The same per host (host 1, host 2); null for kernel-only paths. */
  overlayCpuPctPerHost: [number, number] | null;
  /** Summed VmRSS of the overlay processes at the end of the run; null for kernel-only. MB */
  rssMb: number | null;
  /** Time spent waiting for a quiet machine before the run (--quiet-wait). ms */
  quietWaitMs: number;
}

/** One new-connection rate run plus the foreign load of its window. */
export interface ConnSample extends ConnRateResult {
  /** % of one core, as for {@link StreamSample.foreignPct} */
  foreignPct: number;
}

/** One interleaved round of one scenario. Missing parts failed (or were not asked for); `errors` says why. */
export interface RoundSample {
  round: number;
  ping?: PingResult;
  single?: StreamSample;
  multi?: StreamSample;
  /** Only for scenarios that ask for it (ScenarioEndpoints.connRate). */
  conn?: ConnSample;
  errors: string[];
}

/** Everything measured for one scenario. */
export interface ScenarioResult {
  name: string;
  description: string;
  userspace: boolean;
  /** ok: measured (maybe with failed rounds); skipped: check() refused; failed: setup failed. */
  status: 'ok' | 'skipped' | 'failed';
  /** One line, for skipped/failed scenarios. */
  reason?: string;
  mtu?: number;
  detail?: string;
  /** Setup time until pod2 answered pings. ms */
  setupMs?: number;
  /** The row this one is a variant of (Scenario.pairedWith). */
  pairedWith?: string;
  rounds: RoundSample[];
}

/** Medians and ratios of one scenario, as printed in the table. */
export interface ScenarioSummary {
  name: string;
  status: 'ok' | 'skipped' | 'failed';
  reason: string | null;
  mtu: number | null;
  /** Mbit/s */
  single: Spread | null;
  multi: Spread | null;
  /** Median retransmits per run. count */
  retransSingle: number | null;
  retransMulti: number | null;
  /** Median 1-stream / 4-stream throughput relative to the raw baseline and the reference VPN. */
  vsRaw: number | null;
  vsRef: number | null;
  vsRawMulti: number | null;
  vsRefMulti: number | null;
  /** ms */
  rttAvg: Spread | null;
  rttMin: Spread | null;
  /** Median RTT avg minus the raw baseline's. ms */
  addedRttMs: number | null;
  /** Overlay CPU during the 1-stream runs. % of one core */
  cpuPct: Spread | null;
  /** MB */
  rssMb: Spread | null;
  /** Foreign load over all runs of this scenario. % of one core */
  foreignPct: Spread | null;
  /** Throughput over quiet runs only (foreign load below BENCH_QUIET_FOREIGN_PCT). Mbit/s */
  singleQuiet: Spread | null;
  multiQuiet: Spread | null;
  /** 1-stream quiet median relative to the raw baseline's quiet median. */
  vsRawQuiet: number | null;
  /** Runs (1- and 4-stream) with foreign load below BENCH_QUIET_FOREIGN_PCT, and all runs. */
  quietRuns: number;
  runs: number;
  /** Failed measurement steps over all rounds. */
  errors: number;
  /** New connections per second (rows that measure it). 1/s */
  connRate: Spread | null;
  /** Failed attempts per rate run. count */
  connErrors: number | null;
  connForeignPct: Spread | null;
  pairedWith: string | null;
}

/** Names of the rows other rows are compared with. */
export interface Baselines {
  raw: string;
  reference: string;
}

type Derived = 'vsRaw' | 'vsRef' | 'vsRawMulti' | 'vsRefMulti' | 'addedRttMs' | 'vsRawQuiet';
const isQuiet = (s: StreamSample): boolean => s.foreignPct < BENCH_QUIET_FOREIGN_PCT;

function summarizeOne(r: ScenarioResult): Omit<ScenarioSummary, Derived> {
  const singles = r.rounds.flatMap((x) => (x.single ? [x.single] : []));
  const multis = r.rounds.flatMap((x) => (x.multi ? [x.multi] : []));
  const pings = r.rounds.flatMap((x) => (x.ping ? [x.ping] : []));
  const conns = r.rounds.flatMap((x) => (x.conn ? [x.conn] : []));
  const all = [...singles, ...multis];
  return {
    name: r.name,
    status: r.status,
    reason: r.reason ?? null,
    mtu: r.mtu ?? null,
    single: spread(singles.map((s) => s.mbps)),
    multi: spread(multis.map((s) => s.mbps)),
    retransSingle: median(singles.map((s) => s.retransmits)),
    retransMulti: median(multis.map((s) => s.retransmits)),
    rttAvg: spread(pings.map((p) => p.avgMs)),
    rttMin: spread(pings.map((p) => p.minMs)),
    cpuPct: r.userspace ? spread(singles.map((s) => s.overlayCpuPct)) : null,
    rssMb: r.userspace ? spread(singles.map((s) => s.rssMb)) : null,
    foreignPct: spread(all.map((s) => s.foreignPct)),
    singleQuiet: spread(singles.filter(isQuiet).map((s) => s.mbps)),
    multiQuiet: spread(multis.filter(isQuiet).map((s) => s.mbps)),
    quietRuns: all.filter(isQuiet).length,
    runs: all.length,
    errors: r.rounds.reduce((n, x) => n + x.errors.length, 0),
    connRate: spread(conns.map((c) => c.perSecond)),
    connErrors: median(conns.map((c) => c.errors)),
    connForeignPct: spread(conns.map((c) => c.foreignPct)),
    pairedWith: r.pairedWith ?? null,
  };
}

/** Medians per scenario and ratios against the baselines (null where a baseline is missing). */
export function summarize(results: readonly ScenarioResult[], baselines: Baselines): ScenarioSummary[] {
  const base = results.map(summarizeOne);
  const raw = base.find((s) => s.name === baselines.raw);
  const ref = base.find((s) => s.name === baselines.reference);
  return base.map((s) => ({
    ...s,
    vsRaw: ratio(s.single?.median, raw?.single?.median),
    vsRef: ratio(s.single?.median, ref?.single?.median),
    vsRawMulti: ratio(s.multi?.median, raw?.multi?.median),
    vsRefMulti: ratio(s.multi?.median, ref?.multi?.median),
    addedRttMs: s.rttAvg && raw?.rttAvg ? difference(s.rttAvg.median, raw.rttAvg.median) : null,
    vsRawQuiet: ratio(s.singleQuiet?.median, raw?.singleQuiet?.median),
  }));
}

const NA = 'n/a';
const fix = (v: number | null | undefined, d: number): string => (v === null || v === undefined ? NA : v.toFixed(d));

/** "median (min–max)", or just the median for a single sample. */
export function formatSpread(s: Spread | null, digits: number): string {
  if (!s) return NA;
  if (s.n === 1 || s.min === s.max) return s.median.toFixed(digits);
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** Ratio as "0.42×". */
export function formatRatio(v: number | null): string {
  return v === null ? NA : `${v.toFixed(2)}×`;
}

/** Added RTT with an explicit sign ("+0.120"). */
export function formatSigned(v: number | null, digits: number): string {
  if (v === null) return NA;
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/** Table header; the last two column names follow the baselines. */
export function tableHeader(b: Baselines): string[] {
  return [
    'scenario', 'Mbit/s 1-stream', 'Mbit/s 4-stream', `vs ${b.raw}`, `vs ${b.reference}`, 'retr 1/4',
    'RTT avg/min ms', '+RTT ms', 'CPU %', 'RSS MB', 'foreign %',
  ];
}

/** Cells of one table row; skipped/failed rows carry their one-line reason instead. */
export function tableRow(s: ScenarioSummary): string[] {
  if (s.status !== 'ok') return [s.name, `${s.status}: ${s.reason ?? 'unknown reason'}`];
  const rtt = s.rttAvg && s.rttMin ? `${s.rttAvg.median.toFixed(3)}/${s.rttMin.median.toFixed(3)}` : NA;
  const ratios = `${formatRatio(s.vsRaw)} / ${formatRatio(s.vsRawMulti)}`;
  const refRatios = `${formatRatio(s.vsRef)} / ${formatRatio(s.vsRefMulti)}`;
  return [
    s.name,
    formatSpread(s.single, 0),
    formatSpread(s.multi, 0),
    ratios,
    refRatios,
    `${fix(s.retransSingle, 0)}/${fix(s.retransMulti, 0)}`,
    rtt,
    formatSigned(s.addedRttMs, 3),
    formatSpread(s.cpuPct, 0),
    s.rssMb ? s.rssMb.median.toFixed(1) : NA,
    `${formatSpread(s.foreignPct, 0)}, quiet ${s.quietRuns}/${s.runs}${s.errors > 0 ? ` [${s.errors} failed step(s)]` : ''}`,
  ];
}

/**
 * Pads cells to their column's widest cell and joins them with " | ". A row shorter than the
 * header (a skipped/failed scenario) lets its last cell run across the remaining columns.
 */
function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((r) => r.length === header.length || i === 0).map((r) => r[i]!.length)),
  );
  const line = (cells: string[]): string =>
    cells.length === header.length
      ? cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ').trimEnd()
      : `${cells[0]!.padEnd(widths[0]!)} | ${cells.slice(1).join(' ')}`;
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)].join('\n');
}

/** The main result table (one row per scenario). */
export function formatTable(summaries: readonly ScenarioSummary[], b: Baselines): string {
  return renderTable(tableHeader(b), summaries.map(tableRow));
}

/**
 * Second table over quiet runs only (foreign load below the threshold), or one line saying
 * that there were none.
 */
export function formatQuietTable(summaries: readonly ScenarioSummary[], b: Baselines): string {
  const ok = summaries.filter((s) => s.status === 'ok' && (s.singleQuiet || s.multiQuiet));
  if (ok.length === 0) return `quiet runs only: none (every run had foreign load >= ${BENCH_QUIET_FOREIGN_PCT} %)`;
  return renderTable(
    ['scenario (quiet runs)', 'Mbit/s 1-stream', 'Mbit/s 4-stream', `1-stream vs ${b.raw}`],
    ok.map((s) => [
      `${s.name} (${s.quietRuns}/${s.runs})`, formatSpread(s.singleQuiet, 0), formatSpread(s.multiQuiet, 0), formatRatio(s.vsRawQuiet),
    ]),
  );
}

/** Footnote printed under the table: what the ratio columns and foreign load mean. */
export function tableLegend(b: Baselines, rounds: number, durationS: number): string {
  return [
    `medians of ${rounds} interleaved round(s) of ${durationS} s iperf3 runs, (min–max) in brackets;`,
    `"vs" columns: 1-stream / 4-stream median throughput relative to ${b.raw} and ${b.reference};`,
    `CPU % = overlay processes in both hosts during the 1-stream run (100 % = one core), n/a = kernel only;`,
    `foreign % = machine busy time not spent by this benchmark (runs < ${BENCH_QUIET_FOREIGN_PCT} % count as quiet).`,
  ].join('\n');
}

/** What a variant row must keep of its paired row (issue 12: 1,000 policies in force). */
export interface PairTargets {
  /** Minimum 1-stream and 4-stream throughput ratio. */
  throughput: number;
  /** Minimum new-connection rate ratio. */
  connRate: number;
}

const verdict = (v: number | null, min: number): string => (v === null ? NA : v >= min ? 'ok' : 'MISSES');

/**
 * One row per variant (a row with `pairedWith`): its medians next to its pair's, the ratios,
 * and whether they meet `targets`; or one line saying there are no such rows.
 */
export function formatPairTable(summaries: readonly ScenarioSummary[], targets: PairTargets): string {
  const rows = summaries.filter((s) => s.pairedWith !== null);
  if (rows.length === 0) return 'paired rows: none in this run';
  const cells = rows.map((s) => {
    const base = summaries.find((b) => b.name === s.pairedWith);
    if (s.status !== 'ok' || !base || base.status !== 'ok') {
      return [s.name, `${s.status !== 'ok' ? `${s.status}: ${s.reason ?? 'unknown reason'}` : `no measured row ${s.pairedWith ?? ''}`}`];
    }
    const r1 = ratio(s.single?.median, base.single?.median);
    const r4 = ratio(s.multi?.median, base.multi?.median);
    const rc = ratio(s.connRate?.median, base.connRate?.median);
    const tp = r1 === null || r4 === null ? null : Math.min(r1, r4);
    return [
      s.name, base.name,
      `${fix(s.single?.median, 0)} / ${fix(base.single?.median, 0)}`, formatRatio(r1),
      `${fix(s.multi?.median, 0)} / ${fix(base.multi?.median, 0)}`, formatRatio(r4),
      `${formatSpread(s.connRate, 0)} / ${formatSpread(base.connRate, 0)}`, formatRatio(rc),
      `${verdict(tp, targets.throughput)} / ${verdict(rc, targets.connRate)}`,
      `${formatSpread(s.foreignPct, 0)} / ${formatSpread(base.foreignPct, 0)}`,
    ];
  });
  return renderTable(
    ['row', 'vs row', 'Mbit/s 1-stream', 'ratio', 'Mbit/s 4-stream', 'ratio', 'conn/s', 'ratio',
      `target ≥ ${targets.throughput.toFixed(2)}× / ≥ ${targets.connRate.toFixed(2)}×`, 'foreign %'],
    cells,
  );
}
