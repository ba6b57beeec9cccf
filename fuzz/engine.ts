/**
 * The fuzz engine: runs one target over N inputs and reports what happened.
 *
 * Each input is, by a seeded draw: a valid message from the target's generator (through the real
 * encoder; it must decode and round-trip), a mutated valid message (bit flips, insertions,
 * boundary integers, truncation, splicing…; see mutate.ts), or a buffer of random bytes. The
 * property: the decoder returns a value, or throws a WeftError whose code is one of the
 * target's contract codes — never another exception — and no input takes longer than
 * `slowMs` (re-run once to tell a GC pause from a slow path). Input `i` of seed `s` is drawn from
 * its own generator seeded by (s, target, i), so any input is reproduced by its seed and index
 * alone; failures also carry the input's hex.
 */
import { isWeftError, type WeftErrorCode } from '../src/common/index.js';
import { mutate } from './mutate.js';
import { Rng, hashString, mix32 } from './rng.js';

/** How a target's decoder may answer one input. `void` counts as "accepted". */
export type Verdict = void | 'accepted' | 'ignored';

/**
 * One decoder under test. `valid` builds a well-formed input with the real encoder;
 * `run` decodes `input` and, when `isValid`, checks the round trip (throwing anything but a
 * contract WeftError is a failure, so assertions may be used). Targets are stateless between
 * inputs, or rebuild their state per input.
 */
export interface FuzzTarget {
  readonly name: string;
  /** What is fuzzed: file and function. */
  readonly decoder: string;
  /** Error codes the decoder's contract allows for bad input. */
  readonly codes: readonly WeftErrorCode[];
  valid(rng: Rng): Buffer;
  run(input: Buffer, isValid: boolean): Verdict | Promise<Verdict>;
  /**
   * Structure-aware bad input (optional): e.g. a JSON document with a field of the wrong type,
   * re-framed with a good checksum. Used for 40% of the mutated inputs when present.
   */
  structured?(rng: Rng): Buffer;
  /** Largest random buffer to try. bytes (default 512) */
  readonly maxRandomBytes?: number;
  /** Shares of valid / random inputs (the rest are mutated valid ones). Defaults 0.15 / 0.1. */
  readonly validShare?: number;
  readonly randomShare?: number;
}

/** One input that broke the property. */
export interface FuzzFailure {
  target: string;
  seed: number;
  index: number;
  source: InputSource;
  /** Why: the unexpected exception, a rejected valid input, a failed round trip, or too slow. */
  error: string;
  /** The input, hex (cut at 64 KiB; reproduce from seed and index). */
  hex: string;
}

export type InputSource = 'valid' | 'mutated' | 'random';

export interface FuzzStats {
  target: string;
  decoder: string;
  seed: number;
  inputs: number;
  seconds: number;
  /** Outcomes: 'accepted', 'ignored' and one entry per WeftError code. */
  outcomes: Record<string, number>;
  bySource: Record<InputSource, number>;
  slowest: { ms: number; index: number; bytes: number; source: InputSource; hexPrefix: string };
  failures: FuzzFailure[];
  /** True when the time budget ended the run before `count` inputs. */
  stoppedByBudget: boolean;
}

export interface RunOptions {
  count: number;
  seed: number;
  /** Stop after this many seconds even if `count` is not reached. */
  budgetSeconds?: number;
  /** An input slower than this (twice) is a failure. ms (default 250) */
  slowMs?: number;
  /** Keep at most this many failures (the run goes on counting). default 20 */
  maxFailures?: number;
}

const HEX_LIMIT = 64 * 1024;

/** The generator of input `index` of `target` for `seed`. */
export function inputRng(seed: number, target: string, index: number): Rng {
  return new Rng(mix32(seed ^ hashString(target)) ^ mix32(index));
}

/** Draw input `index` (deterministic in seed, target and index). */
export function drawInput(t: FuzzTarget, seed: number, index: number): { input: Buffer; source: InputSource } {
  const rng = inputRng(seed, t.name, index);
  const r = rng.u32() / 0x1_0000_0000;
  const validShare = t.validShare ?? 0.15;
  const randomShare = t.randomShare ?? 0.1;
  if (r < validShare) return { input: t.valid(rng), source: 'valid' };
  if (r < validShare + randomShare) return { input: rng.bytes(rng.smallLength(t.maxRandomBytes ?? 512)), source: 'random' };
  if (t.structured && rng.chance(0.4)) return { input: t.structured(rng), source: 'mutated' };
  const a = t.valid(rng);
  const b = rng.chance(0.3) ? t.valid(rng) : a;
  return { input: mutate(rng, a, b), source: 'mutated' };
}

function describe(e: unknown): string {
  if (isWeftError(e)) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}${e.stack ? ` @ ${e.stack.split('\n').slice(1, 4).map((l) => l.trim()).join(' ← ')}` : ''}`;
  return `non-error thrown: ${String(e)}`;
}

/** Run one input; returns the outcome label, or a failure description. */
export async function runOne(t: FuzzTarget, input: Buffer, isValid: boolean): Promise<{ outcome: string } | { failure: string }> {
  try {
    let v = t.run(input, isValid);
    if (v instanceof Promise) v = await v;
    return { outcome: v === 'ignored' ? 'ignored' : 'accepted' };
  } catch (e) {
    if (isValid) return { failure: `valid input rejected: ${describe(e)}` };
    if (isWeftError(e) && t.codes.includes(e.code)) return { outcome: e.code };
    return { failure: `unexpected exception: ${describe(e)}` };
  }
}

/** Fuzz `t` with `opts.count` inputs (or until the budget runs out). */
export async function runTarget(t: FuzzTarget, opts: RunOptions): Promise<FuzzStats> {
  const slowMs = opts.slowMs ?? 250;
  const maxFailures = opts.maxFailures ?? 20;
  const deadline = opts.budgetSeconds === undefined ? Infinity : Date.now() + opts.budgetSeconds * 1000;
  const stats: FuzzStats = {
    target: t.name, decoder: t.decoder, seed: opts.seed, inputs: 0, seconds: 0, outcomes: {},
    bySource: { valid: 0, mutated: 0, random: 0 },
    slowest: { ms: 0, index: -1, bytes: 0, source: 'valid', hexPrefix: '' },
    failures: [], stoppedByBudget: false,
  };
  const fail = (index: number, source: InputSource, input: Buffer, error: string): void => {
    if (stats.failures.length < maxFailures) {
      stats.failures.push({ target: t.name, seed: opts.seed, index, source, error, hex: input.subarray(0, HEX_LIMIT).toString('hex') });
    }
    stats.outcomes.FAILURE = (stats.outcomes.FAILURE ?? 0) + 1;
  };
  // Stack traces are most of the cost of a thrown WeftError: capture none while fuzzing, and
  // re-run a failing input with them to describe it.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const explain = async (input: Buffer, isValid: boolean, first: string): Promise<string> => {
    Error.stackTraceLimit = stackLimit;
    try {
      const again = await runOne(t, input, isValid);
      return 'failure' in again ? again.failure : `${first} (passed when re-run: state leaks between inputs)`;
    } finally {
      Error.stackTraceLimit = 0;
    }
  };
  const started = process.hrtime.bigint();
  try {
  for (let i = 0; i < opts.count; i++) {
    if ((i & 1023) === 0 && i > 0 && Date.now() > deadline) {
      stats.stoppedByBudget = true;
      break;
    }
    let drawn: { input: Buffer; source: InputSource };
    try {
      drawn = drawInput(t, opts.seed, i);
    } catch (e) {
      fail(i, 'valid', Buffer.alloc(0), `generator failed: ${describe(e)}`);
      stats.inputs++;
      continue;
    }
    const { input, source } = drawn;
    stats.bySource[source]++;
    stats.inputs++;
    const t0 = process.hrtime.bigint();
    const r = await runOne(t, input, source === 'valid');
    let ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms > slowMs) {
      // once more: a GC pause or a JIT deopt is not the input's fault
      const t1 = process.hrtime.bigint();
      await runOne(t, input, source === 'valid');
      ms = Math.min(ms, Number(process.hrtime.bigint() - t1) / 1e6);
      if (ms > slowMs) fail(i, source, input, `too slow: ${ms.toFixed(1)} ms (limit ${slowMs} ms)`);
    }
    if (ms > stats.slowest.ms) {
      stats.slowest = { ms, index: i, bytes: input.length, source, hexPrefix: input.subarray(0, 32).toString('hex') };
    }
    if ('failure' in r) fail(i, source, input, await explain(input, source === 'valid', r.failure));
    else stats.outcomes[r.outcome] = (stats.outcomes[r.outcome] ?? 0) + 1;
  }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  stats.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return stats;
}
