import type { Logger } from '../common/index.js';
import type { BadInputSource, MeshMetrics } from '../metrics/index.js';

/** Minimum time between two log lines for the same (source, reason). ms */
const LOG_EVERY_MS = 60_000;

/**
 * Counts every piece of bad input in `weft_bad_input_total{source,reason}` and logs it once per
 * (source, reason) per minute, with how many were suppressed — so a flood of garbage costs a
 * counter increment, not a log line each.
 */
export class BadInputLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly metrics: MeshMetrics, private readonly now = Date.now) {}

  note(source: BadInputSource, reason: string, detail: string): void {
    this.metrics.badInput(source, reason);
    const key = `${source}/${reason}`;
    const t = this.now();
    const e = this.last.get(key);
    if (e && t - e.at < LOG_EVERY_MS) {
      e.suppressed++;
      return;
    }
    this.log.warn({ source, reason, suppressed: e?.suppressed ?? 0 }, `bad input dropped: ${detail}`);
    this.last.set(key, { at: t, suppressed: 0 });
  }
}
