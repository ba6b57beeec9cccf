import {
  WeftError, IPAM_WIRE_VERSION, IPAM_RING_ID_BYTES, IPAM_MAX_ENTRIES, IPAM_MAX_TOMBSTONES,
  IPAM_MAX_ELECTORS, IPAM_MAX_MEMBERS, IPAM_MAX_NICKNAME_BYTES, IPAM_MAX_REASON_BYTES, PEER_NAME_BYTES,
  IPAM_MAX_DESIGNATED_HEIRS,
} from '../common/index.js';
import type { PeerName } from '../net/index.js';
import { parseUniverse, type Universe } from './address.js';
import type { Ballot, ElectorState } from './consensus.js';
import type { Designation, RingEntry, RingOrigin, Tombstone } from './ring.js';
import { Reader, Writer } from './wire.js';

/**
 * Wire format of the "ipam" gossip channel. Every message: u8 version (IPAM_WIRE_VERSION),
 * u8 kind, body. Integers are canonical LEB128 varints, names 6 raw bytes, strings u16-length
 * UTF-8 (shared mesh codec). Decoding validates every bound and invariant (sorted unique tokens
 * inside the range, free ≤ range size, ballots consistent, no trailing bytes) and throws only
 * WeftError('WEFT_ERR_DECODE'); it never touches any state.
 *
 *   state (1)         sender, range cidr, flags, nicknames, [ring: id, [origin], entries,
 *                     tombstones, designations], [electors]
 *   space-request (2) ring id, req id, has-address, [address offset]
 *   space-denied (3)  ring id, req id, code, reason
 *   ring-update (4)   req id, state body   (a donor's reply: its full state)
 */

export interface NicknameRecord {
  readonly name: PeerName;
  readonly nickname: string;
  /** The peer's incarnation start; the greater stamp wins. ms since epoch */
  readonly stamp: number;
}

export interface RingPayload {
  readonly id: string;
  /** Present in full states (needed to adopt a ring and to explain a split). */
  readonly origin?: RingOrigin;
  readonly entries: readonly RingEntry[];
  readonly tombstones: readonly Tombstone[];
  readonly designations: readonly Designation[];
}

export interface StateMessage {
  readonly sender: PeerName;
  readonly range: string;
  /** True when `ring.entries` is the sender's complete ring (it can be adopted). */
  readonly full: boolean;
  readonly nicknames: readonly NicknameRecord[];
  readonly ring?: RingPayload;
  readonly electors?: readonly ElectorState[];
}

export type DenyCode = 'no-space' | 'in-use' | 'not-owner' | 'not-ready';
const DENY_CODES: readonly DenyCode[] = ['no-space', 'in-use', 'not-owner', 'not-ready'];

export type UnicastMessage =
  | { readonly kind: 'space-request'; readonly ringId: string; readonly reqId: number; readonly address: number | null }
  | { readonly kind: 'space-denied'; readonly ringId: string; readonly reqId: number; readonly code: DenyCode; readonly reason: string }
  | { readonly kind: 'ring-update'; readonly reqId: number; readonly state: StateMessage };

const KIND_STATE = 1;
const KIND_REQUEST = 2;
const KIND_DENIED = 3;
const KIND_UPDATE = 4;
const F_FULL = 1;
const F_RING = 2;
const F_ORIGIN = 4;
const F_ELECTORS = 8;
const MAX_RANGE_BYTES = 64;
const MAX_DETAIL_BYTES = 256;

// ───────────────────────────── encode ─────────────────────────────

/** `s` shortened (by whole code points) to at most `maxBytes` of UTF-8. */
export function clip(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const cps = [...s];
  while (cps.length > 0 && Buffer.byteLength(cps.join(''), 'utf8') > maxBytes) cps.pop();
  return cps.join('');
}

function writeBallot(w: Writer, b: Ballot): void {
  w.varint(b.round).peerName(b.proposer);
}

function writeNames(w: Writer, names: readonly PeerName[]): void {
  w.varint(names.length);
  for (const n of names) w.peerName(n);
}

function writeState(w: Writer, m: StateMessage): void {
  w.peerName(m.sender).string(m.range);
  const flags = (m.full ? F_FULL : 0) | (m.ring ? F_RING : 0) | (m.ring?.origin ? F_ORIGIN : 0) | (m.electors ? F_ELECTORS : 0);
  w.u8(flags);
  w.varint(m.nicknames.length);
  for (const n of m.nicknames) w.peerName(n.name).varint(n.stamp).string(n.nickname);
  if (m.ring) {
    w.raw(Buffer.from(m.ring.id, 'hex'));
    if (m.ring.origin) {
      w.u8(m.ring.origin.kind === 'seed' ? 0 : 1).string(m.ring.origin.detail);
      writeNames(w, m.ring.origin.members);
    }
    w.varint(m.ring.entries.length);
    for (const e of m.ring.entries) w.varint(e.start).varint(e.end).peerName(e.owner).varint(e.gen).varint(e.version).varint(e.free);
    w.varint(m.ring.tombstones.length);
    for (const t of m.ring.tombstones) w.peerName(t.name).peerName(t.by).varint(t.at);
    w.varint(m.ring.designations.length);
    for (const d of m.ring.designations) {
      w.peerName(d.peer).varint(d.version).varint(d.heirs.length);
      for (const h of d.heirs) w.peerName(h);
    }
  }
  if (m.electors) {
    w.varint(m.electors.length);
    for (const s of m.electors) {
      w.peerName(s.name).varint(s.n).u8((s.promised ? 1 : 0) | (s.accepted ? 2 : 0));
      if (s.promised) writeBallot(w, s.promised);
      if (s.accepted) {
        writeBallot(w, s.accepted.ballot);
        writeNames(w, s.accepted.members);
      }
    }
  }
}

export function encodeState(m: StateMessage): Buffer {
  const w = new Writer(256 + (m.ring?.entries.length ?? 0) * 16);
  w.u8(IPAM_WIRE_VERSION).u8(KIND_STATE);
  writeState(w, m);
  return w.finish();
}

export function encodeUnicast(m: UnicastMessage): Buffer {
  const w = new Writer(64);
  w.u8(IPAM_WIRE_VERSION);
  switch (m.kind) {
    case 'space-request':
      w.u8(KIND_REQUEST).raw(Buffer.from(m.ringId, 'hex')).varint(m.reqId).bool(m.address !== null);
      if (m.address !== null) w.varint(m.address);
      break;
    case 'space-denied':
      w.u8(KIND_DENIED).raw(Buffer.from(m.ringId, 'hex')).varint(m.reqId).u8(DENY_CODES.indexOf(m.code));
      w.string(clip(m.reason, IPAM_MAX_REASON_BYTES));
      break;
    case 'ring-update':
      w.u8(KIND_UPDATE).varint(m.reqId);
      writeState(w, m.state);
      break;
  }
  return w.finish();
}

// ───────────────────────────── decode ─────────────────────────────

let lastUniverse: Universe | null = null;
function universeOf(r: Reader, cidr: string): Universe {
  if (lastUniverse?.cidr === cidr) return lastUniverse;
  try {
    lastUniverse = parseUniverse(cidr);
  } catch {
    throw r.fail('range', `bad range ${JSON.stringify(cidr).slice(0, 40)}`);
  }
  if (lastUniverse.cidr !== cidr) throw r.fail('range', 'non-canonical range');
  return lastUniverse;
}

/** A count that is ≤ max and could fit in what is left (each item ≥ minBytes). */
function count(r: Reader, max: number, minBytes: number, what: string): number {
  const n = r.varint(what);
  if (n > max) throw r.fail(what, `count ${n} over limit ${max}`);
  if (n * minBytes > r.remaining) throw r.fail(what, `count ${n} larger than the message`);
  return n;
}

function readBallot(r: Reader): Ballot {
  return { round: r.varint('ballot round'), proposer: r.peerName('ballot proposer') };
}

function readSortedNames(r: Reader, what: string): PeerName[] {
  const n = count(r, IPAM_MAX_MEMBERS, PEER_NAME_BYTES, what);
  const out: PeerName[] = [];
  let prev: PeerName | undefined;
  for (let i = 0; i < n; i++) {
    const name = r.peerName(what);
    if (prev !== undefined && name <= prev) throw r.fail(what, 'names not sorted and unique');
    out.push(name);
    prev = name;
  }
  return out;
}

function readState(r: Reader): StateMessage {
  const sender = r.peerName('sender');
  const range = r.string(MAX_RANGE_BYTES, 'range');
  const universe = universeOf(r, range);
  const flags = r.u8('flags');
  if (flags & ~(F_FULL | F_RING | F_ORIGIN | F_ELECTORS)) throw r.fail('flags', `unknown flags ${flags}`);
  if ((flags & F_ORIGIN) && !(flags & F_RING)) throw r.fail('flags', 'origin without ring');
  const nicknames: NicknameRecord[] = [];
  const nn = count(r, IPAM_MAX_ELECTORS, PEER_NAME_BYTES + 3, 'nicknames');
  for (let i = 0; i < nn; i++) {
    nicknames.push({ name: r.peerName('nickname peer'), stamp: r.varint('nickname stamp'), nickname: r.string(IPAM_MAX_NICKNAME_BYTES, 'nickname') });
  }
  let ring: RingPayload | undefined;
  if (flags & F_RING) {
    const id = r.raw(IPAM_RING_ID_BYTES, 'ring id').toString('hex');
    let origin: RingOrigin | undefined;
    if (flags & F_ORIGIN) {
      const kind = r.u8('origin kind');
      if (kind > 1) throw r.fail('origin kind', `unknown ${kind}`);
      const detail = r.string(MAX_DETAIL_BYTES, 'origin detail');
      const members = readSortedNames(r, 'origin members');
      if (members.length === 0) throw r.fail('origin members', 'empty');
      origin = { kind: kind === 0 ? 'seed' : 'consensus', detail, members };
    }
    const ne = count(r, IPAM_MAX_ENTRIES, 5 + PEER_NAME_BYTES, 'entries');
    const entries: RingEntry[] = [];
    let prevStart = -1;
    for (let i = 0; i < ne; i++) {
      const e: RingEntry = {
        start: r.varint('entry start'), end: r.varint('entry end'), owner: r.peerName('entry owner'), gen: r.varint('entry gen'),
        version: r.varint('entry version'), free: r.varint('entry free'),
      };
      if (e.end > universe.size || e.start >= e.end) throw r.fail('entry end', `[${e.start}, ${e.end}) not a range inside ${range}`);
      if (e.start <= prevStart) throw r.fail('entry start', 'tokens not sorted and unique');
      prevStart = e.start;
      if (e.free > universe.size) throw r.fail('entry free', `${e.free} larger than the range`);
      entries.push(e);
    }
    const nt = count(r, IPAM_MAX_TOMBSTONES, 2 * PEER_NAME_BYTES + 1, 'tombstones');
    const tombstones: Tombstone[] = [];
    for (let i = 0; i < nt; i++) tombstones.push({ name: r.peerName('tombstone'), by: r.peerName('tombstone by'), at: r.varint('tombstone at') });
    const nd = count(r, IPAM_MAX_TOMBSTONES, 2 * PEER_NAME_BYTES + 2, 'designations');
    const designations: Designation[] = [];
    for (let i = 0; i < nd; i++) {
      const peer = r.peerName('designation');
      const version = r.varint('designation version');
      const nh = r.varint('designated heirs');
      if (nh < 1 || nh > IPAM_MAX_DESIGNATED_HEIRS) throw r.fail('designated heirs', `count ${nh} not in 1..${IPAM_MAX_DESIGNATED_HEIRS}`);
      const heirs: PeerName[] = [];
      for (let k = 0; k < nh; k++) heirs.push(r.peerName('designated heir'));
      if (new Set([peer, ...heirs]).size !== nh + 1) throw r.fail('designated heirs', 'duplicate heir or self');
      designations.push({ peer, heirs, version });
    }
    if ((flags & F_FULL) && (origin === undefined || entries[0]?.start !== 0)) {
      throw r.fail('ring', 'full ring without origin or token 0');
    }
    ring = origin ? { id, origin, entries, tombstones, designations } : { id, entries, tombstones, designations };
  }
  let electors: ElectorState[] | undefined;
  if (flags & F_ELECTORS) {
    electors = [];
    const ns = count(r, IPAM_MAX_ELECTORS, PEER_NAME_BYTES + 2, 'electors');
    for (let i = 0; i < ns; i++) {
      const name = r.peerName('elector');
      const n = r.varint('elector n');
      if (n < 1 || n > IPAM_MAX_ELECTORS) throw r.fail('elector n', `bad quorum size ${n}`);
      const f = r.u8('elector flags');
      if (f > 3 || f === 2) throw r.fail('elector flags', `bad flags ${f}`);
      const promised = f & 1 ? readBallot(r) : null;
      let accepted: ElectorState['accepted'] = null;
      if (f & 2) {
        const ballot = readBallot(r);
        const members = readSortedNames(r, 'accepted members');
        if (members.length === 0) throw r.fail('accepted members', 'empty');
        const p = promised!;
        if (ballot.round > p.round || (ballot.round === p.round && ballot.proposer > p.proposer)) {
          throw r.fail('elector', 'accepted ballot above promise');
        }
        accepted = { ballot, members };
      }
      electors.push({ name, n, promised, accepted });
    }
  }
  const base = { sender, range, full: (flags & F_FULL) !== 0, nicknames };
  return { ...base, ...(ring ? { ring } : {}), ...(electors ? { electors } : {}) };
}

function header(buf: Buffer, context: string): { r: Reader; kind: number } {
  if (!Buffer.isBuffer(buf)) throw new WeftError('WEFT_ERR_DECODE', `${context}: not a buffer`);
  const r = new Reader(buf, context);
  const v = r.u8('version');
  if (v !== IPAM_WIRE_VERSION) throw r.fail('version', `unsupported IPAM wire version ${v}`);
  return { r, kind: r.u8('kind') };
}

/** Decode a broadcast / gossip payload (kind state). */
export function decodeState(buf: Buffer): StateMessage {
  const { r, kind } = header(buf, 'ipam state');
  if (kind !== KIND_STATE) throw r.fail('kind', `expected state, got ${kind}`);
  const m = readState(r);
  r.end();
  return m;
}

/** Decode a unicast payload. */
export function decodeUnicast(buf: Buffer): UnicastMessage {
  const { r, kind } = header(buf, 'ipam unicast');
  let m: UnicastMessage;
  if (kind === KIND_REQUEST || kind === KIND_DENIED) {
    const ringId = r.raw(IPAM_RING_ID_BYTES, 'ring id').toString('hex');
    const reqId = r.varint('request id');
    if (kind === KIND_REQUEST) {
      const has = r.bool('has address');
      m = { kind: 'space-request', ringId, reqId, address: has ? r.varint('address') : null };
    } else {
      const c = r.u8('deny code');
      const code = DENY_CODES[c];
      if (code === undefined) throw r.fail('deny code', `unknown ${c}`);
      m = { kind: 'space-denied', ringId, reqId, code, reason: r.string(IPAM_MAX_REASON_BYTES, 'reason') };
    }
  } else if (kind === KIND_UPDATE) {
    const reqId = r.varint('request id');
    m = { kind: 'ring-update', reqId, state: readState(r) };
  } else {
    throw r.fail('kind', `unknown unicast kind ${kind}`);
  }
  r.end();
  return m;
}
