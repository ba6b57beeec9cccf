import {
  WeftError, IPAM_CONSENSUS_RETRY_MS, IPAM_MAX_NICKNAME_BYTES, IPAM_DESIGNATED_HEIRS,
} from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { Universe } from './address.js';
import { AllocationTable } from './allocations.js';
import { clip, type DenyCode, type NicknameRecord, type StateMessage, type UnicastMessage } from './codec.js';
import { Consensus } from './consensus.js';
import { PendingAllocations, type Done, type PendingHost } from './pending.js';
import type { PersistedState, StoreRecord } from './records.js';
import { Ring, type Designation, type RingConflict, type RingEntry, type RingOrigin, type Tombstone } from './ring.js';
import { autoReclaimDue, bestDonor, designationCandidates, firstFree, freeCount, leaveHeir, ownedCount, pickDonation } from './space.js';
import { describeConflict, describeOrigin, peerLabel } from './describe.js';
import { buildStatus, exhaustedMessage, phaseOf, type SplitInfo } from './status.js';
import type { IpamInit, IpamStatus, LeaveResult, RmpeerResult } from './types.js';
import { isPeerName } from './wire.js';
import { CoreOutbox, type CoreEvent, type Outgoing } from './outbox.js';

/**
 * The IPAM of one peer as a deterministic state machine: ring, bootstrap, allocations,
 * donations, reclaim. Pure: no I/O, no timers, no clock — every input carries `now`, every
 * output is queued and taken by the driver ({@link IpamCore.takeOutgoing},
 * {@link IpamCore.takeChanges}, {@link IpamCore.takeEvents}). The driver must persist the
 * changes of an input before it sends that input's outgoing messages ("durable before
 * visible"); the daemon wrapper (ipam.ts) and the simulation both drive it this way.
 * Inputs never throw for bad peer data; API inputs throw WeftError for bad arguments.
 */

export type { Outgoing, CoreEvent } from './outbox.js';

export interface CoreOptions {
  self: PeerName;
  nickname: string;
  universe: Universe;
  init: IpamInit;
  now: number;
  /** Reclaim owners unreachable this long (only while we reach a majority of owners). ms */
  autoReclaimAfterMs?: number;
}

export class IpamCore implements PendingHost {
  readonly self: PeerName;
  readonly universe: Universe;
  readonly init: IpamInit;
  ring: Ring | null = null;
  readonly consensus: Consensus | null;
  readonly allocs = new AllocationTable();
  readonly pending = new PendingAllocations();
  reachable: ReadonlySet<PeerName> = new Set();
  readonly nicknames = new Map<PeerName, NicknameRecord>();
  readonly splits = new Map<PeerName, SplitInfo>();
  left: { heir: PeerName | null } | null = null;
  private readonly out = new CoreOutbox();
  private readonly autoReclaimAfterMs: number | undefined;
  private readonly unreachableSince = new Map<PeerName, number>();
  private removedNoticed = false;
  /** Our own ranges changed: free counts need a refresh now. */
  private ownDirty = true;
  /** Only allocations changed: advertise the new free counts at the next tick (coalesced). */
  private freeDirty = false;
  /** The ring changed: orphans may need reclaiming. */
  private ringDirty = true;

  constructor(opts: CoreOptions, persisted?: PersistedState) {
    this.self = opts.self;
    this.universe = opts.universe;
    this.init = opts.init;
    this.autoReclaimAfterMs = opts.autoReclaimAfterMs;
    const n = opts.init.consensus;
    this.consensus = n !== undefined ? new Consensus(this.self, n, persisted?.elector?.n === n ? persisted.elector : undefined) : null;
    for (const r of persisted?.nicknames.values() ?? []) this.nicknames.set(r.name, r);
    const prevStamp = this.nicknames.get(this.self)?.stamp ?? 0;
    this.setNick({ name: this.self, nickname: clip(opts.nickname, IPAM_MAX_NICKNAME_BYTES), stamp: Math.max(opts.now, prevStamp + 1) });
    if (persisted?.ring) {
      this.ring = Ring.restore(this.universe, persisted.ring.id, persisted.ring.origin);
      for (const part of persisted.ring.parts) this.ring.merge(part, this.self);
    }
    for (const [offset, owner] of persisted?.allocations ?? []) this.allocs.add(owner, offset);
  }

  // ───────────────────────────── driver outputs ─────────────────────────────

  takeOutgoing(): Outgoing[] {
    return this.out.takeOutgoing();
  }

  /** Records to append, and whether they must be fsync'ed before the outgoing messages leave. */
  takeChanges(): { records: StoreRecord[]; sync: boolean } {
    return this.out.takeChanges();
  }

  takeEvents(): CoreEvent[] {
    return this.out.takeEvents();
  }

  /** Resolved conflicts since start, by kind. */
  get conflicts(): ReadonlyMap<string, number> {
    return this.out.conflicts;
  }

  /** Complete state for a snapshot. */
  snapshot(): PersistedState {
    const r = this.ring;
    return {
      cidr: this.universe.cidr, self: this.self,
      ring: r ? { id: r.id, origin: r.origin, parts: [r.state()] } : null,
      allocations: new Map(this.allocs.entries().map(([owner, offset]) => [offset, owner])),
      elector: this.consensus?.mine() ?? null, nicknames: new Map(this.nicknames),
    };
  }

  // ───────────────────────────── helpers ─────────────────────────────

  private record(r: StoreRecord, sync: boolean): void {
    this.out.record(r, sync);
  }

  private event(level: CoreEvent['level'], msg: string, conflict?: string): void {
    this.out.event(level, msg, conflict);
  }

  private setNick(r: NicknameRecord): boolean {
    const cur = this.nicknames.get(r.name);
    if (cur && (cur.stamp > r.stamp || (cur.stamp === r.stamp && cur.nickname >= r.nickname))) return false;
    this.nicknames.set(r.name, r);
    this.record({ t: 'nick', rec: r }, false);
    return true;
  }

  label(name: PeerName): string {
    return peerLabel(name, this.nicknames.get(name)?.nickname);
  }

  private ownWrite(entries: readonly RingEntry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) this.out.ownStarts.add(e.start);
    this.ownDirty = true;
    this.record({ t: 'delta', delta: { entries: [...entries] } }, true);
  }

  get removed(): boolean {
    return this.ring?.isTombstoned(this.self) ?? false;
  }

  /** Our ring may be written by us: it exists, we were not removed and did not leave. */
  private get active(): boolean {
    return this.ring !== null && !this.removed && this.left === null;
  }

  /** Null when allocations may be served, else the reason (WEFT_ERR_IPAM_NOT_READY). */
  notReadyReason(): string | null {
    const p = phaseOf(this);
    return p.kind === 'ready' || p.kind === 'no-range' ? null : p.reason ?? p.kind;
  }

  private adoptRing(id: string, origin: RingOrigin, how: string): Ring {
    this.ring = Ring.restore(this.universe, id, origin);
    this.ringDirty = this.ownDirty = true;
    this.record({ t: 'ring', id, origin }, true);
    this.event('info', `IP allocation ring ${id.slice(0, 8)} (${describeOrigin(origin)}) ${how}`);
    return this.ring;
  }

  // ───────────────────────────── gossip inputs ─────────────────────────────

  /** Our complete state (periodic gossip, new connections, donation replies). */
  fullState(): StateMessage {
    const base = { sender: this.self, range: this.universe.cidr, nicknames: [...this.nicknames.values()] };
    const r = this.ring;
    if (r) return { ...base, full: true, ring: { id: r.id, origin: r.origin, entries: r.all(), tombstones: r.tombstones(), designations: r.succession.designations() } };
    return this.consensus ? { ...base, full: false, electors: this.consensus.all() } : { ...base, full: false };
  }

  /**
   * Merge a state message (broadcast, gossip or donation reply). Returns what was new to us
   * (for relaying), or null. Contradictions are resolved deterministically and reported as
   * events; nothing here throws.
   */
  onState(msg: StateMessage, now: number): StateMessage | null {
    const src = msg.sender;
    if (msg.range !== this.universe.cidr) {
      if (!this.splits.has(src)) this.event('warn', `peer ${this.label(src)} uses IP range ${msg.range}, we use ${this.universe.cidr}: not merged`, 'range-mismatch');
      this.splits.set(src, { range: msg.range, owners: 0 });
      return null;
    }
    const nicks = msg.nicknames.filter((n) => this.setNick(n));
    let delta: { entries: RingEntry[]; tombstones: Tombstone[]; designations: Designation[] } | null = null;
    let full = false;
    if (msg.ring) {
      let ring = this.ring;
      if (ring === null && msg.full && msg.ring.origin) {
        ring = this.adoptRing(msg.ring.id, msg.ring.origin, `received from ${this.label(src)}`);
        full = true;
      }
      if (ring && ring.id !== msg.ring.id) {
        const prev = this.splits.get(src);
        const owners = new Set(msg.ring.entries.map((e) => e.owner)).size;
        if (!prev) this.event('warn', `peer ${this.label(src)} has another IP allocation ring: not merged`, 'foreign-ring');
        this.splits.set(src, { origin: msg.ring.origin ?? prev?.origin, owners: Math.max(owners, prev?.owners ?? 0) });
      } else if (ring) {
        this.splits.delete(src);
        const rep = ring.merge(msg.ring, this.self);
        for (const c of rep.conflicts) this.onConflict(c);
        if (rep.conflicts.length || rep.changed.some((e) => e.owner === this.self)) this.ownDirty = true;
        if (rep.changed.length || rep.tombstones.length || rep.designations.length) {
          this.ringDirty = true;
          delta = { entries: rep.changed, tombstones: rep.tombstones, designations: rep.designations };
          this.record({ t: 'delta', delta }, rep.tombstones.length > 0);
        }
      }
    } else {
      this.splits.delete(src);
    }
    let electors = undefined;
    if (msg.electors && this.consensus && this.ring === null) {
      const ch = this.consensus.merge(msg.electors);
      if (ch.length) electors = ch;
    }
    this.settle(now);
    if (full) return this.fullState();
    if (!nicks.length && !delta && !electors) return null;
    const base = { sender: this.self, range: this.universe.cidr, full: false, nicknames: nicks };
    const ring = this.ring && delta ? { ring: { id: this.ring.id, ...delta } } : {};
    return { ...base, ...ring, ...(electors ? { electors } : {}) };
  }

  private onConflict(c: RingConflict): void {
    const i = this.ring!.indexCovering(c.start);
    const lost = c.kind === 'own-range-taken' && i >= 0 ? this.allocs.countIn(c.start, this.ring!.endOf(i)) : 0;
    const e = describeConflict(c, this.universe, (n) => this.label(n), lost);
    // someone has a newer copy of our own entry (we lost state): outbid it as its writer
    if (c.kind === 'stale-self' && this.active) this.ownWrite([this.ring!.write(this.self, c.start, {})]);
    this.event(e.level, e.msg, c.kind);
  }

  /** A unicast addressed to us. */
  onUnicast(src: PeerName, msg: UnicastMessage, now: number): void {
    switch (msg.kind) {
      case 'space-request':
        this.donate(src, msg.ringId, msg.reqId, msg.address);
        break;
      case 'space-denied':
        this.pending.denied(src, msg.reqId, msg.reason);
        break;
      case 'ring-update':
        this.onState(msg.state, now);
        this.pending.answered(src, msg.reqId);
        break;
    }
    this.settle(now);
  }

  private deny(dst: PeerName, reqId: number, code: DenyCode, reason: string): void {
    this.out.send({ kind: 'unicast', dst, msg: { kind: 'space-denied', ringId: this.ring?.id ?? '00'.repeat(16), reqId, code, reason } });
  }

  private donate(src: PeerName, ringId: string, reqId: number, offset: number | null): void {
    const ring = this.ring;
    if (!ring || ring.id !== ringId || !this.active || this.splits.size > 0) {
      this.deny(src, reqId, 'not-ready', `peer ${this.label(this.self)} cannot donate: ${this.notReadyReason() ?? 'different ring'}`);
      return;
    }
    if (ring.isTombstoned(src)) return this.deny(src, reqId, 'not-ready', 'you were removed with rmpeer');
    const d = pickDonation(ring, this.allocs, this.self, offset, this.label(this.self));
    if ('code' in d) return this.deny(src, reqId, d.code, d.reason);
    this.ownWrite(ring.donate(this.self, d.from, d.to, src));
    this.event('info', `gave ${d.to - d.from} addresses from ${this.universe.format(d.from)} to ${this.label(src)}`);
    this.out.replies.push({ dst: src, reqId });
  }

  // ───────────────────────────── PendingHost ─────────────────────────────

  allocateAny(owner: string): number | null {
    const o = this.active ? firstFree(this.ring!, this.allocs, this.self) : null;
    if (o !== null) this.takeAddress(owner, o);
    return o;
  }

  claim(owner: string, offset: number): number | WeftError | { ask: PeerName } {
    const holder = this.allocs.ownerOf(offset);
    if (holder === owner) return offset;
    if (holder !== undefined) return new WeftError('WEFT_ERR_IPAM_IN_USE', `address ${this.universe.format(offset)} is in use by ${holder}`);
    const ring = this.ring!;
    const o = ring.ownerOf(offset);
    if (o === this.self) {
      this.takeAddress(owner, offset);
      return offset;
    }
    if (o === undefined || ring.isTombstoned(o)) {
      return new WeftError('WEFT_ERR_IPAM_NOT_READY', `address ${this.universe.format(offset)} has no live owner yet (awaiting reclaim)`);
    }
    if (!this.reachable.has(o)) {
      return new WeftError('WEFT_ERR_IPAM_NOT_READY', `address ${this.universe.format(offset)} is owned by unreachable peer ${this.label(o)}; use \`weft rmpeer ${o}\` if it is dead`);
    }
    return { ask: o };
  }

  chooseDonor(exclude: ReadonlySet<PeerName>): PeerName | null {
    return this.ring ? bestDonor(this.ring, this.reachable, this.self, exclude) : null;
  }

  request(dst: PeerName, reqId: number, offset: number | null): boolean {
    if (!this.reachable.has(dst) || !this.ring) return false;
    this.out.send({ kind: 'unicast', dst, msg: { kind: 'space-request', ringId: this.ring.id, reqId, address: offset } });
    return true;
  }

  exhausted(tried: readonly string[]): string {
    return exhaustedMessage(this, tried);
  }

  private takeAddress(owner: string, offset: number): void {
    this.allocs.add(owner, offset);
    this.freeDirty = true;
    this.record({ t: 'alloc', owner, offset }, true);
  }

  // ───────────────────────────── API inputs ─────────────────────────────

  /**
   * Allocate for `owner` (idempotent: an owner that holds an address gets it again). `done`
   * is called exactly once, synchronously when possible, else from a later input.
   */
  allocate(owner: string, address: number | null, now: number, done: Done): void {
    const held = this.allocs.offsetsOf(owner);
    if (address === null && held.length > 0) return done(null, held[0]);
    if (address !== null && this.allocs.ownerOf(address) === owner) return done(null, address);
    const why = this.notReadyReason();
    if (why !== null) return done(new WeftError('WEFT_ERR_IPAM_NOT_READY', why));
    if (address !== null && this.allocs.ownerOf(address) !== undefined) {
      return done(new WeftError('WEFT_ERR_IPAM_IN_USE', `address ${this.universe.format(address)} is in use by ${this.allocs.ownerOf(address)}`));
    }
    this.pending.add(owner, address, now, done);
    this.settle(now);
  }

  /** Release `owner`'s addresses (only `offset` when given). Returns how many were freed. */
  free(owner: string, offset: number | null, now: number): number {
    const offs = offset === null ? [...this.allocs.offsetsOf(owner)] : this.allocs.ownerOf(offset) === owner ? [offset] : [];
    for (const o of offs) {
      this.allocs.remove(o);
      this.record({ t: 'free', offset: o }, true);
    }
    this.freeDirty = true;
    if (offs.length) this.settle(now);
    return offs.length;
  }

  /** rmpeer: tombstone a dead peer; its ranges go to their deterministic heirs. Idempotent. */
  rmpeer(target: string, now: number, auto = false): RmpeerResult {
    const ring = this.ring;
    if (!ring || this.removed) throw new WeftError('WEFT_ERR_IPAM_NOT_READY', this.notReadyReason() ?? 'no ring');
    const name = this.resolvePeer(target);
    const nickname = this.nicknames.get(name)?.nickname;
    if (name === this.self) throw new WeftError('WEFT_ERR_BAD_ARGS', 'cannot rmpeer this peer itself; use `weft reset` to leave');
    if (this.reachable.has(name)) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `peer ${this.label(name)} is reachable, so it is not dead; stop it (or run \`weft reset\` on it) first`);
    }
    const owned = ring.rangesOf(name).reduce((n, r) => n + r.end - r.start, 0);
    const base = { name, ...(nickname !== undefined ? { nickname } : {}), addresses: owned };
    if (ring.isTombstoned(name)) return { ...base, alreadyRemoved: true, reclaimedHere: 0 };
    if (owned === 0 && !this.nicknames.has(name)) throw new WeftError('WEFT_ERR_NOT_FOUND', `peer ${name} is unknown to this peer's IP allocation ring`);
    const t: Tombstone = { name, by: this.self, at: now };
    ring.merge({ entries: [], tombstones: [t] }, this.self);
    this.ringDirty = true;
    this.out.tombstones.push(t);
    this.record({ t: 'delta', delta: { entries: [], tombstones: [t] } }, true);
    const before = this.ownedCount();
    this.event('warn', `${auto ? 'auto-reclaim' : 'rmpeer'}: removed ${this.label(name)} (${owned} addresses)`);
    this.settle(now);
    return { ...base, alreadyRemoved: false, reclaimedHere: this.ownedCount() - before };
  }

  private resolvePeer(target: string): PeerName {
    const t = target.trim();
    if (isPeerName(t.toLowerCase())) return t.toLowerCase();
    const names = [...this.nicknames.values()].filter((n) => n.nickname === t).map((n) => n.name);
    if (names.length > 1) throw new WeftError('WEFT_ERR_BAD_ARGS', `nickname ${t} is ambiguous (${names.join(', ')}); give the peer name`);
    if (names.length === 0) throw new WeftError('WEFT_ERR_NOT_FOUND', `no peer named or nicknamed ${JSON.stringify(t).slice(0, 70)}`);
    return names[0]!;
  }

  /** Usable addresses in our own ranges not allocated (live value, not the advertised hint). */
  freeCount(): number {
    return this.ring && !this.removed && !this.left ? freeCount(this.ring, this.allocs, this.self) : 0;
  }

  ownedCount(): number {
    return this.ring ? ownedCount(this.ring, this.self) : 0;
  }

  /** Hand all our ranges to a live peer and stop allocating (graceful leave). */
  leave(now: number): LeaveResult {
    if (this.left) return { heir: this.left.heir, addresses: 0, droppedAllocations: 0 };
    const ring = this.ring;
    const dropped = this.allocs.size;
    const addresses = this.ownedCount();
    let heir: PeerName | null = null;
    if (ring && this.active && addresses > 0) {
      heir = leaveHeir(ring, this.reachable);
      if (heir === null) {
        throw new WeftError('WEFT_ERR_IPAM_NOT_READY', `no reachable peer to hand ${addresses} addresses to; they stay with this peer until \`weft rmpeer ${this.self}\` runs elsewhere`);
      }
      this.ownWrite(ring.transferAll(this.self, heir));
      this.out.replies.push({ dst: heir, reqId: 0 });
    }
    for (const [, o] of this.allocs.entries()) {
      this.allocs.remove(o);
      this.record({ t: 'free', offset: o }, true);
    }
    this.left = { heir };
    this.pending.failAll(new WeftError('WEFT_ERR_IPAM_NOT_READY', 'this peer is leaving'));
    this.event('info', `left the IP allocation ring: ${addresses} addresses handed to ${heir ? this.label(heir) : 'nobody'}`);
    this.settle(now);
    return { heir, addresses, droppedAllocations: dropped };
  }

  // ───────────────────────────── peers and time ─────────────────────────────

  setReachable(reachable: ReadonlySet<PeerName>, now: number): void {
    this.reachable = new Set([...reachable].filter((p) => p !== this.self));
    for (const p of [...this.splits.keys()]) if (!this.reachable.has(p)) this.splits.delete(p);
    this.settle(now);
  }

  peerGone(name: PeerName, now: number): void {
    this.splits.delete(name);
    this.settle(now);
  }

  tick(now: number): void {
    if (this.freeDirty) this.ownDirty = true;
    this.autoReclaim(now);
    this.settle(now);
  }

  private autoReclaim(now: number): void {
    const ring = this.ring;
    if (!ring || !this.active || this.autoReclaimAfterMs === undefined) return;
    for (const p of autoReclaimDue(ring, this.reachable, this.self, this.unreachableSince, now, this.autoReclaimAfterMs)) {
      this.unreachableSince.delete(p);
      try {
        this.rmpeer(p, now, true);
      } catch (e) {
        this.event('warn', `auto-reclaim of ${this.label(p)} failed: ${(e as Error).message}`);
      }
    }
  }

  // ───────────────────────────── settle: the step after every input ─────────────────────────────

  /** Create a ring ourselves (seed list or consensus decision): identical on every creator. */
  private createRing(origin: RingOrigin, how: string): void {
    const ring = Ring.create(this.universe, origin);
    this.adoptRing(ring.id, origin, how);
    this.ring = ring;
    this.record({ t: 'delta', delta: { entries: [...ring.all()] } }, true);
    this.out.announceFull = true;
  }

  private bootstrap(now: number): void {
    if (this.ring !== null) return;
    const seeds = this.init.seeds;
    if (seeds && seeds.includes(this.self)) {
      this.createRing({ kind: 'seed', members: [...new Set(seeds)].sort(), detail: '' }, 'created from the seed list');
      return;
    }
    const c = this.consensus;
    if (!c) return;
    if (c.think(this.reachable, now, IPAM_CONSENSUS_RETRY_MS)) {
      this.record({ t: 'elector', state: c.mine() }, true);
      this.out.electorChanged = true;
    }
    const d = c.decision();
    // the identity derives from the chosen value only: Paxos may choose the same value at
    // several ballots, and every learner must build the same ring
    if (d !== null) this.createRing({ kind: 'consensus', members: d.members, detail: `consensus=${c.n}` }, 'agreed by consensus');
  }

  /** Name an heir for our ranges when we have none or ours was removed (rarely changes). */
  private designate(): void {
    const ring = this.ring!;
    if (!ring.succession.needsDesignation(this.self)) return;
    const heirs = designationCandidates(ring, this.reachable, this.self, IPAM_DESIGNATED_HEIRS);
    if (heirs.length === 0) return;
    const d = ring.succession.designate(this.self, heirs);
    this.record({ t: 'delta', delta: { entries: [], designations: [d] } }, true);
    this.out.designations.push(d);
  }

  private refreshOwnFree(): void {
    if (!this.active) return;
    const ring = this.ring!;
    const all = ring.all();
    for (let i = 0; i < all.length; i++) {
      const e = all[i]!;
      if (e.owner !== this.self) continue;
      const end = ring.endOf(i);
      const free = ring.usable(e.start, end) - this.allocs.countIn(e.start, end);
      if (free !== e.free) this.ownWrite([ring.write(this.self, e.start, { free })]);
    }
    this.ownDirty = this.freeDirty = false;
  }

  private settle(now: number): void {
    this.bootstrap(now);
    if (this.removed && !this.removedNoticed) {
      this.removedNoticed = true;
      const t = this.ring!.tombstone(this.self)!;
      this.event('error', `this peer was removed with rmpeer on ${this.label(t.by)}; its ranges were reclaimed — run \`weft reset\` on this host`, 'removed');
    }
    if (this.active) {
      if (this.ringDirty) this.ownWrite(this.ring!.reclaim(this.self));
      this.designate();
    }
    this.ringDirty = false;
    if (this.ownDirty) this.refreshOwnFree();
    if (this.pending.size) {
      const why = this.notReadyReason();
      if (why !== null) this.pending.failAll(new WeftError('WEFT_ERR_IPAM_NOT_READY', why));
      else this.pending.process(this, now);
      if (this.ownDirty) this.refreshOwnFree();
    }
    this.emit();
  }

  private emit(): void {
    const header = { sender: this.self, range: this.universe.cidr, nicknames: [this.nicknames.get(this.self)!] };
    this.out.emit(this.ring, () => this.fullState(), header, this.consensus?.mine() ?? null);
  }

  status(): IpamStatus {
    return buildStatus(this);
  }
}
