import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplayWindow } from './replay-window.js';

test('duplicates, reordering inside the window, too old', () => {
  const w = new ReplayWindow(64);
  assert.equal(w.accept(0), true);
  assert.equal(w.accept(0), false);
  assert.equal(w.accept(5), true);
  assert.equal(w.accept(3), true, 'late but inside the window');
  assert.equal(w.check(3), false);
  assert.equal(w.accept(100), true);
  assert.equal(w.check(36), false, 'exactly one window behind');
  assert.equal(w.accept(37), true);
  assert.equal(w.accept(2 ** 52), true, 'far jump');
  assert.equal(w.accept(2 ** 52 - 1), true);
  assert.equal(w.accept(2 ** 52 - 64), false);
});

test('check never changes state', () => {
  const w = new ReplayWindow(32);
  assert.equal(w.check(9), true);
  assert.equal(w.check(9), true);
  assert.equal(w.top, -1);
});

test('property: matches a reference model (set of seen, highest)', () => {
  const size = 128;
  fc.assert(fc.property(fc.array(fc.oneof(fc.nat(400), fc.nat(5000)), { maxLength: 400 }), (seq) => {
    const w = new ReplayWindow(size);
    const seen = new Set<number>();
    let hi = -1;
    for (const c of seq) {
      const expect = !seen.has(c) && (c > hi || hi - c < size);
      if (w.check(c) !== expect) return false;
      if (w.accept(c) !== expect) return false;
      if (expect) {
        seen.add(c);
        hi = Math.max(hi, c);
      }
    }
    return true;
  }), { numRuns: 500 });
});
