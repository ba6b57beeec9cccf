import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PmtuSearch } from './pmtu.js';

/** Drive a search against a path that delivers probes up to `truth` bytes. */
function run(candidate: number, truth: number, maxProbes = 16): { result: number; probes: number } {
  const s = new PmtuSearch(candidate, 552, maxProbes, 100);
  let now = 0;
  let probes = 0;
  for (let guard = 0; guard < 200 && !s.done; guard++) {
    const p = s.poll(now);
    if (p) {
      probes++;
      if (p.size <= truth) s.ack(p.id, p.size);
    } else {
      now += 250;
    }
  }
  assert.equal(s.done, true);
  return { result: s.limit, probes };
}

test('a correct kernel estimate is verified with one probe', () => {
  assert.deepEqual(run(1500, 1500), { result: 1500, probes: 1 });
});

test('a smaller path is found exactly within the probe budget', () => {
  assert.equal(run(1500, 1200).result, 1200);
  assert.equal(run(9000, 1500, 40).result, 1500);
  // With the default budget of 16 (lost probes cost two tries) a wide search ends close below.
  const r = run(9000, 1500).result;
  assert.ok(r <= 1500 && r >= 1480, `got ${r}`);
});

test('nothing gets through: settles on the 552 floor', () => {
  assert.equal(run(1500, 100).result, 552);
});

test('property: result is the largest deliverable size when the budget suffices, never above truth', () => {
  fc.assert(fc.property(fc.integer({ min: 600, max: 9000 }), fc.integer({ min: 552, max: 9000 }), (cand, truth) => {
    const { result, probes } = run(cand, truth, 40);
    assert.ok(probes <= 40);
    assert.equal(result, Math.min(cand, truth));
    return true;
  }), { numRuns: 200 });
});

test('bounded probes: result never exceeds a verified size', () => {
  const { result, probes } = run(9000, 1234, 6);
  assert.ok(probes <= 6);
  assert.ok(result <= 1234 && result >= 552);
});

test('a lost first try is retried with the same id; a late ack counts', () => {
  const s = new PmtuSearch(1500, 552, 16, 100);
  const p1 = s.poll(0)!;
  assert.equal(s.poll(50), null, 'still waiting');
  const p2 = s.poll(100)!;
  assert.deepEqual(p2, p1, 'second try, same id and size');
  assert.equal(s.ack(p1.id, 1500), true);
  assert.equal(s.done, true);
  assert.equal(s.limit, 1500);
});

test('EMSGSIZE marks the size too big at once', () => {
  const s = new PmtuSearch(1500, 552, 16, 100);
  const p = s.poll(0)!;
  s.tooBig(p.size);
  const q = s.poll(0)!;
  assert.ok(q.size < 1500);
  assert.equal(s.ack(p.id, p.size), false, 'stale ack ignored');
});
