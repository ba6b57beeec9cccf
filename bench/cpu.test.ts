import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPercent, foreignPercent, parsePidStat, parseProcStat, parseVmRssKb, tickDelta } from './cpu.js';

test('parseProcStat: busy counts user+nice+system+irq+softirq+steal, total adds idle+iowait', () => {
  const t = parseProcStat('cpu  17849 5 6900 130575 242 7 2348 10 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n');
  assert.equal(t.busy, 17849 + 5 + 6900 + 7 + 2348 + 10);
  assert.equal(t.total, t.busy + 130575 + 242);
  assert.throws(() => parseProcStat('intr 1\n'), RangeError);
});

test('parsePidStat: fields counted after the last ")" (comm with spaces and parens)', () => {
  const rest = 'S 1 2 3 4 5 6 7 8 9 10 111 222 33 44 20 0 1 0';
  const t = parsePidStat(`4242 (evil) name (x)) ${rest}`);
  assert.deepEqual(t, { utime: 111, stime: 222, cutime: 33, cstime: 44 });
  assert.throws(() => parsePidStat('garbage'), RangeError);
  assert.throws(() => parsePidStat('1 (x) S 1 2'), RangeError);
});

test('parseVmRssKb: reads VmRSS, null when absent', () => {
  assert.equal(parseVmRssKb('Name:\tx\nVmPeak:\t 100 kB\nVmRSS:\t   22888 kB\nThreads: 3\n'), 22888);
  assert.equal(parseVmRssKb('Name:\tkthreadd\nThreads: 1\n'), null);
});

test('cpuPercent: ticks over wall time, 100 % = one core', () => {
  assert.equal(cpuPercent(200, 2000, 100), 100);
  assert.equal(cpuPercent(300, 1000, 100), 300);
  assert.equal(cpuPercent(5, 0, 100), 0);
});

test('foreignPercent: machine busy minus ours, clamped at 0', () => {
  assert.equal(foreignPercent(350, 150, 2000, 100), 100);
  assert.equal(foreignPercent(100, 130, 1000, 100), 0);
});

test('tickDelta: sums growth of pids present in both samples only', () => {
  const before = new Map([[1, 10], [2, 20], [3, 30]]);
  const after = new Map([[1, 15], [2, 20], [4, 99]]);
  assert.equal(tickDelta(before, after), 5);
  assert.equal(tickDelta(new Map([[1, 10]]), new Map([[1, 5]])), 0); // pid reuse: ignored
});
