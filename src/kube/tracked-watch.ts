/**
 * The library's `Watch` with two additions a long-lived daemon needs: every open watch request
 * can be ended at once (`closeAll`, on stop), and a watch asked for after `closeAll` is never
 * opened (the library's `ListWatch` may start one from a list that was already under way when
 * it was stopped). The protocol itself (the `?watch=true` request and its JSON lines) stays the
 * library's.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;

export class TrackedWatch extends Watch {
  private readonly open = new Set<AbortController>();
  private closed = false;

  constructor(config: KubeConfig, private readonly onEvent: (phase: string) => void) {
    super(config);
  }

  /** Watch requests currently open. */
  get openCount(): number {
    return this.open.size;
  }

  override async watch(path: string, query: Record<string, string | number | boolean | undefined>, callback: WatchCallback, done: DoneCallback): Promise<AbortController> {
    if (this.closed) {
      const c = new AbortController();
      c.abort();
      return c;
    }
    let controller: AbortController | undefined;
    const c = await super.watch(path, query, (phase, obj, raw) => {
      this.onEvent(phase);
      callback(phase, obj, raw);
    }, (err) => {
      if (controller) this.open.delete(controller);
      done(err);
    });
    if (!c.signal.aborted) {
      controller = c;
      this.open.add(c);
      if (this.closed) c.abort();
    }
    return c;
  }

  /** Ends every open watch; later `watch` calls open nothing. */
  closeAll(): void {
    this.closed = true;
    for (const c of this.open) c.abort();
    this.open.clear();
  }

  /** Allows watches again (a stopped source started anew). */
  reopen(): void {
    this.closed = false;
  }
}
