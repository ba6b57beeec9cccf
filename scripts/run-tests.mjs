#!/usr/bin/env node
// Runs every compiled test file with node:test. `run-tests.mjs unit` runs only tests that
// need no root and no network namespaces (unit tests next to the code in src/**, bench/** and fuzz/**);
// without an argument, integration tests under test/ run too. Files run one at a time
// (--test-concurrency=1): integration tests build namespaces and must not compete for the
// 2 cores. `run-tests.mjs MODE NAME` runs only the files whose path contains NAME. A run of every
// file (no NAME filter) first runs the linter (`npm run lint`, eslint.config.js): a lint error
// fails the run.
//
// Skips: every skipped test is listed at the end with its reason. A skip without a reason
// fails the run (nobody can act on it). With CI=true any skip fails the run: CI runs as root
// with every tool installed, so a skip there means something is missing or broken.
import { readdirSync, statSync, existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';

const mode = process.argv[2] ?? 'all';
const filter = process.argv[3];
const ci = /^(1|true|yes)$/i.test(process.env.CI ?? '');
function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}
let files = walk('dist/src').concat(walk('dist/bench'), walk('dist/fuzz'));
if (mode !== 'unit') files = files.concat(walk('dist/test'));
if (filter) files = files.filter((f) => f.includes(filter));
files.sort();
if (files.length === 0) { console.error('run-tests: no test files found (did the build run?)'); process.exit(1); }
if (!filter) {
  const lint = spawnSync(process.execPath, ['node_modules/eslint/bin/eslint.js', '.'], { stdio: 'inherit' });
  if (lint.status !== 0) { console.error('run-tests: lint failed (npm run lint); not running the tests'); process.exit(lint.status ?? 1); }
  console.log('run-tests: lint clean');
}

const scratch = mkdtempSync(join(tmpdir(), 'weft-run-tests-'));
const skipsFile = join(scratch, 'skips.jsonl');
const reporter = new URL('./skip-reporter.mjs', import.meta.url).href;
const r = spawnSync(process.execPath, [
  '--test', '--test-concurrency=1',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${reporter}`, `--test-reporter-destination=${skipsFile}`,
  ...files,
], { stdio: 'inherit' });
const skips = existsSync(skipsFile)
  ? readFileSync(skipsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l))
  : [];
rmSync(scratch, { recursive: true, force: true });

let status = r.status ?? 1;
if (skips.length > 0) {
  console.log(`\nrun-tests: ${skips.length} skipped${ci ? ' (CI=true: every skip fails the run)' : ''}:`);
  for (const s of skips) {
    const where = s.file ? relative(process.cwd(), s.file) : '?';
    console.log(`  - ${where}: ${s.name}: ${s.reason ?? 'NO REASON GIVEN (a skip must say what to do to run it)'}`);
  }
  const unexplained = skips.filter((s) => s.reason === null).length;
  if (unexplained > 0) {
    console.log(`run-tests: FAIL: ${unexplained} skip(s) without a reason`);
    if (status === 0) status = 1;
  }
  if (ci) {
    console.log('run-tests: FAIL: tests were skipped under CI');
    if (status === 0) status = 1;
  }
}
process.exit(status);
