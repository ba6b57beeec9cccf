import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execsBetween, parseExecTrace, summarizeExecs } from './exec-trace.js';

const TRACE = [
  '733   1796648089.064123 execve("/usr/bin/sh", ["sh", "-c", "ls"], 0x7fff /* 35 vars */) = 0',
  '734   1796648089.068000 execve("/usr/local/bin/ip", ["ip", "link"], 0x56 /* 35 vars */) = -1 ENOENT (No such file or directory)',
  '734   1796648089.068961 execve("/usr/sbin/ip", ["ip", "link"], 0x56 /* 35 vars */ <unfinished ...>',
  '735   1796648089.069000 execve("/usr/sbin/nft", ["nft"], 0x56 /* 35 vars */ <unfinished ...>',
  '734   1796648089.070000 <... execve resumed>) = 0',
  '735   1796648089.071000 <... execve resumed>) = -1 EACCES (Permission denied)',
  '736   1796648090.500000 execve("/usr/sbin/ip", ["ip", "addr"], 0x56 /* 35 vars */) = 0',
  '736   1796648090.600000 +++ exited with 0 +++',
].join('\n');

test('parseExecTrace: successful execs only, unfinished calls resolved by their resumed line', () => {
  const ev = parseExecTrace(TRACE);
  assert.deepEqual(ev.map((e) => [e.pid, e.path]), [[733, '/usr/bin/sh'], [734, '/usr/sbin/ip'], [736, '/usr/sbin/ip']]);
  assert.equal(ev.length, 3);
  assert.deepEqual(new Set(ev.map((e) => e.pid)), new Set([733, 734, 736]));
  assert.equal(ev.find((e) => e.pid === 734)!.t, 1796648089.068961);
});

test('execsBetween and summarizeExecs', () => {
  const ev = parseExecTrace(TRACE);
  assert.equal(execsBetween(ev, 1796648090, 1796648091).length, 1);
  assert.equal(execsBetween(ev, 0, 1).length, 0);
  assert.equal(summarizeExecs(ev), 'ip ×2, sh ×1');
  assert.equal(summarizeExecs([]), '');
});
