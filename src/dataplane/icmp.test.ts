import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIpv4 } from '../net/index.js';
import {
  buildFragNeeded, buildPacketTooBig, classifyTooBig, onesSum, finishChecksum, TooBigKind, ICMP_REPLY_MAX_BYTES,
} from './icmp.js';

const MAC_A = '020a0a0a0a01';
const MAC_B = '060b0b0b0b02';

/** Independent checksum: 16-bit one's complement sum must be 0xffff over a valid region. */
function sumOk(b: Buffer): boolean {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

function ipv4Frame(opts: { df?: boolean; proto?: number; payload?: number; src?: string; icmpType?: number; fragOff?: number }): Buffer {
  const payload = opts.payload ?? 1400;
  const f = Buffer.alloc(14 + 20 + payload);
  Buffer.from(MAC_B + MAC_A, 'hex').copy(f, 0); // dst B, src A
  f.writeUInt16BE(0x0800, 12);
  const ip = 14;
  f[ip] = 0x45;
  f.writeUInt16BE(20 + payload, ip + 2);
  f.writeUInt16BE(0x1234, ip + 4);
  f.writeUInt16BE((opts.df === false ? 0 : 0x4000) | (opts.fragOff ?? 0), ip + 6);
  f[ip + 8] = 64;
  f[ip + 9] = opts.proto ?? 6;
  f.writeUInt32BE(parseIpv4(opts.src ?? '10.32.0.1') ?? assert.fail(`bad source address ${opts.src}`), ip + 12);
  Buffer.from([10, 32, 0, 2]).copy(f, ip + 16);
  f.writeUInt16BE(finishChecksum(onesSum(f, ip, 20)), ip + 10);
  if (opts.icmpType !== undefined) f[ip + 20] = opts.icmpType;
  for (let i = ip + 21; i < f.length; i++) f[i] = i & 0xff;
  return f;
}

function ipv6Frame(payload = 1400, nextHeader = 17): Buffer {
  const f = Buffer.alloc(14 + 40 + payload);
  Buffer.from(MAC_B + MAC_A, 'hex').copy(f, 0);
  f.writeUInt16BE(0x86dd, 12);
  f.writeUInt32BE(0x60000000, 14);
  f.writeUInt16BE(payload, 18);
  f[20] = nextHeader;
  f[21] = 64;
  Buffer.from('fd000000000000000000000000000001', 'hex').copy(f, 22); // src
  Buffer.from('fd000000000000000000000000000002', 'hex').copy(f, 38); // dst
  for (let i = 54; i < f.length; i++) f[i] = i & 0xff;
  return f;
}

test('classify: DF IPv4 yes; non-DF, fragments, ICMP errors, broadcast and non-IP no', () => {
  assert.equal(classifyTooBig(ipv4Frame({}), 0, 1434), TooBigKind.Ipv4Df);
  assert.equal(classifyTooBig(ipv4Frame({ df: false }), 0, 1434), TooBigKind.None);
  assert.equal(classifyTooBig(ipv4Frame({ fragOff: 5 }), 0, 1434), TooBigKind.None);
  assert.equal(classifyTooBig(ipv4Frame({ proto: 1, icmpType: 8 }), 0, 1434), TooBigKind.Ipv4Df, 'echo request');
  assert.equal(classifyTooBig(ipv4Frame({ proto: 1, icmpType: 3 }), 0, 1434), TooBigKind.None, 'ICMP error');
  const bc = ipv4Frame({});
  bc.fill(0xff, 0, 6);
  assert.equal(classifyTooBig(bc, 0, bc.length), TooBigKind.None);
  assert.equal(classifyTooBig(ipv4Frame({ src: '0.0.0.0' }), 0, 1434), TooBigKind.None);
  const arp = Buffer.alloc(60);
  arp.writeUInt16BE(0x0806, 12);
  assert.equal(classifyTooBig(arp, 0, 60), TooBigKind.None);
  assert.equal(classifyTooBig(ipv6Frame(), 0, 1454), TooBigKind.Ipv6);
  const icmp6err = ipv6Frame(100, 58);
  icmp6err[54] = 1;
  assert.equal(classifyTooBig(icmp6err, 0, icmp6err.length), TooBigKind.None);
});

test('IPv4 fragmentation-needed: addresses swapped, MTU, quote, valid checksums', () => {
  const f = ipv4Frame({ proto: 1, icmpType: 8 });
  const out = Buffer.alloc(ICMP_REPLY_MAX_BYTES + 10);
  const n = buildFragNeeded(f, 0, f.length, 1408, out, 5);
  const r = out.subarray(5, 5 + n);
  assert.equal(n, 14 + 576, 'IP packet capped at 576 bytes');
  assert.equal(r.subarray(0, 6).toString('hex'), MAC_A, 'to the sender');
  assert.equal(r.subarray(6, 12).toString('hex'), MAC_B, 'from the original destination');
  assert.equal(r.readUInt16BE(12), 0x0800);
  const ip = r.subarray(14, 34);
  assert.equal(ip[0], 0x45);
  assert.equal(ip.readUInt16BE(2), 576);
  assert.equal(ip[9], 1);
  assert.deepEqual([...ip.subarray(12, 16)], [10, 32, 0, 2], 'source = original destination');
  assert.deepEqual([...ip.subarray(16, 20)], [10, 32, 0, 1]);
  assert.ok(sumOk(ip), 'IP header checksum');
  const icmp = r.subarray(34);
  assert.equal(icmp[0], 3);
  assert.equal(icmp[1], 4);
  assert.equal(icmp.readUInt16BE(6), 1408, 'next-hop MTU');
  assert.ok(sumOk(icmp), 'ICMP checksum');
  assert.deepEqual(icmp.subarray(8), f.subarray(14, 14 + 548), 'quotes the original IP packet');
});

test('IPv4 reply for a small packet quotes all of it (odd length checksum)', () => {
  const f = ipv4Frame({ payload: 31 });
  const out = Buffer.alloc(ICMP_REPLY_MAX_BYTES);
  const n = buildFragNeeded(f, 0, f.length, 1000, out, 0);
  assert.equal(n, 14 + 20 + 8 + 51);
  assert.ok(sumOk(out.subarray(34, n)));
});

test('IPv6 packet-too-big: pseudo-header checksum, MTU >= 1280, at most 1280 bytes', () => {
  const f = ipv6Frame();
  const out = Buffer.alloc(ICMP_REPLY_MAX_BYTES);
  const n = buildPacketTooBig(f, 0, f.length, 1000, out, 0);
  assert.equal(n, 14 + 1280);
  const r = out.subarray(0, n);
  assert.equal(r.readUInt16BE(12), 0x86dd);
  assert.equal(r[20], 58);
  assert.equal(r.subarray(22, 38).toString('hex'), 'fd000000000000000000000000000002', 'source = original destination');
  const icmp = r.subarray(54);
  assert.equal(icmp[0], 2);
  assert.equal(icmp.readUInt32BE(4), 1280, 'never below the IPv6 minimum');
  // Independent pseudo-header check.
  const pseudo = Buffer.alloc(40 + icmp.length);
  r.copy(pseudo, 0, 22, 54);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = 58;
  icmp.copy(pseudo, 40);
  assert.ok(sumOk(pseudo));
  assert.equal(buildPacketTooBig(f, 0, f.length, 1400, out, 0) > 0 && out.readUInt32BE(54 + 4), 1400);
});

test('fuzz: builders never throw and never write past the reply size', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 1600 }), fc.nat(9000), (bytes, mtu) => {
    const f = Buffer.from(bytes);
    const out = Buffer.alloc(ICMP_REPLY_MAX_BYTES);
    const kind = classifyTooBig(f, 0, f.length);
    if (kind === TooBigKind.Ipv4Df) assert.ok(buildFragNeeded(f, 0, f.length, mtu, out, 0) <= out.length);
    if (kind === TooBigKind.Ipv6) assert.ok(buildPacketTooBig(f, 0, f.length, mtu, out, 0) <= out.length);
    return true;
  }), { numRuns: 2000 });
});
