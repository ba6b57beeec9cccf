import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { subtractCidrs, normalizeCidrs, cidrsContain, compareAddresses } from './cidr-set.js';
import { formatIpv4 } from '../net/index.js';

test('cidr subtraction: IPv4 except', () => {
  assert.deepEqual(subtractCidrs('10.0.0.0/24', ['10.0.0.0/25']), ['10.0.0.128/25']);
  assert.deepEqual(subtractCidrs('10.0.0.0/30', ['10.0.0.1/32']), ['10.0.0.0/32', '10.0.0.2/31']);
  assert.deepEqual(subtractCidrs('0.0.0.0/0', ['10.0.0.0/8']), [
    '0.0.0.0/5', '8.0.0.0/7', '11.0.0.0/8', '12.0.0.0/6', '16.0.0.0/4', '32.0.0.0/3', '64.0.0.0/2', '128.0.0.0/1']);
  assert.deepEqual(subtractCidrs('10.0.0.0/8', []), ['10.0.0.0/8']);
});

test('cidr subtraction: IPv6 except', () => {
  assert.deepEqual(subtractCidrs('fd00::/126', ['fd00::1/128']), ['fd00::/128', 'fd00::2/127']);
  assert.deepEqual(subtractCidrs('::/0', ['8000::/1']), ['::/1']);
  assert.deepEqual(subtractCidrs('fd00::/64', ['fd00::/65']), ['fd00::8000:0:0:0/65']);
});

test('normalizeCidrs: union, merge of touching blocks, v4 before v6, plain addresses', () => {
  assert.deepEqual(normalizeCidrs(['fd00::1', '10.0.0.1', '10.0.0.0', '10.0.0.2/31']), ['10.0.0.0/30', 'fd00::1/128']);
  assert.deepEqual(normalizeCidrs(['10.0.0.0/8', '10.1.0.0/16']), ['10.0.0.0/8']);
  assert.deepEqual(normalizeCidrs([]), []);
});

test('cidr subtraction agrees with address-by-address membership (property, a /24)', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 25, max: 32 })), { maxLength: 5 }), (ex) => {
    const except = ex.map(([a, len]) => `10.0.0.${a - (a % 2 ** (32 - len))}/${len}`);
    const out = subtractCidrs('10.0.0.0/24', except);
    for (let i = 0; i < 256; i++) {
      const ip = formatIpv4(0x0a000000 + i);
      assert.equal(cidrsContain(out, ip), !cidrsContain(except, ip), ip);
    }
  }), { numRuns: 100 });
});

test('compareAddresses: numeric, v4 first', () => {
  assert.deepEqual(['fd00::1', '10.0.0.10', '10.0.0.9', '::1'].sort(compareAddresses), ['10.0.0.9', '10.0.0.10', '::1', 'fd00::1']);
});
