import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError } from '../common/index.js';
import { comparePeerNames, isPeerName, parsePeerName, peerNameFromBytes, peerNameToBytes } from './peer-name.js';

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
