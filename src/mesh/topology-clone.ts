import { TOPOLOGY_CLONE_CONFLICTS, TOPOLOGY_CLONE_WINDOW_MS } from '../common/index.js';
import type { SelfConflict } from './topology-types.js';

/**
 * Tells a restart from a live clone (two running peers with the same name, e.g. a cloned data
 * dir). Rule: a restarted peer meets its old incarnation's record a few times at most — after
 * our first bump past it, the dead incarnation can never produce a higher version. A live clone
 * bumps past us in turn, so bumping self-conflicts keep coming. `note` counts conflicts that
 * forced a bump within a sliding window and reports a likely clone once there are at least
 * `threshold` of them. Pure: the caller passes the time. What to do about a clone (log an error,
 * refuse connections, stop) is the caller's policy.
 */
export class CloneDetector {
  private readonly times: number[] = [];
  private total = 0;

  constructor(
    private readonly threshold = TOPOLOGY_CLONE_CONFLICTS,
    private readonly windowMs = TOPOLOGY_CLONE_WINDOW_MS,
  ) {}

  /** Record the outcome of an update (undefined = no conflict). Returns true when a clone is likely. */
  note(conflict: SelfConflict | undefined, nowMs: number): boolean {
    if (conflict?.bumped === true) {
      this.times.push(nowMs);
      this.total++;
    }
    return this.recent(nowMs) >= this.threshold;
  }

  /** Bumping self-conflicts inside the window ending at `nowMs`. */
  recent(nowMs: number): number {
    while ((this.times[0] ?? Infinity) <= nowMs - this.windowMs) this.times.shift();
    return this.times.length;
  }

  /** Bumping self-conflicts ever noted (for a metric). */
  get count(): number {
    return this.total;
  }
}
