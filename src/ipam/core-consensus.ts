import { IPAM_CONSENSUS_RETRY_MS } from '../common/index.js';
import type { CoreState } from './core-state.js';
import { Ring, type RingOrigin } from './ring.js';

/**
 * How a peer without a ring gets one of its own making: from the seed list (when it is a seed)
 * or from a consensus decision among the first N peers. Every creator builds the identical
 * ring, so creators never conflict. Runs as the first step after every input.
 */
export class CoreBootstrap {
  constructor(private readonly s: CoreState) {}

  /** Create the ring when the seeds or the consensus say so; a no-op once there is one. */
  step(now: number): void {
    const s = this.s;
    if (s.ring !== null) return;
    const seeds = s.init.seeds;
    if (seeds && seeds.includes(s.self)) {
      this.createRing({ kind: 'seed', members: [...new Set(seeds)].sort(), detail: '' }, 'created from the seed list');
      return;
    }
    const c = s.consensus;
    if (!c) return;
    if (c.think(s.reachable, now, IPAM_CONSENSUS_RETRY_MS)) {
      s.record({ t: 'elector', state: c.mine() }, true);
      s.out.electorChanged = true;
    }
    const d = c.decision();
    // the identity derives from the chosen value only: Paxos may choose the same value at
    // several ballots, and every learner must build the same ring
    if (d !== null) this.createRing({ kind: 'consensus', members: d.members, detail: `consensus=${c.n}` }, 'agreed by consensus');
  }

  /** Create a ring ourselves (seed list or consensus decision): identical on every creator. */
  private createRing(origin: RingOrigin, how: string): void {
    const s = this.s;
    const ring = Ring.create(s.universe, origin);
    s.adoptRing(ring.id, origin, how);
    s.ring = ring;
    s.record({ t: 'delta', delta: { entries: [...ring.all()] } }, true);
    s.out.announceFull = true;
  }
}
