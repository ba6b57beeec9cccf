/**
 * LwwTable: the one last-writer-wins replicated table this project has, shared by the
 * {@link PolicyStore} (policy objects) and the DNS store of manual records (src/dns). A register
 * per key: each entry carries a stamp (wall-clock ms, then the origin peer's name as tie-break,
 * then the value's canonical form) and the higher stamp wins; a delete writes a tombstone (kept
 * `tombstoneTtlMs`). Merge is a join (commutative, associative, idempotent), so any delivery
 * order, duplication or partition heals to the same state. Pure: no I/O; time comes in as
 * arguments.
 *
 * Message (in the envelope of envelope.ts, kind `schema.envelope`) and persisted file body:
 *   { "entries": [ <schema.toWire(entry)>, ... ] }
 *
 * Limitation (as in every LWW store with expiring tombstones): a peer that was away for longer
 * than the TTL can bring a deleted key back.
 */
import { WeftError } from '../common/index.js';
import type { Gossiper, PeerName } from '../mesh/index.js';
import { decodeEnvelope, encodeEnvelope, envelopeSize, type EnvelopeKind } from './envelope.js';

/** When and where an entry was written. */
export interface LwwStamp {
  /** Wall-clock time of the write or delete. ms */
  readonly ms: number;
  /** The peer the write or delete was made on. */
  readonly origin: string;
}

/** How one kind of entry is keyed, compared, stamped and put on the wire. */
export interface LwwSchema<E> {
  /** Envelope kind of messages and files. */
  readonly envelope: EnvelopeKind;
  /** Name in error messages ("policy gossip", "dns gossip"); the file is `${what} file`. */
  readonly what: { gossip: string; file: string; table: string };
  /** Most entries (tombstones included) kept. count */
  readonly maxEntries: number;
  /** Tombstones are forgotten this long after their stamp. ms */
  readonly tombstoneTtlMs: number;
  /** Largest encoded message. bytes */
  readonly maxBytes: number;
  /** The register the entry belongs to (unique per key). */
  id(e: E): string;
  stamp(e: E): LwwStamp;
  /** The entry with another stamp. */
  withStamp(e: E, stamp: LwwStamp): E;
  /** Canonical form of the value; null for a tombstone. */
  canonical(e: E): string | null;
  toWire(e: E): unknown;
  /** Validate one wire entry; WEFT_ERR_DECODE naming `where` and the problem. */
  fromWire(v: unknown, where: string): E;
}

/** What {@link LwwTable.write} did. */
export interface LwwWrite<E> {
  /** The entries written (stamped), encoded for broadcast; null when nothing changed. */
  readonly update: Buffer | null;
  readonly written: readonly E[];
  /** Wanted entries that were already in that state. */
  readonly unchanged: readonly E[];
}

const bad = (what: string) => new WeftError('WEFT_ERR_DECODE', what);

/**
 * Lifecycle: created with its schema and a change callback; `load` a persisted state; `write`
 * for local calls (broadcast what it returns); the router drives the Gossiper methods;
 * `expire(now)` now and then drops old tombstones. Guarantees: at most `maxEntries` entries (new
 * keys beyond it are refused: local writes with WEFT_ERR_BAD_ARGS, gossip silently and counted in
 * {@link refused}); `onChange` fires once per call that changed an entry.
 */
export class LwwTable<E> implements Gossiper {
  private readonly entries = new Map<string, E>();
  /** Gossiped entries refused because the table was full. count */
  refused = 0;

  constructor(private readonly s: LwwSchema<E>, private readonly onChange: () => void = () => undefined) {}

  /** Total order of versions of one key: the larger wins. */
  compare(a: E, b: E): number {
    const sa = this.s.stamp(a);
    const sb = this.s.stamp(b);
    if (sa.ms !== sb.ms) return sa.ms < sb.ms ? -1 : 1;
    if (sa.origin !== sb.origin) return sa.origin < sb.origin ? -1 : 1;
    const ca = this.s.canonical(a) ?? '';
    const cb = this.s.canonical(b) ?? '';
    return ca < cb ? -1 : ca > cb ? 1 : 0;
  }

  /** Every entry (tombstones included), sorted by id. */
  list(): E[] {
    return [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }

  get(id: string): E | undefined {
    return this.entries.get(id);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Write `wanted` (their stamps are ignored) with one stamp: `now`, raised above the stamp of
   * every key that changes; entries equal to the current state are left alone. A key named twice
   * is WEFT_ERR_BAD_ARGS; more than `maxEntries` too. Nothing is written when it throws.
   */
  write(wanted: readonly E[], now: number, origin: PeerName): LwwWrite<E> {
    const seen = new Set<string>();
    const changed: E[] = [];
    const unchanged: E[] = [];
    let ms = Math.max(0, Math.floor(now));
    for (const w of wanted) {
      const k = this.s.id(w);
      if (seen.has(k)) throw new WeftError('WEFT_ERR_BAD_ARGS', `${k} is named twice in one call`);
      seen.add(k);
      const cur = this.entries.get(k);
      if ((cur ? this.s.canonical(cur) : null) === this.s.canonical(w)) {
        unchanged.push(w);
        continue;
      }
      if (cur) ms = Math.max(ms, this.s.stamp(cur).ms + 1);
      changed.push(w);
    }
    const fresh = changed.filter((w) => !this.entries.has(this.s.id(w))).length;
    if (this.entries.size + fresh > this.s.maxEntries) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `the ${this.s.what.table} holds at most ${this.s.maxEntries} entries (tombstones included)`);
    }
    const written = changed.map((w) => this.s.withStamp(w, { ms, origin }));
    for (const e of written) this.entries.set(this.s.id(e), e);
    if (written.length > 0) this.onChange();
    return { update: written.length > 0 ? this.encodeCapped(written) : null, written, unchanged };
  }

  /** Forget tombstones older than the TTL; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const [k, e] of this.entries) {
      if (this.s.canonical(e) === null && this.s.stamp(e).ms + this.s.tombstoneTtlMs < now) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }

  /** The persisted form (JSON text). */
  serialize(): string {
    return `${JSON.stringify({ entries: this.list().map((e) => this.s.toWire(e)) })}\n`;
  }

  /** Merge a persisted state (validated like gossip: WEFT_ERR_DECODE naming the problem; nothing merged then). */
  load(text: string): number {
    let doc: unknown;
    try {
      doc = JSON.parse(text) as unknown;
    } catch {
      throw bad(`${this.s.what.file}: not valid JSON`);
    }
    return this.merge(this.entriesOf(doc, this.s.what.file)).length;
  }

  /** Decode a gossip message; WEFT_ERR_DECODE naming the first problem. */
  decode(buf: Buffer): E[] {
    return this.entriesOf(decodeEnvelope(this.s.envelope, buf), this.s.what.gossip);
  }

  /** Encode entries (every one given; WEFT_ERR_TOO_BIG past the envelope's cap). */
  encode(entries: readonly E[]): Buffer {
    return encodeEnvelope(this.s.envelope, { entries: entries.map((e) => this.s.toWire(e)) });
  }

  onGossipUnicast(): void {
    // not used
  }

  onGossipBroadcast(_src: PeerName, update: Buffer): Buffer | null {
    return this.merge(this.decode(update)).length > 0 ? update : null;
  }

  onGossip(update: Buffer): Buffer | null {
    const delta = this.merge(this.decode(update));
    return delta.length > 0 ? this.encodeCapped(delta) : null;
  }

  gossip(): Buffer | null {
    return this.entries.size > 0 ? this.encodeCapped(this.list()) : null;
  }

  /** Join `incoming` into the table; returns the entries that won (were new to us). */
  merge(incoming: readonly E[]): E[] {
    const delta: E[] = [];
    for (const e of incoming) {
      const k = this.s.id(e);
      const cur = this.entries.get(k);
      if (cur && this.compare(cur, e) >= 0) continue;
      if (!cur && this.entries.size >= this.s.maxEntries) {
        this.refused++;
        continue;
      }
      this.entries.set(k, e);
      delta.push(e);
    }
    if (delta.length > 0) this.onChange();
    return delta;
  }

  private entriesOf(doc: unknown, what: string): E[] {
    const list = (doc as { entries?: unknown } | null)?.entries;
    if (!Array.isArray(list)) throw bad(`${what}: body must be {"entries": [...]}`);
    if (list.length > this.s.maxEntries) throw bad(`${what}: more than ${this.s.maxEntries} entries`);
    return list.map((e, i) => this.s.fromWire(e, `${what}: entries[${i}]`));
  }

  private encodeCapped(entries: readonly E[]): Buffer {
    const out: E[] = [];
    let size = envelopeSize({ entries: [] });
    for (const e of entries) {
      const one = envelopeSize(this.s.toWire(e)) + 1;
      if (size + one > this.s.maxBytes) continue; // too much for one message: later rounds carry the rest
      out.push(e);
      size += one;
    }
    return this.encode(out);
  }
}
