import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError } from '../common/index.js';
import {
  AF_BRIDGE, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, NLMSG_ERROR, NLM_F_ACK_TLVS, RTM_NEWLINK, RTM_NEWNEIGH,
  RTM_NEWADDR, RTM_NEWROUTE, NDA_DST, NDA_LLADDR, NDA_MASTER, IFA_ADDRESS, RTA_DST, RTA_GATEWAY, RTA_OIF,
} from './netlink-abi.js';
import { attr, decodeError, decodeMessages, encodeRequest, parseAttrs, type NlMessage } from './netlink-codec.js';
import {
  decodeAddr, decodeLink, decodeNeigh, decodeRoute, ifaddrmsg, ifinfomsg, ipBytes, macBytes, ndmsg, rtmsg,
} from './rtnl-messages.js';

/** Fuzz iterations per property (WEFT_FUZZ_RUNS overrides; CI runs the default). */
const RUNS = Number(process.env.WEFT_FUZZ_RUNS ?? 20_000);

function msg(type: number, header: Buffer, attrs = [] as ReturnType<typeof attr.u32>[], flags = 0): Buffer {
  return encodeRequest({ type, flags, seq: 7, header, attrs });
}

const one = (b: Buffer): NlMessage => {
  const m = decodeMessages(b);
  assert.equal(m.length, 1);
  return m[0] as NlMessage;
};

test('encodeRequest: header, alignment, nested attributes (byte vector)', () => {
  const b = msg(RTM_NEWLINK, ifinfomsg({ index: 3 }), [attr.str(IFLA_IFNAME, 'ab'), attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'veth')])]);
  // nlmsghdr: len 16 + 16 ifinfomsg + (4+3→8) name + (4 + (4+5→12)) linkinfo = 56
  assert.equal(b.length, 56);
  assert.equal(b.readUInt32LE(0), 56);
  assert.equal(b.readUInt16LE(4), RTM_NEWLINK);
  assert.equal(b.readUInt32LE(8), 7);
  assert.equal(b.readInt32LE(16 + 4), 3);
  assert.deepEqual([...b.subarray(32, 40)], [7, 0, 3, 0, 0x61, 0x62, 0, 0]);
  assert.equal(b.readUInt16LE(42) & 0x8000, 0x8000, 'nested flag set on IFLA_LINKINFO');
  const l = decodeLink(one(b));
  assert.equal(l.name, 'ab');
  assert.equal(l.kind, 'veth');
  assert.equal(l.index, 3);
});

test('decoders read back what the encoders wrote: link, address, route, neighbour, FDB', () => {
  const link = decodeLink(one(msg(RTM_NEWLINK, ifinfomsg({ index: 9, flags: 1 }), [attr.str(IFLA_IFNAME, 'weft'), attr.u32(IFLA_MTU, 1376),
    attr.bytes(1, macBytes('02:AA:bb:cc:dd:ee'))])));
  assert.deepEqual(link, { index: 9, name: 'weft', kind: '', mac: '02:aa:bb:cc:dd:ee', mtu: 1376, master: 0, up: true, family: 0 });
  const v4 = ipBytes('10.32.0.5');
  const addr = decodeAddr(one(msg(RTM_NEWADDR, ifaddrmsg({ family: v4.family, prefixLength: 12, index: 4 }), [attr.bytes(IFA_ADDRESS, v4.bytes)])));
  assert.deepEqual(addr, { index: 4, family: 4, address: '10.32.0.5', prefixLength: 12, scope: 0 });
  const v6 = ipBytes('fd00::1');
  const addr6 = decodeAddr(one(msg(RTM_NEWADDR, ifaddrmsg({ family: v6.family, prefixLength: 64, index: 4 }), [attr.bytes(IFA_ADDRESS, v6.bytes)])));
  assert.equal(addr6.address, 'fd00::1');
  assert.equal(addr6.family, 6);
  const route = decodeRoute(one(msg(RTM_NEWROUTE, rtmsg({ family: 2, dstLength: 12, table: 254, protocol: 87 }),
    [attr.bytes(RTA_DST, ipBytes('10.32.0.0').bytes), attr.bytes(RTA_GATEWAY, ipBytes('192.0.2.1').bytes), attr.u32(RTA_OIF, 5)])));
  assert.deepEqual(route, { family: 4, dst: '10.32.0.0/12', gateway: '192.0.2.1', oif: 5, table: 254, protocol: 87, scope: 0, type: 0 });
  const dflt = decodeRoute(one(msg(RTM_NEWROUTE, rtmsg({ family: 2, table: 254 }))));
  assert.equal(dflt.dst, '0.0.0.0/0');
  const fdb = decodeNeigh(one(msg(RTM_NEWNEIGH, ndmsg({ family: AF_BRIDGE, index: 6, state: 0x80, flags: 2 }),
    [attr.bytes(NDA_LLADDR, macBytes('00:00:00:00:00:00')), attr.bytes(NDA_DST, ipBytes('198.18.0.2').bytes), attr.u32(NDA_MASTER, 3)])));
  assert.deepEqual(fdb, { family: AF_BRIDGE, index: 6, state: 0x80, flags: 2, mac: '00:00:00:00:00:00', dst: '198.18.0.2', master: 3 });
});

test('decodeError: plain ack, errno, and the extended-ack message', () => {
  const ack = Buffer.alloc(4 + 16);
  const errMsg = (payload: Buffer, flags = 0): NlMessage => ({ type: NLMSG_ERROR, flags, seq: 1, pid: 0, payload });
  assert.deepEqual(decodeError(errMsg(ack)), { errno: 0 });
  const e = Buffer.alloc(4 + 16);
  e.writeInt32LE(-17, 0);
  e.writeUInt32LE(16, 4); // echoed request length
  const text = Buffer.from('File exists\0');
  const tlv = Buffer.alloc(4 + 12);
  tlv.writeUInt16LE(4 + text.length, 0);
  tlv.writeUInt16LE(1, 2);
  text.copy(tlv, 4);
  assert.deepEqual(decodeError(errMsg(Buffer.concat([e, tlv]), NLM_F_ACK_TLVS)), { errno: 17, message: 'File exists' });
  assert.throws(() => decodeError(errMsg(Buffer.alloc(8))), (x) => isWeftError(x, 'WEFT_ERR_DECODE'));
});

test('bad input to the encoders is refused with WEFT_ERR_BAD_ARGS', () => {
  for (const bad of ['10.0.0.256', '010.0.0.1', 'x', '', '1.2.3']) assert.throws(() => ipBytes(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  for (const bad of ['02:aa:bb:cc:dd', 'zz:aa:bb:cc:dd:ee', '']) assert.throws(() => macBytes(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
});

/** Valid messages of every kind the monitor decodes, to mutate. */
const seeds: Buffer[] = [
  msg(RTM_NEWLINK, ifinfomsg({ index: 2 }), [attr.str(IFLA_IFNAME, 'vwe0123456789'), attr.u32(IFLA_MTU, 1376),
    attr.nest(IFLA_LINKINFO, [attr.str(IFLA_INFO_KIND, 'veth')])]),
  msg(RTM_NEWADDR, ifaddrmsg({ family: 2, prefixLength: 12, index: 4 }), [attr.bytes(IFA_ADDRESS, ipBytes('10.32.0.5').bytes)]),
  msg(RTM_NEWROUTE, rtmsg({ family: 2, dstLength: 32 }), [attr.bytes(RTA_DST, ipBytes('10.32.0.9').bytes), attr.u32(RTA_OIF, 3)]),
  msg(RTM_NEWNEIGH, ndmsg({ family: AF_BRIDGE, index: 6 }), [attr.bytes(NDA_LLADDR, macBytes('02:00:00:00:00:01')), attr.u32(NDA_MASTER, 3)]),
];

/** Decode everything a datagram holds the way the monitor and the socket do; only typed errors may escape. */
function decodeAll(b: Buffer): void {
  try {
    for (const m of decodeMessages(b)) {
      for (const d of [decodeLink, decodeAddr, decodeRoute, decodeNeigh]) {
        try {
          d(m);
        } catch (e) {
          if (!isWeftError(e, 'WEFT_ERR_DECODE')) throw e;
        }
      }
      if (m.type === NLMSG_ERROR) {
        try { decodeError(m); } catch (e) { if (!isWeftError(e, 'WEFT_ERR_DECODE')) throw e; }
      }
      parseAttrs(m.payload, Math.min(16, m.payload.length));
    }
  } catch (e) {
    if (!isWeftError(e, 'WEFT_ERR_DECODE')) throw e;
  }
}

test(`fuzz: mutated valid messages (bit flips, truncation, length edits, splices) never escape as anything but WEFT_ERR_DECODE (${RUNS} runs)`, () => {
  const mutation = fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    len: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })), { nil: undefined }),
    splice: fc.option(fc.integer({ min: 0, max: seeds.length - 1 }), { nil: undefined }),
  });
  fc.assert(fc.property(mutation, (m) => {
    let b = Buffer.from(seeds[m.seed] as Buffer);
    if (m.splice !== undefined) b = Buffer.concat([b, seeds[m.splice] as Buffer]);
    for (const [at, v] of m.flips) if (b.length > 0) b[at % b.length] = v;
    if (m.len && b.length >= 2) b.writeUInt16LE(m.len[1], (m.len[0] % (b.length - 1)) & ~1);
    if (m.cut !== undefined) b = b.subarray(0, m.cut % (b.length + 1));
    decodeAll(b);
  }), { numRuns: RUNS, seed: 42 });
});

test(`fuzz: random datagrams never escape as anything but WEFT_ERR_DECODE (${RUNS} runs)`, () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (a) => { decodeAll(Buffer.from(a)); }), { numRuns: RUNS, seed: 7 });
});
