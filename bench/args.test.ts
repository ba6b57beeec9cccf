import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../src/common/index.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBenchArgs } from './args.js';
import { defaultScenarios } from './scenarios/index.js';
import { parseFastdKeys } from './scenarios/fastd.js';

test('parseBenchArgs: defaults, lists, = and space forms', () => {
  assert.deepEqual(parseBenchArgs([]), { only: [], help: false });
  const a = parseBenchArgs(['--only', 'raw-veth,tinc', '--only=nebula', '--duration', '3', '--rounds=2', '--json', '/tmp/x.json']);
  assert.deepEqual(a, { only: ['raw-veth', 'tinc', 'nebula'], durationS: 3, rounds: 2, jsonFile: '/tmp/x.json', help: false });
  assert.equal(parseBenchArgs(['-h']).help, true);
  assert.equal(parseBenchArgs(['--quiet-wait', '30']).quietWaitS, 30);
  assert.equal(parseBenchArgs(['--quiet-wait=0']).quietWaitS, 0);
  assert.equal(parseBenchArgs(['--baseline-build', '/tmp/before']).baselineBuild, '/tmp/before');
});

test('defaultScenarios: a baseline build adds its weft rows as NAME@base; a missing build is refused', () => {
  const names = defaultScenarios().map((s) => s.name);
  assert.ok(names.includes('weft-sleeve') && !names.some((n) => n.endsWith('@base')));
  const dir = mkdtempSync(join(tmpdir(), 'weft-base-'));
  try {
    assert.throws(() => defaultScenarios(dir), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
    mkdirSync(join(dir, 'dist', 'cmd'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'cmd', 'weft.js'), '');
    const withBase = defaultScenarios(dir).map((s) => s.name);
    for (const n of ['weft-sleeve', 'weft-vxlan', 'weft-hostgw']) assert.ok(withBase.includes(n) && withBase.includes(`${n}@base`), n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseBenchArgs: bad input is WEFT_ERR_BAD_ARGS', () => {
  const bad = (argv: string[]): void =>
    assert.throws(() => parseBenchArgs(argv), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), argv.join(' '));
  bad(['--duration']);
  bad(['--duration', 'abc']);
  bad(['--duration', '0']);
  bad(['--duration', '9999']);
  bad(['--rounds', '1.5']);
  bad(['--json', '--only']);
  bad(['--frobnicate']);
  bad(['--quiet-wait', '-1']);
});

test('parseFastdKeys: reads the Secret/Public pair', () => {
  const s = 'd0'.repeat(32);
  const p = 'da'.repeat(32);
  assert.deepEqual(parseFastdKeys(`Secret: ${s}\nPublic: ${p}\n`), { secret: s, pub: p });
  assert.throws(() => parseFastdKeys('Public: xx\n'), (e: unknown) => isWeftError(e, 'WEFT_ERR_DECODE'));
});
