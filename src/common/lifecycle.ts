import { WeftError } from './errors.js';

/**
 * Every long-lived object (servers, timers, connections, devices) implements Startable.
 * Contract: `start()` may be called once; `stop()` is idempotent, may be called before or after
 * `start()` completed, releases every fd/timer/socket the object holds, and never throws.
 */
export interface Startable {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** Where {@link Lifecycle} reports a component whose stop() threw anyway. */
export type StopErrorSink = (name: string, err: unknown) => void;

/**
 * An ordered set of Startables run as one: `start()` starts them in the order they were added,
 * each after the previous one's start resolved; `stop()` stops the ones that were started (or
 * were starting) in reverse order.
 *
 * Guarantees:
 *   - a failed start stops, in reverse order, every component already started plus the one
 *     whose start threw (it may hold part of its resources), then rejects with that error;
 *     components after it are never started, nor stopped;
 *   - `stop()` runs once: later calls return the same promise; each component's stop error is
 *     passed to `onStopError` and the next component is still stopped; it never rejects;
 *   - `stop()` during `start()` stops what has been started so far, and the pending start
 *     rejects with WEFT_ERR_CLOSED instead of starting the rest;
 *   - `start()` may be called once (a second call rejects with WEFT_ERR_CLOSED).
 */
export class Lifecycle implements Startable {
  private readonly parts: { name: string; part: Startable }[] = [];
  /** Components whose start() was called (in order). */
  private readonly begun: { name: string; part: Startable }[] = [];
  private starting = false;
  private stopping: Promise<void> | null = null;

  constructor(private readonly onStopError: StopErrorSink) {}

  /** Append a component (before start()); `null`/`undefined` (an optional part that is off) is skipped. */
  add(name: string, part: Startable | null | undefined): this {
    if (this.starting || this.stopping) throw new WeftError('WEFT_ERR_CLOSED', `lifecycle: cannot add ${name} after start or stop`);
    if (part) this.parts.push({ name, part });
    return this;
  }

  /** Names in start order (for logs and tests). */
  get names(): string[] {
    return this.parts.map((p) => p.name);
  }

  async start(): Promise<void> {
    if (this.starting || this.stopping) throw new WeftError('WEFT_ERR_CLOSED', 'lifecycle: already started or stopped');
    this.starting = true;
    for (const p of this.parts) {
      if (this.stopping) throw new WeftError('WEFT_ERR_CLOSED', `lifecycle: stopped while starting (before ${p.name})`);
      this.begun.push(p);
      try {
        await p.part.start();
      } catch (e) {
        await this.stop();
        throw e;
      }
    }
    if (this.stopping) throw new WeftError('WEFT_ERR_CLOSED', 'lifecycle: stopped while starting');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (let i = this.begun.length - 1; i >= 0; i--) {
        const p = this.begun[i];
        if (!p) continue;
        try {
          await p.part.stop();
        } catch (e) {
          this.onStopError(p.name, e);
        }
      }
    })();
    return this.stopping;
  }
}
