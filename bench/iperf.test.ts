import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../src/common/index.js';
import { parseIperfJson } from './iperf.js';

// Trimmed from a real `iperf3 -c … -t 1 -P 2 -J` run (iperf 3.12).
const OK = JSON.stringify({
  start: { version: 'iperf 3.12' },
  intervals: [],
  end: {
    streams: [{}, {}],
    sum_sent: { start: 0, end: 1.004036, seconds: 1.004036, bytes: 1772093440, bits_per_second: 14119760167.962107, retransmits: 12, sender: true },
    sum_received: { start: 0, end: 1.007492, seconds: 1.007492, bytes: 1770520576, bits_per_second: 14058835810.110651, sender: true },
    cpu_utilization_percent: {},
  },
});

test('parseIperfJson: receiver goodput, sender rate, retransmits, streams', () => {
  const r = parseIperfJson(OK);
  assert.equal(r.mbps, 14058.835810110651);
  assert.equal(r.sentMbps, 14119.760167962108);
  assert.equal(r.retransmits, 12);
  assert.equal(r.seconds, 1.007492);
  assert.equal(r.streams, 2);
});

test('parseIperfJson: iperf3 error object becomes WEFT_ERR_HOST with its message', () => {
  const text = '{\n\t"start":\t{},\n\t"intervals":\t[],\n\t"end":\t{},\n\t"error":\t"unable to connect to server: Connection refused"\n}';
  assert.throws(() => parseIperfJson(text), (e: unknown) =>
    isWeftError(e, 'WEFT_ERR_HOST') && e.message.includes('Connection refused'));
});

test('parseIperfJson: malformed or incomplete output is WEFT_ERR_DECODE', () => {
  assert.throws(() => parseIperfJson(''), (e: unknown) => isWeftError(e, 'WEFT_ERR_DECODE'));
  assert.throws(() => parseIperfJson('iperf3: error - x'), (e: unknown) => isWeftError(e, 'WEFT_ERR_DECODE'));
  assert.throws(() => parseIperfJson('[1,2]'), (e: unknown) => isWeftError(e, 'WEFT_ERR_DECODE'));
  assert.throws(() => parseIperfJson('{"end":{"sum_sent":{"bits_per_second":1}}}'), (e: unknown) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

test('parseIperfJson: missing retransmits (non-Linux sender) counts as 0', () => {
  const r = parseIperfJson('{"end":{"sum_sent":{"bits_per_second":2e6},"sum_received":{"bits_per_second":1e6,"seconds":5}}}');
  assert.equal(r.retransmits, 0);
  assert.equal(r.mbps, 1);
  assert.equal(r.streams, 1);
});
