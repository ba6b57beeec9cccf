import type { PeerName } from '../net/index.js';
import type { Universe } from './address.js';
import type { NicknameRecord } from './codec.js';
import type { Consensus } from './consensus.js';
import { describeOrigin, listShort, peerLabel } from './describe.js';
import type { Ring, RingOrigin } from './ring.js';
import { bestDonor } from './space.js';
import type { IpamInit, IpamStatus, IpamStatusKind, UnreachableOwner } from './types.js';

/** What we know about a peer whose ring or range cannot be merged with ours. */
export interface SplitInfo {
  /** Set when the peer uses another allocation range. */
  range?: string;
  /** Origin of the peer's ring, once a full state of it was seen. */
  origin?: RingOrigin;
  /** Distinct owners in the peer's ring (as far as seen). */
  owners: number;
}

/** What the status is derived from: the IPAM core's state, read only (core-state.ts). */
export interface CoreView {
  readonly self: PeerName;
  readonly universe: Universe;
  readonly init: IpamInit;
  readonly ring: Ring | null;
  readonly consensus: Consensus | null;
  readonly reachable: ReadonlySet<PeerName>;
  readonly nicknames: ReadonlyMap<PeerName, NicknameRecord>;
  readonly splits: ReadonlyMap<PeerName, SplitInfo>;
  readonly left: { readonly heir: PeerName | null } | null;
  readonly removed: boolean;
  readonly allocs: { readonly size: number };
  readonly pending: { readonly size: number };
  readonly conflicts: ReadonlyMap<string, number>;
  label(name: PeerName): string;
  freeCount(): number;
  ownedCount(): number;
}

/** The status kind and its reason (with the remedy), derived from the core. Pure. */
export function phaseOf(core: CoreView): { kind: IpamStatusKind; reason?: string } {
  const ring = core.ring;
  const tomb = core.removed ? ring?.tombstone(core.self) : undefined;
  if (tomb) {
    return { kind: 'removed', reason: `this peer was removed with rmpeer on ${core.label(tomb.by)}; its ranges were reclaimed — run \`weft reset\` on this host` };
  }
  if (core.left) return { kind: 'idle', reason: `this peer left the ring (ranges handed to ${core.left.heir ? core.label(core.left.heir) : 'nobody'})` };
  if (!ring) {
    const c = core.consensus;
    if (c) {
      const d = c.describe(core.reachable);
      const bad = c.mismatched();
      let reason = `awaiting consensus: ${d.known} of ${c.n} expected peers known and reachable, quorum ${c.quorum}`;
      reason += d.proposer ? `; proposer ${core.label(d.proposer)}: ${d.promised} promised, ${d.accepted} accepted` : '; waiting for more peers to connect';
      if (bad.length) reason += `; peers ${listShort(bad.map((s) => `${core.label(s.name)} (consensus=${s.n})`))} use another N — every peer must be started with the same consensus=N`;
      const same = c.all().length - bad.length;
      if (same > c.n) reason += `; ${same} peers were started with consensus=${c.n} — N must be at least the number of peers that start before the ring exists`;
      return { kind: 'awaiting-consensus', reason };
    }
    const seeds = core.init.seeds;
    if (seeds) return { kind: 'idle', reason: `waiting to receive the ring from the seeds ${listShort(seeds)} (this peer is not one of them)` };
    return { kind: 'idle', reason: 'observer (no --ipalloc-init): waiting to receive a ring from a peer' };
  }
  for (const [peer, s] of core.splits) {
    if (s.range !== undefined) {
      return { kind: 'split-ring', reason: `peer ${core.label(peer)} uses IP range ${s.range} but this peer uses ${core.universe.cidr}; give every peer the same --ipalloc-range and run \`weft reset\` on the odd one` };
    }
    const ours = new Set(ring.all().map((e) => e.owner)).size;
    return {
      kind: 'split-ring',
      reason: `this peer's ring was ${describeOrigin(ring.origin)} but peer ${core.label(peer)}'s was ${describeOrigin(s.origin)}; ` +
        `run \`weft reset\` on the smaller side (ours: ${ours} peers, theirs: ${s.owners}) — allocation is refused until then`,
    };
  }
  if (core.freeCount() === 0 && bestDonor(ring, core.reachable, core.self, new Set()) === null) {
    const away = unreachableOwners(core);
    const reason = away.length
      ? `no free address here and none advertised by reachable peers; ${listShort(away.map((u) => `${peerLabel(u.name, u.nickname)} ${u.percent}%`))} of the range is owned by unreachable peers — use \`weft rmpeer\` if they are dead`
      : 'no free address here and none advertised by reachable peers: the range is full';
    return { kind: 'no-range', reason };
  }
  return { kind: 'ready' };
}

/** Addresses per owner, over the ring's entries whose owner `counts`, in token order of first appearance. */
function addressesByOwner(ring: Ring, counts: (owner: PeerName) => boolean): Map<PeerName, number> {
  const by = new Map<PeerName, number>();
  ring.all().forEach((e, i) => {
    if (counts(e.owner)) by.set(e.owner, (by.get(e.owner) ?? 0) + ring.endOf(i) - e.start);
  });
  return by;
}

function unreachableOwners(core: CoreView): UnreachableOwner[] {
  const ring = core.ring;
  if (!ring) return [];
  const by = addressesByOwner(ring, (o) => o !== core.self && !core.reachable.has(o) && !ring.isTombstoned(o));
  return [...by].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name, addresses]) => {
    const nickname = core.nicknames.get(name)?.nickname;
    const percent = Math.round((addresses / core.universe.size) * 10_000) / 100;
    return { name, ...(nickname !== undefined ? { nickname } : {}), addresses, percent };
  });
}

function awaitingReclaim(core: CoreView): IpamStatus['awaitingReclaim'] {
  const ring = core.ring;
  if (!ring) return [];
  return [...addressesByOwner(ring, (o) => ring.isTombstoned(o))].map(([name, addresses]) => ({ name, heir: ring.succession.heirOf(name), addresses }));
}

export function buildStatus(core: CoreView): IpamStatus {
  const phase = phaseOf(core);
  const ring = core.ring;
  const u = core.universe;
  const entries = (ring?.all() ?? []).map((e, i) => {
    const end = ring ? ring.endOf(i) : e.start; // entries exist only with a ring
    const nickname = core.nicknames.get(e.owner)?.nickname;
    return { start: u.format(e.start), end: u.format(end - 1), owner: e.owner, ...(nickname !== undefined ? { nickname } : {}), free: e.free };
  });
  const c = core.consensus;
  const mode = core.init.consensus !== undefined ? 'consensus' : core.init.seeds ? 'seed' : 'observer';
  return {
    status: phase.kind,
    ...(phase.reason !== undefined ? { reason: phase.reason } : {}),
    self: core.self,
    nickname: core.nicknames.get(core.self)?.nickname ?? '',
    range: u.cidr,
    mode,
    ...(ring ? { ringId: ring.id, origin: describeOrigin(ring.origin) } : {}),
    owned: core.ownedCount(),
    free: core.freeCount(),
    allocated: core.allocs.size,
    pending: core.pending.size,
    unreachable: unreachableOwners(core),
    ...(c && !ring ? { quorum: c.quorum, known: c.electors(core.reachable).count } : {}),
    conflicts: Object.fromEntries(core.conflicts),
    removedPeers: ring ? ring.tombstones().map((t) => t.name).sort() : [],
    awaitingReclaim: awaitingReclaim(core),
    entries,
  };
}

/** Message of WEFT_ERR_IPAM_EXHAUSTED: what was tried and where the rest of the space is. */
export function exhaustedMessage(core: CoreView, tried: readonly string[]): string {
  const away = unreachableOwners(core);
  const parts = ["no free address in this peer's ranges"];
  parts.push(tried.length ? `asked ${tried.join('; ')}` : 'no reachable peer advertises free space');
  const n = away.reduce((sum, u) => sum + u.addresses, 0);
  if (n > 0) parts.push(`${n} addresses are owned by unreachable peers (${listShort(away.map((u) => peerLabel(u.name, u.nickname)))}) — use \`weft rmpeer\` if they are dead`);
  return parts.join('; ');
}
