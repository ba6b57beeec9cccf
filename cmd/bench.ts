import { writeFile } from 'node:fs/promises';
import {
  BENCH_USAGE,
  defaultScenarios,
  formatPairTable,
  formatQuietTable,
  formatTable,
  parseBenchArgs,
  runBench,
  tableLegend,
} from '../bench/index.js';
import { createLogger, describeError } from '../src/common/index.js';
import { formatIpamBench, runIpamBench } from '../bench/ipam-bench.js';
import { formatIdleBench, runIdleBench } from '../bench/idle-bench.js';
import { formatCniBench, runCniBench } from '../bench/cni-bench.js';
import { formatPolicyLatency, runPolicyLatency } from '../bench/policy-latency.js';
import { formatScaleBench, runScaleBench } from '../bench/scale-bench.js';
import { formatPolicyScale, runPolicyScale } from '../bench/policy-scale.js';
import { formatDnsBench, runDnsBench } from '../bench/dns-bench.js';
import type { BenchArgs } from '../bench/args.js';

/** Issue 12: with 1,000 policies in force, throughput ≥ 0.90× and new connections ≥ 0.80× of no policy. */
const POLICY_DATAPATH_TARGETS = { throughput: 0.9, connRate: 0.8 } as const;

/** Control-plane benchmarks run after the data-path scenarios (selectable with --only). */
const CONTROL_BENCHES: Record<string, (a: BenchArgs) => Promise<string>> = {
  ipam: async () => formatIpamBench(await runIpamBench()),
  /** Idle daemon: programs started and CPU over a window, 1 and 20 peers (issue 10). */
  idle: async (a) => formatIdleBench(await runIdleBench({
    ...(a.idleWindowS !== undefined ? { windowS: a.idleWindowS } : {}),
    say: (l) => process.stderr.write(`bench: ${l}\n`),
  })),
  /** CNI ADD/DEL latency of the installed weft-net against bridge + host-local, alternated. */
  cni: async (a) => formatCniBench(await runCniBench(a.cniIterations !== undefined ? { iterations: a.cniIterations } : {})),
  /** Network policy: apply on host 1 → enforced in every host's traffic, 3 real daemons (issue 12). */
  'policy-latency': async () => formatPolicyLatency(await runPolicyLatency({ say: (l) => process.stderr.write(`bench: ${l}\n`) })),
  /** Mesh at scale: real daemons at N = 5, 10, 20 and the topology simulation at 1,000 / 5,000 (issue 17). */
  scale: async () => formatScaleBench(await runScaleBench({ say: (l) => process.stderr.write(`bench: ${l}\n`) })),
  /** Network policy at scale: full build, label-change latency, daemon RSS growth (issue 12). */
  'policy-scale': async () => formatPolicyScale(await runPolicyScale({ say: (l) => process.stderr.write(`bench: ${l}\n`) })),
  /** DNS: a name added on one host answered on every host (p99 < 1 s), local answers at 1,000 qps against dnsmasq (issue 14). */
  dns: async () => formatDnsBench(await runDnsBench({ say: (l) => process.stderr.write(`bench: ${l}\n`) })),
};

/**
 * `node dist/cmd/bench.js [--only NAMES] [--duration S] [--rounds N] [--quiet-wait S] [--json FILE]`: runs the
 * benchmark, prints progress to stderr and the result table to stdout. Ctrl-C / SIGTERM stop
 * the measurements and tear everything down before exiting (exit code 130).
 */
async function main(): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${describeError(e)}\n${BENCH_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: must run as root (it creates network namespaces)\n');
    return 1;
  }
  const ctl = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ctl.signal.aborted) {
      process.stderr.write(`bench: ${sig} again; still tearing down (bounded), please wait\n`);
      return;
    }
    process.stderr.write(`bench: ${sig}: stopping and tearing down\n`);
    ctl.abort(new Error(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const only = args.only.filter((n) => !(n in CONTROL_BENCHES));
  const controls = Object.keys(CONTROL_BENCHES).filter((n) => args.only.length === 0 || args.only.includes(n));
  try {
    if (args.only.length > 0 && only.length === 0) {
      for (const name of controls) process.stdout.write(`\n${await CONTROL_BENCHES[name]!(args)}\n`);
      return 0;
    }
    const report = await runBench({
      scenarios: defaultScenarios(args.baselineBuild),
      only,
      ...(args.durationS !== undefined ? { durationS: args.durationS } : {}),
      ...(args.rounds !== undefined ? { rounds: args.rounds } : {}),
      ...(args.quietWaitS !== undefined ? { quietWaitS: args.quietWaitS } : {}),
      log: createLogger({ level: 'warn' }),
      signal: ctl.signal,
      progress: (line) => process.stderr.write(`bench: ${line}\n`),
    });
    const m = report.machine;
    process.stdout.write(
      `\nweft bench ${report.startedAt} — ${m.cpus} × ${m.cpuModel}, ${m.memGb} GB, Linux ${m.kernel}, Node ${m.node}` +
        `${report.aborted ? ' (ABORTED: partial results)' : ''}\n\n` +
        `${formatTable(report.summary, report.options.baselines)}\n\n` +
        `${formatQuietTable(report.summary, report.options.baselines)}\n\n` +
        `${formatPairTable(report.summary, POLICY_DATAPATH_TARGETS)}\n\n` +
        `${tableLegend(report.options.baselines, report.options.rounds, report.options.durationS)}\n`,
    );
    for (const name of controls) {
      if (report.aborted) break;
      try {
        process.stdout.write(`\n${await CONTROL_BENCHES[name]!(args)}\n`);
      } catch (e) {
        process.stdout.write(`\n${name}: failed: ${describeError(e)}\n`);
      }
    }
    if (args.jsonFile) {
      await writeFile(args.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
      process.stderr.write(`bench: wrote ${args.jsonFile}\n`);
    }
    return report.aborted ? 130 : 0;
  } catch (e) {
    process.stderr.write(`bench: ${describeError(e)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

process.exitCode = await main();
