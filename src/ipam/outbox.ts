import type { PeerName } from '../net/index.js';
import type { StateMessage, UnicastMessage } from './codec.js';
import type { ElectorState } from './consensus.js';
import type { StoreRecord } from './records.js';
import type { Designation, Ring, Tombstone } from './ring.js';

/**
 * Everything one IpamCore input produces, queued until the driver takes it: store records
 * (and whether they must be fsync'ed), messages, log events, plus what the next broadcast must
 * announce (our own writes are coalesced into one delta per input). Pure; no I/O.
 */

export type Outgoing =
  | { kind: 'unicast'; dst: PeerName; msg: UnicastMessage }
  | { kind: 'broadcast'; msg: StateMessage };

export interface CoreEvent {
  level: 'info' | 'warn' | 'error';
  msg: string;
  /** Conflict kind when the event is a resolved conflict (counted in status.conflicts). */
  conflict?: string;
}

export class CoreOutbox {
  private outgoing: Outgoing[] = [];
  private records: StoreRecord[] = [];
  private syncNeeded = false;
  private events: CoreEvent[] = [];
  /** Resolved conflicts since start, by kind. */
  readonly conflicts = new Map<string, number>();
  // what this input must still announce
  readonly ownStarts = new Set<number>();
  tombstones: Tombstone[] = [];
  designations: Designation[] = [];
  electorChanged = false;
  /** Broadcast the full state (a ring was just created or adopted). */
  announceFull = false;
  /** Peers owed our full state as a reply (donation answers, leave). */
  replies: Array<{ dst: PeerName; reqId: number }> = [];

  send(o: Outgoing): void {
    this.outgoing.push(o);
  }

  record(r: StoreRecord, sync: boolean): void {
    this.records.push(r);
    if (sync) this.syncNeeded = true;
  }

  event(level: CoreEvent['level'], msg: string, conflict?: string): void {
    if (conflict) this.conflicts.set(conflict, (this.conflicts.get(conflict) ?? 0) + 1);
    this.events.push(conflict ? { level, msg, conflict } : { level, msg });
  }

  takeOutgoing(): Outgoing[] {
    const o = this.outgoing;
    this.outgoing = [];
    return o;
  }

  takeChanges(): { records: StoreRecord[]; sync: boolean } {
    const r = { records: this.records, sync: this.syncNeeded };
    this.records = [];
    this.syncNeeded = false;
    return r;
  }

  takeEvents(): CoreEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  /**
   * Turn what this input must announce into messages: the owed replies (our full state), then
   * one broadcast — the full state after a ring appeared, else a delta of our own writes,
   * tombstones, designations and elector state.
   */
  emit(ring: Ring | null, full: () => StateMessage, header: Pick<StateMessage, 'sender' | 'range' | 'nicknames'>, elector: ElectorState | null): void {
    if (ring) for (const r of this.replies) this.send({ kind: 'unicast', dst: r.dst, msg: { kind: 'ring-update', reqId: r.reqId, state: full() } });
    if (this.announceFull) {
      this.send({ kind: 'broadcast', msg: full() });
    } else {
      const ringChanged = ring !== null && (this.ownStarts.size > 0 || this.tombstones.length > 0 || this.designations.length > 0);
      const electors = this.electorChanged && ring === null && elector !== null;
      if (ringChanged || electors) {
        this.send({
          kind: 'broadcast',
          msg: {
            ...header, full: false,
            ...(ringChanged ? { ring: { id: ring!.id, entries: ring!.entriesAt(this.ownStarts), tombstones: this.tombstones, designations: this.designations } } : {}),
            ...(electors ? { electors: [elector!] } : {}),
          },
        });
      }
    }
    this.replies = [];
    this.announceFull = false;
    this.ownStarts.clear();
    this.tombstones = [];
    this.designations = [];
    this.electorChanged = false;
  }
}
