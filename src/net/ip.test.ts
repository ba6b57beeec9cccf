import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseIp, formatIp, isIp, parseIpv4, formatIpv4, parseIpv6, formatIpv6, parseCidr, formatCidr, isCidr,
  cidrNetwork, isNetworkCidr, cidrContains, cidrSize,
} from './ip.js';

const v6Value = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
/** IPv6 values with long zero runs, so '::' compression is exercised, not just 8 full groups. */
const sparseV6 = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((gs) => gs.reduce((v, g) => (v << 16n) | BigInt(g), 0n));

test('IPv4: fixed values parse and print', () => {
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('10.32.0.1'), 0x0a200001);
  assert.equal(formatIpv4(0xc0a80101), '192.168.1.1');
  assert.throws(() => formatIpv4(2 ** 32), RangeError);
});

test('IPv4: leading zeros, out-of-range octets and junk are refused', () => {
  for (const bad of ['010.0.0.1', '10.01.0.1', '00.0.0.0', '1.2.3.04', '256.0.0.0', '1.2.3.300', '1.2.3', '1.2.3.4.5',
    '1.2.3.', '.1.2.3', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/8', '0x1.2.3.4', '1e2.0.0.0', '+1.2.3.4', '-1.2.3.4', '1..3.4',
    '', 'localhost', '１.2.3.4', '1.2.3.4\n']) {
    assert.equal(parseIpv4(bad), null, JSON.stringify(bad));
    assert.equal(parseIp(bad), null, JSON.stringify(bad));
  }
});

test('property: IPv4 format/parse round trip, and any octet with a leading zero is refused', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
    const s = formatIpv4(v);
    assert.equal(parseIpv4(s), v);
    assert.deepEqual(parseIp(s), { family: 4, value: v });
  }), { numRuns: 1000 });
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 3 }),
    (octets, i) => {
      const parts = octets.map(String);
      parts[i] = `0${parts[i]}`;
      assert.equal(parseIpv4(parts.join('.')), null, parts.join('.'));
    }), { numRuns: 500 });
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 256, max: 100_000 }), (octets, i, big) => {
      const parts = octets.map(String);
      parts[i] = String(big);
      assert.equal(parseIpv4(parts.join('.')), null);
    }), { numRuns: 300 });
});

test('property: arbitrary strings never throw, and what parses prints back to the same value', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F:.%/]{0,45}$/)), (s) => {
    const a = parseIp(s);
    if (a !== null) assert.deepEqual(parseIp(formatIp(a)), a);
    const c = parseCidr(s);
    if (c !== null) assert.deepEqual(parseCidr(formatCidr(c)), c);
  }), { numRuns: 2000 });
});

test('IPv6: fixed values parse and print canonically (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs
    ['fe80::0001', 'fe80::1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [text, canonical] of cases) {
    const v = parseIpv6(text);
    assert.notEqual(v, null, text);
    assert.equal(formatIpv6(v ?? 0n), canonical, text);
  }
  assert.equal(parseIpv6('::1'), 1n);
  assert.equal(parseIpv6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), (1n << 128n) - 1n);
});

test('IPv6: zone ids, bad tails and junk are refused', () => {
  for (const bad of ['fe80::1%eth0', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::1', 'g::1', ':1', '1:', ':::',
    '::ffff:010.0.0.1', '::ffff:1.2.3.256', '::1.2.3', ' ::1', '::1 ', '[::1]', '::1/64', '1:2:3:4:5:6:7:8::']) {
    assert.equal(parseIpv6(bad), null, bad);
    assert.equal(parseIp(bad), null, bad);
  }
});

test('property: IPv6 format/parse round trip; the printed form is canonical (parse∘format∘parse is stable)', () => {
  fc.assert(fc.property(fc.oneof(v6Value, sparseV6), (v) => {
    const s = formatIpv6(v);
    assert.equal(parseIpv6(s), v, s);
    assert.equal(formatIpv6(parseIpv6(s) ?? -1n), s);
    assert.ok(!/(^|:)0[0-9a-f]/.test(s), `no leading zeros in ${s}`);
    assert.ok((s.match(/::/g) ?? []).length <= 1);
    assert.deepEqual(parseIp(s), { family: 6, value: v });
  }), { numRuns: 1000 });
});

test('CIDRs: parse, network, containment, size; bad prefixes refused', () => {
  const c = parseCidr('10.32.0.5/12');
  assert.ok(c);
  assert.equal(formatCidr(c), '10.32.0.5/12');
  assert.equal(isNetworkCidr(c), false);
  assert.equal(formatCidr(cidrNetwork(c)), '10.32.0.0/12');
  assert.equal(cidrContains(c, { family: 4, value: parseIpv4('10.47.255.255') ?? 0 }), true);
  assert.equal(cidrContains(c, { family: 4, value: parseIpv4('10.48.0.0') ?? 0 }), false);
  assert.equal(cidrSize(c), 1n << 20n);
  const v6 = parseCidr('2001:db8::1/32');
  assert.ok(v6);
  assert.equal(formatCidr(cidrNetwork(v6)), '2001:db8::/32');
  assert.equal(cidrContains(v6, { family: 4, value: 1 }), false, 'families never contain each other');
  assert.equal(isCidr('0.0.0.0/0', 4), true);
  assert.equal(isCidr('::/0', 4), false);
  assert.equal(isCidr('::/128', 6), true);
  for (const bad of ['10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/', '10.0.0.0', '/8', '10.0.0.0/8/8', '010.0.0.0/8', '::/129',
    '::/01', '10.0.0.0/ 8', '10.0.0.0/-1', 'fe80::1%eth0/64', '10.0.0.0/8 ']) {
    assert.equal(parseCidr(bad), null, bad);
  }
  assert.equal(isIp('::1', 4), false);
  assert.equal(isIp('::1', 6), true);
});

test('property: a CIDR network contains every address that shares its prefix, and no other', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 0xffffffff }),
    (base, len, other) => {
      const c = { address: { family: 4 as const, value: base }, prefixLength: len };
      const shift = 32 - len;
      const same = Math.floor(base / 2 ** shift) === Math.floor(other / 2 ** shift);
      assert.equal(cidrContains(c, { family: 4, value: other }), same);
      assert.ok(isNetworkCidr(cidrNetwork(c)));
      assert.deepEqual(parseCidr(formatCidr(c)), c);
    }), { numRuns: 1000 });
  fc.assert(fc.property(v6Value, fc.integer({ min: 0, max: 128 }), (v, len) => {
    const c = { address: { family: 6 as const, value: v }, prefixLength: len };
    const net = cidrNetwork(c);
    assert.ok(isNetworkCidr(net));
    assert.ok(cidrContains(net, c.address));
    assert.deepEqual(parseCidr(formatCidr(c)), c);
  }), { numRuns: 500 });
});
