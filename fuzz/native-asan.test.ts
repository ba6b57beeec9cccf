/**
 * The native addon under AddressSanitizer and UndefinedBehaviorSanitizer. Builds native/*.c
 * (the weft_dp sources of binding.gyp) with gcc -fsanitize=address,undefined into
 * build/asan/weft_dp.node, then runs one Node process with libasan preloaded (a Node addon
 * cannot bring the ASan runtime itself) that fuzzes the argument checks of every exported
 * function and runs the addon's unit tests against that build (native-asan-child.ts). Leak
 * detection is off: Node itself does not free everything at exit. Any sanitizer report, a
 * crash, or a failing test fails this test. Needs gcc with libasan (g++ in setup-system.sh).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { SANITIZER_REPORT, buildCJsonFuzzer, runCJsonFuzzer } from './native-cjson.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT_DIR = join(ROOT, 'build', 'asan');
const ADDON = join(OUT_DIR, 'weft_dp.node');
const NODE_INCLUDE = join(process.execPath, '..', '..', 'include', 'node');
/** The addon's unit tests (compiled), run again against the sanitizer build. */
const ADDON_TESTS = ['src/host/native-addon.test.js', 'src/dataplane/native.test.js', 'src/dataplane/native-gso.test.js', 'src/dataplane/native-gro.test.js']
  .map((f) => new URL(`../${f}`, import.meta.url).href);

/** The weft_dp target's sources, from binding.gyp. */
function sources(): string[] {
  const gyp = JSON.parse(readFileSync(join(ROOT, 'binding.gyp'), 'utf8')) as { targets: { target_name: string; sources: string[] }[] };
  const t = gyp.targets.find((x) => x.target_name === 'weft_dp');
  assert.ok(t, 'binding.gyp has no weft_dp target');
  return t.sources.map((s) => join(ROOT, s));
}

function libasan(): string {
  const r = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `gcc not found (install g++: scripts/setup-system.sh): ${r.stderr}`);
  const p = r.stdout.trim();
  assert.ok(p.startsWith('/') && existsSync(p), `libasan.so not found (gcc says "${p}"); install g++ (libasan comes with it)`);
  return p;
}

/** Build when missing or older than a source. */
function build(): void {
  const srcs = sources();
  const headers = ['native/weft_dp.h', 'native/udp_internal.h'].map((h) => join(ROOT, h)).filter(existsSync);
  if (existsSync(ADDON) && [...srcs, ...headers].every((s) => statSync(s).mtimeMs < statSync(ADDON).mtimeMs)) return;
  mkdirSync(OUT_DIR, { recursive: true });
  assert.ok(existsSync(join(NODE_INCLUDE, 'node_api.h')), `Node headers not found at ${NODE_INCLUDE}`);
  const r = spawnSync('gcc', [
    '-shared', '-fPIC', '-pthread', '-std=gnu11', '-D_GNU_SOURCE', '-DBUILDING_NODE_EXTENSION', '-DNODE_GYP_MODULE_NAME=weft_dp',
    '-O1', '-g', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined',
    '-Wall', '-Wextra', '-Wno-unused-parameter', `-I${NODE_INCLUDE}`, ...srcs, '-o', ADDON,
  ], { encoding: 'utf8' });
  assert.equal(r.status, 0, `sanitizer build failed:\n${r.stderr}`);
}

test('native addon under ASan+UBSan: argument fuzz and the addon tests, no sanitizer report', { timeout: 180_000 }, () => {
  const asan = libasan();
  build();
  const child = new URL('./native-asan-child.js', import.meta.url);
  // not a child of this test runner: the imported tests report on their own (TAP summary)
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, [fileURLToPath(child), ADDON, ...ADDON_TESTS], {
    encoding: 'utf8',
    timeout: 150_000,
    env: {
      ...env,
      LD_PRELOAD: asan,
      ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:exitcode=86:allow_user_segv_handler=1',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1:exitcode=87',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.doesNotMatch(out, /ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer/, out.slice(-4000));
  assert.equal(r.signal, null, `child killed by ${r.signal}:\n${out.slice(-4000)}`);
  assert.equal(r.status, 0, `child exited ${r.status}:\n${out.slice(-4000)}`);
  assert.match(r.stdout, /native-asan: \d+ fuzzed calls/);
  // the imported unit tests ran (node:test's summary) and none failed
  assert.match(r.stdout, /# pass [1-9]/, r.stdout.slice(-2000));
  assert.match(r.stdout, /# fail 0/);
});

/** Inputs of the C JSON harness per run of this test (npm run fuzz runs 10^6). */
const CJSON_COUNT = Number(process.env.WEFT_FUZZ_CJSON_COUNT ?? 100_000);
const CJSON_SEED = Number(process.env.WEFT_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

test(`weft-net's C JSON parser (native/cni_json.c) under ASan+UBSan: ${CJSON_COUNT} fuzzed inputs, no sanitizer report (seed ${CJSON_SEED})`, { timeout: 120_000 }, () => {
  const bin = buildCJsonFuzzer();
  const r = runCJsonFuzzer(bin, CJSON_SEED, CJSON_COUNT, 100_000);
  assert.doesNotMatch(r.output, SANITIZER_REPORT, r.output.slice(-4000));
  assert.equal(r.signal, null, `killed by ${r.signal}:\n${r.output.slice(-4000)}`);
  assert.equal(r.status, 0, `exited ${r.status}:\n${r.output.slice(-4000)}`);
  // the run reached its end and the inputs reached every outcome of scan_doc
  assert.match(r.summary ?? '', new RegExp(`${CJSON_COUNT} inputs: object=[1-9]\\d* invalid=[1-9]\\d* not-object=[1-9]\\d* unsure=[1-9]\\d*, 0 failures`), r.output.slice(-2000));
});
