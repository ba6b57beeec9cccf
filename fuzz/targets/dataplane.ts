/**
 * Data-plane decoders: the sleeve datagram header and records, the sleeve's PMTU control
 * message, the fast path's probe payload, fast-path control (channel byte + hello), and the
 * pod directory's gossip records.
 */
import assert from 'node:assert/strict';
import { SLEEVE_HEADER_BYTES, SLEEVE_RECORD_HEADER_BYTES, ETHERNET_HEADER_BYTES } from '../../src/common/index.js';
import {
  readHeader, writeHeader, forEachRecord, writeRecordHeader, decodeControl, encodePmtuAck, FLAG_PLAIN, FLAG_AES,
  MAX_COUNTER, type HeaderView,
} from '../../src/dataplane/wire-format.js';
import { readProbe, writeProbe, PROBE_HEADER_BYTES } from '../../src/dataplane/fastpath/probe-wire.js';
import {
  unwrapControl, wrapControl, decodeFastpathControl, encodeHello, CHANNEL_FASTPATH, CHANNEL_SLEEVE,
} from '../../src/dataplane/fastpath/control-wire.js';
import { decodeRecords, encodeRecords } from '../../src/dataplane/fastpath/pod-directory.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { same, sameBytes } from './common.js';
import { validPodRecords } from './pods.js';

const rand48 = (rng: Rng): number => rng.int(0x10000) * 0x1_0000_0000 + rng.u32();

function validDatagram(rng: Rng): Buffer {
  const type = rng.range(1, 3) as 1 | 2 | 3;
  const flags = rng.pick([FLAG_PLAIN, FLAG_AES, 0]);
  const counter = rng.chance(0.8) ? rng.u32() : Math.min(MAX_COUNTER, rand48(rng) * 16);
  const head = Buffer.alloc(SLEEVE_HEADER_BYTES);
  writeHeader(head, 0, type, flags, rand48(rng), rng.u32(), counter);
  if (type !== 1 || flags !== FLAG_PLAIN) return Buffer.concat([head, rng.bytes(16 + rng.smallLength(200))]);
  const records: Buffer[] = [];
  for (let i = rng.range(1, 4); i > 0; i--) {
    const frame = rng.bytes(ETHERNET_HEADER_BYTES + rng.smallLength(300));
    const rh = Buffer.alloc(SLEEVE_RECORD_HEADER_BYTES);
    writeRecordHeader(rh, 0, rand48(rng), rand48(rng), frame.length);
    records.push(rh, frame);
  }
  return Buffer.concat([head, ...records]);
}

const view = (): HeaderView => ({ type: 0, flags: 0, sender: 0, epoch: 0, counter: 0 });

const sleeveDatagram: FuzzTarget = {
  name: 'sleeve-datagram',
  decoder: 'src/dataplane/wire-format.ts readHeader + forEachRecord (never throw: false for bad input)',
  codes: [],
  valid: validDatagram,
  maxRandomBytes: 600,
  run(input, isValid) {
    // at an offset inside a larger buffer too, as the receive arena holds datagrams
    const off = input.length % 3;
    const arena = Buffer.concat([Buffer.alloc(off, 0xee), input, Buffer.alloc(3, 0xee)]);
    const h = view();
    if (!readHeader(arena, off, input.length, h)) {
      if (isValid) assert.fail('valid header refused');
      return 'ignored';
    }
    const again = Buffer.alloc(SLEEVE_HEADER_BYTES);
    writeHeader(again, 0, h.type, h.flags, h.sender, h.epoch, h.counter);
    sameBytes(again, input.subarray(0, SLEEVE_HEADER_BYTES), 'sleeve header');
    if (h.type !== 1 || !(h.flags & FLAG_PLAIN)) return 'accepted';
    const parts: Buffer[] = [];
    const ok = forEachRecord(arena, off + SLEEVE_HEADER_BYTES, input.length - SLEEVE_HEADER_BYTES, (src, dst, fOff, fLen) => {
      assert.ok(fOff >= off + SLEEVE_HEADER_BYTES && fOff + fLen <= off + input.length, 'record outside the datagram');
      const rh = Buffer.alloc(SLEEVE_RECORD_HEADER_BYTES);
      writeRecordHeader(rh, 0, src, dst, fLen);
      parts.push(rh, arena.subarray(fOff, fOff + fLen));
    });
    if (!ok) {
      if (isValid) assert.fail('valid records refused');
      return 'ignored';
    }
    sameBytes(Buffer.concat(parts), input.subarray(SLEEVE_HEADER_BYTES), 'sleeve records');
    return 'accepted';
  },
};

const sleeveControl: FuzzTarget = {
  name: 'sleeve-control',
  decoder: 'src/dataplane/wire-format.ts decodeControl (PMTU ack; null for anything else)',
  codes: [],
  valid: (rng) => encodePmtuAck(rng.u32(), rng.int(65536)),
  maxRandomBytes: 16,
  run(input, isValid) {
    const m = decodeControl(input);
    if (m === null) {
      if (isValid) assert.fail('valid PMTU ack refused');
      return 'ignored';
    }
    sameBytes(encodePmtuAck(m.probeId, m.size), input, 'PMTU ack');
    return 'accepted';
  },
};

const probeWire: FuzzTarget = {
  name: 'probe-wire',
  decoder: 'src/dataplane/fastpath/probe-wire.ts readProbe (null for anything else)',
  codes: [],
  valid(rng) {
    const len = PROBE_HEADER_BYTES + rng.smallLength(100);
    const b = Buffer.alloc(len);
    writeProbe(b, 0, { path: rng.chance(0.5) ? 'hostgw' : 'vxlan', reply: rng.chance(0.5), sender: rand48(rng), token: rng.bytes(8), seq: rng.u32(), size: rng.int(65536) }, len);
    return b;
  },
  maxRandomBytes: 128,
  run(input, isValid) {
    const off = input.length % 5;
    const arena = Buffer.concat([Buffer.alloc(off), input]);
    const m = readProbe(arena, off, input.length);
    if (m === null) {
      if (isValid) assert.fail('valid probe refused');
      return 'ignored';
    }
    const again = Buffer.alloc(input.length);
    writeProbe(again, 0, m, input.length);
    sameBytes(again.subarray(0, PROBE_HEADER_BYTES), input.subarray(0, PROBE_HEADER_BYTES), 'probe header');
    return 'accepted';
  },
};

const fastpathControl: FuzzTarget = {
  name: 'fastpath-control',
  decoder: 'src/dataplane/fastpath/control-wire.ts unwrapControl + decodeFastpathControl',
  codes: ['WEFT_ERR_DECODE'],
  valid(rng) {
    if (rng.chance(0.1)) return wrapControl(CHANNEL_SLEEVE, encodePmtuAck(rng.u32(), rng.int(65536)));
    return wrapControl(CHANNEL_FASTPATH, encodeHello({
      kernelPaths: rng.chance(0.5), hostGw: rng.chance(0.5), trustsYou: rng.chance(0.5), encrypted: rng.chance(0.5),
      vxlanPort: rng.range(1, 65535), probePort: rng.range(1, 65535), token: rng.bytes(8),
    }));
  },
  maxRandomBytes: 32,
  run(input, isValid) {
    const c = unwrapControl(input);
    if (c === null) return 'ignored';
    if (c.channel !== CHANNEL_FASTPATH) return 'ignored';
    const h = decodeFastpathControl(c.body);
    if (h === null) return 'ignored';
    const again = encodeHello(h);
    if (isValid) sameBytes(wrapControl(CHANNEL_FASTPATH, again), input, 'fast-path hello');
    same(decodeFastpathControl(again), h, 'fast-path hello decode(encode(h))');
    return 'accepted';
  },
};

const podDirectory: FuzzTarget = {
  name: 'pod-directory',
  decoder: 'src/dataplane/fastpath/pod-directory.ts decodeRecords',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeRecords(validPodRecords(rng)),
  run(input, isValid) {
    const recs = decodeRecords(input);
    const again = encodeRecords(recs);
    if (isValid) sameBytes(again, input, 'pod records');
    same(decodeRecords(again), recs, 'pod records decode(encode(r))');
  },
};

export const DATAPLANE_TARGETS: readonly FuzzTarget[] = [sleeveDatagram, sleeveControl, probeWire, fastpathControl, podDirectory];
