/**
 * LocalStateWatcher: tells the data plane *that* something about its local kernel state may have
 * changed (a link appeared, went, moved to or from a bridge; the bridge learned or forgot a MAC),
 * from one {@link NetlinkMonitor} subscription instead of periodic dumps. The consumer re-reads
 * what it needs when told; nothing is polled while the host is quiet.
 */
import { describeError, type Logger } from '../common/index.js';
import { AF_BRIDGE, NUD_NOARP, NUD_PERMANENT } from './netlink-abi.js';
import { NetlinkMonitor, type NetlinkEvent } from './netlink-monitor.js';
import type { KernelAddon } from './netlink-socket.js';

/** What may have changed since the last {@link LocalWatchHandlers.changed} call. */
export type LocalChange = 'link' | 'fdb';

/** Callbacks of {@link LocalStateWatcher.start}. Neither may throw (errors are logged). */
export interface LocalWatchHandlers {
  /** Something changed (debounced: at most one call per debounce window, with every kind seen in it). */
  changed(what: ReadonlySet<LocalChange>): void;
  /**
   * Events may have been lost (receive queue overflow, malformed datagram, socket error): the
   * consumer must re-read everything it derives from the kernel. Called once per incident.
   */
  overflow(reason: string): void;
}

/** Options of {@link LocalStateWatcher}. */
export interface LocalStateWatcherOptions {
  log: Logger;
  /** Coalescing window: the first event arms a timer of this length; later ones ride along. ms */
  debounceMs: number;
  /**
   * Receive buffer of the netlink socket. bytes; default 4 MiB, or the environment variable
   * WEFT_NETLINK_RCVBUF_BYTES (tests shrink it to force an overflow).
   */
  rcvbufBytes?: number;
  /** The addon (tests may pass a fake). */
  addon?: KernelAddon;
}

/** The part of {@link LocalStateWatcher} a consumer uses (fakes in unit tests implement it). */
export interface LocalWatcher {
  start(h: LocalWatchHandlers): void;
  stop(): void;
}

const DEFAULT_RCVBUF = 4 * 1024 * 1024;

/**
 * Lifecycle: `start(handlers)` opens the subscription (throws a typed WeftError when the socket
 * cannot be opened); `stop()` closes it and drops a pending debounced call (idempotent).
 * Guarantees: link events of any link (not bridge port-info notifications) and learned-FDB events (not static or permanent entries,
 * which are weft's own) are reported; neighbour (ARP/ND) churn and address events are not; an
 * overflow is reported once per incident and never throws into the event loop.
 */
export class LocalStateWatcher implements LocalWatcher {
  private monitor: NetlinkMonitor | null = null;
  private handlers: LocalWatchHandlers | null = null;
  private pending = new Set<LocalChange>();
  private timer: NodeJS.Timeout | null = null;
  /** Events seen and resyncs asked for (status, tests). */
  readonly stats = { events: 0, changes: 0, overflows: 0 };

  constructor(private readonly o: LocalStateWatcherOptions) {}

  start(h: LocalWatchHandlers): void {
    if (this.monitor) return;
    this.handlers = h;
    const m = new NetlinkMonitor({
      log: this.o.log, onEvent: (e) => this.onEvent(e), rcvbufBytes: this.o.rcvbufBytes ?? DEFAULT_RCVBUF,
      ...(this.o.addon ? { addon: this.o.addon } : {}),
    });
    m.start();
    this.monitor = m;
  }

  stop(): void {
    this.monitor?.stop();
    this.monitor = null;
    this.handlers = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  private onEvent(e: NetlinkEvent): void {
    this.stats.events++;
    if (e.kind === 'resync') {
      this.stats.overflows++;
      // A resync covers whatever was pending.
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.pending.clear();
      this.call(() => this.handlers?.overflow(e.reason));
      return;
    }
    const what = relevant(e);
    if (what === null) return;
    this.pending.add(what);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.o.debounceMs);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = null;
    if (this.pending.size === 0) return;
    const what = this.pending;
    this.pending = new Set();
    this.stats.changes++;
    this.call(() => this.handlers?.changed(what));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.o.log.error({ err: describeError(e) }, 'host: local state handler failed');
    }
  }
}

/** The kind of local change an event stands for, or null when the data plane does not care. */
export function relevant(e: NetlinkEvent): LocalChange | null {
  // Port-info notifications of bridge ports (AF_BRIDGE: STP/multicast-router state, flags)
  // come and go on their own; a port joining or leaving also sends the AF_UNSPEC message.
  if (e.kind === 'link') return e.link.family === AF_BRIDGE ? null : 'link';
  if (e.kind !== 'neigh') return null;
  const n = e.neigh;
  if (n.family !== AF_BRIDGE) return null;
  if ((n.state & (NUD_PERMANENT | NUD_NOARP)) !== 0) return null;
  return 'fdb';
}
