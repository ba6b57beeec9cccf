#!/usr/bin/env node
// Runs every compiled test file with node:test. `run-tests.mjs unit` runs only tests that
// need no root and no network namespaces (unit tests next to the code in src/** and bench/**);
// without an argument, integration tests under test/ run too. Files run one at a time
// (--test-concurrency=1): integration tests build namespaces and must not compete for the 2 cores.
// A run of every file (no NAME filter) first runs the linter (`npm run lint`, eslint.config.js):
// a lint error fails the run.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const mode = process.argv[2] ?? 'all';
const filter = process.argv[3];
function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}
let files = walk('dist/src').concat(walk('dist/bench'));
if (mode !== 'unit') files = files.concat(walk('dist/test'));
if (filter) files = files.filter((f) => f.includes(filter));
files.sort();
if (files.length === 0) { console.error('run-tests: no test files found (did the build run?)'); process.exit(1); }
if (!filter) {
  const lint = spawnSync(process.execPath, ['node_modules/eslint/bin/eslint.js', '.'], { stdio: 'inherit' });
  if (lint.status !== 0) { console.error('run-tests: lint failed (npm run lint); not running the tests'); process.exit(lint.status ?? 1); }
  console.log('run-tests: lint clean');
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
