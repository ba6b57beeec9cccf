import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lifecycle, type Startable } from './lifecycle.js';
import { WeftError } from './errors.js';

/** A component that records its calls into a shared journal; `fail` makes one call throw. */
function part(name: string, journal: string[], fail: { start?: boolean; stop?: boolean; async?: boolean } = {}): Startable {
  return {
    start: async () => {
      journal.push(`start ${name}`);
      if (fail.async) await new Promise((r) => setImmediate(r));
      if (fail.start) throw new Error(`${name} refused to start`);
    },
    stop: () => {
      journal.push(`stop ${name}`);
      if (fail.stop) throw new Error(`${name} refused to stop`);
    },
  };
}

test('starts in order, stops in reverse order, skips absent parts', async () => {
  const j: string[] = [];
  const lc = new Lifecycle(() => assert.fail('no stop errors expected'));
  lc.add('a', part('a', j)).add('off', null).add('b', part('b', j)).add('c', part('c', j));
  assert.deepEqual(lc.names, ['a', 'b', 'c']);
  await lc.start();
  assert.deepEqual(j, ['start a', 'start b', 'start c']);
  await lc.stop();
  assert.deepEqual(j.slice(3), ['stop c', 'stop b', 'stop a']);
});

test('a failed start stops the started parts and the failed one in reverse, never touches the rest, and rethrows', async () => {
  const j: string[] = [];
  const lc = new Lifecycle(() => assert.fail('no stop errors expected'));
  lc.add('a', part('a', j)).add('b', part('b', j)).add('c', part('c', j, { start: true, async: true })).add('d', part('d', j));
  await assert.rejects(lc.start(), /c refused to start/);
  assert.deepEqual(j, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  await lc.stop(); // already stopped: nothing more
  assert.equal(j.length, 6);
});

test('stop is idempotent, runs once even when called concurrently, and logs each stop error without skipping the others', async () => {
  const j: string[] = [];
  const errors: string[] = [];
  const lc = new Lifecycle((name, e) => errors.push(`${name}: ${(e as Error).message}`));
  lc.add('a', part('a', j)).add('b', part('b', j, { stop: true })).add('c', part('c', j));
  await lc.start();
  const [p1, p2] = [lc.stop(), lc.stop()];
  assert.equal(p1, p2);
  await p1;
  await lc.stop();
  assert.deepEqual(j.slice(3), ['stop c', 'stop b', 'stop a']);
  assert.deepEqual(errors, ['b: b refused to stop']);
});

test('stop during start stops what was started and the pending start rejects with WEFT_ERR_CLOSED', async () => {
  const j: string[] = [];
  const lc = new Lifecycle(() => undefined);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  lc.add('a', part('a', j)).add('slow', {
    start: async () => { j.push('start slow'); await gate; },
    stop: () => { j.push('stop slow'); },
  }).add('c', part('c', j));
  const starting = lc.start();
  while (!j.includes('start slow')) await new Promise((r) => setImmediate(r));
  const stopping = lc.stop();
  release();
  await assert.rejects(starting, (e: unknown) => e instanceof WeftError && e.code === 'WEFT_ERR_CLOSED');
  await stopping;
  assert.deepEqual(j, ['start a', 'start slow', 'stop slow', 'stop a']);
});

test('start twice, or add after start, is refused with WEFT_ERR_CLOSED', async () => {
  const lc = new Lifecycle(() => undefined);
  lc.add('a', part('a', []));
  await lc.start();
  await assert.rejects(lc.start(), (e: unknown) => e instanceof WeftError && e.code === 'WEFT_ERR_CLOSED');
  assert.throws(() => lc.add('b', part('b', [])), (e: unknown) => e instanceof WeftError && e.code === 'WEFT_ERR_CLOSED');
  await lc.stop();
});
