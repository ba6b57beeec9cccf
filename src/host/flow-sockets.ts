/**
 * The kernel side of flow recording: netfilter-netlink event sockets from the native addon
 * (no helper process, no conntrack/ulogd binaries).
 *
 *  - {@link NetfilterEvents}: one NETLINK_NETFILTER socket, optionally in another network
 *    namespace, subscribed to multicast groups (ctnetlink NEW/DESTROY) or bound to an NFLOG
 *    group, read when the addon's poll says it is readable; each message decoded by the
 *    bounds-checked decoders of nfnl-messages.ts.
 *  - {@link PodConntrack}: conntrack of one pod's namespace: makes the kernel track that
 *    namespace's connections (conntrack hooks are registered in a namespace only when a rule
 *    needs them: one `ct state` rule in table `inet weft_flows` of the pod namespace), turns
 *    accounting on (`net.netfilter.nf_conntrack_acct=1` there), and reads NEW and DESTROY
 *    events. Tracking in the pod namespace sees every path (bridged sleeve/VXLAN frames, the
 *    host-gw netdev shortcut that bypasses the host's conntrack) without br_netfilter on the
 *    host bridge: docs/flows.md, "Where connections are tracked", has the measurements.
 *
 * Lifecycle: `start()` (throws a typed WeftError when the socket cannot be opened) → events →
 * `stop()` (idempotent). Guarantees: a malformed message is counted (`malformed`) and skipped,
 * never thrown into the event loop; a receive-queue overflow (ENOBUFS: the kernel dropped
 * events) is counted in `overruns` and reading goes on.
 */
import type { Logger } from '../common/index.js';
import { AF_NETLINK, NLM_F_ACK, NLM_F_REQUEST, SOCK_RAW } from './netlink-abi.js';
import { decodeMessages, encodeRequest, type NlMessage } from './netlink-codec.js';
import { addonErrno, addonError, kernelAddon, type KernelAddon } from './netlink-socket.js';
import type { PollHandle } from './native-addon.js';
import type { Kernel } from './kernel.js';
import {
  NETLINK_NETFILTER, NFNLGRP_CONNTRACK_DESTROY, NFNLGRP_CONNTRACK_NEW, NFNL_SUBSYS_ULOG, NFULNL_MSG_CONFIG,
  decodeConntrackEvent, decodeNflogRecord, type ConntrackEvent, type NflogRecord,
} from './nfnl-messages.js';

const ENOBUFS = 105;
const DATAGRAM_BYTES = 256 * 1024;

/** Counters of one event socket. */
export interface NetfilterEventStats {
  events: number;
  malformed: number;
  /** Times the kernel reported lost events (ENOBUFS). */
  overruns: number;
}

/** Options of {@link NetfilterEvents}. */
export interface NetfilterEventsOptions<E> {
  log: Logger;
  /** Namespace to open the socket in (default: the daemon's). */
  nsPath?: string;
  /** Multicast groups to join. */
  groups: readonly number[];
  /** Requests sent once after opening (NFLOG bind), each acked or refused. */
  setup?: readonly Buffer[];
  decode(m: NlMessage): E | null;
  onEvent(e: E): void;
  /** Receive buffer. bytes (default 8 MiB; SO_RCVBUFFORCE as root) */
  rcvbufBytes?: number;
  addon?: KernelAddon;
}

export class NetfilterEvents<E> {
  private fd = -1;
  private poll: PollHandle | null = null;
  private readonly buf = Buffer.allocUnsafe(DATAGRAM_BYTES);
  private readonly a: KernelAddon;
  readonly stats: NetfilterEventStats = { events: 0, malformed: 0, overruns: 0 };

  constructor(private readonly o: NetfilterEventsOptions<E>) {
    this.a = o.addon ?? kernelAddon();
  }

  start(): void {
    if (this.fd >= 0) return;
    let fd: number;
    try {
      fd = this.a.netnsSocket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER, this.o.nsPath);
    } catch (e) {
      throw addonError(`opening a netfilter netlink socket${this.o.nsPath ? ` in ${this.o.nsPath}` : ''}`, e);
    }
    try {
      this.a.nlSetup(fd, Uint32Array.from(this.o.groups), this.o.rcvbufBytes ?? 8 * 1024 * 1024);
      for (const req of this.o.setup ?? []) this.a.nlSend(fd, req, req.length);
    } catch (e) {
      this.a.close(fd);
      throw addonError('setting up a netfilter netlink socket', e);
    }
    this.fd = fd;
    this.poll = this.a.pollStart(fd, () => this.readable());
  }

  stop(): void {
    if (this.fd < 0) return;
    if (this.poll !== null) this.a.pollStop(this.poll);
    this.poll = null;
    this.a.close(this.fd);
    this.fd = -1;
  }

  private readable(): void {
    for (let i = 0; i < 1024 && this.fd >= 0; i++) {
      let n: number;
      try {
        n = this.a.nlRecv(this.fd, this.buf);
      } catch (e) {
        if (addonErrno(e) === ENOBUFS) {
          this.stats.overruns++;
          if (this.stats.overruns === 1 || this.stats.overruns % 1000 === 0) this.o.log.warn({ overruns: this.stats.overruns, ns: this.o.nsPath }, 'host: netfilter events lost (receive queue overflowed)');
          continue;
        }
        this.o.log.warn({ err: String(e), ns: this.o.nsPath }, 'host: netfilter event socket failed; closed');
        this.stop();
        return;
      }
      if (n < 0) return;
      let msgs: NlMessage[];
      try {
        msgs = decodeMessages(this.buf.subarray(0, n));
      } catch {
        this.stats.malformed++;
        continue;
      }
      for (const m of msgs) {
        let ev: E | null;
        try {
          ev = this.o.decode(m);
        } catch (e) {
          this.stats.malformed++;
          if (this.stats.malformed === 1) this.o.log.warn({ err: String(e) }, 'host: malformed netfilter event skipped');
          continue;
        }
        if (ev === null) continue;
        this.stats.events++;
        try {
          this.o.onEvent(ev);
        } catch (e) {
          this.o.log.error({ err: String(e) }, 'host: flow event handler failed');
        }
      }
    }
  }
}

/** The NFLOG bind request of `group` copying the first `copyBytes` of each packet. */
export function nflogBindRequest(group: number, copyBytes: number): Buffer {
  const nfgen = Buffer.alloc(4);
  nfgen.writeUInt16BE(group, 2);
  const mode = Buffer.alloc(8);
  mode.writeUInt32BE(copyBytes, 0); // struct nfulnl_msg_config_mode { __be32 copy_range; __u8 copy_mode; __u8 pad; }
  mode.writeUInt8(2, 4); // NFULNL_COPY_PACKET
  const header = Buffer.concat([nfgen]);
  return encodeRequest({
    type: (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 1, header,
    attrs: [{ type: 1, value: Uint8Array.of(1) }, { type: 2, value: mode.subarray(0, 6) }], // NFULA_CFG_CMD BIND, NFULA_CFG_MODE
  });
}

/** An NFLOG listener of `group` in the daemon's namespace. */
export function nflogListener(o: { log: Logger; group: number; onRecord(r: NflogRecord): void; addon?: KernelAddon }): NetfilterEvents<NflogRecord> {
  return new NetfilterEvents<NflogRecord>({
    log: o.log, groups: [], setup: [nflogBindRequest(o.group, 96)], decode: decodeNflogRecord, onEvent: o.onRecord,
    rcvbufBytes: 2 * 1024 * 1024, ...(o.addon ? { addon: o.addon } : {}),
  });
}

/** The table that makes a pod namespace's kernel track connections. */
export const FLOW_NFT_TABLE = 'weft_flows';
const TRACK_SCRIPT = `add table inet ${FLOW_NFT_TABLE}\nflush table inet ${FLOW_NFT_TABLE}\n`
  + `add chain inet ${FLOW_NFT_TABLE} out { type filter hook output priority 0 ; policy accept ; }\n`
  + `add rule inet ${FLOW_NFT_TABLE} out ct state new\n`;

/** Options of {@link PodConntrack}. */
export interface PodConntrackOptions {
  log: Logger;
  /** The pod's network namespace path. */
  nsPath: string;
  /** The kernel bound to that namespace (netlinkKernel({ nsPath })). */
  kernel: Kernel;
  onEvent(e: ConntrackEvent): void;
  addon?: KernelAddon;
}

/** Conntrack events of one pod namespace (see the module comment). */
export class PodConntrack {
  private readonly events: NetfilterEvents<ConntrackEvent>;

  constructor(private readonly o: PodConntrackOptions) {
    this.events = new NetfilterEvents<ConntrackEvent>({
      log: o.log, nsPath: o.nsPath, groups: [NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_DESTROY],
      decode: decodeConntrackEvent, onEvent: o.onEvent, ...(o.addon ? { addon: o.addon } : {}),
    });
  }

  get stats(): NetfilterEventStats {
    return this.events.stats;
  }

  /** Subscribe first (no event between tracking and listening is missed), then track. */
  async start(): Promise<void> {
    this.events.start();
    try {
      await this.o.kernel.nft(`tracking connections in ${this.o.nsPath}`, TRACK_SCRIPT); // loads nf_conntrack if needed
      await this.o.kernel.sysctl('net.netfilter.nf_conntrack_acct', '1');
    } catch (e) {
      this.events.stop();
      throw e;
    }
  }

  /** Stop reading. `untrack` also removes the table (a pod that stays attached keeps it). */
  async stop(untrack = false): Promise<void> {
    this.events.stop();
    if (untrack) {
      await this.o.kernel.nft(`untracking ${this.o.nsPath}`, `add table inet ${FLOW_NFT_TABLE}\ndelete table inet ${FLOW_NFT_TABLE}\n`)
        .catch((e: unknown) => this.o.log.debug({ err: String(e) }, 'host: flow table not removed'));
    }
  }
}
