import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWeftError, silentLogger } from '../common/index.js';
import { emptyState, type StoreRecord } from './records.js';
import { IpamStore } from './store.js';

const SELF = '02:00:00:00:00:01';
const log = silentLogger();

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ipam-store-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const origin = { kind: 'seed' as const, members: [SELF], detail: '' };
const records: StoreRecord[] = [
  { t: 'ring', id: 'ab'.repeat(16), origin },
  { t: 'delta', delta: { entries: [{ start: 0, end: 256, owner: SELF, gen: 0, version: 1, free: 254 }] } },
  { t: 'alloc', owner: 'c1', offset: 1 },
  { t: 'alloc', owner: 'c2/eth0', offset: 2 },
  { t: 'free', offset: 1 },
  { t: 'nick', rec: { name: SELF, nickname: 'hôst-ü', stamp: 5 } },
  { t: 'alloc', owner: 'c3', offset: 7 },
];

/** A fresh store with a snapshot header, then `recs` appended one by one (each fsync'ed). */
function writeStore(dir: string, recs: readonly StoreRecord[]): void {
  const s = new IpamStore(dir, log);
  assert.equal(s.open(), null);
  s.compact(emptyState('10.0.0.0/24', SELF));
  for (const r of recs) s.append([r], true);
  s.close();
}

function load(dir: string) {
  const s = new IpamStore(dir, log);
  const st = s.open();
  s.close();
  return st;
}

test('records survive close and reopen', () => {
  withDir((dir) => {
    writeStore(dir, records);
    const st = load(dir)!;
    assert.equal(st.cidr, '10.0.0.0/24');
    assert.equal(st.self, SELF);
    assert.deepEqual([...st.allocations], [[2, 'c2/eth0'], [7, 'c3']]);
    assert.equal(st.ring?.id, 'ab'.repeat(16));
    assert.equal(st.ring?.parts.length, 1);
    assert.equal(st.nicknames.get(SELF)?.nickname, 'hôst-ü');
  });
});

test('a torn last record, cut at any byte, is dropped and everything before it is kept', () => {
  withDir((dir) => {
    writeStore(dir, records.slice(0, -1));
    const logPath = join(dir, 'log');
    const before = statSync(logPath).size;
    writeStore(join(dir, 'full'), records);
    const full = readFileSync(join(dir, 'full', 'log'));
    const expectBefore = load(join(dir, 'full'))!;
    const expectAfterTear = load(dir)!;
    assert.notDeepEqual([...expectBefore.allocations], [...expectAfterTear.allocations]);
    for (let cut = before; cut <= full.length; cut++) {
      writeFileSync(logPath, full.subarray(0, cut));
      const st = load(dir)!;
      const want = cut === full.length ? expectBefore : expectAfterTear;
      assert.deepEqual([...st.allocations], [...want.allocations], `cut at ${cut}`);
      assert.deepEqual(st.ring, want.ring);
      // the torn tail was truncated away, so the next append starts on a clean boundary
      assert.equal(statSync(logPath).size, cut === full.length ? full.length : before);
    }
  });
});

test('a flipped byte in the last record is detected by the checksum', () => {
  withDir((dir) => {
    writeStore(dir, records);
    const logPath = join(dir, 'log');
    const buf = readFileSync(logPath);
    buf.writeUInt8(buf.readUInt8(buf.length - 3) ^ 0x40, buf.length - 3);
    writeFileSync(logPath, buf);
    const st = load(dir)!;
    assert.deepEqual([...st.allocations], [[2, 'c2/eth0']]);
  });
});

test('compaction folds the log into the snapshot; a crash before the log is emptied replays nothing twice', () => {
  withDir((dir) => {
    writeStore(dir, records);
    const s = new IpamStore(dir, log);
    const st = s.open()!;
    const logBefore = readFileSync(join(dir, 'log'));
    s.compact(st);
    assert.equal(statSync(join(dir, 'log')).size, 0);
    assert.ok(!existsSync(join(dir, 'snapshot.tmp')));
    s.append([{ t: 'alloc', owner: 'c9', offset: 9 }], true);
    s.close();
    assert.deepEqual([...load(dir)!.allocations], [[2, 'c2/eth0'], [7, 'c3'], [9, 'c9']]);
    // simulate: snapshot renamed but the old log not yet truncated — old records are skipped
    const afterLog = readFileSync(join(dir, 'log'));
    writeFileSync(join(dir, 'log'), Buffer.concat([logBefore, afterLog]));
    assert.deepEqual([...load(dir)!.allocations], [[2, 'c2/eth0'], [7, 'c3'], [9, 'c9']]);
  });
});

test('a corrupt snapshot or a log without a snapshot is a clear WEFT_ERR_DATA_DIR', () => {
  withDir((dir) => {
    writeStore(dir, records);
    const snap = join(dir, 'snapshot');
    truncateSync(snap, statSync(snap).size - 1);
    assert.throws(() => load(dir), (e) => isWeftError(e, 'WEFT_ERR_DATA_DIR') && /snapshot .* is corrupt/.test(e.message));
    rmSync(snap);
    assert.throws(() => load(dir), (e) => isWeftError(e, 'WEFT_ERR_DATA_DIR') && /no snapshot/.test(e.message));
  });
});
