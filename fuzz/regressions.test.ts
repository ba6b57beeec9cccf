/** Inputs the fuzzer found (docs/fuzzing.md, "What the fuzzer found"), replayed on every run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { isWeftError, silentLogger } from '../src/common/index.js';
import { decodeMessage } from '../src/mesh/messages.js';
import { decodeMessages, decodeError } from '../src/host/netlink-codec.js';
import { IpamStore, frame } from '../src/ipam/store.js';

test('a gossip channel name of invalid UTF-8 is WEFT_ERR_DECODE (it used to decode to a name the encoder refuses)', () => {
  const b = Buffer.concat([Buffer.from([3, 32]), Buffer.alloc(31, 0x78), Buffer.from([0xff]), Buffer.alloc(6, 2)]);
  assert.throws(() => decodeMessage(b), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

test('an NLMSG_ERROR echoing a request length ≥ 2^31 decodes (it used to read at a negative offset)', () => {
  const data = Buffer.from('38000000020000de3360c40318c2877100000000c2fffeff200000001000050018c08f7100000000110001006e766772f09f8d8e00000000300000001c00000054beed8f000000000700000077010000000000000a00020088e3f5977795000008000100e41aa9012c0000001800000027a96d0800000000021900000000000000000000080001000ee9c326080004006202000020000000140000003ae5af570000000002000800a700000008000100d8cbda24', 'hex');
  for (const m of decodeMessages(data)) {
    try { if (m.type === 2) decodeError(m); } catch (e) { assert.ok(isWeftError(e, 'WEFT_ERR_DECODE'), String(e)); }
  }
});

test('a checksummed IPAM snapshot of the wrong shape is WEFT_ERR_DATA_DIR (it used to be a TypeError)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fuzz-regress-'));
  try {
    for (const bad of [{ nicknames: 5 }, { allocations: 7 }, { allocations: [true] }, { seq: 'x' }]) {
      const snap = { v: 1, seq: 0, cidr: '10.0.0.0/24', self: '02:00:00:00:00:01', ring: null, allocations: [], elector: null, nicknames: [], ...bad };
      writeFileSync(join(dir, 'snapshot'), frame(Buffer.from(JSON.stringify(snap))));
      const store = new IpamStore(dir, silentLogger());
      assert.throws(() => store.open(), (e) => isWeftError(e, 'WEFT_ERR_DATA_DIR'), JSON.stringify(bad));
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
