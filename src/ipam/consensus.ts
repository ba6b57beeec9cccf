import type { PeerName } from '../net/index.js';

/**
 * Bootstrap agreement for `--ipalloc-init consensus=N`: single-decree Paxos whose messages are
 * the electors' own states, carried by gossip. Pure; no I/O, no timers (time is passed in).
 *
 * Each elector publishes one {@link ElectorState}, written only by itself and monotone
 * (promised ballot and accepted ballot only grow), so states merge by "greater wins" and any
 * stale copy is still a true statement of the past. Rules (see DESIGN.md for the argument):
 *  - promise: an elector promises the highest ballot it has seen (never goes back);
 *  - accept: it accepts the highest accepted (ballot, value) it sees if that ballot is ≥ its
 *    promise — a value is only ever accepted first by its proposer, after phase 1;
 *  - propose: only the deterministic proposer (smallest name among the reachable electors,
 *    once a quorum of them is reachable) runs ballots; after promises from a quorum
 *    (> N/2 electors with promised = its ballot) it accepts the highest value those promises
 *    carry, else its own value (the sorted names of the promisers);
 *  - learn: a value is chosen once > N/2 electors have accepted the same ballot.
 * Two majorities of N intersect, so at most one value is ever chosen: joining one by one can
 * never create two rings, whatever the order, loss or duplication of messages.
 */

/** Proposal number: (round, proposer), ordered by round then proposer name. */
export interface Ballot {
  readonly round: number;
  readonly proposer: PeerName;
}

export interface Accepted {
  readonly ballot: Ballot;
  /** The proposed value: the sorted peers that will split the range. */
  readonly members: readonly PeerName[];
}

/** One elector's published state (written only by that elector). */
export interface ElectorState {
  readonly name: PeerName;
  /** The elector's configured N (`consensus=N`); states with another N are ignored. */
  readonly n: number;
  readonly promised: Ballot | null;
  readonly accepted: Accepted | null;
}

export interface Decision {
  readonly ballot: Ballot;
  readonly members: readonly PeerName[];
}

export function compareBallots(a: Ballot | null, b: Ballot | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (a.round !== b.round) return a.round - b.round;
  return a.proposer === b.proposer ? 0 : a.proposer < b.proposer ? -1 : 1;
}

/** Order of elector states: (promised, accepted ballot); ties broken on content for determinism. */
export function compareElectorStates(a: ElectorState, b: ElectorState): number {
  const c = compareBallots(a.promised, b.promised) || compareBallots(a.accepted?.ballot ?? null, b.accepted?.ballot ?? null);
  if (c !== 0) return c;
  if (a.n !== b.n) return a.n - b.n;
  const am = a.accepted?.members.join(',') ?? '';
  const bm = b.accepted?.members.join(',') ?? '';
  return am === bm ? 0 : am < bm ? -1 : 1;
}

const ballotKey = (b: Ballot): string => `${b.round}/${b.proposer}`;

export class Consensus {
  private readonly states = new Map<PeerName, ElectorState>();
  private myBallot: Ballot | null = null;
  private proposedAt = 0;
  /** Bumped on every change of any state; lets think() skip work when nothing happened. */
  private changes = 0;
  private lastProgress = -1;
  private lastThought: { changes: number; reachable: ReadonlySet<PeerName> } | null = null;
  // Incremental indexes over the states with our N (states only grow, so maxima only grow).
  private bestAccepted: Accepted | null = null;
  private maxPromised: Ballot | null = null;
  private readonly acceptedCount = new Map<string, { n: number; acc: Accepted }>();
  private names = 0;
  private electorCache: { names: number; reachable: ReadonlySet<PeerName>; count: number; first: PeerName } | null = null;

  /** @param n the configured N; the quorum is ⌊N/2⌋ + 1. */
  constructor(readonly self: PeerName, readonly n: number, restored?: ElectorState) {
    this.put(restored ?? { name: self, n, promised: null, accepted: null });
  }

  get quorum(): number {
    return Math.floor(this.n / 2) + 1;
  }

  mine(): ElectorState {
    return this.states.get(this.self)!;
  }

  all(): ElectorState[] {
    return [...this.states.values()];
  }

  /** Electors seen with another N than ours (misconfiguration, reported in status). */
  mismatched(): ElectorState[] {
    return this.all().filter((s) => s.n !== this.n);
  }

  /** Replace a state and keep the indexes current. */
  private put(s: ElectorState): void {
    const prev = this.states.get(s.name);
    if (prev === undefined) this.names++;
    this.states.set(s.name, s);
    this.changes++;
    if (s.n !== this.n) return;
    if (prev?.accepted && prev.n === this.n) this.acceptedCount.get(ballotKey(prev.accepted.ballot))!.n--;
    if (s.accepted) {
      const k = ballotKey(s.accepted.ballot);
      const c = this.acceptedCount.get(k) ?? { n: 0, acc: s.accepted };
      c.n++;
      this.acceptedCount.set(k, c);
      if (compareBallots(s.accepted.ballot, this.bestAccepted?.ballot ?? null) > 0) this.bestAccepted = s.accepted;
    }
    if (compareBallots(s.promised, this.maxPromised) > 0) this.maxPromised = s.promised;
  }

  /** Join received states; returns those that were new. A newer copy of our own state is adopted. */
  merge(states: readonly ElectorState[]): ElectorState[] {
    const changed: ElectorState[] = [];
    for (const s of states) {
      const cur = this.states.get(s.name);
      if (cur === undefined || compareElectorStates(s, cur) > 0) {
        this.put(s);
        changed.push(s);
      }
    }
    return changed;
  }

  /** Chosen value, if > N/2 electors (with our N) accepted the same ballot. */
  decision(): Decision | null {
    for (const c of this.acceptedCount.values()) if (c.n >= this.quorum) return { ballot: c.acc.ballot, members: c.acc.members };
    return null;
  }

  /** Electors (our N) in `reachable` ∪ {self}: how many, and the smallest name. */
  electors(reachable: ReadonlySet<PeerName>): { count: number; first: PeerName } {
    const c = this.electorCache;
    if (c && c.names === this.names && c.reachable === reachable) return c;
    let count = 0;
    let first = this.self;
    for (const s of this.states.values()) {
      if (s.n !== this.n || (s.name !== this.self && !reachable.has(s.name))) continue;
      count++;
      if (s.name < first) first = s.name;
    }
    this.electorCache = { names: this.names, reachable, count, first };
    return this.electorCache;
  }

  private setMine(next: ElectorState): void {
    if (compareElectorStates(next, this.mine()) !== 0) this.put(next);
  }

  /**
   * Apply the acceptor and proposer rules once. Returns true when our own published state
   * changed (the caller persists it before it is sent anywhere).
   */
  think(reachable: ReadonlySet<PeerName>, now: number, retryMs: number): boolean {
    const seen = this.lastThought;
    const stalled = this.myBallot !== null && now - this.proposedAt >= retryMs;
    if (seen && seen.changes === this.changes && seen.reachable === reachable && !stalled) return false;
    const before = this.mine();
    // acceptor: adopt the highest accepted value we are allowed to accept
    const best = this.bestAccepted;
    const maxPromised = this.maxPromised;
    const maxRound = maxPromised?.round ?? 0;
    let me = this.mine();
    if (best && compareBallots(best.ballot, me.promised) >= 0 && compareBallots(best.ballot, me.accepted?.ballot ?? null) > 0) {
      me = { ...me, promised: best.ballot, accepted: best };
    }
    if (compareBallots(maxPromised, me.promised) > 0) me = { ...me, promised: maxPromised };
    this.setMine(me);

    // proposer: only the smallest reachable elector, once a quorum is reachable
    const electors = this.electors(reachable);
    const iPropose = electors.count >= this.quorum && electors.first === this.self && this.decision() === null;
    if (!iPropose) {
      this.myBallot = null;
    } else {
      const preempted = this.myBallot !== null && compareBallots(me.promised, this.myBallot) > 0;
      if (this.changes !== this.lastProgress) {
        // any change counts as progress and resets the retry clock
        this.lastProgress = this.changes;
        this.proposedAt = now;
      }
      if (this.myBallot === null || preempted || now - this.proposedAt >= retryMs) {
        this.myBallot = { round: maxRound + 1, proposer: this.self };
        this.proposedAt = now;
        me = { ...me, promised: this.myBallot };
        this.setMine(me);
      }
      this.phase2(this.myBallot);
      this.lastProgress = this.changes;
    }
    this.lastThought = { changes: this.changes, reachable };
    return compareElectorStates(this.mine(), before) !== 0;
  }

  /** With a quorum of promises for `ballot`, accept its value ourselves (phase 2 request). */
  private phase2(ballot: Ballot): void {
    const me = this.mine();
    if (me.accepted && compareBallots(me.accepted.ballot, ballot) >= 0) return;
    if (compareBallots(me.promised, ballot) !== 0) return;
    const promisers: ElectorState[] = [];
    for (const s of this.states.values()) if (s.n === this.n && compareBallots(s.promised, ballot) === 0) promisers.push(s);
    if (promisers.length < this.quorum) return;
    let value: Accepted | null = null;
    for (const s of promisers) {
      if (s.accepted && compareBallots(s.accepted.ballot, value?.ballot ?? null) > 0) value = s.accepted;
    }
    const members = value?.members ?? promisers.map((s) => s.name).sort();
    this.setMine({ ...me, accepted: { ballot, members } });
  }

  /** Short human summary for status reasons. */
  describe(reachable: ReadonlySet<PeerName>): { known: number; promised: number; accepted: number; proposer: PeerName | null } {
    const { count, first } = this.electors(reachable);
    const mine = this.mine().promised;
    let promised = 0;
    let accepted = 0;
    for (const s of this.states.values()) {
      if (s.n !== this.n || mine === null) continue;
      if (compareBallots(s.promised, mine) === 0) promised++;
      if (s.accepted && compareBallots(s.accepted.ballot, mine) === 0) accepted++;
    }
    return { known: count, promised, accepted, proposer: count >= this.quorum ? first : null };
  }
}
