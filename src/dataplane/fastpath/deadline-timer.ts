/**
 * DeadlineTimer: one timer that fires at the earliest deadline its owner reports, at most once
 * per `minIntervalMs`, and not at all while nothing is due — instead of a fixed-rate tick.
 */

/**
 * Lifecycle: `arm()` after anything that may move a deadline earlier (cheap: keeps a timer that
 * already fires soon enough), the owner's `run` after each firing (then it re-arms itself),
 * `stop()` (idempotent) for good. Guarantees: `run` never overlaps itself; a throwing `run` is
 * the owner's problem (it should catch).
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  private at = Infinity;
  private last = 0;
  private stopped = false;

  /**
   * @param minIntervalMs finest granularity between two firings. ms
   * @param nextDue earliest deadline (ms since the epoch), Infinity when nothing is due
   * @param run the work, given the current time
   */
  constructor(private readonly minIntervalMs: number, private readonly nextDue: () => number, private readonly run: (now: number) => void) {}

  /** True while a firing is scheduled (tests, status). */
  get armed(): boolean {
    return this.timer !== null;
  }

  arm(): void {
    if (this.stopped) return;
    const due = this.nextDue();
    if (due === Infinity) {
      this.clear();
      return;
    }
    const at = Math.max(due, this.last + this.minIntervalMs);
    if (this.timer && this.at <= at) return;
    this.clear();
    this.at = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private fire(): void {
    this.timer = null;
    this.at = Infinity;
    if (this.stopped) return;
    this.last = Date.now();
    this.run(this.last);
    this.arm();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.at = Infinity;
  }
}
