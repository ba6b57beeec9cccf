import {
  WeftError, PEER_NAME_BYTES, TOPOLOGY_MAX_PEERS, TOPOLOGY_MAX_CONNECTIONS_PER_PEER,
  TOPOLOGY_MAX_NICKNAME_BYTES, TOPOLOGY_MAX_ADDRESS_BYTES, missingIndex,
} from '../common/index.js';
import type { PeerName } from './gossip-types.js';
import { Reader, Writer, peerNameFromBytes } from '../net/index.js';
import type { ConnectionInfo, PeerInfo, TopologyMessageKind } from './topology-types.js';

/**
 * Wire format of topology messages (all integers big-endian, see codec.ts):
 *
 *   message  = kind u8 · sender name(6) · body
 *   UPDATE   (kind 1) body = count varint · record*            records strictly ascending by name
 *   record   = name(6) · uid u64 (≠ 0) · version varint · nickname string
 *              · nconns varint · conn*                          conns strictly ascending by name
 *   conn     = name(6) (≠ record name) · flags u8 (bit0 outbound, bit1 established, rest 0)
 *              · address string
 *   DIGEST, REQUEST, SUMMARY: see topology-sync.ts.
 *
 * The encoding is canonical (sorted, no duplicates, canonical varints), so a record's bytes are
 * a function of its content; the merge uses them as the final tie-break.
 */

export const KIND_UPDATE = 1;
export const KIND_DIGEST = 2;
export const KIND_REQUEST = 3;
export const KIND_SUMMARY = 4;
const KIND_NAMES: Record<number, TopologyMessageKind> = {
  [KIND_UPDATE]: 'update', [KIND_DIGEST]: 'digest', [KIND_REQUEST]: 'request', [KIND_SUMMARY]: 'summary',
};
/** kind + sender. bytes */
export const HEADER_BYTES = 1 + PEER_NAME_BYTES;
const FLAG_OUTBOUND = 1;
const FLAG_ESTABLISHED = 2;

/** The kind of a topology message (WEFT_ERR_DECODE when empty or unknown). */
export function messageKind(buf: Buffer): TopologyMessageKind {
  const k = buf.length > 0 ? KIND_NAMES[buf.readUInt8(0)] : undefined;
  if (k === undefined) {
    throw new WeftError('WEFT_ERR_DECODE', buf.length === 0 ? 'topology message: empty' : `topology message: unknown kind ${buf[0]}`);
  }
  return k;
}

/** The sender name in a topology message's header (WEFT_ERR_DECODE when too short). */
export function messageSender(buf: Buffer): PeerName {
  return peerNameFromBytes(buf, 1);
}

/** Open a reader positioned after the header, checking the kind; returns it and the sender. */
export function openMessage(buf: Buffer, kind: number, context: string): { r: Reader; sender: PeerName } {
  const r = new Reader(buf, context);
  const k = r.u8('kind');
  if (k !== kind) throw new WeftError('WEFT_ERR_DECODE', `${context}: wrong kind ${k}, want ${kind}`);
  return { r, sender: r.peerName('sender') };
}

export function writeHeader(w: Writer, kind: number, sender: PeerName): Writer {
  return w.u8(kind).peerName(sender);
}

/**
 * Compare `n` bytes at offsets a and b of the same buffer (like Buffer.compare, without views).
 * Callers read both spans first; a loop, because Buffer#compare with offsets is ~50× slower for
 * 6 bytes.
 */
export function compareAt(buf: Buffer, a: number, b: number, n: number): number {
  for (let i = 0; i < n; i++) {
    const d = (buf[a + i] ?? missingIndex('compareAt', a + i)) - (buf[b + i] ?? missingIndex('compareAt', b + i));
    if (d !== 0) return d;
  }
  return 0;
}

/** Canonical encoding of one record (connections sorted by name). */
export function encodeRecord(info: PeerInfo): Buffer {
  const names = [...info.connections.keys()].sort();
  const w = new Writer(64 + names.length * 32);
  w.peerName(info.name).u64(info.uid).varint(info.version).string(info.nickname).varint(names.length);
  for (const n of names) {
    const c = info.connections.get(n)!;
    w.peerName(n).u8((c.outbound ? FLAG_OUTBOUND : 0) | (c.established ? FLAG_ESTABLISHED : 0)).string(c.address);
  }
  return w.finish();
}

/** Header fields of one validated record inside an UPDATE, with its byte span. */
export interface RecordRef {
  readonly name: PeerName;
  readonly uid: bigint;
  readonly version: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Fully validate an UPDATE message (every field of every record) and return the records'
 * headers and byte spans. Throws WEFT_ERR_DECODE on any violation; builds no connection maps.
 */
export function decodeUpdate(buf: Buffer): { sender: PeerName; records: RecordRef[] } {
  const { r, sender } = openMessage(buf, KIND_UPDATE, 'topology update');
  const count = r.varint('record count');
  if (count > TOPOLOGY_MAX_PEERS) throw r.fail('record count', `${count} over limit ${TOPOLOGY_MAX_PEERS}`);
  const records: RecordRef[] = [];
  let prevName = -1;
  for (let i = 0; i < count; i++) {
    const start = r.offset;
    r.skip(PEER_NAME_BYTES, 'record name');
    if (prevName >= 0 && compareAt(buf, prevName, start, PEER_NAME_BYTES) >= 0) {
      throw r.fail('record name', 'records not strictly ascending by name');
    }
    prevName = start;
    const uid = r.u64('uid');
    if (uid === 0n) throw r.fail('uid', 'zero uid');
    const version = readVersion(r);
    r.skipString(TOPOLOGY_MAX_NICKNAME_BYTES, 'nickname');
    skipConnections(r, buf, start);
    records.push({ name: peerNameFromBytes(buf, start), uid, version, start, end: r.offset });
  }
  r.end();
  return { sender, records };
}

/** Largest record version: one below 2^53-1, so bumping past any valid version stays exact. */
export const MAX_RECORD_VERSION = Number.MAX_SAFE_INTEGER - 1;

export function readVersion(r: Reader): number {
  const v = r.varint('version');
  if (v > MAX_RECORD_VERSION) throw r.fail('version', `${v} over limit ${MAX_RECORD_VERSION}`);
  return v;
}

function skipConnections(r: Reader, buf: Buffer, recordName: number): void {
  const n = r.varint('connection count');
  if (n > TOPOLOGY_MAX_CONNECTIONS_PER_PEER) {
    throw r.fail('connection count', `${n} over limit ${TOPOLOGY_MAX_CONNECTIONS_PER_PEER}`);
  }
  let prev = -1;
  for (let j = 0; j < n; j++) {
    const at = r.offset;
    r.skip(PEER_NAME_BYTES, 'connection name');
    if (compareAt(buf, at, recordName, PEER_NAME_BYTES) === 0) throw r.fail('connection name', 'connection to itself');
    if (prev >= 0 && compareAt(buf, prev, at, PEER_NAME_BYTES) >= 0) {
      throw r.fail('connection name', 'connections not strictly ascending by name');
    }
    prev = at;
    const flags = r.u8('connection flags');
    if ((flags & ~(FLAG_OUTBOUND | FLAG_ESTABLISHED)) !== 0) throw r.fail('connection flags', `reserved bits set in ${flags}`);
    r.skipString(TOPOLOGY_MAX_ADDRESS_BYTES, 'address');
  }
}

/** Where the fields after the version start, for a record already validated. */
function afterVersion(raw: Buffer): Reader {
  const r = new Reader(raw, 'topology record');
  r.skip(PEER_NAME_BYTES + 8);
  r.varint();
  return r;
}

/** Nickname of a validated record. */
export function recordNickname(raw: Buffer): string {
  return afterVersion(raw).string(TOPOLOGY_MAX_NICKNAME_BYTES);
}

/** Names of a validated record's connections, in wire (sorted) order. */
export function recordConnectionNames(raw: Buffer): PeerName[] {
  const r = afterVersion(raw);
  r.skipString(TOPOLOGY_MAX_NICKNAME_BYTES);
  const n = r.varint();
  const out = new Array<PeerName>(n);
  for (let j = 0; j < n; j++) {
    out[j] = r.peerName();
    r.skip(1);
    r.skip(r.u16());
  }
  return out;
}

/** Connections of a validated record. */
export function recordConnections(raw: Buffer): Map<PeerName, ConnectionInfo> {
  const r = afterVersion(raw);
  r.skipString(TOPOLOGY_MAX_NICKNAME_BYTES);
  const n = r.varint();
  const out = new Map<PeerName, ConnectionInfo>();
  for (let j = 0; j < n; j++) {
    const name = r.peerName();
    const flags = r.u8();
    const address = r.string(TOPOLOGY_MAX_ADDRESS_BYTES);
    out.set(name, Object.freeze({ address, outbound: (flags & FLAG_OUTBOUND) !== 0, established: (flags & FLAG_ESTABLISHED) !== 0 }));
  }
  return out;
}

/**
 * An UPDATE message from already-encoded records (sorted by name, no duplicates), given as
 * Buffers or as latin1 strings of their bytes.
 */
export function encodeUpdate(sender: PeerName, raws: readonly (Buffer | string)[]): Buffer {
  let size = HEADER_BYTES + 8;
  for (const b of raws) size += b.length;
  const w = new Writer(size);
  writeHeader(w, KIND_UPDATE, sender).varint(raws.length);
  for (const b of raws) {
    if (typeof b === 'string') w.latin1(b);
    else w.raw(b);
  }
  return w.finish();
}
