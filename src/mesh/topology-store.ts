import type { PeerName } from './gossip-types.js';
import { recordConnectionNames, recordConnections, recordNickname, type RecordRef } from './topology-codec.js';
import { SyncIndex, entryLanes, nameHash } from './topology-sync.js';
import type { ConnectionInfo, PeerInfo } from './topology-types.js';

/**
 * A held record: immutable header fields, its canonical bytes, and cached derived values.
 * The bytes are kept as a latin1 string (one compact heap object, no ArrayBuffer per record):
 * a simulation holds a million records, a daemon holds N.
 */
export class StoredPeer implements PeerInfo {
  private conns: ReadonlyMap<PeerName, ConnectionInfo> | undefined;
  private nick: string | undefined;
  /** Scratch for RecordStore.removeUnreachable. */
  mark = 0;
  /** Name hash and entry-hash lanes, stored as int32 (use `>>> 0`). */
  readonly hash: number;
  readonly a: number;
  readonly b: number;

  constructor(
    readonly name: PeerName, readonly uid: bigint, readonly version: number,
    readonly bytes: string, readonly connNames: readonly PeerName[], conns?: ReadonlyMap<PeerName, ConnectionInfo>,
  ) {
    this.conns = conns;
    const h = nameHash(name);
    const [a, b] = entryLanes(h, uid, version);
    this.hash = h | 0;
    this.a = a | 0;
    this.b = b | 0;
  }

  get nickname(): string {
    return (this.nick ??= recordNickname(Buffer.from(this.bytes, 'latin1')));
  }

  /** Decoded lazily: most held records are never inspected connection by connection. */
  get connections(): ReadonlyMap<PeerName, ConnectionInfo> {
    return (this.conns ??= recordConnections(Buffer.from(this.bytes, 'latin1')));
  }
}

/** True when sorted `have` contains every name of sorted `need`. */
function includesAll(have: readonly PeerName[], need: readonly PeerName[]): boolean {
  let i = 0;
  for (const n of need) {
    while ((have[i] ?? n) < n) i++; // past the end: stop
    if (have[i] !== n) return false;
  }
  return true;
}

export function byName(x: { name: PeerName }, y: { name: PeerName }): number {
  return x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
}

/**
 * The records a Topology holds, with everything derived from them kept in step: the anti-entropy
 * hash tree, how many other records list each name, one shared string per name, and whether a
 * garbage collection could find anything. Pure bookkeeping; the merge rules live in Topology.
 */
export class RecordStore {
  readonly index = new SyncIndex();
  private readonly records = new Map<PeerName, StoredPeer>();
  /** name → number of *other* held records listing a connection to it. */
  private readonly refs = new Map<PeerName, number>();
  /** One string per name held or listed, shared by all records (memory when a process holds many views). */
  private readonly interned = new Map<PeerName, PeerName>();
  /** Set when a change may have made a record unreachable (see removeUnreachable). */
  private gcDirty = false;
  /** Scratch mark of the last GC pass (avoids a visited set), and the neighbours it kept. */
  private gcMark = 0;
  private gcNeighbours: ReadonlySet<PeerName> = new Set();
  private sortedCache: StoredPeer[] | null = null;
  private gen = 0;

  get size(): number {
    return this.records.size;
  }

  /** Increments on every change. */
  get generation(): number {
    return this.gen;
  }

  get(name: PeerName): StoredPeer | undefined {
    return this.records.get(name);
  }

  /** All records sorted by name (cached until the next change). */
  sorted(): readonly StoredPeer[] {
    return (this.sortedCache ??= [...this.records.values()].sort(byName));
  }

  names(): IterableIterator<PeerName> {
    return this.records.keys();
  }

  /** True when some other held record lists a connection to `name`. */
  isListed(name: PeerName): boolean {
    return this.refs.has(name);
  }

  /** Build a record from a validated span of an UPDATE (names interned). */
  materialise(buf: Buffer, ref: RecordRef): StoredPeer {
    const conns = recordConnectionNames(buf.subarray(ref.start, ref.end)).map((c) => this.intern(c));
    return new StoredPeer(this.intern(ref.name), ref.uid, ref.version, buf.toString('latin1', ref.start, ref.end), conns);
  }

  /** Insert or replace a record. */
  put(p: StoredPeer): void {
    const old = this.records.get(p.name);
    // only a new record or a lost connection can leave something unreachable
    if (old === undefined || !includesAll(p.connNames, old.connNames)) this.gcDirty = true;
    this.drop(p.name);
    this.records.set(p.name, p);
    this.interned.set(p.name, p.name);
    this.index.add(p);
    for (const c of p.connNames) this.refs.set(c, (this.refs.get(c) ?? 0) + 1);
  }

  drop(name: PeerName): void {
    const old = this.records.get(name);
    this.sortedCache = null;
    this.gen++;
    if (old === undefined) return;
    this.records.delete(name);
    this.index.remove(old);
    for (const c of old.connNames) {
      const n = this.refs.get(c)! - 1;
      if (n === 0) {
        this.refs.delete(c);
        if (!this.records.has(c)) this.interned.delete(c);
      } else {
        this.refs.set(c, n);
      }
    }
    if (!this.refs.has(name)) this.interned.delete(name);
  }

  private intern(name: PeerName): PeerName {
    const s = this.interned.get(name);
    if (s !== undefined) return s;
    this.interned.set(name, name);
    return name;
  }

  /** See Topology.removeUnreachable. */
  removeUnreachable(self: PeerName, localNeighbours: ReadonlySet<PeerName>): PeerName[] {
    // nothing can have become unreachable unless a record was added or lost a connection, or
    // a local neighbour went away, since the last run
    const lostNeighbour = [...this.gcNeighbours].some((n) => !localNeighbours.has(n));
    this.gcNeighbours = new Set(localNeighbours);
    if (!this.gcDirty && !lostNeighbour) return [];
    this.gcDirty = false;
    const mark = ++this.gcMark;
    const queue: StoredPeer[] = [];
    const reach = (name: PeerName): void => {
      const p = this.records.get(name);
      if (p !== undefined && p.mark !== mark) {
        p.mark = mark;
        queue.push(p);
      }
    };
    reach(self);
    for (const n of localNeighbours) reach(n);
    let reached = 0;
    while (queue.length > 0) {
      reached++;
      for (const c of queue.pop()!.connNames) reach(c);
    }
    if (reached === this.records.size) return [];
    const removed: PeerName[] = [];
    for (const p of this.records.values()) if (p.mark !== mark) removed.push(p.name);
    removed.sort();
    for (const n of removed) this.drop(n);
    return removed;
  }
}
