/**
 * Decoders of flow visibility: the netfilter-netlink event messages (ctnetlink conntrack
 * events, NFLOG records with the logged packet's IP header) of src/host/nfnl-messages.ts, the
 * flow query's mesh messages of src/flows/wire.ts, and the flow filter (query parameters).
 */
import assert from 'node:assert/strict';
import { encodeRequest, decodeMessages, type NlAttr } from '../../src/host/netlink-codec.js';
import { decodeConntrackEvent, decodeNflogRecord, decodePacketHeader } from '../../src/host/nfnl-messages.js';
import { decodeFlowMessage, encodeFlowMessage, parseFlowQuery, type FlowRequest } from '../../src/flows/index.js';
import type { FlowRecord } from '../../src/api/index.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { mutateJson } from './json.js';

const be = (n: number, bytes: number): Buffer => { const b = Buffer.alloc(bytes); b.writeUIntBE(n, 0, bytes); return b; };
const nest = (type: number, attrs: NlAttr[]): NlAttr => ({ type: type | 0x8000, value: attrs });
const raw = (type: number, value: Buffer): NlAttr => ({ type, value });

function tuple(rng: Rng, v6: boolean): NlAttr[] {
  const addr = (): Buffer => rng.bytes(v6 ? 16 : 4);
  return [
    nest(1, v6 ? [raw(3, addr()), raw(4, addr())] : [raw(1, addr()), raw(2, addr())]),
    nest(2, [raw(1, Buffer.of(rng.pick([6, 17, 1, 132]))), raw(2, be(rng.range(0, 65535), 2)), raw(3, be(rng.range(0, 65535), 2))]),
  ];
}

function conntrackMessage(rng: Rng): Buffer {
  const v6 = rng.chance(0.3);
  const attrs: NlAttr[] = [nest(1, tuple(rng, v6)), nest(2, tuple(rng, v6)), raw(12, be(rng.u32(), 4))];
  if (rng.chance(0.5)) attrs.push(nest(4, [nest(1, [raw(1, Buffer.of(rng.range(0, 9)))])]));
  if (rng.chance(0.6)) attrs.push(nest(9, [raw(1, rng.bytes(8)), raw(2, Buffer.alloc(8))]), nest(10, [raw(1, Buffer.alloc(8)), raw(2, rng.bytes(8))]));
  return encodeRequest({ type: (1 << 8) | rng.pick([0, 2]), flags: 0, seq: 0, header: Buffer.of(v6 ? 10 : 2, 0, 0, 0), attrs });
}

function ipPacket(rng: Rng): Buffer {
  if (rng.chance(0.7)) {
    const h = Buffer.alloc(40);
    h[0] = 0x45; h[9] = rng.pick([6, 17, 1]);
    rng.bytes(8).copy(h, 12);
    h.writeUInt16BE(rng.range(1, 65535), 20); h.writeUInt16BE(rng.range(1, 65535), 22); h[33] = rng.range(0, 255);
    return h.subarray(0, rng.range(20, 40));
  }
  const h = Buffer.alloc(60);
  h[0] = 0x60; h[6] = rng.pick([6, 17, 58]);
  rng.bytes(32).copy(h, 8);
  return h.subarray(0, rng.range(40, 60));
}

function nflogMessage(rng: Rng): Buffer {
  const attrs: NlAttr[] = [raw(1, Buffer.of(8, 0, 2, 0)),
    raw(10, Buffer.from(`weft-policy ${rng.pick(['drop', 'audit'])} ${rng.pick(['ingress', 'egress'])}: \0`))];
  if (rng.chance(0.8)) attrs.push(raw(9, ipPacket(rng)));
  return encodeRequest({ type: (4 << 8) | 0, flags: 0, seq: 0, header: Buffer.of(2, 0, 0x0c, 0x91), attrs });
}

const nfnetlink: FuzzTarget = {
  name: 'nfnetlink-events',
  decoder: 'src/host/nfnl-messages.ts decodeConntrackEvent, decodeNflogRecord, decodePacketHeader (via netlink-codec decodeMessages)',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => Buffer.concat(Array.from({ length: rng.range(1, 3) }, () => (rng.chance(0.5) ? conntrackMessage(rng) : nflogMessage(rng)))),
  maxRandomBytes: 400,
  run(input, isValid) {
    let n = 0;
    for (const m of decodeMessages(input)) {
      const ct = decodeConntrackEvent(m);
      if (ct) { assert.ok(ct.orig.src.length > 0 && ct.orig.proto >= 0 && ct.orig.proto <= 255); n++; continue; }
      const log = decodeNflogRecord(m);
      if (log) { assert.ok(log.prefix.length <= 128); n++; }
    }
    if (isValid) assert.ok(n > 0, 'every valid message decodes');
    // the packet parser alone, on the raw bytes
    try { decodePacketHeader(input.subarray(0, 80)); } catch (e) { if (!(e instanceof Error && 'code' in e && e.code === 'WEFT_ERR_DECODE')) throw e; }
  },
};

const RECORD: FlowRecord = {
  time: '2026-01-01T00:00:00.000Z', seq: 3, event: 'drop', verdict: 'dropped', drop_reason: 'policy-denied',
  policies: [{ namespace: 'default', name: 'deny', direction: 'ingress' }],
  source: { ip: '10.32.0.2', port: 40000, namespace: 'default', name: 'client', labels: { app: 'client' }, host: 'host2' },
  destination: { ip: '10.32.0.3', port: 8080 }, protocol: 'TCP', tcp_flags: ['SYN'], path: 'hostgw', observed_on: 'host3',
};

function flowMessage(rng: Rng): Buffer {
  if (rng.chance(0.5)) {
    const request: FlowRequest = { q: rng.chance(0.5) ? { verdict: 'dropped', last: '10' } : { 'from-pod': 'default/a' }, ...(rng.chance(0.3) ? { after: rng.range(-1, 100) } : {}) };
    return encodeFlowMessage({ kind: 1, id: rng.u32(), request });
  }
  return encodeFlowMessage({ kind: 2, id: rng.u32(), reply: { records: Array.from({ length: rng.range(0, 3) }, () => ({ ...RECORD, seq: rng.range(0, 1000) })), lastSeq: rng.range(-1, 1000) } });
}

const flowWire: FuzzTarget = {
  name: 'flow-messages',
  decoder: 'src/flows/wire.ts decodeFlowMessage (mesh flow query request/reply, every record checked)',
  codes: ['WEFT_ERR_DECODE'],
  valid: flowMessage,
  structured: (rng) => {
    const b = flowMessage(rng);
    const body = mutateJson(rng, JSON.parse(b.toString('utf8', 5)));
    return Buffer.concat([b.subarray(0, 5), Buffer.from(JSON.stringify(body) ?? 'null')]);
  },
  run(input) {
    const m = decodeFlowMessage(input);
    if (m.kind === 2) for (const r of m.reply.records) assert.ok(typeof r.time === 'string' && r.source && r.destination);
  },
};

const flowQuery: FuzzTarget = {
  name: 'flow-query',
  decoder: 'src/flows/filter.ts parseFlowQuery (the /flows query parameters and CLI filters)',
  codes: ['WEFT_ERR_BAD_ARGS'],
  valid: (rng) => Buffer.from(new URLSearchParams({
    ...(rng.chance(0.5) ? { last: String(rng.range(1, 100000)) } : {}), ...(rng.chance(0.5) ? { since: `${rng.range(1, 99)}${rng.pick(['ms', 's', 'm', 'h'])}` } : {}),
    ...(rng.chance(0.5) ? { verdict: rng.pick(['forwarded', 'dropped', 'audit']) } : {}), ...(rng.chance(0.3) ? { pod: 'default/web-1' } : {}),
    ...(rng.chance(0.3) ? { port: String(rng.range(1, 65535)) } : {}), ...(rng.chance(0.3) ? { protocol: rng.pick(['tcp', 'UDP', 'icmp']) } : {}),
  }).toString()),
  run(input) {
    const f = parseFlowQuery(Object.fromEntries(new URLSearchParams(input.toString('utf8'))));
    assert.ok(f.last >= 1 && f.last <= 100000);
  },
};

export const FLOW_TARGETS: readonly FuzzTarget[] = [nfnetlink, flowWire, flowQuery];
