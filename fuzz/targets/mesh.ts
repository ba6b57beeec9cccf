/**
 * Mesh decoders: the shared Reader/Writer codec, control messages and hello, the version
 * prelude, the TCP frame splitter, the four topology message kinds, and the gossip hub fed
 * with decoded control messages.
 */
import assert from 'node:assert/strict';
import {
  PRELUDE_BYTES, TOPOLOGY_MAX_NICKNAME_BYTES, TOPOLOGY_MAX_ADDRESS_BYTES, silentLogger,
} from '../../src/common/index.js';
import { Reader, Writer } from '../../src/net/index.js';
import { decodeMessage, encodeMessage, decodeHello, encodeHello, Tag, type ControlMessage } from '../../src/mesh/messages.js';
import { encodePrelude, negotiateVersion } from '../../src/mesh/prelude.js';
import { FrameReader, lengthPrefixed } from '../../src/mesh/frame-reader.js';
import {
  decodeUpdate, encodeRecord, encodeUpdate, recordConnections, recordNickname, MAX_RECORD_VERSION,
} from '../../src/mesh/topology-codec.js';
import {
  decodeDigestMessage, encodeDigestMessage, decodeRequestMessage, encodeRequestMessage,
  decodeSummaryMessage, encodeSummaryMessage, type SummaryNode,
} from '../../src/mesh/topology-sync.js';
import { Topology } from '../../src/mesh/topology.js';
import { GossipHub, type GossipTransport } from '../../src/mesh/gossip-hub.js';
import type { MeshMetrics } from '../../src/metrics/index.js';
import { PodDirectory, encodeRecords } from '../../src/dataplane/fastpath/pod-directory.js';
import type { ConnectionInfo, PeerInfo } from '../../src/mesh/topology-types.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { peerName, same, sameBytes, sortedNames, u64, varintValue } from './common.js';
import { validPodRecords } from './pods.js';

// ───────────── the codec (src/net/codec.ts), as a program of typed fields ─────────────

type Field =
  | { k: 'u8' | 'u16' | 'u32' | 'varint'; v: number } | { k: 'bool'; v: boolean } | { k: 'u64'; v: bigint }
  | { k: 'bytes' | 'raw'; v: Buffer } | { k: 'string'; v: string } | { k: 'peer'; v: string };
const FIELD_KINDS = ['u8', 'u16', 'u32', 'varint', 'bool', 'u64', 'bytes', 'raw', 'string', 'peer'] as const;

/** The program (field kinds) is part of the input: byte 0 = field count, then one kind byte per field. */
function codecProgram(rng: Rng): Field[] {
  const n = rng.range(1, 12);
  const out: Field[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.pick(FIELD_KINDS);
    switch (k) {
      case 'u8': out.push({ k, v: rng.int(256) }); break;
      case 'u16': out.push({ k, v: rng.int(65536) }); break;
      case 'u32': out.push({ k, v: rng.u32() }); break;
      case 'varint': out.push({ k, v: varintValue(rng) }); break;
      case 'bool': out.push({ k, v: rng.chance(0.5) }); break;
      case 'u64': out.push({ k, v: u64(rng) }); break;
      case 'bytes': out.push({ k, v: rng.bytes(rng.smallLength(64)) }); break;
      case 'raw': out.push({ k, v: rng.bytes(rng.smallLength(16)) }); break;
      case 'string': out.push({ k, v: rng.text(20) }); break;
      case 'peer': out.push({ k, v: peerName(rng) }); break;
    }
  }
  return out;
}

function encodeProgram(fields: Field[]): Buffer {
  const w = new Writer(64);
  w.u8(fields.length);
  for (const f of fields) w.u8(FIELD_KINDS.indexOf(f.k)).u8(f.k === 'raw' ? f.v.length : 0);
  for (const f of fields) {
    switch (f.k) {
      case 'u8': w.u8(f.v); break;
      case 'u16': w.u16(f.v); break;
      case 'u32': w.u32(f.v); break;
      case 'varint': w.varint(f.v); break;
      case 'bool': w.bool(f.v); break;
      case 'u64': w.u64(f.v); break;
      case 'bytes': w.bytes(f.v); break;
      case 'raw': w.raw(f.v); break;
      case 'string': w.string(f.v); break;
      case 'peer': w.peerName(f.v); break;
    }
  }
  return w.finish();
}

function decodeProgram(buf: Buffer): Field[] {
  const r = new Reader(buf, 'fuzz program');
  const n = r.u8('count');
  const kinds: { k: (typeof FIELD_KINDS)[number]; raw: number }[] = [];
  for (let i = 0; i < n; i++) {
    const k = FIELD_KINDS[r.u8('kind')];
    if (k === undefined) throw r.fail('kind', 'unknown field kind');
    const raw = r.u8('raw length');
    if (k !== 'raw' && raw !== 0) throw r.fail('raw length', 'set for a field that is not raw');
    kinds.push({ k, raw });
  }
  const out: Field[] = [];
  for (const { k, raw } of kinds) {
    switch (k) {
      case 'u8': out.push({ k, v: r.u8() }); break;
      case 'u16': out.push({ k, v: r.u16() }); break;
      case 'u32': out.push({ k, v: r.u32() }); break;
      case 'varint': out.push({ k, v: r.varint() }); break;
      case 'bool': out.push({ k, v: r.bool() }); break;
      case 'u64': out.push({ k, v: r.u64() }); break;
      case 'bytes': out.push({ k, v: Buffer.from(r.bytes(4096)) }); break;
      case 'raw': out.push({ k, v: Buffer.from(r.raw(raw)) }); break;
      case 'string': out.push({ k, v: r.string(1024) }); break;
      case 'peer': out.push({ k, v: r.peerName() }); break;
    }
  }
  r.end();
  return out;
}

const netCodec: FuzzTarget = {
  name: 'net-codec',
  decoder: 'src/net/codec.ts Reader (u8…string, varint, peerName, end)',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeProgram(codecProgram(rng)),
  run(input) {
    const fields = decodeProgram(input);
    // canonical: whatever decodes re-encodes to the same bytes (strings that were valid UTF-8 stay so)
    sameBytes(encodeProgram(fields), input, 'codec re-encode');
  },
};

// ───────────── control messages, hello, prelude, frames ─────────────

function controlMessage(rng: Rng): ControlMessage {
  const channel = rng.pick(['topology', 'ipam', 'fastpath', 'ping', 'x'.repeat(32), rng.text(8) || 'c']).slice(0, 32);
  const payload = rng.bytes(rng.smallLength(300));
  switch (rng.int(6)) {
    case 0: return { tag: Tag.Heartbeat };
    case 1: return { tag: Tag.Close, reason: rng.text(40) };
    case 2: return { tag: Tag.Gossip, channel, payload };
    case 3: return { tag: Tag.Broadcast, channel, src: peerName(rng), payload };
    case 4: return { tag: Tag.Unicast, channel, src: peerName(rng), dst: peerName(rng), payload };
    default: return { tag: Tag.Overlay, payload };
  }
}

function safeChannel(m: ControlMessage): ControlMessage {
  // channel names are UTF-8 ≤ 32 bytes; a text() cut may exceed that
  if ('channel' in m && Buffer.byteLength(m.channel) > 32) return { ...m, channel: 'c' };
  if ('channel' in m && m.channel === '') return { ...m, channel: 'c' };
  return m;
}

const controlMessages: FuzzTarget = {
  name: 'control-message',
  decoder: 'src/mesh/messages.ts decodeMessage',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeMessage(safeChannel(controlMessage(rng))),
  run(input, isValid) {
    const m = decodeMessage(input);
    // every decoded message re-encodes (its channel is within bounds, names are canonical)
    const again = encodeMessage(m);
    if (isValid) sameBytes(again, input, 'control message');
    // a close reason is free text cut at 200 bytes (possibly inside a character): not canonical
    if (m.tag !== Tag.Close) same(decodeMessage(again), m, 'control message decode(encode(m))');
  },
};

const hello: FuzzTarget = {
  name: 'hello',
  decoder: 'src/mesh/messages.ts decodeHello',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeHello({ uid: u64(rng), nickname: rng.text(30), listenPort: rng.int(65536) }),
  run(input, isValid) {
    const h = decodeHello(input);
    if (isValid) same(decodeHello(encodeHello(h)), h, 'hello round trip');
  },
};

const prelude: FuzzTarget = {
  name: 'prelude',
  decoder: 'src/mesh/prelude.ts negotiateVersion',
  codes: ['WEFT_ERR_DECODE', 'WEFT_ERR_VERSION'],
  valid: () => encodePrelude(),
  maxRandomBytes: PRELUDE_BYTES * 2,
  run(input) {
    const v = negotiateVersion(input);
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `version ${v}`);
  },
};

const FRAME_LIMIT = 4096;
const frames: FuzzTarget = {
  name: 'frame-reader',
  decoder: 'src/mesh/frame-reader.ts FrameReader.push (input split into chunks at byte 0’s pattern)',
  codes: ['WEFT_ERR_TOO_BIG'],
  valid(rng) {
    const n = rng.range(1, 5);
    const parts: Buffer[] = [];
    for (let i = 0; i < n; i++) parts.push(lengthPrefixed(rng.bytes(rng.smallLength(FRAME_LIMIT))));
    return Buffer.concat(parts);
  },
  run(input, isValid) {
    // feed the stream in chunks whose sizes come from the input itself (deterministic)
    const r = new FrameReader(FRAME_LIMIT);
    const out: Buffer[] = [];
    let pos = 0;
    let step = 1;
    while (pos < input.length) {
      const n = Math.min(input.length - pos, ((input[pos] ?? 0) % 17) + step);
      out.push(...r.push(input.subarray(pos, pos + n)));
      pos += n;
      step = (step * 3) % 29 + 1;
    }
    const consumed = out.reduce((s, f) => s + 4 + f.length, 0);
    assert.equal(consumed + r.bufferedBytes, input.length, 'frame reader lost or invented bytes');
    if (isValid) {
      assert.equal(r.bufferedBytes, 0, 'valid stream left bytes behind');
      sameBytes(Buffer.concat(out.map(lengthPrefixed)), input, 'frames');
    }
  },
};

// ───────────── topology ─────────────

function peerInfo(rng: Rng, name: string): PeerInfo {
  const conns = new Map<string, ConnectionInfo>();
  const n = rng.chance(0.8) ? rng.int(4) : rng.int(40);
  for (let i = 0; i < n; i++) {
    const other = peerName(rng);
    if (other === name) continue;
    conns.set(other, { address: rng.chance(0.8) ? `10.0.${rng.int(256)}.${rng.int(256)}:6783` : rng.text(TOPOLOGY_MAX_ADDRESS_BYTES / 4), outbound: rng.chance(0.5), established: rng.chance(0.5) });
  }
  return {
    name, uid: u64(rng, true), version: varintValue(rng, MAX_RECORD_VERSION),
    nickname: rng.text(TOPOLOGY_MAX_NICKNAME_BYTES / 4), connections: conns,
  };
}

function validUpdate(rng: Rng): Buffer {
  const names = sortedNames(rng, rng.chance(0.9) ? rng.int(6) : rng.int(60));
  return encodeUpdate(peerName(rng), names.map((n) => encodeRecord(peerInfo(rng, n))));
}

const topologyUpdate: FuzzTarget = {
  name: 'topology-update',
  decoder: 'src/mesh/topology-codec.ts decodeUpdate + Topology.handleMessage',
  codes: ['WEFT_ERR_DECODE'],
  valid: validUpdate,
  maxRandomBytes: 1024,
  run(input) {
    const { sender, records } = decodeUpdate(input);
    // the spans re-assemble to the same message, and each record's fields decode
    sameBytes(encodeUpdate(sender, records.map((r) => input.subarray(r.start, r.end))), input, 'update');
    for (const r of records) {
      const raw = input.subarray(r.start, r.end);
      const info: PeerInfo = { name: r.name, uid: r.uid, version: r.version, nickname: recordNickname(raw), connections: recordConnections(raw) };
      sameBytes(encodeRecord(info), raw, 'record');
    }
    // and the merge accepts it (a fresh topology; the update must not throw past decode)
    new Topology('02:00:00:00:00:ff', 'fuzz', 1n).handleMessage(input);
  },
};

const topologyDigest: FuzzTarget = {
  name: 'topology-digest',
  decoder: 'src/mesh/topology-sync.ts decodeDigestMessage + Topology.handleMessage',
  codes: ['WEFT_ERR_DECODE'],
  valid(rng) {
    const ranges: { depth: number; prefix: number }[] = [];
    const seen = new Set<string>();
    for (let i = rng.int(5); i > 0; i--) {
      const depth = rng.int(9);
      const prefix = depth === 0 ? 0 : rng.int(16 ** depth);
      if (!seen.has(`${depth}/${prefix}`)) { seen.add(`${depth}/${prefix}`); ranges.push({ depth, prefix }); }
    }
    const entries = sortedNames(rng, rng.int(8)).map((name) => ({ name, uid: u64(rng, true), version: varintValue(rng, MAX_RECORD_VERSION) }));
    return encodeDigestMessage(peerName(rng), ranges, entries);
  },
  run(input) {
    const d = decodeDigestMessage(input);
    sameBytes(encodeDigestMessage(d.sender, d.ranges, d.entries), input, 'digest');
    new Topology('02:00:00:00:00:ff', 'fuzz', 1n).handleMessage(input);
  },
};

const topologyRequest: FuzzTarget = {
  name: 'topology-request',
  decoder: 'src/mesh/topology-sync.ts decodeRequestMessage + Topology.handleMessage',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeRequestMessage(peerName(rng), sortedNames(rng, rng.int(10))),
  run(input) {
    const m = decodeRequestMessage(input);
    sameBytes(encodeRequestMessage(m.sender, m.names), input, 'request');
    new Topology('02:00:00:00:00:ff', 'fuzz', 1n).handleMessage(input);
  },
};

const topologySummary: FuzzTarget = {
  name: 'topology-summary',
  decoder: 'src/mesh/topology-sync.ts decodeSummaryMessage + Topology.handleMessage',
  codes: ['WEFT_ERR_DECODE'],
  valid(rng) {
    const nodes: SummaryNode[] = [];
    const seen = new Set<string>();
    for (let i = rng.int(4); i > 0; i--) {
      const depth = rng.int(8);
      const prefix = depth === 0 ? 0 : rng.int(16 ** depth);
      if (seen.has(`${depth}/${prefix}`)) continue;
      seen.add(`${depth}/${prefix}`);
      const children = Array.from({ length: 16 }, () => (rng.chance(0.4) ? { count: 1 + varintValue(rng, 2 ** 40), a: rng.u32(), b: rng.u32() } : undefined));
      nodes.push({ depth, prefix, children });
    }
    return encodeSummaryMessage(peerName(rng), nodes);
  },
  run(input) {
    const m = decodeSummaryMessage(input);
    sameBytes(encodeSummaryMessage(m.sender, m.nodes), input, 'summary');
    new Topology('02:00:00:00:00:ff', 'fuzz', 1n).handleMessage(input);
  },
};

// ───────────── the gossip hub, fed decoded control messages ─────────────

const SELF = '02:00:00:00:00:01';
const NEIGHBOURS = ['02:00:00:00:00:02', '02:00:00:00:00:03'];
let hubDropsUntyped = 0;
const metrics = {
  gossip: () => undefined,
  badInput: (_source: string, reason: string) => { if (reason === 'exception') hubDropsUntyped++; },
} as unknown as MeshMetrics;

function makeHub(): { hub: GossipHub; sent: ControlMessage[] } {
  const sent: ControlMessage[] = [];
  const conn = { send: (m: ControlMessage) => { sent.push(m); } };
  const transport: GossipTransport = {
    self: SELF,
    neighbours: () => new Map(NEIGHBOURS.map((n) => [n, conn])),
    nextHopAll: (dst) => (dst.endsWith('0') ? NEIGHBOURS[0] : undefined),
    broadcastNextHops: () => NEIGHBOURS,
    peerCount: () => 8,
  };
  const hub = new GossipHub(transport, metrics, silentLogger(), () => 0.5);
  // the real gossipers that parse hub input: the pod directory (fastpath) and a topology
  hub.register('fastpath', new PodDirectory(SELF, () => undefined));
  const topo = new Topology(SELF, 'fuzz', 1n);
  hub.register('topology', {
    onGossipUnicast: (_src, msg) => { topo.handleMessage(msg); },
    onGossipBroadcast: (_src, msg) => topo.handleMessage(msg).delta,
    onGossip: (msg) => topo.handleMessage(msg).delta,
    gossip: () => topo.encodeFull(),
  });
  return { hub, sent };
}

const gossipHub: FuzzTarget = {
  name: 'gossip-hub',
  decoder: 'src/mesh/gossip-hub.ts GossipHub.handle (decodeMessage, then the fastpath and topology gossipers)',
  codes: ['WEFT_ERR_DECODE'],
  valid(rng) {
    const channel = rng.pick(['fastpath', 'topology', 'unknown']);
    const payload = channel === 'fastpath' ? encodeRecords(validPodRecords(rng)) : channel === 'topology' ? validUpdate(rng) : rng.bytes(rng.smallLength(64));
    const src = rng.chance(0.2) ? SELF : peerName(rng);
    const dst = rng.pick([SELF, '02:00:00:00:00:10', '02:00:00:00:00:11']);
    const which = rng.int(3);
    const m: ControlMessage = which === 0 ? { tag: Tag.Gossip, channel, payload }
      : which === 1 ? { tag: Tag.Broadcast, channel, src, payload } : { tag: Tag.Unicast, channel, src, dst, payload };
    return encodeMessage(m);
  },
  maxRandomBytes: 256,
  run(input) {
    const m = decodeMessage(input);
    const { hub } = makeHub();
    const before = hubDropsUntyped;
    hub.handle(NEIGHBOURS[0]!, m, input.length); // the hub itself never throws for bad data
    // a gossiper that failed on bad data must have failed with a typed error
    assert.equal(hubDropsUntyped, before, 'a gossiper threw a non-WeftError on hub input');
  },
};

export const MESH_TARGETS: readonly FuzzTarget[] = [
  netCodec, controlMessages, hello, prelude, frames, topologyUpdate, topologyDigest, topologyRequest, topologySummary, gossipHub,
];
