/**
 * LocalPods: what this host has on its bridge (learned MACs behind local ports, pods' IPv4
 * addresses with their host-side veths), re-read only when the kernel says something changed
 * (LocalStateWatcher events, debounced) or the daemon attached/detached something, plus one
 * logged full resync after lost events. Nothing is read while the host is quiet.
 */
import { FASTPATH_LOCAL_SCAN_FALLBACK_MS, describeError, type Logger } from '../../common/index.js';
import type { LocalChange, LocalWatcher } from '../../host/index.js';
import { isIp } from '../../net/index.js';
import type { LocalPodAddress } from './kernel-state.js';

/** What one scan found. */
export interface LocalScan {
  macs: string[];
  ips: LocalPodAddress[];
}

/** Constructor options of {@link LocalPods}. */
export interface LocalPodsOptions {
  log: Logger;
  /** Learned MACs on local bridge ports (one FDB + link dump). */
  readMacs(): Promise<{ mac: string; port: string }[]>;
  /** Attached pods with their addresses (reads inside pod namespaces: the costly part). */
  readPods(): Promise<{ mac: string; addresses: string[]; hostIfname?: string }[]>;
  /** Kernel events; null = none (unit tests: one scan at start and on {@link LocalPods.changed}). */
  watcher: LocalWatcher | null;
  /** Every completed scan. */
  onScan(s: LocalScan): void;
}

/**
 * Lifecycle: `start()` subscribes (falling back to a periodic rescan, logged, when the
 * subscription cannot be opened) and runs the first scan; `stop()` (idempotent) unsubscribes.
 * Guarantees: one scan at a time (requests during a scan coalesce into one more); a link change,
 * an overflow or {@link changed} re-reads pod addresses; a learned-MAC change alone re-reads them
 * only when the set of ports changed; scan errors are logged at debug and retried on the next event.
 */
export class LocalPods {
  private running = false;
  private again: 'none' | 'macs' | 'full' = 'none';
  private lastPorts: string | null = null;
  private ips: LocalPodAddress[] = [];
  private fallback: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Scans done and full resyncs after lost events (status, tests). */
  readonly stats = { scans: 0, resyncs: 0 };

  constructor(private readonly o: LocalPodsOptions) {}

  start(): void {
    if (this.o.watcher) {
      try {
        this.o.watcher.start({
          changed: (what: ReadonlySet<LocalChange>) => this.request(what.has('link') ? 'full' : 'macs'),
          overflow: (reason: string) => {
            this.stats.resyncs++;
            this.o.log.warn({ reason }, 'fastpath: kernel events lost; full resync of local pods');
            this.request('full');
          },
        });
      } catch (e) {
        this.o.log.error({ err: describeError(e), everyMs: FASTPATH_LOCAL_SCAN_FALLBACK_MS },
          'fastpath: cannot subscribe to kernel events; rescanning local pods periodically');
        this.fallback = setInterval(() => this.request('full'), FASTPATH_LOCAL_SCAN_FALLBACK_MS);
        this.fallback.unref();
      }
    }
    this.request('full');
  }

  stop(): void {
    this.stopped = true;
    this.o.watcher?.stop();
    if (this.fallback) clearInterval(this.fallback);
    this.fallback = null;
  }

  /** Something was attached or detached by the daemon itself: rescan everything. */
  changed(): void {
    this.request('full');
  }

  private request(kind: 'macs' | 'full'): void {
    if (this.stopped) return;
    if (this.running) {
      if (this.again !== 'full') this.again = kind;
      return;
    }
    void this.scan(kind);
  }

  private async scan(kind: 'macs' | 'full'): Promise<void> {
    this.running = true;
    try {
      const entries = await this.o.readMacs();
      const ports = entries.map((e) => e.port).sort().join(',');
      if (kind === 'full' || ports !== this.lastPorts) {
        this.lastPorts = ports;
        this.ips = await this.readAddresses();
      }
      this.stats.scans++;
      if (!this.stopped) this.o.onScan({ macs: [...entries.map((e) => e.mac), ...this.ips.map((a) => a.mac)], ips: this.ips });
    } catch (e) {
      this.o.log.debug({ err: describeError(e) }, 'fastpath: local scan failed');
    } finally {
      this.running = false;
      const next = this.again;
      this.again = 'none';
      if (next !== 'none') this.request(next);
    }
  }

  private async readAddresses(): Promise<LocalPodAddress[]> {
    const out: LocalPodAddress[] = [];
    for (const p of await this.o.readPods()) {
      for (const a of p.addresses) {
        const ip = a.split('/')[0]!;
        if (isIp(ip, 4) && p.mac) out.push({ ip, mac: p.mac.toLowerCase(), ...(p.hostIfname ? { port: p.hostIfname } : {}) });
      }
    }
    return out;
  }
}
