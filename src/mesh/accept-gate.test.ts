import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcceptGate, acceptSourceKey, type AcceptLimits } from './accept-gate.js';
import { DEFAULT_ACCEPT_LIMITS } from './router.js';

const LIMITS: AcceptLimits = {
  maxPending: 6, burst: 5, ratePerS: 10, maxPendingPerSource: 3, burstPerSource: 3, ratePerSourcePerS: 1,
  quietBurst: 1, quietRatePerS: 1, maxSources: 4,
};

function gate(l: Partial<AcceptLimits> = {}) {
  const clock = { t: 1_000 };
  return { clock, g: new AcceptGate<string>({ ...LIMITS, ...l }, () => clock.t) };
}

test('global accept rate: burst, then refill at ratePerS (refusals by the source limits take no global token)', () => {
  const { clock, g } = gate({ maxPending: 1000, maxPendingPerSource: 1000, burstPerSource: 1000, ratePerSourcePerS: 1000, quietBurst: 0, quietRatePerS: 0 });
  let ok = 0;
  for (let i = 0; i < 100; i++) if (g.admit('10.0.0.1', () => `c${i}`).ok) ok++;
  assert.equal(ok, 5, 'burst');
  clock.t += 1_000; // 10 tokens back, capped at the burst of 5
  ok = 0;
  for (let i = 0; i < 100; i++) if (g.admit('10.0.0.1', () => `d${i}`).ok) ok++;
  assert.equal(ok, 5);
  clock.t += 300; // 3 tokens
  ok = 0;
  for (let i = 0; i < 100; i++) if (g.admit('10.0.0.1', () => `e${i}`).ok) ok++;
  assert.equal(ok, 3);
  assert.deepEqual(g.admit('10.0.0.1', () => 'x'), { ok: false, reason: 'rate_limited' });
});

test('per-source rate: a flooding address is held to its own bucket, others are untouched', () => {
  const { clock, g } = gate({ maxPending: 100, maxPendingPerSource: 100, burst: 100, ratePerS: 100 });
  const verdicts = Array.from({ length: 10 }, (_, i) => g.admit('10.0.0.1', () => `a${i}`));
  assert.equal(verdicts.filter((v) => v.ok).length, 3);
  assert.deepEqual(verdicts.at(-1), { ok: false, reason: 'source_rate_limited' });
  assert.equal(g.admit('10.0.0.2', () => 'b').ok, true, 'another address still gets in');
  clock.t += 1_000;
  assert.equal(g.admit('10.0.0.1', () => 'a-later').ok, true, 'one token per second back');
  assert.equal(g.admit('10.0.0.1', () => 'a-later2').ok, false);
});

test('pending cap per source and overall; release frees a slot', () => {
  const { clock, g } = gate({ burstPerSource: 10, ratePerSourcePerS: 100, burst: 100, ratePerS: 100 });
  for (let i = 0; i < 3; i++) assert.equal(g.admit('10.0.0.1', () => `a${i}`).ok, true);
  assert.deepEqual(g.admit('10.0.0.1', () => 'a3'), { ok: false, reason: 'source_pending_full' });
  for (let i = 0; i < 3; i++) assert.equal(g.admit('10.0.0.2', () => `b${i}`).ok, true);
  assert.equal(g.pending, 6);
  // At the cap: a source holding as many as the busiest cannot evict anyone.
  assert.deepEqual(g.admit('10.0.0.2', () => 'b3'), { ok: false, reason: 'source_pending_full' });
  g.release('a0');
  g.release('a0');
  assert.equal(g.pending, 5);
  assert.equal(g.admit('10.0.0.2', () => 'b3').ok, false, 'still at its own cap');
  clock.t += 10;
  assert.equal(g.admit('10.0.0.1', () => 'a4').ok, true, 'released slot reused');
  assert.equal(g.pendingOf('10.0.0.1'), 3);
});

test('at the global pending cap a newcomer evicts the oldest handshake of the busiest source, never of an equal one', () => {
  const { g } = gate({ maxPendingPerSource: 10, burstPerSource: 10, ratePerSourcePerS: 100, burst: 100, ratePerS: 100 });
  for (let i = 0; i < 4; i++) assert.equal(g.admit('10.0.0.1', () => `a${i}`).ok, true);
  for (let i = 0; i < 2; i++) assert.equal(g.admit('10.0.0.2', () => `b${i}`).ok, true);
  assert.equal(g.pending, 6);
  const v = g.admit('10.0.0.3', () => 'legit');
  assert.deepEqual(v, { ok: true, handle: 'legit', evict: 'a0' }, 'oldest of the source with the most');
  g.release('a0'); // the router closes it; its close releases it
  assert.equal(g.pending, 6);
  // Now 3 / 2 / 1: the source with 3 is evicted from by anyone holding fewer…
  assert.deepEqual(g.admit('10.0.0.2', () => 'b2'), { ok: true, handle: 'b2', evict: 'a1' });
  g.release('a1');
  // …2 / 3 / 1 → .2 (3) cannot evict from itself or an equal, .1 (2) may evict from .2.
  assert.deepEqual(g.admit('10.0.0.2', () => 'b3'), { ok: false, reason: 'pending_full' });
  assert.deepEqual(g.admit('10.0.0.1', () => 'a9'), { ok: true, handle: 'a9', evict: 'b0' });
});

test('quiet reserve: once the global bucket is empty, only a source quiet for a while gets the reserve', () => {
  const { clock, g } = gate({ maxPending: 100, maxPendingPerSource: 100, burst: 2, ratePerS: 1, burstPerSource: 2, ratePerSourcePerS: 2, quietBurst: 1 });
  assert.equal(g.admit('10.0.0.1', () => 'a0').ok, true);
  assert.equal(g.admit('10.0.0.1', () => 'a1').ok, true);
  clock.t += 500; // .1 gets one source token back, global 0.5
  assert.deepEqual(g.admit('10.0.0.1', () => 'a2'), { ok: false, reason: 'rate_limited' }, 'a busy source: no reserve');
  assert.equal(g.admit('10.0.0.9', () => 'joiner').ok, true, 'a new (quiet) source takes the reserve');
  assert.deepEqual(g.admit('10.0.0.8', () => 'joiner2'), { ok: false, reason: 'rate_limited' }, 'reserve spent');
});

test('the source table is bounded; idle sources are forgotten first', () => {
  const { clock, g } = gate({ maxSources: 3, maxPending: 100, burst: 100, ratePerS: 100 });
  for (const s of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) assert.equal(g.admit(s, () => s).ok, true);
  assert.deepEqual(g.admit('10.0.0.4', () => 'x'), { ok: false, reason: 'sources_full' }, 'all three busy');
  g.release('10.0.0.1');
  clock.t += 5_000; // its bucket refilled: idle
  assert.equal(g.admit('10.0.0.4', () => 'y').ok, true);
  assert.equal(g.sourceCount, 3);
});

test('source keys: IPv4, IPv4-mapped, IPv6 /64', () => {
  assert.equal(acceptSourceKey('198.18.1.2'), '198.18.1.2');
  assert.equal(acceptSourceKey('::ffff:198.18.1.2'), '198.18.1.2');
  assert.equal(acceptSourceKey('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(acceptSourceKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd'), '2001:db8:0:1::/64');
  assert.equal(acceptSourceKey('2001:0db8::1'), '2001:db8:0:0::/64');
  assert.equal(acceptSourceKey(undefined), '');
});

test('the daemon limits are the documented ones', () => {
  assert.equal(DEFAULT_ACCEPT_LIMITS.maxPending, 64);
  assert.equal(DEFAULT_ACCEPT_LIMITS.ratePerS, 10);
  assert.ok(DEFAULT_ACCEPT_LIMITS.maxPendingPerSource < DEFAULT_ACCEPT_LIMITS.maxPending);
});
