import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../src/common/index.js';
import { parsePingSummary } from './ping.js';

test('parsePingSummary: iputils -q summary', () => {
  const out = `PING 10.61.2.2 (10.61.2.2) 56(84) bytes of data.

--- 10.61.2.2 ping statistics ---
20 packets transmitted, 19 received, 5% packet loss, time 964ms
rtt min/avg/max/mdev = 0.031/0.047/0.092/0.013 ms
`;
  assert.deepEqual(parsePingSummary(out), { transmitted: 20, received: 19, minMs: 0.031, avgMs: 0.047, maxMs: 0.092 });
});

test('parsePingSummary: no replies is WEFT_ERR_HOST, garbage is WEFT_ERR_DECODE', () => {
  const none = '--- x ping statistics ---\n20 packets transmitted, 0 received, 100% packet loss, time 2000ms\n';
  assert.throws(() => parsePingSummary(none), (e: unknown) => isWeftError(e, 'WEFT_ERR_HOST'));
  assert.throws(() => parsePingSummary('ping: connect: Network is unreachable'), (e: unknown) => isWeftError(e, 'WEFT_ERR_DECODE'));
});
