/**
 * NetlinkMonitor: kernel change events (links, addresses, neighbours and bridge FDB entries) of
 * the daemon's namespace, from one rtnetlink socket subscribed to RTNLGRP_LINK, RTNLGRP_NEIGH,
 * RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR, read when the addon's poll says it is readable.
 *
 * Lifecycle: `start()` opens and subscribes; events go to `onEvent` in kernel order; `stop()`
 * closes (idempotent). Guarantee: when events may have been lost — the receive queue overflowed
 * (ENOBUFS), a datagram was truncated or malformed, or the socket failed — the monitor reopens its
 * socket and emits exactly one `{ kind: 'resync' }` for that incident (logged once), so the
 * consumer re-reads the kernel state in full; it never throws into the event loop.
 */
import type { Logger } from '../common/index.js';
import {
  AF_NETLINK, NETLINK_ROUTE, RTM_DELADDR, RTM_DELLINK, RTM_DELNEIGH, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH,
  RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK, RTNLGRP_NEIGH, SOCK_RAW,
} from './netlink-abi.js';
import { decodeMessages } from './netlink-codec.js';
import { addonErrno, kernelAddon, type KernelAddon } from './netlink-socket.js';
import type { PollHandle } from './native-addon.js';
import {
  decodeAddr, decodeLink, decodeNeigh, type AddrRecord, type LinkRecord, type NeighRecord,
} from './rtnl-messages.js';

/** One kernel change, decoded. */
export type NetlinkEvent =
  | { kind: 'link'; op: 'new' | 'del'; link: LinkRecord }
  | { kind: 'addr'; op: 'new' | 'del'; addr: AddrRecord }
  | { kind: 'neigh'; op: 'new' | 'del'; neigh: NeighRecord }
  | { kind: 'resync'; reason: string };

export interface NetlinkMonitorOptions {
  log: Logger;
  onEvent(e: NetlinkEvent): void;
  /** Receive buffer asked of the kernel. bytes; default 4 MiB. */
  rcvbufBytes?: number;
  /** Datagrams read per readiness callback before yielding to the event loop. default 256 */
  maxPerWake?: number;
  /** The addon (tests may pass a fake of the same calls). */
  addon?: KernelAddon;
}

/** Counters a status page or test can read. */
export interface NetlinkMonitorStats {
  events: number;
  resyncs: number;
  malformed: number;
}

const ENOBUFS = 105;
const DATAGRAM_BYTES = 256 * 1024;

export class NetlinkMonitor {
  private fd = -1;
  private poll: PollHandle | null = null;
  private running = false;
  private readonly buf = Buffer.allocUnsafe(DATAGRAM_BYTES);
  private readonly a: KernelAddon;
  readonly stats: NetlinkMonitorStats = { events: 0, resyncs: 0, malformed: 0 };

  constructor(private readonly o: NetlinkMonitorOptions) {
    this.a = o.addon ?? kernelAddon();
  }

  /** Open and subscribe. Throws a typed WeftError when the socket cannot be opened. */
  start(): void {
    if (this.running) return;
    this.open();
    this.running = true;
  }

  stop(): void {
    this.running = false;
    this.closeSocket();
  }

  private open(): void {
    const fd = this.a.netnsSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    try {
      this.a.nlSetup(fd, Uint32Array.of(RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR),
        this.o.rcvbufBytes ?? 4 * 1024 * 1024);
    } catch (e) {
      this.a.close(fd);
      throw e;
    }
    this.fd = fd;
    this.poll = this.a.pollStart(fd, () => this.readable());
  }

  private closeSocket(): void {
    if (this.fd < 0) return;
    if (this.poll !== null) this.a.pollStop(this.poll);
    this.poll = null;
    this.a.close(this.fd);
    this.fd = -1;
  }

  private readable(): void {
    const max = this.o.maxPerWake ?? 256;
    for (let i = 0; i < max && this.running && this.fd >= 0; i++) {
      let n: number;
      try {
        n = this.a.nlRecv(this.fd, this.buf);
      } catch (e) {
        const errno = addonErrno(e);
        this.lost(errno === ENOBUFS ? 'netlink receive queue overflowed (ENOBUFS)' : `netlink socket error: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      if (n < 0) return;
      const events: NetlinkEvent[] = [];
      try {
        for (const m of decodeMessages(this.buf.subarray(0, n))) {
          const ev = decodeEvent(m.type, m);
          if (ev !== null) events.push(ev);
        }
      } catch (e) {
        this.stats.malformed++;
        this.lost(`malformed netlink event: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      for (const ev of events) {
        this.stats.events++;
        try {
          this.o.onEvent(ev);
        } catch (e) {
          this.o.log.error({ err: String(e), kind: ev.kind }, 'host: kernel event handler failed');
        }
      }
    }
  }

  /** Events may be lost: reopen (a fresh, empty queue) and ask the consumer to resync. */
  private lost(reason: string): void {
    this.stats.resyncs++;
    this.o.log.warn({ reason }, 'host: kernel events lost; full resync');
    this.closeSocket();
    try {
      this.open();
    } catch (e) {
      this.o.log.error({ err: String(e) }, 'host: netlink monitor cannot reopen; retrying on the next resync');
      setTimeout(() => { if (this.running && this.fd < 0) this.lost('reopening the netlink monitor'); }, 1000).unref();
    }
    try {
      this.o.onEvent({ kind: 'resync', reason });
    } catch (e) {
      this.o.log.error({ err: String(e) }, 'host: resync handler failed');
    }
  }
}

function decodeEvent(type: number, m: Parameters<typeof decodeLink>[0]): NetlinkEvent | null {
  switch (type) {
    case RTM_NEWLINK: return { kind: 'link', op: 'new', link: decodeLink(m) };
    case RTM_DELLINK: return { kind: 'link', op: 'del', link: decodeLink(m) };
    case RTM_NEWADDR: return { kind: 'addr', op: 'new', addr: decodeAddr(m) };
    case RTM_DELADDR: return { kind: 'addr', op: 'del', addr: decodeAddr(m) };
    case RTM_NEWNEIGH: return { kind: 'neigh', op: 'new', neigh: decodeNeigh(m) };
    case RTM_DELNEIGH: return { kind: 'neigh', op: 'del', neigh: decodeNeigh(m) };
    default: return null;
  }
}
