import {
  WeftError, TOPOLOGY_MAX_ADDRESS_BYTES, TOPOLOGY_MAX_CONNECTIONS_PER_PEER, TOPOLOGY_MAX_NICKNAME_BYTES,
  TOPOLOGY_MAX_PEERS, TOPOLOGY_MAX_SYNC_NODES, TOPOLOGY_MAX_UPDATE_BYTES, TOPOLOGY_SYNC_LEAF_PEERS, TOPOLOGY_SYNC_MAX_DEPTH,
} from '../common/index.js';
import type { PeerName } from './gossip-types.js';
import { parsePeerName } from '../net/index.js';
import { decodeUpdate, encodeRecord, encodeUpdate, messageKind, messageSender, type RecordRef } from './topology-codec.js';
import { RecordStore, StoredPeer, byName } from './topology-store.js';
import {
  decodeDigestMessage, decodeRequestMessage, decodeSummaryMessage, encodeDigestMessage, encodeRequestMessage,
  encodeSummaryMessage, sameStats, type DigestEntry, type SummaryNode, type SyncRange,
} from './topology-sync.js';
import type {
  ApplyResult, ConnectionInfo, HandleResult, LocalConnection, MissingResult, PeerInfo, SelfConflict, TopologyView,
} from './topology-types.js';

/**
 * The merge order: higher version wins; at equal versions the higher uid wins (two
 * incarnations that reached the same version). Equal (version, uid) means the same record —
 * only its owner writes it, and it bumps the version on every change — so the held copy stays.
 */
function beats(ref: RecordRef, cur: StoredPeer): boolean {
  if (ref.version !== cur.version) return ref.version > cur.version;
  return ref.uid > cur.uid;
}

/**
 * Who is connected to whom, as mergeable versioned state (a state-based CRDT: per name, the
 * record with the highest (version, uid) wins). Pure: no I/O, no timers, deterministic.
 *
 * Lifecycle: one instance per daemon incarnation (our uid is fixed for its life). The owner
 * changes only its own record (`setLocalConnections` and friends, each bumping our version when
 * something changed); everything else arrives through `applyUpdate` / `handleMessage`. A
 * malformed message throws WEFT_ERR_DECODE and leaves the topology untouched. Records naming
 * peers we hold no record of do not create records (no placeholders). `removeUnreachable` is
 * the garbage collector; the caller runs it ~PEER_GC_DEFER_MS after changes.
 *
 * Scale: state and full encoding are O(N·k) for N peers of degree ≤ k; updates after a change
 * carry only changed records; periodic anti-entropy is a ~0.2 kB summary that descends into
 * differing buckets only (see DESIGN.md). Served replies are capped at TOPOLOGY_MAX_UPDATE_BYTES.
 */
export class Topology implements TopologyView {
  readonly name: PeerName;
  readonly nickname: string;
  readonly uid: bigint;
  private version = 1;
  private local = new Map<PeerName, ConnectionInfo>();
  private readonly store = new RecordStore();

  constructor(name: PeerName, nickname: string, uid: bigint) {
    this.name = parsePeerName(name);
    if (Buffer.byteLength(nickname, 'utf8') > TOPOLOGY_MAX_NICKNAME_BYTES) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `nickname longer than ${TOPOLOGY_MAX_NICKNAME_BYTES} bytes`);
    }
    if (typeof uid !== 'bigint' || uid <= 0n || uid >= 1n << 64n) throw new WeftError('WEFT_ERR_BAD_ARGS', 'peer uid must be in 1..2^64-1');
    this.nickname = nickname;
    this.uid = uid;
    this.rebuildSelf();
  }

  /** Our own record. */
  get self(): PeerInfo {
    return this.store.get(this.name)!;
  }

  /** Number of records held (ourselves included). */
  get size(): number {
    return this.store.size;
  }

  /** Increments on every change of any record; cheap cache key for routes. */
  get generation(): number {
    return this.store.generation;
  }

  get(name: PeerName): PeerInfo | undefined {
    return this.store.get(name);
  }

  /** All records, sorted by name (cached until the next change). */
  peers(): readonly PeerInfo[] {
    return this.store.sorted();
  }

  // ───────────── our own record ─────────────

  /** Replace our connection set. Bumps our version and returns true when anything changed. */
  setLocalConnections(conns: Iterable<LocalConnection>): boolean {
    const next = new Map<PeerName, ConnectionInfo>();
    for (const c of conns) {
      const peer = parsePeerName(c.peer);
      if (peer === this.name) throw new WeftError('WEFT_ERR_BAD_ARGS', 'a connection to ourselves cannot be recorded');
      if (next.has(peer)) throw new WeftError('WEFT_ERR_BAD_ARGS', `duplicate connection to ${peer}`);
      if (Buffer.byteLength(c.address, 'utf8') > TOPOLOGY_MAX_ADDRESS_BYTES) {
        throw new WeftError('WEFT_ERR_BAD_ARGS', `connection address longer than ${TOPOLOGY_MAX_ADDRESS_BYTES} bytes`);
      }
      next.set(peer, Object.freeze({ address: c.address, outbound: c.outbound === true, established: c.established === true }));
    }
    if (next.size > TOPOLOGY_MAX_CONNECTIONS_PER_PEER) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `more than ${TOPOLOGY_MAX_CONNECTIONS_PER_PEER} connections`);
    }
    let same = next.size === this.local.size;
    for (const [p, c] of next) {
      const o = this.local.get(p);
      if (!same || o === undefined || o.address !== c.address || o.outbound !== c.outbound || o.established !== c.established) {
        same = false;
        break;
      }
    }
    if (same) return false;
    this.local = next;
    this.version++;
    this.rebuildSelf();
    return true;
  }

  addLocalConnection(c: LocalConnection): boolean {
    const all = this.localList().filter((x) => x.peer !== c.peer);
    return this.setLocalConnections([...all, c]);
  }

  removeLocalConnection(peer: PeerName): boolean {
    if (!this.local.has(peer)) return false;
    return this.setLocalConnections(this.localList().filter((x) => x.peer !== peer));
  }

  markEstablished(peer: PeerName, established = true): boolean {
    const c = this.local.get(peer);
    if (c === undefined || c.established === established) return false;
    return this.setLocalConnections(this.localList().map((x) => (x.peer === peer ? { ...x, established } : x)));
  }

  private localList(): LocalConnection[] {
    return [...this.local].map(([peer, c]) => ({ peer, ...c }));
  }

  private rebuildSelf(): void {
    const info = { name: this.name, nickname: this.nickname, uid: this.uid, version: this.version, connections: this.local };
    const names = [...this.local.keys()].sort();
    this.store.put(new StoredPeer(this.name, this.uid, this.version, encodeRecord(info).toString('latin1'), names, this.local));
  }

  /**
   * Records we hand out when asked: our own, and those some other held record still lists a
   * connection to. A departed peer nobody lists any more is never re-served, so anti-entropy
   * cannot resurrect it after its neighbours' updates spread (GC removes it locally).
   */
  private servable(name: PeerName): boolean {
    return name === this.name || this.store.isListed(name);
  }

  /**
   * Is a record about our own name a conflict? A foreign uid always is (an old incarnation or a
   * clone); our own uid with a version we never wrote can only come from a cloned process.
   */
  private conflicts(uid: bigint, version: number): boolean {
    return uid !== this.uid || version > this.version;
  }

  /** A record about our name with a foreign uid: bump past it if it would beat ours. */
  private selfConflict(uid: bigint, version: number): SelfConflict {
    const bumped = version > this.version || (version === this.version && uid !== this.uid);
    if (bumped) {
      this.version = version + 1;
      this.rebuildSelf();
    }
    return { uid, version, bumped };
  }

  /** UPDATE of the named held records, sorted, capped at `maxBytes` (the rest are left out). */
  private updateOf(names: Iterable<PeerName>, maxBytes = Infinity): Buffer | null {
    const recs: StoredPeer[] = [];
    for (const n of new Set(names)) {
      const p = this.store.get(n);
      if (p !== undefined) recs.push(p);
    }
    if (recs.length === 0) return null;
    recs.sort(byName);
    const raws: string[] = [];
    let bytes = 0;
    for (const p of recs) {
      if (raws.length >= TOPOLOGY_MAX_PEERS || bytes + p.bytes.length > maxBytes) break;
      bytes += p.bytes.length;
      raws.push(p.bytes);
    }
    return encodeUpdate(this.name, raws);
  }

  // ───────────── updates ─────────────

  /** Every servable record we hold, sorted by name (uncapped: O(N·k) bytes; prefer a summary). */
  encodeFull(): Buffer {
    return this.updateOf([...this.store.names()].filter((n) => this.servable(n)))!;
  }

  /** Our record plus the named ones we hold (unknown names are skipped). */
  encodeSubset(names: Iterable<PeerName>, opts: { includeSelf?: boolean } = {}): Buffer | null {
    const all = [...names];
    if (opts.includeSelf !== false) all.push(this.name);
    return this.updateOf(all);
  }

  /**
   * Merge an UPDATE. The message is validated completely first; a malformed one throws
   * WEFT_ERR_DECODE and changes nothing. A record is taken when its (version, uid) beats the
   * one held. Records about our own name are never taken: one with a foreign uid is a
   * self-conflict (reported; bumps our version past it when it would win).
   */
  applyUpdate(buf: Buffer): ApplyResult {
    const { records } = decodeUpdate(buf);
    const accepted: StoredPeer[] = [];
    let foreign: RecordRef | undefined;
    for (const ref of records) {
      if (ref.name === this.name) {
        if (this.conflicts(ref.uid, ref.version)) foreign = ref;
        continue;
      }
      const cur = this.store.get(ref.name);
      if (cur !== undefined && !beats(ref, cur)) continue;
      accepted.push(this.store.materialise(buf, ref));
    }
    for (const p of accepted) this.store.put(p);
    const changed = accepted.map((p) => p.name);
    const selfConflict = foreign === undefined ? undefined : this.selfConflict(foreign.uid, foreign.version);
    if (selfConflict?.bumped === true) changed.push(this.name);
    changed.sort();
    return { changed, delta: changed.length > 0 ? this.updateOf(changed) : null, ...(selfConflict ? { selfConflict } : {}) };
  }

  // ───────────── anti-entropy ─────────────

  /** Flat digest of every record we hold (name, uid, version ≈ 16 B each), covering the whole tree. */
  encodeDigest(): Buffer {
    return this.digestOf([{ depth: 0, prefix: 0 }]);
  }

  private digestOf(ranges: SyncRange[]): Buffer {
    const entries: DigestEntry[] = [];
    for (const g of ranges) {
      for (const n of this.store.index.namesIn(g.depth, g.prefix)) {
        const p = this.store.get(n)!;
        entries.push({ name: n, uid: p.uid, version: p.version });
      }
    }
    return encodeDigestMessage(this.name, ranges, entries.slice(0, TOPOLOGY_MAX_PEERS));
  }

  /**
   * Compare a DIGEST with our state: which of its records are newer than ours or unknown to us
   * (`wanted`: request them), and an UPDATE with our servable records inside its ranges that it
   * lacks or has older (`newer`: send it back). A digest entry about our name with a foreign
   * uid is handled as in applyUpdate (our bumped record is then part of `newer`).
   */
  missingFrom(digest: Buffer): MissingResult {
    const { ranges, entries } = decodeDigestMessage(digest);
    const theirs = new Map<PeerName, DigestEntry>();
    const wanted: PeerName[] = [];
    let selfConflict: SelfConflict | undefined;
    for (const e of entries) {
      theirs.set(e.name, e);
      if (e.name === this.name) {
        if (this.conflicts(e.uid, e.version)) selfConflict = this.selfConflict(e.uid, e.version);
        continue;
      }
      const cur = this.store.get(e.name);
      if (cur === undefined || e.version > cur.version || (e.version === cur.version && e.uid > cur.uid)) wanted.push(e.name);
    }
    const newer: PeerName[] = selfConflict?.bumped === true ? [this.name] : [];
    for (const g of ranges) {
      for (const n of this.store.index.namesIn(g.depth, g.prefix)) {
        const e = theirs.get(n);
        const p = this.store.get(n)!;
        if (!this.servable(n)) continue;
        if (e === undefined || p.version > e.version || (p.version === e.version && p.uid > e.uid)) newer.push(n);
      }
    }
    return { wanted, newer: this.updateOf(newer, TOPOLOGY_MAX_UPDATE_BYTES), ...(selfConflict ? { selfConflict } : {}) };
  }

  /** Periodic anti-entropy opener: fingerprints of the 16 top buckets (~0.2 kB at any N). */
  encodeSummary(): Buffer {
    return encodeSummaryMessage(this.name, [this.store.index.node(0, 0)]);
  }

  /** A REQUEST for the named records (answered with an UPDATE of those the peer holds). */
  encodeRequest(names: Iterable<PeerName>): Buffer {
    return encodeRequestMessage(this.name, [...names].slice(0, TOPOLOGY_MAX_PEERS));
  }

  /**
   * Handle any topology message. Replies go back to `sender` (unicast); `delta` (new records)
   * goes to a few neighbours. Summary → deeper summary / digest of small differing buckets /
   * records of buckets the sender lacks entirely; digest → newer records + request; request →
   * records; update → merge. Throws WEFT_ERR_DECODE (nothing changed) on malformed input.
   */
  handleMessage(buf: Buffer): HandleResult {
    const kind = messageKind(buf);
    const none = { changed: [] as PeerName[], delta: null };
    switch (kind) {
      case 'update': {
        const r = this.applyUpdate(buf);
        return { kind, sender: messageSender(buf), replies: [], ...r };
      }
      case 'digest': {
        const m = this.missingFrom(buf);
        const replies: Buffer[] = [];
        if (m.newer !== null) replies.push(m.newer);
        if (m.wanted.length > 0) replies.push(this.encodeRequest(m.wanted));
        const bumped = m.selfConflict?.bumped === true;
        return {
          kind, sender: messageSender(buf), replies, changed: bumped ? [this.name] : [], delta: bumped ? this.updateOf([this.name]) : null,
          ...(m.selfConflict ? { selfConflict: m.selfConflict } : {}),
        };
      }
      case 'request': {
        const { sender, names } = decodeRequestMessage(buf);
        const u = this.updateOf(names.filter((n) => this.servable(n)), TOPOLOGY_MAX_UPDATE_BYTES);
        return { kind, sender, replies: u === null ? [] : [u], ...none };
      }
      case 'summary': {
        const { sender, nodes } = decodeSummaryMessage(buf);
        return { kind, sender, replies: this.answerSummary(nodes), ...none };
      }
    }
  }

  private answerSummary(nodes: readonly SummaryNode[]): Buffer[] {
    const deeper: SummaryNode[] = [];
    const ranges: SyncRange[] = [];
    const push: PeerName[] = [];
    for (const node of nodes) {
      const depth = node.depth + 1;
      for (let i = 0; i < node.children.length; i++) {
        const prefix = node.prefix * node.children.length + i;
        const mine = this.store.index.stats(depth, prefix);
        const theirs = node.children[i];
        if (sameStats(mine, theirs)) continue;
        if (theirs === undefined) {
          for (const n of this.store.index.namesIn(depth, prefix)) if (this.servable(n)) push.push(n);
        } else if (mine === undefined || depth === TOPOLOGY_SYNC_MAX_DEPTH
          || (mine.count <= TOPOLOGY_SYNC_LEAF_PEERS && theirs.count <= TOPOLOGY_SYNC_LEAF_PEERS)) {
          if (ranges.length < TOPOLOGY_MAX_SYNC_NODES) ranges.push({ depth, prefix });
        } else if (deeper.length < TOPOLOGY_MAX_SYNC_NODES) {
          deeper.push(this.store.index.node(depth, prefix));
        }
      }
    }
    const out: Buffer[] = [];
    if (deeper.length > 0) out.push(encodeSummaryMessage(this.name, deeper));
    if (ranges.length > 0) out.push(this.digestOf(ranges));
    const u = this.updateOf(push, TOPOLOGY_MAX_UPDATE_BYTES);
    if (u !== null) out.push(u);
    return out;
  }

  // ───────────── garbage collection ─────────────

  /**
   * Drop every record not reachable from us and not one of `localNeighbours`. Reachability
   * follows the connections listed in the records of peers already reached (established or
   * not, outbound or inbound), starting from us and our local neighbours. A peer that left is
   * listed by nobody once its neighbours' updates arrive, so it is dropped by the next run.
   * (Following connections backwards from a peer's own record would keep a departed peer alive
   * forever through its last, stale record.) Returns the removed names, sorted.
   */
  removeUnreachable(localNeighbours: ReadonlySet<PeerName>): PeerName[] {
    return this.store.removeUnreachable(this.name, localNeighbours);
  }


}
