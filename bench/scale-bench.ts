/**
 * The mesh-at-scale rows (issue 17; `npm run bench:scale`, or `--only scale`):
 *  - real daemons at N = 5, 10, 20 (bench/scale-real.ts): convergence after the last launch,
 *    drop time after killing a quarter, RSS, gossip bytes/s — each row's daemons torn down
 *    before the next; the load average is printed with every row (a shared machine slows
 *    every real-daemon number);
 *  - the topology simulation: 100 peers joining at once a converged mesh of 1,000 (the real
 *    Topology per peer, test/support/topology-sim.ts) and of 100 / 1,000 / 5,000 (the version
 *    vector model, test/support/topology-model.ts): rounds, bytes per existing peer per join,
 *    bytes per peer per idle round.
 * Targets (issue 17): 20 daemons converge ≤ 5 s after the last launch, a killed quarter is
 * dropped everywhere ≤ 5 s, ≤ 60 MB RSS per daemon; the simulation converges in ≤ 12 rounds
 * and join bytes per existing peer at 1,000 are ≤ 2× those at 100.
 */
import { measureJoin, type JoinCost } from '../test/support/topology-sim.js';
import { modelJoin } from '../test/support/topology-model.js';
import { runScaleReal, type ScaleRealResult } from './scale-real.js';

export const SCALE_TARGETS = { convergeMs: 5_000, dropMs: 5_000, rssMb: 60, simRounds: 12, joinRatio: 2 } as const;

export interface ScaleBenchResult {
  real: ScaleRealResult[];
  sim: { kind: 'sim' | 'model'; r: JoinCost }[];
}

export async function runScaleBench(o: { ns?: number[]; simNs?: number[]; realSimN?: number; say?: (l: string) => void } = {}): Promise<ScaleBenchResult> {
  const say = o.say ?? (() => undefined);
  const real: ScaleRealResult[] = [];
  for (const n of o.ns ?? [5, 10, 20]) real.push(await runScaleReal(n, { say }));
  const sim: ScaleBenchResult['sim'] = [];
  for (const n of [100, ...(o.simNs ?? [1_000, 5_000])]) {
    say(`scale: model N=${n}`);
    sim.push({ kind: 'model', r: modelJoin(n, 100, n + 1) });
  }
  const realSimN = o.realSimN ?? 1_000;
  if (realSimN > 0) {
    say(`scale: simulation (real Topology per peer) N=${realSimN}, ~1-2 min`);
    sim.push({ kind: 'sim', r: measureJoin(realSimN, 100, realSimN + 1) });
  }
  return { real, sim };
}

const median = (a: readonly number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1] ?? NaN;
const ok = (v: number, max: number): string => (v <= max ? 'ok' : 'MISSES');

export function formatScaleBench(b: ScaleBenchResult): string {
  const t = SCALE_TARGETS;
  const lines = ['mesh at scale, real daemons (default timings, secret, random tree of known peers); load = 1-min load average at start → end',
    '    N  launch ms med/max  converge ms (≤ 5000)  killed  drop ms (≤ 5000)  RSS MB med/max (≤ 60)  gossip B/s/daemon  load'];
  for (const r of b.real) {
    lines.push(`${String(r.n).padStart(5)}  ${`${median(r.launchMs)}/${Math.max(...r.launchMs)}`.padStart(17)}  `
      + `${`${r.convergeMs} ${ok(r.convergeMs, t.convergeMs)}`.padStart(20)}  ${String(r.killed).padStart(6)}  `
      + `${`${r.dropMs} ${ok(r.dropMs, t.dropMs)}`.padStart(16)}  `
      + `${`${median(r.rssMb).toFixed(1)}/${Math.max(...r.rssMb).toFixed(1)} ${ok(Math.max(...r.rssMb), t.rssMb)}`.padStart(21)}  `
      + `${r.gossipBytesPerS.toFixed(0).padStart(17)}  ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}`);
  }
  lines.push('', 'topology simulation: 100 peers join a converged mesh of N at once (each linked to 2 existing peers)',
    '  kind      N  rounds (≤ 12)  B/existing peer/join  ×N=100 (≤ 2)  msgs/existing/join  max B one peer/join  KiB per joiner  idle B/peer/round');
  const base = b.sim.find((s) => s.kind === 'model' && s.r.n === 100)?.r;
  for (const { kind, r } of b.sim) {
    const ratio = base ? r.bytesPerExistingPerJoin / base.bytesPerExistingPerJoin : NaN;
    lines.push(`  ${kind.padEnd(5)} ${String(r.n).padStart(5)}  ${`${r.rounds} ${ok(r.rounds, t.simRounds)}`.padStart(13)}  `
      + `${r.bytesPerExistingPerJoin.toFixed(0).padStart(20)}  ${`${ratio.toFixed(2)} ${ok(ratio, t.joinRatio)}`.padStart(12)}  `
      + `${r.msgsPerExistingPerJoin.toFixed(2).padStart(18)}  ${r.maxBytesPerExistingPerJoin.toFixed(0).padStart(19)}  `
      + `${(r.bytesPerJoiner / 1024).toFixed(1).padStart(14)}  ${r.idleBytesPerPeerRound.toFixed(1).padStart(17)}`);
  }
  lines.push('  (sim: a real Topology per peer; model: version vectors, same rules, checked against sim in topology-sim.test.ts; ratios against the model at N=100 of this run)');
  return lines.join('\n');
}
