/**
 * The C JSON parser of the weft-net front end (native/cni_json.c) under AddressSanitizer and
 * UndefinedBehaviorSanitizer: builds fuzz/native/cni_json_fuzz.c with it into
 * build/asan/cni_json_fuzz (rebuilt when a source is newer) and runs it for a seed and a count.
 * Used by the sanitizer job (native-asan.test.ts, a bounded count) and by `npm run fuzz`
 * (10^6 inputs). Needs gcc with libasan (g++ in scripts/setup-system.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'build', 'asan', 'cni_json_fuzz');
const SOURCES = ['fuzz/native/cni_json_fuzz.c', 'native/cni_json.c'].map((s) => join(ROOT, s));
const HEADERS = [join(ROOT, 'native', 'cni_json.h')];

/** Sanitizer options: stop at the first report, with an exit code of its own. */
export const SANITIZER_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1:exitcode=86',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1:exitcode=87',
};

/** A sanitizer's report in a process's output. */
export const SANITIZER_REPORT = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer/;

/** Build the harness (when missing or older than a source); returns its path, or throws with gcc's output. */
export function buildCJsonFuzzer(): string {
  if (existsSync(BIN) && [...SOURCES, ...HEADERS].every((s) => statSync(s).mtimeMs < statSync(BIN).mtimeMs)) return BIN;
  mkdirSync(join(ROOT, 'build', 'asan'), { recursive: true });
  const r = spawnSync('gcc', ['-std=gnu11', '-O1', '-g', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined',
    '-Wall', '-Wextra', '-Werror', ...SOURCES, '-o', BIN], { encoding: 'utf8' });
  if (r.error) throw new Error(`gcc not found (install g++: scripts/setup-system.sh): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`sanitizer build of cni_json_fuzz failed:\n${r.stderr}`);
  return BIN;
}

export interface CJsonRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** The summary line (`cni_json_fuzz: seed S, N inputs: …`), or null when the run did not get there. */
  summary: string | null;
  seconds: number;
}

/** Run `count` inputs of `seed` (bounded by `timeoutMs`). */
export function runCJsonFuzzer(bin: string, seed: number, count: number, timeoutMs: number): CJsonRun {
  const t0 = Date.now();
  const r = spawnSync(bin, [String(seed), String(count)], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...SANITIZER_ENV }, maxBuffer: 16 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return { status: r.status, signal: r.signal, output, summary: /cni_json_fuzz: seed .*/.exec(r.stdout ?? '')?.[0] ?? null, seconds: (Date.now() - t0) / 1000 };
}
