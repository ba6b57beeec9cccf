import {
  closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync,
  renameSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { WeftError, IPAM_COMPACT_AFTER_BYTES, IPAM_COMPACT_AFTER_RECORDS, IPAM_MAX_RECORD_BYTES, type Logger } from '../common/index.js';
import type { NicknameRecord } from './codec.js';
import type { ElectorState } from './consensus.js';
import { applyRecord, type PersistedRing, type PersistedState, type StoreRecord } from './records.js';

/**
 * Crash-safe persistence of one peer's IPAM state in `<dir>`:
 *   snapshot  one framed record: the complete state and the sequence number it includes;
 *   log       framed records appended after the snapshot.
 * Frame = u32 BE payload length, u32 BE CRC-32 of the payload, payload (UTF-8 JSON).
 *
 * Guarantees: `append(…, sync=true)` returns only after the records (and every record before
 * them) are on disk (fdatasync). On open, the log is read up to the first incomplete or
 * corrupt frame — a torn last record from a crash mid-write — and truncated there, so nothing
 * that was fsync'ed is lost and nothing half-written is applied. Snapshots are written to a
 * temporary file, fsync'ed, renamed over the old one and the directory fsync'ed; log records
 * already contained in the snapshot are skipped by sequence number, so a crash between the
 * rename and the log truncation is harmless. Synchronous I/O (a few small writes per IPAM
 * operation); not shareable between processes.
 */

const SNAPSHOT = 'snapshot';
const LOG = 'log';
const FRAME_HEADER = 8;
const FORMAT_VERSION = 1;

interface SnapshotFile {
  v: number;
  seq: number;
  cidr: string;
  self: string;
  ring: PersistedRing | null;
  allocations: Array<[number, string]>;
  elector: ElectorState | null;
  nicknames: NicknameRecord[];
}

export function frame(payload: Buffer): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER);
  h.writeUInt32BE(payload.length, 0);
  h.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([h, payload]);
}

/** Frames in `buf` up to the first incomplete or corrupt one; `good` is where that one starts. */
export function readFrames(buf: Buffer): { payloads: Buffer[]; good: number } {
  const payloads: Buffer[] = [];
  let pos = 0;
  while (buf.length - pos >= FRAME_HEADER) {
    const len = buf.readUInt32BE(pos);
    const sum = buf.readUInt32BE(pos + 4);
    if (len > IPAM_MAX_RECORD_BYTES || buf.length - pos - FRAME_HEADER < len) break;
    const payload = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len);
    if (crc32(payload) !== sum) break;
    payloads.push(payload);
    pos += FRAME_HEADER + len;
  }
  return { payloads, good: pos };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dataDirError(msg: string, cause?: unknown): WeftError {
  return new WeftError('WEFT_ERR_DATA_DIR', msg, cause === undefined ? undefined : { cause });
}

function parseRecord<T>(payload: Buffer, path: string): T {
  try {
    return JSON.parse(payload.toString('utf8')) as T;
  } catch (e) {
    throw dataDirError(`IPAM record in ${path} is not valid JSON despite a good checksum`, e);
  }
}

/**
 * The state held by the bytes of a snapshot file (`path` names it in errors). Pure; what
 * {@link IpamStore.open} reads. Throws WEFT_ERR_DATA_DIR when the file is corrupt.
 */
export function decodeSnapshot(buf: Buffer, path: string): { state: PersistedState; seq: number } {
  const { payloads } = readFrames(buf);
  const [payload, ...extra] = payloads;
  if (payload === undefined || extra.length > 0) throw dataDirError(`IPAM snapshot ${path} is corrupt; move it away or run \`weft reset\``);
  const snap = parseRecord<SnapshotFile>(payload, path);
  if (!isObject(snap) || snap.v !== FORMAT_VERSION) {
    throw dataDirError(`IPAM snapshot ${path} has unknown format ${isObject(snap) ? String(snap.v) : typeof snap}`);
  }
  // a checksummed snapshot of the wrong shape (hand-edited, another program) is corrupt, not a crash
  if (typeof snap.seq !== 'number' || typeof snap.cidr !== 'string' || typeof snap.self !== 'string' || !Array.isArray(snap.allocations)
    || !snap.allocations.every((a) => Array.isArray(a) && a.length === 2) || !Array.isArray(snap.nicknames)
    || !snap.nicknames.every(isObject) || (snap.ring !== null && !isObject(snap.ring)) || (snap.elector !== null && !isObject(snap.elector))) {
    throw dataDirError(`IPAM snapshot ${path} is corrupt (fields of the wrong type); move it away or run \`weft reset\``);
  }
  const state: PersistedState = {
    cidr: snap.cidr, self: snap.self, ring: snap.ring, allocations: new Map(snap.allocations), elector: snap.elector,
    nicknames: new Map(snap.nicknames.map((n) => [n.name, n])),
  };
  return { state, seq: snap.seq };
}

/**
 * Replay the bytes of a log file over `state` (changed in place; records numbered ≤ `seq`
 * are already in the snapshot and skipped). Pure apart from `state`; what
 * {@link IpamStore.open} reads. `good` is where the first torn or corrupt frame starts (the
 * caller truncates the file there). Throws WEFT_ERR_DATA_DIR for records without a snapshot,
 * that are not JSON despite a good checksum, or that applyRecord cannot apply.
 */
export function replayLog(buf: Buffer, state: PersistedState | null, seq: number, path: string): { seq: number; good: number; records: number } {
  const { payloads, good } = readFrames(buf);
  let last = seq;
  for (const p of payloads) {
    const rec = parseRecord<unknown>(p, path);
    if (!isObject(rec) || typeof rec.s !== 'number' || !isObject(rec.r)) throw dataDirError(`IPAM log ${path}: a record is not {s, r} despite a good checksum; run \`weft reset\``);
    const s = rec.s;
    const r = rec.r as unknown as StoreRecord;
    if (s <= last) continue;
    // the first snapshot is written before any record, so records without one mean damage
    if (state === null) throw dataDirError(`IPAM log ${path} has records but there is no snapshot; run \`weft reset\``);
    try {
      applyRecord(state, r);
    } catch (e) {
      // a checksummed record of the wrong shape (another program, a hand edit) is damage, not a crash
      throw dataDirError(`IPAM log ${path}: record ${String(s)} is of the wrong shape (${e instanceof Error ? e.message : String(e)}); run \`weft reset\``, e);
    }
    last = s;
  }
  return { seq: last, good, records: payloads.length };
}

export class IpamStore {

  private fd: number | null = null;
  private seq = 0;
  private records = 0;
  private bytes = 0;

  /** @param dir directory of this store (created if missing). */
  constructor(readonly dir: string, private readonly log: Logger) {}

  /**
   * Open the store and load what it holds: null when it is empty (first start). Throws
   * WEFT_ERR_DATA_DIR when the directory is unusable or the snapshot is corrupt.
   */
  open(): PersistedState | null {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw dataDirError(`cannot create IPAM data dir ${this.dir}: ${(e as Error).message}`, e);
    }
    const snapPath = join(this.dir, SNAPSHOT);
    let state: PersistedState | null = null;
    if (existsSync(snapPath)) ({ state, seq: this.seq } = decodeSnapshot(readFileSync(snapPath), snapPath));
    const logPath = join(this.dir, LOG);
    try {
      this.fd = openSync(logPath, 'a+', 0o600);
    } catch (e) {
      throw dataDirError(`cannot open IPAM log ${logPath}: ${(e as Error).message}`, e);
    }
    try {
      const buf = readFileSync(logPath);
      const replayed = replayLog(buf, state, this.seq, logPath);
      if (replayed.good < buf.length) {
        this.log.warn({ path: logPath, dropped: buf.length - replayed.good }, 'IPAM log ends in a torn or corrupt record (crash during write); dropping it');
        ftruncateSync(this.fd, replayed.good);
        fsyncSync(this.fd);
      }
      this.seq = replayed.seq;
      this.records = replayed.records;
      this.bytes = replayed.good;
      return state;
    } catch (e) {
      this.close();
      throw e instanceof WeftError ? e : dataDirError(`cannot read the IPAM log ${logPath}: ${(e as Error).message}`, e);
    }
  }

  /** Append records; with `sync`, return only once they are durable. Throws WEFT_ERR_DATA_DIR. */
  append(records: readonly StoreRecord[], sync: boolean): void {
    if (this.fd === null) throw new WeftError('WEFT_ERR_CLOSED', 'IPAM store is closed');
    if (records.length === 0) return;
    const buf = Buffer.concat(records.map((r) => frame(Buffer.from(JSON.stringify({ s: ++this.seq, r }), 'utf8'))));
    try {
      for (let off = 0; off < buf.length;) off += writeSync(this.fd, buf, off, buf.length - off);
      if (sync) fdatasyncSync(this.fd);
    } catch (e) {
      throw dataDirError(`cannot write the IPAM log in ${this.dir}: ${(e as Error).message}`, e);
    }
    this.records += records.length;
    this.bytes += buf.length;
  }

  /** True when the log has grown enough to be folded into a new snapshot. */
  get needsCompaction(): boolean {
    return this.records >= IPAM_COMPACT_AFTER_RECORDS || this.bytes >= IPAM_COMPACT_AFTER_BYTES;
  }

  /** Write `state` (which must include every appended record) as the snapshot; empty the log. */
  compact(state: PersistedState): void {
    if (this.fd === null) throw new WeftError('WEFT_ERR_CLOSED', 'IPAM store is closed');
    const snap: SnapshotFile = {
      v: FORMAT_VERSION, seq: this.seq, cidr: state.cidr, self: state.self, ring: state.ring,
      allocations: [...state.allocations], elector: state.elector, nicknames: [...state.nicknames.values()],
    };
    const tmp = join(this.dir, `${SNAPSHOT}.tmp`);
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        const buf = frame(Buffer.from(JSON.stringify(snap), 'utf8'));
        for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(this.dir, SNAPSHOT));
      const dfd = openSync(this.dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
      ftruncateSync(this.fd, 0);
      fsyncSync(this.fd);
    } catch (e) {
      throw dataDirError(`cannot write the IPAM snapshot in ${this.dir}: ${(e as Error).message}`, e);
    }
    this.records = 0;
    this.bytes = 0;
  }

  /** Idempotent. */
  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing useful to do: every synced record is already on disk
    }
    this.fd = null;
  }
}
