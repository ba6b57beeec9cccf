import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError } from '../../common/index.js';
import { decodeFastpathControl, encodeHello, unwrapControl, wrapControl, CHANNEL_FASTPATH } from './control-wire.js';
import {
  ipv4Checksum, probeMacOf, readProbe, writeHostGwProbe, writeVxlanProbe, PROBE_HEADER_BYTES, type ProbeMessage,
} from './probe-wire.js';
import { inSubnets, parseSubnets } from './trust.js';

const token = Buffer.from('0123456789abcdef', 'hex');
const msg = (o: Partial<ProbeMessage> = {}): ProbeMessage => ({
  path: 'vxlan', reply: false, sender: 0x0a0000000001, token, seq: 7, size: 1450, ...o,
});

test('host-gw probe: padded to the probed IP size, read back exactly', () => {
  const buf = Buffer.alloc(2000);
  const len = writeHostGwProbe(buf, msg({ path: 'hostgw', size: 1500, reply: true, seq: 0xffffffff }));
  assert.equal(len, 1500 - 28);
  assert.deepEqual(readProbe(buf, 0, len), msg({ path: 'hostgw', size: 1500, reply: true, seq: 0xffffffff }));
});

test('VXLAN probe: VXLAN header, inner Ethernet/IPv4 (DF, valid checksum)/UDP, outer size = size + 50 − 28', () => {
  const buf = Buffer.alloc(2000);
  const f = { vni: 0x574655, dstMac: 0x02aabbccddee, srcMac: 0x020000000001, srcIp: 0xa9fe4355, dstIp: 0xa9fe4354, srcPort: 6785, dstPort: 6785 };
  const len = writeVxlanProbe(buf, msg(), f);
  assert.equal(len, 1450 + 22);
  assert.equal(buf[0], 0x08);
  assert.equal(buf.readUIntBE(4, 3), 0x574655);
  assert.equal(buf.subarray(8, 14).toString('hex'), '02aabbccddee');
  assert.equal(buf.readUInt16BE(20), 0x0800);
  assert.equal(buf.readUInt16BE(22 + 2), 1450, 'inner IP total length');
  assert.equal(buf.readUInt16BE(22 + 6), 0x4000, 'DF');
  assert.equal(buf.readUInt16BE(22 + 10), ipv4Checksum(buf, 22, 20));
  // A header with its checksum in place sums to 0xffff.
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += buf.readUInt16BE(22 + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
  assert.equal(buf.readUInt16BE(42 + 2), 6785);
  assert.equal(buf.readUInt16BE(42 + 4), 1450 - 20, 'UDP length');
  assert.deepEqual(readProbe(buf, 50, len - 50), msg());
});

test('probe parser refuses garbage and never throws', () => {
  assert.equal(readProbe(Buffer.alloc(10), 0, 10), null);
  const buf = Buffer.alloc(100);
  writeHostGwProbe(buf, msg({ size: 100 }));
  buf[4] = 9;
  assert.equal(readProbe(buf, 0, 72), null, 'unknown path');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    const b = Buffer.from(bytes);
    const m = readProbe(b, 0, b.length);
    return m === null || b.length >= PROBE_HEADER_BYTES;
  }));
});

test('probe MAC: the peer name with the locally administered unicast bits', () => {
  assert.equal(probeMacOf(0xffffffffffff).toString(16), 'feffffffffff');
  assert.equal(probeMacOf(0x010000000001).toString(16), '20000000001');
});

test('control framing and hello round trip; unknown kinds ignored; bad hellos are decode errors', () => {
  const hello = { kernelPaths: true, hostGw: false, trustsYou: true, encrypted: true, vxlanPort: 6784, probePort: 6785, token };
  const wrapped = wrapControl(CHANNEL_FASTPATH, encodeHello(hello));
  const u = unwrapControl(wrapped)!;
  assert.equal(u.channel, CHANNEL_FASTPATH);
  assert.deepEqual(decodeFastpathControl(u.body), hello);
  assert.equal(unwrapControl(Buffer.alloc(0)), null);
  assert.equal(decodeFastpathControl(Buffer.from([9, 1, 2])), null);
  assert.throws(() => decodeFastpathControl(encodeHello(hello).subarray(0, 8)), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

test('trusted subnets: parsing, matching, bad input', () => {
  const s = parseSubnets('10.0.0.0/8, 192.168.1.0/24,0.0.0.0/0');
  assert.deepEqual(s.map((x) => x.cidr), ['10.0.0.0/8', '192.168.1.0/24', '0.0.0.0/0']);
  assert.ok(inSubnets('10.9.8.7', s.slice(0, 1)));
  assert.ok(!inSubnets('11.0.0.1', s.slice(0, 2)));
  assert.ok(inSubnets('192.168.1.200', s.slice(1, 2)));
  assert.ok(inSubnets('8.8.8.8', s.slice(2)));
  assert.ok(!inSubnets('fd00::1', s));
  assert.deepEqual(parseSubnets(''), []);
  for (const bad of ['10.0.0.0', '10.0.0.0/33', 'x/8', '300.0.0.0/8']) {
    assert.throws(() => parseSubnets(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  }
});
