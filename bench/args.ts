import { WeftError } from '../src/common/index.js';

/** Parsed command line of `node dist/cmd/bench.js`. */
export interface BenchArgs {
  only: string[];
  durationS?: number;
  rounds?: number;
  quietWaitS?: number;
  /** Measurement window of the idle rows. s */
  idleWindowS?: number;
  /** ADD+DEL iterations of the CNI row. */
  cniIterations?: number;
  jsonFile?: string;
  /** Another built checkout whose weft rows run too (suffixed "@base"), for before/after ratios. */
  baselineBuild?: string;
  help: boolean;
}

/** Usage text printed by `--help` and after argument errors. */
export const BENCH_USAGE = `usage: node dist/cmd/bench.js [--only NAME[,NAME…]] [--duration S] [--rounds N] [--quiet-wait S]
       [--idle-window S] [--cni-iterations N] [--baseline-build DIR] [--json FILE]
  --only      run only these scenarios (comma separated; repeatable)
  --duration  iperf3 run length in seconds (default 5)
  --rounds    interleaved rounds (default 3)
  --quiet-wait  before each run wait up to S seconds for foreign CPU load < 20 % (default 0)
  --idle-window  idle rows (idle): measurement window per configuration in seconds (default 60)
  --cni-iterations  CNI row (cni): interleaved ADD+DEL iterations per plugin (default 100)
  --baseline-build  also run weft's rows from the built checkout DIR (rows named NAME@base),
              interleaved with this build's, to compare a change with the code before it
  --json      also write the full report as JSON to FILE
Needs root (network namespaces). Scenario tools: bash scripts/setup-system.sh bench`;

/** Parses argv (without node and script). Pure; throws WEFT_ERR_BAD_ARGS with a one-line reason. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { only: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      if (raw.startsWith('--') && eq > 0) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new WeftError('WEFT_ERR_BAD_ARGS', `${flag} needs a value`);
      return v;
    };
    const positive = (v: string, max: number): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0 || n > max) throw new WeftError('WEFT_ERR_BAD_ARGS', `${flag} must be a number in (0, ${max}]`);
      return n;
    };
    switch (flag) {
      case '--only':
        out.only.push(...value().split(',').map((s) => s.trim()).filter((s) => s.length > 0));
        break;
      case '--duration':
        out.durationS = Math.round(positive(value(), 600));
        if (out.durationS < 1) throw new WeftError('WEFT_ERR_BAD_ARGS', '--duration must be at least 1 s');
        break;
      case '--rounds': {
        const n = positive(value(), 50);
        if (!Number.isInteger(n)) throw new WeftError('WEFT_ERR_BAD_ARGS', '--rounds must be an integer');
        out.rounds = n;
        break;
      }
      case '--quiet-wait': {
        const v = value();
        out.quietWaitS = v === '0' ? 0 : positive(v, 600);
        break;
      }
      case '--idle-window':
        out.idleWindowS = Math.round(positive(value(), 3600));
        if (out.idleWindowS < 1) throw new WeftError('WEFT_ERR_BAD_ARGS', '--idle-window must be at least 1 s');
        break;
      case '--cni-iterations': {
        const n = positive(value(), 10_000);
        if (!Number.isInteger(n)) throw new WeftError('WEFT_ERR_BAD_ARGS', '--cni-iterations must be an integer');
        out.cniIterations = n;
        break;
      }
      case '--baseline-build':
        out.baselineBuild = value();
        break;
      case '--json':
        out.jsonFile = value();
        break;
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        throw new WeftError('WEFT_ERR_BAD_ARGS', `unknown argument ${raw}`);
    }
  }
  return out;
}
