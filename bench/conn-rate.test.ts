import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../src/common/index.js';
import { parseConnLoop } from './conn-rate.js';

test('parseConnLoop: counts, seconds and the rate', () => {
  const r = parseConnLoop('30000 2 3.001\n', 4);
  assert.equal(r.connections, 30000);
  assert.equal(r.errors, 2);
  assert.equal(r.seconds, 3.001);
  assert.ok(Math.abs(r.perSecond - 30000 / 3.001) < 1e-9);
  assert.equal(r.threads, 4);
});

test('parseConnLoop: anything else is WEFT_ERR_DECODE', () => {
  for (const bad of ['', 'usage: conn-loop …', '1 2', '5 0 0.000']) {
    assert.throws(() => parseConnLoop(bad, 1), (e: unknown) => isWeftError(e, 'WEFT_ERR_DECODE'), bad);
  }
});
