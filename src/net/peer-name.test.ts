import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError } from '../common/index.js';
import {
  comparePeerNames, isPeerName, parsePeerName, peerNameFromBytes, peerNameToBytes, peerNameFromNumber, peerNameToNumber,
} from './peer-name.js';

test('parsePeerName normalises case and rejects malformed names', () => {
  assert.equal(parsePeerName('8E:1f:00:A2:3b:C4'), '8e:1f:00:a2:3b:c4');
  for (const bad of ['', '8e:1f:00:a2:3b', '8e:1f:00:a2:3b:c4:00', '8e-1f-00-a2-3b-c4', '8e:1f:00:a2:3b:cg', ' 8e:1f:00:a2:3b:c', '8e1f00a23bc4']) {
    assert.throws(() => parsePeerName(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  }
});

test('isPeerName accepts only the normalised form', () => {
  assert.equal(isPeerName('00:00:00:00:00:01'), true);
  assert.equal(isPeerName('00:00:00:00:00:0A'), false);
  assert.equal(isPeerName(42), false);
  assert.equal(isPeerName('00:00:00:00:00:0x'), false);
});

test('bytes round trip, offsets and bounds', () => {
  const buf = Buffer.alloc(10);
  peerNameToBytes('01:02:03:04:05:ff', buf, 3);
  assert.deepEqual([...buf], [0, 0, 0, 1, 2, 3, 4, 5, 255, 0]);
  assert.equal(peerNameFromBytes(buf, 3), '01:02:03:04:05:ff');
  assert.deepEqual(peerNameToBytes('0a:0b:0c:0d:0e:0f'), Buffer.from([10, 11, 12, 13, 14, 15]));
  assert.throws(() => peerNameFromBytes(buf, 5), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
  assert.throws(() => peerNameFromBytes(buf, -1), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
  assert.throws(() => peerNameToBytes('01:02:03:04:05:ff', buf, 5), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  assert.throws(() => peerNameToBytes('zz:02:03:04:05:ff'), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
});

test('property: string order equals byte order; round trip is identity', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.uint8Array({ minLength: 6, maxLength: 6 }), (a, b) => {
    const na = peerNameFromBytes(a, 0);
    const nb = peerNameFromBytes(b, 0);
    assert.ok(isPeerName(na));
    assert.deepEqual(peerNameToBytes(na), Buffer.from(a));
    assert.equal(Math.sign(comparePeerNames(na, nb)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
    assert.equal(parsePeerName(na.toUpperCase()), na);
  }), { numRuns: 500 });
});

test('peer names and 48-bit numbers: fixed values, bad input refused', () => {
  for (const n of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '8e:1f:00:a0:00:01']) {
    assert.equal(peerNameFromNumber(peerNameToNumber(n)), n);
  }
  assert.equal(peerNameToNumber('00:00:00:00:01:00'), 256);
  assert.equal(peerNameToNumber('8E:1F:00:00:00:00'), 0x8e1f_0000_0000);
  assert.equal(peerNameFromNumber(0x02_00_0000_002a), '02:00:00:00:00:2a');
  for (const bad of ['nope', '8e:1f:00:00:00', '8e:1f:00:00:00:00:00', '8e-1f-00-00-00-00', ' 8e:1f:00:00:00:00', '8g:1f:00:00:00:00']) {
    assert.throws(() => peerNameToNumber(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  }
  for (const bad of [-1, 2 ** 48, 1.5, Number.NaN]) {
    assert.throws(() => peerNameFromNumber(bad), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'), String(bad));
  }
});

test('property: number, bytes and printed forms agree', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (v) => {
    const name = peerNameFromNumber(v);
    assert.ok(isPeerName(name));
    assert.equal(peerNameToNumber(name), v);
    const b = Buffer.alloc(6);
    b.writeUIntBE(v, 0, 6);
    assert.equal(peerNameFromBytes(b), name);
  }), { numRuns: 500 });
});
