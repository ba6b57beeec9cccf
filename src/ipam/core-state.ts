import { IPAM_MAX_NICKNAME_BYTES } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { Universe } from './address.js';
import { AllocationTable } from './allocations.js';
import { clip, type NicknameRecord, type StateMessage } from './codec.js';
import { Consensus } from './consensus.js';
import { describeOrigin, peerLabel } from './describe.js';
import { CoreOutbox, type CoreEvent } from './outbox.js';
import { PendingAllocations } from './pending.js';
import type { PersistedState, StoreRecord } from './records.js';
import { Ring, type RingEntry, type RingOrigin } from './ring.js';
import { freeCount, ownedCount } from './space.js';
import { phaseOf, type SplitInfo } from './status.js';
import type { IpamInit } from './types.js';

export interface CoreOptions {
  self: PeerName;
  nickname: string;
  universe: Universe;
  init: IpamInit;
  now: number;
  /** Reclaim owners unreachable this long (only while we reach a majority of owners). ms */
  autoReclaimAfterMs?: number;
}

/**
 * The state of one peer's IPAM core and the small helpers every part of it uses (records,
 * events, our own ring writes). {@link IpamCore} extends it with the inputs; the bootstrap
 * (core-consensus.ts), donations (core-donation.ts) and membership changes
 * (core-membership.ts) work on it. Internal to src/ipam: the fields marked "core-internal"
 * are written only by those parts. Pure: no I/O, no timers.
 */
export class CoreState {
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
  /** core-internal: what the current input produced, until the driver takes it. */
  readonly out = new CoreOutbox();
  /** core-internal: reclaim owners unreachable this long. ms */
  readonly autoReclaimAfterMs: number | undefined;
  /** core-internal: when each owner was first seen unreachable. */
  readonly unreachableSince = new Map<PeerName, number>();
  /** core-internal: the "this peer was removed" error was logged. */
  removedNoticed = false;
  /** core-internal: our own ranges changed: free counts need a refresh now. */
  ownDirty = true;
  /** core-internal: only allocations changed: advertise the new free counts at the next tick (coalesced). */
  freeDirty = false;
  /** core-internal: the ring changed: orphans may need reclaiming. */
  ringDirty = true;

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

  /** Resolved conflicts since start, by kind. */
  get conflicts(): ReadonlyMap<string, number> {
    return this.out.conflicts;
  }

  record(r: StoreRecord, sync: boolean): void {
    this.out.record(r, sync);
  }

  event(level: CoreEvent['level'], msg: string, conflict?: string): void {
    this.out.event(level, msg, conflict);
  }

  /** Keep a nickname record if it is newer than ours; true when it was. */
  setNick(r: NicknameRecord): boolean {
    const cur = this.nicknames.get(r.name);
    if (cur && (cur.stamp > r.stamp || (cur.stamp === r.stamp && cur.nickname >= r.nickname))) return false;
    this.nicknames.set(r.name, r);
    this.record({ t: 'nick', rec: r }, false);
    return true;
  }

  label(name: PeerName): string {
    return peerLabel(name, this.nicknames.get(name)?.nickname);
  }

  /** Record and announce writes of our own ring entries. */
  ownWrite(entries: readonly RingEntry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) this.out.ownStarts.add(e.start);
    this.ownDirty = true;
    this.record({ t: 'delta', delta: { entries: [...entries] } }, true);
  }

  get removed(): boolean {
    return this.ring?.isTombstoned(this.self) ?? false;
  }

  /** Our ring may be written by us: it exists, we were not removed and did not leave. */
  get active(): boolean {
    return this.ring !== null && !this.removed && this.left === null;
  }

  /** Null when allocations may be served, else the reason (WEFT_ERR_IPAM_NOT_READY). */
  notReadyReason(): string | null {
    const p = phaseOf(this);
    return p.kind === 'ready' || p.kind === 'no-range' ? null : p.reason ?? p.kind;
  }

  adoptRing(id: string, origin: RingOrigin, how: string): Ring {
    this.ring = Ring.restore(this.universe, id, origin);
    this.ringDirty = this.ownDirty = true;
    this.record({ t: 'ring', id, origin }, true);
    this.event('info', `IP allocation ring ${id.slice(0, 8)} (${describeOrigin(origin)}) ${how}`);
    return this.ring;
  }

  /** Our complete state (periodic gossip, new connections, donation replies). */
  fullState(): StateMessage {
    const base = { sender: this.self, range: this.universe.cidr, nicknames: [...this.nicknames.values()] };
    const r = this.ring;
    if (r) return { ...base, full: true, ring: { id: r.id, origin: r.origin, entries: r.all(), tombstones: r.tombstones(), designations: r.succession.designations() } };
    return this.consensus ? { ...base, full: false, electors: this.consensus.all() } : { ...base, full: false };
  }

  /** Usable addresses in our own ranges not allocated (live value, not the advertised hint). */
  freeCount(): number {
    return this.ring && !this.removed && !this.left ? freeCount(this.ring, this.allocs, this.self) : 0;
  }

  ownedCount(): number {
    return this.ring ? ownedCount(this.ring, this.self) : 0;
  }

  takeAddress(owner: string, offset: number): void {
    this.allocs.add(owner, offset);
    this.freeDirty = true;
    this.record({ t: 'alloc', owner, offset }, true);
  }
}
