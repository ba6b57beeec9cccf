import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MacTable, LearnResult, isGroupMac, isLinkLocalGroup } from './mac-table.js';

test('learn, look up, move and expire', () => {
  const t = new MacTable(1000);
  assert.equal(t.learn(0xaa, 1, 0), LearnResult.New);
  assert.equal(t.learn(0xaa, 1, 10), LearnResult.Same);
  assert.equal(t.lookup(0xaa, 20), 1);
  assert.equal(t.lookup(0xbb, 20), -1);
  assert.equal(t.learn(0xaa, 2, 30), LearnResult.Moved, 'a moved MAC is corrected at once');
  assert.equal(t.lookup(0xaa, 40), 2);
  assert.equal(t.lookup(0xaa, 1031), -1, 'stale entries are not used');
  t.learn(0xbb, 3, 500);
  assert.equal(t.expire(1100), 1);
  assert.equal(t.size, 1);
  assert.equal(t.lookup(0xbb, 1100), 3);
});

test('forgetPeer drops only that peer', () => {
  const t = new MacTable(1000);
  t.learn(1, 7, 0); t.learn(2, 7, 0); t.learn(3, 8, 0);
  assert.equal(t.forgetPeer(7), 2);
  assert.deepEqual([...t.dump()].map((e) => e[0]), [3]);
});

test('group and link-local MACs', () => {
  assert.equal(isGroupMac(0xff), true);
  assert.equal(isGroupMac(0x01), true);
  assert.equal(isGroupMac(0x02), false);
  assert.equal(isLinkLocalGroup(0x0180c2000000), true);
  assert.equal(isLinkLocalGroup(0x0180c200000e), true);
  assert.equal(isLinkLocalGroup(0x0180c2000010), false);
  assert.equal(isLinkLocalGroup(0xffffffffffff), false);
});
