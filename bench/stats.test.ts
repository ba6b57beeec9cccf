import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { difference, median, ratio, roundOrder, spread } from './stats.js';

test('median: odd, even, unsorted, empty, non-finite skipped', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
  assert.equal(median([NaN, 5]), 5);
});

test('median lies within min..max (property)', () => {
  fc.assert(fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1 }), (xs) => {
    const m = median(xs)!;
    return m >= Math.min(...xs) && m <= Math.max(...xs);
  }));
});

test('spread: skips null/undefined, reports n, null when empty', () => {
  assert.deepEqual(spread([10, null, 30, undefined, 20]), { median: 20, min: 10, max: 30, n: 3 });
  assert.equal(spread([null, undefined]), null);
});

test('ratio and difference: null-safe', () => {
  assert.equal(ratio(50, 200), 0.25);
  assert.equal(ratio(50, 0), null);
  assert.equal(ratio(null, 5), null);
  assert.equal(ratio(5, undefined), null);
  assert.equal(difference(0.5, 0.2)?.toFixed(3), '0.300');
  assert.equal(difference(0.5, null), null);
});

test('roundOrder: rotation by round, every item exactly once', () => {
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
  assert.deepEqual(roundOrder([], 3), []);
  fc.assert(fc.property(fc.array(fc.integer()), fc.nat(100), (xs, r) =>
    JSON.stringify([...roundOrder(xs, r)].sort()) === JSON.stringify([...xs].sort())));
});
