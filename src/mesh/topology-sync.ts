import {
  PEER_NAME_BYTES, TOPOLOGY_MAX_PEERS, TOPOLOGY_MAX_SYNC_NODES, TOPOLOGY_SYNC_BITS_PER_LEVEL, TOPOLOGY_SYNC_MAX_DEPTH, missingIndex,
} from '../common/index.js';
import type { PeerName } from './gossip-types.js';
import { Writer, peerNameFromBytes } from '../net/index.js';
import {
  KIND_DIGEST, KIND_REQUEST, KIND_SUMMARY, HEADER_BYTES, compareAt, openMessage, readVersion, writeHeader,
} from './topology-codec.js';

/**
 * Anti-entropy building blocks: a hash tree over the records we hold, and the codecs of the
 * three sync messages.
 *
 * Every record has a 32-bit *name hash* h(name) (its place in the tree: level d holds 16^d
 * buckets keyed by the top 4·d bits of h) and a 64-bit *entry hash* of (name, uid, version),
 * kept as two 32-bit lanes. A bucket's fingerprint is (count, Σ lane A mod 2^32, Σ lane B mod 2^32)
 * over its records; it is maintained incrementally (O(depth) per record change), so two peers
 * holding the same (name, uid, version) set have equal fingerprints at every bucket.
 *
 *   DIGEST  (kind 2) body = nranges varint · range* · count varint · entry*
 *           range = depth u8 (≤ 8) · prefix u32 (< 16^depth)       ranges strictly ascending
 *           entry = name(6) · uid u64 (≠ 0) · version varint       entries strictly ascending by name
 *           "here is every record I hold in these buckets"
 *   REQUEST (kind 3) body = count varint · name*                    strictly ascending
 *   SUMMARY (kind 4) body = nnodes varint · node*                   nodes strictly ascending
 *           node = depth u8 (< 8) · prefix u32 · mask u16 · child*  one child per set mask bit
 *           child = count varint (≥ 1) · laneA u32 · laneB u32      fingerprint of bucket (depth+1)
 */

const FANOUT = 1 << TOPOLOGY_SYNC_BITS_PER_LEVEL;
const TWO_32 = 0x1_0000_0000;

/** A bucket of the hash tree. */
export interface SyncRange {
  readonly depth: number;
  readonly prefix: number;
}

/** Fingerprint of one bucket. */
export interface BucketStats {
  count: number;
  a: number;
  b: number;
}

/** One digest line. */
export interface DigestEntry {
  readonly name: PeerName;
  readonly uid: bigint;
  readonly version: number;
}

/** A summary node: the fingerprints of the 16 children of bucket (depth, prefix). */
export interface SummaryNode {
  readonly depth: number;
  readonly prefix: number;
  /** Index i = child bucket (depth+1, prefix·16+i); undefined = empty. Length 16. */
  readonly children: readonly (BucketStats | undefined)[];
}

function mixK(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hexByte(s: string, i: number): number {
  const hi = s.charCodeAt(i);
  const lo = s.charCodeAt(i + 1);
  return (((hi <= 57 ? hi - 48 : hi - 87) << 4) | (lo <= 57 ? lo - 48 : lo - 87)) & 0xff;
}

/** 32-bit name hash (murmur3-style mix of the 6 name bytes); part of the protocol. */
export function nameHash(name: PeerName): number {
  const w0 = (hexByte(name, 0) << 24) | (hexByte(name, 3) << 16) | (hexByte(name, 6) << 8) | hexByte(name, 9);
  const w1 = (hexByte(name, 12) << 8) | hexByte(name, 15);
  return fmix(mixK(mixK(0x6d657368, w0), w1) ^ 6);
}

/** The two 32-bit lanes of the entry hash of (name, uid, version); part of the protocol. */
export function entryLanes(hash: number, uid: bigint, version: number): [number, number] {
  const uhi = Number(uid >> 32n) | 0;
  const ulo = Number(uid & 0xffffffffn) | 0;
  const vhi = Math.floor(version / TWO_32) | 0;
  const vlo = version | 0;
  let a = 0x9747b28c;
  let b = 0x5bd1e995;
  for (const k of [hash | 0, uhi, ulo, vhi, vlo]) {
    a = mixK(a, k);
    b = mixK(b, k ^ 0x2545f491);
  }
  return [fmix(a ^ 20), fmix(b ^ 20)];
}

/** Bucket (at `depth`) that holds a record with name hash `hash`. */
export function prefixOf(hash: number, depth: number): number {
  return depth === 0 ? 0 : hash >>> (32 - TOPOLOGY_SYNC_BITS_PER_LEVEL * depth);
}

function key(depth: number, prefix: number): number {
  return depth * TWO_32 + prefix;
}

function validRange(depth: number, prefix: number, maxDepth: number): boolean {
  return depth <= maxDepth && prefix < 2 ** (TOPOLOGY_SYNC_BITS_PER_LEVEL * depth);
}

/** Levels whose bucket fingerprints are kept in flat arrays (1 + 16 + 256 + 4096 buckets). */
const STORED_DEPTH = 3;
const LEVEL_OFFSET = [0, 1, 17, 273];
const STORED_BUCKETS = 4369;

/** What the index needs of a record: name, name hash and entry-hash lanes (int32 or uint32). */
export interface IndexEntry {
  readonly name: PeerName;
  readonly hash: number;
  readonly a: number;
  readonly b: number;
}

/**
 * The hash tree plus a (hash, name)-sorted list of records for range queries. Pure bookkeeping
 * owned by one Topology: an entry must be removed with the same object it was added with.
 * Fingerprints of the top levels live in flat arrays (no per-record objects, ~52 kB fixed);
 * deeper buckets (a few records each at realistic N) are summed from the sorted list on demand.
 */
export class SyncIndex {
  private readonly counts = new Uint32Array(STORED_BUCKETS);
  private readonly sumA = new Uint32Array(STORED_BUCKETS);
  private readonly sumB = new Uint32Array(STORED_BUCKETS);
  private readonly sorted: IndexEntry[] = [];

  add(e: IndexEntry): void {
    this.adjust(e, 1);
    this.sorted.splice(this.position(e.hash >>> 0, e.name), 0, e);
  }

  remove(e: IndexEntry): void {
    const i = this.position(e.hash >>> 0, e.name);
    if (this.sorted[i] !== e) return;
    this.adjust(e, -1);
    this.sorted.splice(i, 1);
  }

  private adjust(e: IndexEntry, sign: number): void {
    const hash = e.hash >>> 0;
    for (let d = 0; d <= STORED_DEPTH; d++) {
      const i = (LEVEL_OFFSET[d] ?? missingIndex('sync index', d)) + prefixOf(hash, d);
      this.counts[i] = (this.counts[i] ?? missingIndex('sync index', i)) + sign;
      this.sumA[i] = (this.sumA[i] ?? missingIndex('sync index', i)) + sign * (e.a >>> 0);
      this.sumB[i] = (this.sumB[i] ?? missingIndex('sync index', i)) + sign * (e.b >>> 0);
    }
  }

  /** First index whose (hash, name) ≥ the given pair. */
  private position(hash: number, name: PeerName): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.sorted[mid] ?? missingIndex('sync index', mid);
      const h = m.hash >>> 0;
      if (h < hash || (h === hash && m.name < name)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index range [from, to) of the records in bucket (depth, prefix). */
  private range(depth: number, prefix: number): [number, number] {
    const width = 2 ** (32 - TOPOLOGY_SYNC_BITS_PER_LEVEL * depth);
    const lo = prefix * width;
    const from = this.position(lo, '');
    let to = from;
    while (to < this.sorted.length && (this.sorted[to] ?? missingIndex('sync index', to)).hash >>> 0 < lo + width) to++;
    return [from, to];
  }

  stats(depth: number, prefix: number): BucketStats | undefined {
    if (depth <= STORED_DEPTH) {
      const i = (LEVEL_OFFSET[depth] ?? missingIndex('sync index', depth)) + prefix;
      const count = this.counts[i] ?? missingIndex('sync index', i);
      return count === 0 ? undefined : { count, a: (this.sumA[i] ?? missingIndex('sync index', i)), b: (this.sumB[i] ?? missingIndex('sync index', i)) };
    }
    const [from, to] = this.range(depth, prefix);
    if (from === to) return undefined;
    let a = 0;
    let b = 0;
    for (let i = from; i < to; i++) {
      a = (a + (this.sorted[i] ?? missingIndex('sync index', i)).a) >>> 0;
      b = (b + (this.sorted[i] ?? missingIndex('sync index', i)).b) >>> 0;
    }
    return { count: to - from, a, b };
  }

  /** The summary node of bucket (depth, prefix), depth < max depth. */
  node(depth: number, prefix: number): SummaryNode {
    const children: (BucketStats | undefined)[] = [];
    if (depth + 1 <= STORED_DEPTH) {
      for (let i = 0; i < FANOUT; i++) children.push(this.stats(depth + 1, prefix * FANOUT + i));
      return { depth, prefix, children };
    }
    for (let i = 0; i < FANOUT; i++) children.push(undefined);
    const [from, to] = this.range(depth, prefix);
    for (let i = from; i < to; i++) {
      const e = this.sorted[i] ?? missingIndex('sync index', i);
      const s = (children[prefixOf(e.hash >>> 0, depth + 1) & (FANOUT - 1)] ??= { count: 0, a: 0, b: 0 });
      s.count++;
      s.a = (s.a + e.a) >>> 0;
      s.b = (s.b + e.b) >>> 0;
    }
    return { depth, prefix, children };
  }

  /** Names of the records in bucket (depth, prefix), in (hash, name) order. */
  namesIn(depth: number, prefix: number): PeerName[] {
    const [from, to] = this.range(depth, prefix);
    const out: PeerName[] = [];
    for (let i = from; i < to; i++) out.push((this.sorted[i] ?? missingIndex('sync index', i)).name);
    return out;
  }
}

export function sameStats(x: BucketStats | undefined, y: BucketStats | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  return x.count === y.count && x.a === y.a && x.b === y.b;
}

function sortRanges(ranges: readonly SyncRange[]): SyncRange[] {
  return [...ranges].sort((x, y) => key(x.depth, x.prefix) - key(y.depth, y.prefix));
}

export function encodeDigestMessage(sender: PeerName, ranges: readonly SyncRange[], entries: readonly DigestEntry[]): Buffer {
  const w = new Writer(HEADER_BYTES + 16 + ranges.length * 5 + entries.length * 18);
  writeHeader(w, KIND_DIGEST, sender).varint(ranges.length);
  for (const g of sortRanges(ranges)) w.u8(g.depth).u32(g.prefix);
  const sorted = [...entries].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  w.varint(sorted.length);
  for (const e of sorted) w.peerName(e.name).u64(e.uid).varint(e.version);
  return w.finish();
}

export function decodeDigestMessage(buf: Buffer): { sender: PeerName; ranges: SyncRange[]; entries: DigestEntry[] } {
  const { r, sender } = openMessage(buf, KIND_DIGEST, 'topology digest');
  const nr = r.varint('range count');
  if (nr > TOPOLOGY_MAX_SYNC_NODES) throw r.fail('range count', `${nr} over limit ${TOPOLOGY_MAX_SYNC_NODES}`);
  const ranges: SyncRange[] = [];
  let prevKey = -1;
  for (let i = 0; i < nr; i++) {
    const depth = r.u8('range depth');
    const prefix = r.u32('range prefix');
    if (!validRange(depth, prefix, TOPOLOGY_SYNC_MAX_DEPTH)) throw r.fail('range', `bad bucket ${depth}/${prefix}`);
    const k = key(depth, prefix);
    if (k <= prevKey) throw r.fail('range', 'ranges not strictly ascending');
    prevKey = k;
    ranges.push({ depth, prefix });
  }
  const n = r.varint('entry count');
  if (n > TOPOLOGY_MAX_PEERS) throw r.fail('entry count', `${n} over limit ${TOPOLOGY_MAX_PEERS}`);
  const entries: DigestEntry[] = [];
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    r.skip(PEER_NAME_BYTES, 'entry name');
    if (prev >= 0 && compareAt(buf, prev, at, PEER_NAME_BYTES) >= 0) throw r.fail('entry name', 'entries not strictly ascending');
    prev = at;
    const uid = r.u64('uid');
    if (uid === 0n) throw r.fail('uid', 'zero uid');
    entries.push({ name: peerNameFromBytes(buf, at), uid, version: readVersion(r) });
  }
  r.end();
  return { sender, ranges, entries };
}

export function encodeRequestMessage(sender: PeerName, names: readonly PeerName[]): Buffer {
  const sorted = [...new Set(names)].sort();
  const w = new Writer(HEADER_BYTES + 8 + sorted.length * PEER_NAME_BYTES);
  writeHeader(w, KIND_REQUEST, sender).varint(sorted.length);
  for (const n of sorted) w.peerName(n);
  return w.finish();
}

export function decodeRequestMessage(buf: Buffer): { sender: PeerName; names: PeerName[] } {
  const { r, sender } = openMessage(buf, KIND_REQUEST, 'topology request');
  const n = r.varint('name count');
  if (n > TOPOLOGY_MAX_PEERS) throw r.fail('name count', `${n} over limit ${TOPOLOGY_MAX_PEERS}`);
  const names: PeerName[] = [];
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    r.skip(PEER_NAME_BYTES, 'name');
    if (prev >= 0 && compareAt(buf, prev, at, PEER_NAME_BYTES) >= 0) throw r.fail('name', 'names not strictly ascending');
    prev = at;
    names.push(peerNameFromBytes(buf, at));
  }
  r.end();
  return { sender, names };
}

export function encodeSummaryMessage(sender: PeerName, nodes: readonly SummaryNode[]): Buffer {
  const w = new Writer(HEADER_BYTES + 4 + nodes.length * (7 + FANOUT * 11));
  writeHeader(w, KIND_SUMMARY, sender).varint(nodes.length);
  for (const node of [...nodes].sort((x, y) => key(x.depth, x.prefix) - key(y.depth, y.prefix))) {
    let mask = 0;
    for (let i = 0; i < FANOUT; i++) if (node.children[i] !== undefined) mask |= 1 << i;
    w.u8(node.depth).u32(node.prefix).u16(mask);
    for (let i = 0; i < FANOUT; i++) {
      const c = node.children[i];
      if (c !== undefined) w.varint(c.count).u32(c.a).u32(c.b);
    }
  }
  return w.finish();
}

export function decodeSummaryMessage(buf: Buffer): { sender: PeerName; nodes: SummaryNode[] } {
  const { r, sender } = openMessage(buf, KIND_SUMMARY, 'topology summary');
  const n = r.varint('node count');
  if (n > TOPOLOGY_MAX_SYNC_NODES) throw r.fail('node count', `${n} over limit ${TOPOLOGY_MAX_SYNC_NODES}`);
  const nodes: SummaryNode[] = [];
  let prevKey = -1;
  for (let i = 0; i < n; i++) {
    const depth = r.u8('node depth');
    const prefix = r.u32('node prefix');
    if (!validRange(depth, prefix, TOPOLOGY_SYNC_MAX_DEPTH - 1)) throw r.fail('node', `bad bucket ${depth}/${prefix}`);
    const k = key(depth, prefix);
    if (k <= prevKey) throw r.fail('node', 'nodes not strictly ascending');
    prevKey = k;
    const mask = r.u16('child mask');
    const children: (BucketStats | undefined)[] = [];
    for (let c = 0; c < FANOUT; c++) {
      if ((mask & (1 << c)) === 0) {
        children.push(undefined);
        continue;
      }
      const count = r.varint('child count');
      if (count === 0) throw r.fail('child count', 'empty child listed');
      children.push({ count, a: r.u32('child lane a'), b: r.u32('child lane b') });
    }
    nodes.push({ depth, prefix, children });
  }
  r.end();
  return { sender, nodes };
}
