import { WeftError } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { StateMessage, UnicastMessage } from './codec.js';
import { CoreBootstrap } from './core-consensus.js';
import { CoreDonations } from './core-donation.js';
import { CoreMembership } from './core-membership.js';
import { CoreState, type CoreOptions } from './core-state.js';
import { describeConflict } from './describe.js';
import type { Done } from './pending.js';
import type { PersistedState, StoreRecord } from './records.js';
import type { Designation, RingConflict, RingEntry, Tombstone } from './ring.js';
import { buildStatus } from './status.js';
import type { IpamStatus, LeaveResult, RmpeerResult } from './types.js';
import type { CoreEvent, Outgoing } from './outbox.js';

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
export type { CoreOptions } from './core-state.js';

export class IpamCore extends CoreState {
  private readonly bootstrap = new CoreBootstrap(this);
  private readonly donations = new CoreDonations(this);
  private readonly membership = new CoreMembership(this, (now) => this.settle(now));

  constructor(opts: CoreOptions, persisted?: PersistedState) {
    super(opts, persisted);
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

  // ───────────────────────────── gossip inputs ─────────────────────────────

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
    const ring = this.ring;
    if (!ring) return; // conflicts come only from merging into our ring
    const i = ring.indexCovering(c.start);
    const lost = c.kind === 'own-range-taken' && i >= 0 ? this.allocs.countIn(c.start, ring.endOf(i)) : 0;
    const e = describeConflict(c, this.universe, (n) => this.label(n), lost);
    // someone has a newer copy of our own entry (we lost state): outbid it as its writer
    if (c.kind === 'stale-self' && this.active) this.ownWrite([ring.write(this.self, c.start, {})]);
    this.event(e.level, e.msg, c.kind);
  }

  /** A unicast addressed to us. */
  onUnicast(src: PeerName, msg: UnicastMessage, now: number): void {
    switch (msg.kind) {
      case 'space-request':
        this.donations.donate(src, msg.ringId, msg.reqId, msg.address);
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
    return this.membership.rmpeer(target, now, auto);
  }

  /** Hand all our ranges to a live peer and stop allocating (graceful leave). */
  leave(now: number): LeaveResult {
    return this.membership.leave(now);
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
    this.membership.autoReclaim(now);
    this.settle(now);
  }

  // ───────────────────────────── settle: the step after every input ─────────────────────────────

  private refreshOwnFree(): void {
    const ring = this.ring;
    if (!this.active || !ring) return;
    ring.all().forEach((e, i) => {
      if (e.owner !== this.self) return;
      const end = ring.endOf(i);
      const free = ring.usable(e.start, end) - this.allocs.countIn(e.start, end);
      if (free !== e.free) this.ownWrite([ring.write(this.self, e.start, { free })]);
    });
    this.ownDirty = this.freeDirty = false;
  }

  private settle(now: number): void {
    this.bootstrap.step(now);
    const tomb = this.removed && !this.removedNoticed ? this.ring?.tombstone(this.self) : undefined;
    if (tomb) {
      this.removedNoticed = true;
      this.event('error', `this peer was removed with rmpeer on ${this.label(tomb.by)}; its ranges were reclaimed — run \`weft reset\` on this host`, 'removed');
    }
    const ring = this.ring;
    if (this.active && ring) {
      if (this.ringDirty) this.ownWrite(ring.reclaim(this.self));
      this.membership.designate();
    }
    this.ringDirty = false;
    if (this.ownDirty) this.refreshOwnFree();
    if (this.pending.size) {
      const why = this.notReadyReason();
      if (why !== null) this.pending.failAll(new WeftError('WEFT_ERR_IPAM_NOT_READY', why));
      else this.pending.process(this.donations, now);
      if (this.ownDirty) this.refreshOwnFree();
    }
    this.emit();
  }

  private emit(): void {
    const own = this.nicknames.get(this.self);
    const header = { sender: this.self, range: this.universe.cidr, nicknames: own ? [own] : [] };
    this.out.emit(this.ring, () => this.fullState(), header, this.consensus?.mine() ?? null);
  }

  status(): IpamStatus {
    return buildStatus(this);
  }
}
