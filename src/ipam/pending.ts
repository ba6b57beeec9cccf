import {
  WeftError, IPAM_ALLOCATION_TIMEOUT_MS, IPAM_DONATION_TIMEOUT_MS, IPAM_MAX_DONOR_TRIES,
} from '../common/index.js';
import type { PeerName } from '../net/index.js';

/**
 * Allocations waiting for space from another peer, and the space requests they caused.
 * Pure state machine driven by the core (no I/O, no timers: deadlines are compared with the
 * `now` passed in). Guarantees: every waiter is completed exactly once — with an offset, or
 * with WEFT_ERR_IPAM_EXHAUSTED / _NOT_READY / _IN_USE / TIMEOUT — at the latest
 * IPAM_ALLOCATION_TIMEOUT_MS after it was queued; at most one general space request is in flight.
 */

export type Done = (err: WeftError | null, offset?: number) => void;

export interface Waiter {
  readonly owner: string;
  /** Specific offset asked for (a claim), or null for "any address". */
  readonly offset: number | null;
  readonly deadline: number;
  readonly done: Done[];
}

/** What the queue needs from the core. */
export interface PendingHost {
  /** Take a free address in our own ranges for `owner`, or null if none. */
  allocateAny(owner: string): number | null;
  /** Resolve a claim for `offset`: an offset if we own it now, an error, or 'ask:<peer>'. */
  claim(owner: string, offset: number): number | WeftError | { ask: PeerName };
  /** Best donor not in `exclude` (most advertised free space, reachable), or null. */
  chooseDonor(exclude: ReadonlySet<PeerName>): PeerName | null;
  /** Send a space request; false when the peer cannot be reached. */
  request(dst: PeerName, reqId: number, offset: number | null): boolean;
  /** The message for EXHAUSTED, given the donors tried and their answers. */
  exhausted(tried: readonly string[]): string;
}

interface Request {
  readonly reqId: number;
  readonly donor: PeerName;
  readonly deadline: number;
  readonly offset: number | null;
}

export class PendingAllocations {
  private waiters: Waiter[] = [];
  private general: Request | null = null;
  private readonly claims = new Map<number, Request>(); // offset → request
  private readonly tried = new Set<PeerName>();
  private readonly answers: string[] = [];
  private nextReqId = 1;

  get size(): number {
    return this.waiters.length;
  }

  /** Queue a waiter (joins an identical one for the same owner/offset: idempotent requests). */
  add(owner: string, offset: number | null, now: number, done: Done): void {
    const same = this.waiters.find((w) => w.owner === owner && w.offset === offset);
    if (same) same.done.push(done);
    else this.waiters.push({ owner, offset, deadline: now + IPAM_ALLOCATION_TIMEOUT_MS, done: [done] });
  }

  /** Complete every waiter with `err` (not ready, stopped, left). */
  failAll(err: WeftError): void {
    const ws = this.waiters;
    this.waiters = [];
    this.general = null;
    this.claims.clear();
    this.tried.clear();
    this.answers.length = 0;
    for (const w of ws) for (const d of w.done) d(err);
  }

  private finish(w: Waiter, err: WeftError | null, offset?: number): void {
    this.waiters.splice(this.waiters.indexOf(w), 1);
    for (const d of w.done) d(err, offset);
  }

  /** A donor refused (or replied without giving us usable space). */
  denied(src: PeerName, reqId: number, reason: string): void {
    if (this.general?.reqId === reqId && this.general.donor === src) {
      this.tried.add(src);
      this.answers.push(`${src}: ${reason}`);
      this.general = null;
      return;
    }
    for (const [offset, r] of this.claims) {
      if (r.reqId !== reqId || r.donor !== src) continue;
      this.claims.delete(offset);
      const w = this.waiters.find((x) => x.offset === offset);
      if (w) this.finish(w, new WeftError('WEFT_ERR_IPAM_IN_USE', `peer ${src} refused address claim: ${reason}`));
    }
  }

  /** A donor answered request `reqId` with its ring (space may or may not have arrived). */
  answered(src: PeerName, reqId: number): void {
    if (this.general?.reqId === reqId && this.general.donor === src) this.general = null;
    for (const [offset, r] of this.claims) if (r.reqId === reqId) this.claims.delete(offset);
  }

  /** Serve what can be served, time out what must, and send the next requests. */
  process(host: PendingHost, now: number): void {
    for (const w of [...this.waiters]) {
      if (now >= w.deadline) {
        this.finish(w, new WeftError('WEFT_ERR_IPAM_EXHAUSTED', `no address within ${IPAM_ALLOCATION_TIMEOUT_MS / 1000} s: ${host.exhausted(this.answers)}`));
        continue;
      }
      if (w.offset !== null) {
        this.processClaim(host, w, now);
        continue;
      }
      const got = host.allocateAny(w.owner);
      if (got !== null) {
        this.tried.clear();
        this.answers.length = 0;
        this.finish(w, null, got);
      }
    }
    if (!this.waiters.some((w) => w.offset === null)) {
      this.general = null;
      return;
    }
    if (this.general && now >= this.general.deadline) {
      this.tried.add(this.general.donor);
      this.answers.push(`${this.general.donor}: no answer within ${IPAM_DONATION_TIMEOUT_MS / 1000} s`);
      this.general = null;
    }
    while (this.general === null) {
      const donor = this.tried.size < IPAM_MAX_DONOR_TRIES ? host.chooseDonor(this.tried) : null;
      if (donor === null) {
        const msg = host.exhausted(this.answers);
        this.tried.clear();
        this.answers.length = 0;
        for (const w of this.waiters.filter((x) => x.offset === null)) this.finish(w, new WeftError('WEFT_ERR_IPAM_EXHAUSTED', msg));
        return;
      }
      const reqId = this.nextReqId++;
      if (host.request(donor, reqId, null)) {
        this.general = { reqId, donor, deadline: now + IPAM_DONATION_TIMEOUT_MS, offset: null };
      } else {
        this.tried.add(donor);
        this.answers.push(`${donor}: no route`);
      }
    }
  }

  private processClaim(host: PendingHost, w: Waiter, now: number): void {
    const offset = w.offset!;
    const r = host.claim(w.owner, offset);
    if (typeof r === 'number' || r instanceof WeftError) {
      this.claims.delete(offset);
      if (typeof r === 'number') this.finish(w, null, r);
      else this.finish(w, r);
      return;
    }
    const cur = this.claims.get(offset);
    if (cur && cur.donor === r.ask && now < cur.deadline) return;
    if (cur && now >= cur.deadline) {
      this.claims.delete(offset);
      this.finish(w, new WeftError('WEFT_ERR_TIMEOUT', `peer ${cur.donor} did not answer the claim within ${IPAM_DONATION_TIMEOUT_MS / 1000} s`));
      return;
    }
    const reqId = this.nextReqId++;
    if (host.request(r.ask, reqId, offset)) this.claims.set(offset, { reqId, donor: r.ask, deadline: now + IPAM_DONATION_TIMEOUT_MS, offset });
    else this.finish(w, new WeftError('WEFT_ERR_IPAM_NOT_READY', `address owner ${r.ask} cannot be reached`));
  }
}
