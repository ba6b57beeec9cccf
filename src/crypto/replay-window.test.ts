import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { REPLAY_WINDOW_PACKETS, isWeftError } from '../common/index.js';
import { ReplayWindow } from './index.js';

/** Reference model: the set of accepted counters and the highest one. */
class Model {
  private readonly seen = new Set<number>();
  private highest = -1;
  constructor(private readonly size: number) {}
  accept(c: number): boolean {
    if (!Number.isSafeInteger(c) || c < 0) return false;
    if (this.seen.has(c)) return false;
    if (c <= this.highest && this.highest - c >= this.size) return false;
    this.seen.add(c);
    if (c > this.highest) this.highest = c;
    return true;
  }
}

/** Counter sequences: steps forward (small and huge), backwards (inside/outside), exact repeats. */
function sequence(size: number, start: number): fc.Arbitrary<number[]> {
  const step = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 3, arbitrary: fc.integer({ min: -size - 40, max: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, size - 1, size, size + 1, -size + 1, -size, -size - 1, 31, 32, 33, -31, -32, -33) },
    { weight: 1, arbitrary: fc.integer({ min: size, max: 50 * size }) },
  );
  return fc.array(step, { minLength: 1, maxLength: 400 }).map((steps) => {
    const out: number[] = [];
    let c = start;
    for (const s of steps) {
      c = Math.max(0, c + s);
      out.push(c);
    }
    return out;
  });
}

for (const size of [32, 64, 256, REPLAY_WINDOW_PACKETS]) {
  test(`matches the reference model (window ${size})`, () => {
    fc.assert(fc.property(sequence(size, 0), (seq) => {
      const w = new ReplayWindow(size);
      const m = new Model(size);
      for (const c of seq) {
        const expected = m.accept(c);
        assert.equal(w.check(c), expected, `check(${c})`);
        assert.equal(w.accept(c), expected, `accept(${c})`);
        assert.equal(w.check(c), false, `seen ${c}`);
      }
    }), { numRuns: size === REPLAY_WINDOW_PACKETS ? 200 : 400 });
  });
}

test('matches the reference model near 2^53', () => {
  const size = 64;
  const start = Number.MAX_SAFE_INTEGER - 5000;
  fc.assert(fc.property(sequence(size, start), (seq) => {
    const w = new ReplayWindow(size);
    const m = new Model(size);
    for (const raw of seq) {
      const c = Math.min(raw, Number.MAX_SAFE_INTEGER);
      assert.equal(w.accept(c), m.accept(c), `accept(${c})`);
    }
  }), { numRuns: 200 });
});

test('edge cases: window boundary, reset, invalid counters', () => {
  const w = new ReplayWindow(64);
  assert.ok(w.accept(100));
  assert.ok(w.check(37), 'exactly size-1 behind is inside');
  assert.ok(!w.check(36), 'size behind is too old');
  assert.ok(w.accept(37));
  assert.ok(!w.accept(37), 'duplicate');
  assert.ok(w.accept(100 + 64 * 10), 'far jump');
  assert.ok(!w.check(100 + 1), 'everything before the jump is too old now');
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, 2 ** 64]) {
    assert.ok(!w.check(bad), String(bad));
    assert.ok(!w.accept(bad), String(bad));
  }
  assert.equal(w.highestAccepted, 740);
  w.reset();
  assert.equal(w.highestAccepted, -1);
  assert.ok(w.accept(0));
  assert.throws(() => new ReplayWindow(33), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
});

test('every counter of a reordered block is accepted once', () => {
  const w = new ReplayWindow();
  const order = Array.from({ length: 5000 }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let accepted = 0;
  for (const c of order) if (w.accept(c)) accepted++;
  for (const c of order) assert.ok(!w.accept(c));
  assert.equal(accepted, 5000);
});
