import { WeftError } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { NicknameRecord } from './codec.js';
import { compareElectorStates, type ElectorState } from './consensus.js';
import type { RingDelta, RingOrigin } from './ring.js';

/**
 * What the IPAM persists: a snapshot ({@link PersistedState}) plus an append log of
 * {@link StoreRecord}s. Replay is order-tolerant where it has to be: ring parts are CRDT
 * deltas (joined when the core restores them), alloc/free are last-writer-wins per address,
 * elector and nickname records are monotone. Replaying any suffix of the log over a snapshot
 * that already contains it yields the same state. Pure; no I/O.
 */
export type StoreRecord =
  | { t: 'ring'; id: string; origin: RingOrigin }
  | { t: 'delta'; delta: RingDelta }
  | { t: 'alloc'; owner: string; offset: number }
  | { t: 'free'; offset: number }
  | { t: 'elector'; state: ElectorState }
  | { t: 'nick'; rec: NicknameRecord };

export interface PersistedRing {
  id: string;
  origin: RingOrigin;
  /** Deltas whose join is the ring (a snapshot holds one complete delta). */
  parts: RingDelta[];
}

export interface PersistedState {
  /** Range the state belongs to; a different configured range is refused at start. */
  cidr: string;
  self: PeerName;
  ring: PersistedRing | null;
  /** offset → owner */
  allocations: Map<number, string>;
  elector: ElectorState | null;
  nicknames: Map<PeerName, NicknameRecord>;
}

export function emptyState(cidr: string, self: PeerName): PersistedState {
  return { cidr, self, ring: null, allocations: new Map(), elector: null, nicknames: new Map() };
}

/** Apply one record to a state (mutates and returns it). Throws WEFT_ERR_DATA_DIR on nonsense. */
export function applyRecord(s: PersistedState, r: StoreRecord): PersistedState {
  switch (r.t) {
    case 'ring':
      if (s.ring === null || s.ring.id !== r.id) s.ring = { id: r.id, origin: r.origin, parts: [] };
      break;
    case 'delta':
      if (s.ring === null) throw new WeftError('WEFT_ERR_DATA_DIR', 'IPAM log: ring delta before the ring record');
      s.ring.parts.push(r.delta);
      break;
    case 'alloc':
      s.allocations.set(r.offset, r.owner);
      break;
    case 'free':
      s.allocations.delete(r.offset);
      break;
    case 'elector':
      if (s.elector === null || compareElectorStates(r.state, s.elector) > 0) s.elector = r.state;
      break;
    case 'nick': {
      const cur = s.nicknames.get(r.rec.name);
      if (!cur || r.rec.stamp >= cur.stamp) s.nicknames.set(r.rec.name, r.rec);
      break;
    }
    default:
      throw new WeftError('WEFT_ERR_DATA_DIR', `IPAM log: unknown record type ${JSON.stringify((r as { t: unknown }).t)}`);
  }
  return s;
}
