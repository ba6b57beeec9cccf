import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, BACKOFF_RESET_AFTER_MS, WeftError } from '../common/index.js';
import { Backoff, ConnectionTarget } from './backoff.js';

test('first try immediate; failures spread over [0.5, 1.5)·interval; growth capped', () => {
  const b = new Backoff({ random: () => 0.5 });
  assert.equal(b.nextTryAt, 0);
  assert.ok(b.due(0));
  assert.equal(b.failed(1000), 1000 + BACKOFF_INITIAL_MS);
  assert.equal(b.interval, BACKOFF_INITIAL_MS * 1.5);
  assert.equal(b.due(1000 + BACKOFF_INITIAL_MS - 1), false);
  for (let i = 0; i < 40; i++) b.failed(0);
  assert.equal(b.interval, BACKOFF_MAX_MS);
  b.reset();
  assert.equal(b.nextTryAt, 0);
  assert.equal(b.interval, BACKOFF_INITIAL_MS);
});

test('property: delay bounds for any random source', () => {
  fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 30 }), (rs) => {
    let i = 0;
    const b = new Backoff({ random: () => rs[i++ % rs.length]! });
    let now = 0;
    for (let k = 0; k < rs.length; k++) {
      const iv = b.interval;
      const next = b.failed(now);
      assert.ok(next >= now + iv / 2 && next < now + iv * 1.5 + 1e-9);
      assert.ok(b.interval <= BACKOFF_MAX_MS);
      now = next;
    }
  }));
});

test('a long-lived connection resets the schedule; a short one counts as a failure', () => {
  const b = new Backoff({ random: () => 0 });
  b.failed(0);
  b.failed(0);
  b.connected(10_000);
  assert.equal(b.disconnected(10_000 + BACKOFF_RESET_AFTER_MS), 0);
  assert.equal(b.interval, BACKOFF_INITIAL_MS);
  b.connected(0);
  assert.equal(b.disconnected(5), 5 + BACKOFF_INITIAL_MS / 2);
});

test('target state machine: retry, permanent failure for self/collision, manual retry', () => {
  const t = new ConnectionTarget('10.0.0.2:6783', { random: () => 0 });
  assert.equal(t.status, 'waiting');
  assert.ok(t.due(0));
  assert.ok(t.attempt());
  assert.equal(t.attempt(), false);
  assert.equal(t.nextTryAt, -1);
  assert.ok(t.failed(100, new WeftError('WEFT_ERR_TIMEOUT', 'dial timed out')));
  assert.equal(t.status, 'waiting');
  assert.equal(t.lastErrorCode, 'WEFT_ERR_TIMEOUT');
  assert.equal(t.lastError, 'dial timed out (WEFT_ERR_TIMEOUT)');
  assert.equal(t.nextTryAt, 100 + BACKOFF_INITIAL_MS / 2);
  assert.equal(t.due(100), false);
  assert.ok(t.due(100 + BACKOFF_INITIAL_MS / 2));
  t.attempt();
  assert.ok(t.succeeded(2000));
  assert.equal(t.lastError, undefined);
  assert.equal(t.succeeded(2000), false);
  assert.ok(t.disconnected(3000, new Error('reset by peer')));
  assert.equal(t.status, 'waiting');
  assert.equal(t.lastError, 'reset by peer');
  t.attempt();
  t.failed(4000, new WeftError('WEFT_ERR_NAME_COLLISION', 'another live peer uses our name'));
  assert.equal(t.status, 'failed');
  assert.equal(t.nextTryAt, Infinity);
  assert.equal(t.due(1e12), false);
  assert.equal(t.attempt(), false);
  assert.ok(t.retryNow());
  assert.ok(t.due(4001));
  const self = new ConnectionTarget('127.0.0.1:6783');
  self.attempt();
  self.failed(0, new WeftError('WEFT_ERR_SELF', 'connected to ourselves'));
  assert.equal(self.status, 'failed');
});
