/**
 * Waiting on conditions, never on fixed sleeps: the one polling loop the demo, the bench and the
 * tests share. The time limit is a safety net (a generous bound after which the wait fails with
 * what it was waiting for and the condition's last error), not the thing being asserted.
 */

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long. ms */
  timeoutMs: number;
  /** Pause between two evaluations of the condition (default 100). ms */
  intervalMs?: number;
  /** What is awaited, for the timeout message (default "condition"). */
  what?: string;
  /** Stops the wait early (rejects with the signal's reason). */
  signal?: AbortSignal;
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Evaluates `cond` until it returns a truthy value and resolves with that value. A throw from
 * `cond` counts as "not yet" and is reported if the wait times out. Rejects with an Error
 * naming `what`, the limit and the last error after `timeoutMs`.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, o: WaitOptions): Promise<Truthy<T>> {
  const start = Date.now();
  const interval = o.intervalMs ?? 100;
  let lastErr: unknown = null;
  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error(`aborted while waiting for ${o.what ?? 'condition'}`);
    try {
      const v = await cond();
      if (v) return v as Truthy<T>;
      lastErr = null;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() - start >= o.timeoutMs) {
      const why = lastErr ? ` (last error: ${lastErr instanceof Error ? lastErr.message : String(lastErr)})` : '';
      throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${o.what ?? 'condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, o.timeoutMs - (Date.now() - start)))));
  }
}
