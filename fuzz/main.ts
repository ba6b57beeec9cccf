/**
 * `npm run fuzz`: every target with WEFT_FUZZ_COUNT inputs (default 10^6).
 *
 * Environment:
 *   WEFT_FUZZ_COUNT   inputs per target (default 1000000)
 *   WEFT_FUZZ_SEED    seed (default: random; always printed)
 *   WEFT_FUZZ_TARGET  run only targets whose name contains this
 *   WEFT_FUZZ_BUDGET  seconds per target before it stops short of COUNT (default 180)
 *   WEFT_FUZZ_INDEX   with one target: replay only input INDEX of SEED (prints the input and outcome)
 *   WEFT_FUZZ_HEX     with one target: run exactly this input (hex) and print the outcome
 *   WEFT_FUZZ_JSON    write every target's statistics to this file
 *   WEFT_FUZZ_JOBS    worker threads running targets side by side (default: 2, or 1 on one CPU)
 * Then (unless WEFT_FUZZ_TARGET excludes "cni-json-c") the C JSON parser of the weft-net
 * front end, native/cni_json.c, with COUNT inputs under ASan+UBSan (fuzz/native-cjson.ts).
 * Exit status 1 when any input broke a target's property; each failure prints its seed, index
 * and input hex.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { drawInput, runOne, runTarget, type FuzzStats, type FuzzTarget } from './engine.js';
import { TARGETS, cleanupIpamScratch } from './targets/index.js';
import { SANITIZER_REPORT, buildCJsonFuzzer, runCJsonFuzzer } from './native-cjson.js';

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`fuzz: ${name}=${v} is not a non-negative integer`);
    process.exit(2);
  }
  return n;
}

const count = envInt('WEFT_FUZZ_COUNT', 1_000_000);
const seed = envInt('WEFT_FUZZ_SEED', Math.floor(Math.random() * 2 ** 31));
const budget = envInt('WEFT_FUZZ_BUDGET', 180);
const jobs = envInt('WEFT_FUZZ_JOBS', Math.min(2, availableParallelism()));
const filter = process.env.WEFT_FUZZ_TARGET ?? '';
const targets = TARGETS.filter((t) => t.name.includes(filter));
const C_TARGET = 'cni-json-c';
const withC = C_TARGET.includes(filter);
if (targets.length === 0 && !withC) {
  console.error(`fuzz: no target matches "${filter}" (targets: ${TARGETS.map((t) => t.name).join(', ')})`);
  process.exit(2);
}

async function replay(): Promise<boolean> {
  const hex = process.env.WEFT_FUZZ_HEX;
  const index = process.env.WEFT_FUZZ_INDEX;
  if (hex === undefined && index === undefined) return false;
  const t = targets.find((x) => x.name === filter) ?? (targets.length === 1 ? targets[0] : undefined);
  if (!t) {
    console.error('fuzz: a replay needs WEFT_FUZZ_TARGET naming exactly one target');
    process.exit(2);
  }
  const { input, source } = hex !== undefined ? { input: Buffer.from(hex, 'hex'), source: 'mutated' as const } : drawInput(t, seed, envInt('WEFT_FUZZ_INDEX', 0));
  console.log(`fuzz replay: target ${t.name} seed ${seed} source ${source} input ${input.toString('hex')}`);
  const r = await runOne(t, input, source === 'valid');
  console.log('failure' in r ? `FAIL: ${r.failure}` : `ok: ${r.outcome}`);
  // no process.exit: it would cut the output of a large input written to a pipe
  process.exitCode = 'failure' in r ? 1 : 0;
  return true;
}

function line(s: FuzzStats): string {
  const rate = s.inputs / Math.max(s.seconds, 1e-9);
  const outcomes = Object.entries(s.outcomes).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k.replace('WEFT_ERR_', '')}=${v}`).join(' ');
  return `${s.target.padEnd(20)} ${String(s.inputs).padStart(8)} in ${s.seconds.toFixed(1).padStart(6)} s  ${Math.round(rate).toString().padStart(8)}/s  slowest ${s.slowest.ms.toFixed(2)} ms (${s.slowest.bytes} B ${s.slowest.source})${s.stoppedByBudget ? '  [budget]' : ''}  ${outcomes}`;
}

/** Targets whose inputs cost the most go first, so that the workers finish together. */
const COSTLY_FIRST = ['handshake-msg2', 'ipam-store', 'policy-documents', 'handshake-msg1', 'handshake-msg3', 'api-request', 'cni-netconf', 'pod-directory', 'gossip-hub', 'topology-update'];

function byCost(a: FuzzTarget, b: FuzzTarget): number {
  const rank = (t: FuzzTarget): number => { const i = COSTLY_FIRST.indexOf(t.name); return i < 0 ? COSTLY_FIRST.length : i; };
  return rank(a) - rank(b);
}

/** Run every target on `jobs` worker threads; `done` is called as each finishes. */
async function runParallel(list: readonly FuzzTarget[], done: (s: FuzzStats) => void): Promise<void> {
  const queue = [...list].sort(byCost).map((t) => t.name);
  const workerUrl = new URL('./worker.js', import.meta.url);
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, () => new Promise<void>((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData: { count, seed, budgetSeconds: budget } });
    const next = (): void => { w.postMessage(queue.shift() ?? null); };
    w.on('message', (s: FuzzStats) => { done(s); next(); });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`fuzz worker exited with ${code}`))));
    next();
  })));
}

async function main(): Promise<void> {
  if (await replay()) return;
  console.log(`fuzz: seed ${seed} (replay with WEFT_FUZZ_SEED=${seed}), ${count} inputs per target, budget ${budget} s per target, ${targets.length} targets${withC ? ` + ${C_TARGET}` : ''}, ${Math.min(jobs, targets.length)} worker(s)`);
  const started = Date.now();
  const all: FuzzStats[] = [];
  let failed = 0;
  const report = (s: FuzzStats): void => {
    all.push(s);
    console.log(line(s));
    for (const f of s.failures) {
      failed++;
      console.log(`  FAIL ${f.target} seed ${f.seed} index ${f.index} (${f.source}): ${f.error}\n    input ${f.hex}\n    replay: WEFT_FUZZ_TARGET=${f.target} WEFT_FUZZ_SEED=${f.seed} WEFT_FUZZ_INDEX=${f.index} node dist/fuzz/main.js`);
    }
  };
  if (targets.length === 0) {
    // only the C target
  } else if (jobs > 1 && targets.length > 1) {
    await runParallel(targets, report);
    // once more in report order, for the record
    const order = targets.map((t) => t.name);
    all.sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target));
    console.log('fuzz: all targets, in report order:');
    for (const s of all) console.log(line(s));
  } else {
    for (const t of targets) report(await runTarget(t, { count, seed, budgetSeconds: budget }));
  }
  cleanupIpamScratch();
  if (withC) {
    const r = runCJsonFuzzer(buildCJsonFuzzer(), seed, count, 3_600_000);
    const ok = r.status === 0 && r.signal === null && !SANITIZER_REPORT.test(r.output) && r.summary !== null;
    console.log(`${C_TARGET.padEnd(20)} ${r.summary ?? '(no summary)'} in ${r.seconds.toFixed(1)} s, ${Math.round(count / Math.max(r.seconds, 1e-9))}/s (native/cni_json.c under ASan+UBSan)`);
    if (!ok) {
      failed++;
      console.log(`  FAIL ${C_TARGET} seed ${seed}: exit ${r.status} signal ${r.signal}\n${r.output.slice(-4000)}\n    replay: build/asan/cni_json_fuzz ${seed} ${count}`);
    }
  }
  if (process.env.WEFT_FUZZ_JSON) writeFileSync(process.env.WEFT_FUZZ_JSON, `${JSON.stringify(all, null, 2)}\n`);
  const total = all.reduce((n, s) => n + s.inputs, 0) + (withC ? count : 0);
  const wall = (Date.now() - started) / 1000;
  console.log(`fuzz: ${total} inputs in ${wall.toFixed(0)} s wall, ${failed === 0 ? 'no failures' : `${failed} FAILURES`} (seed ${seed})`);
  process.exit(failed === 0 ? 0 : 1);
}

await main();
