/**
 * SleeveOverlay: the encrypted L2-over-UDP overlay (Weave's "sleeve", batched and in place).
 * Wires the native I/O (TAP + UDP fds, readiness callbacks) to the receiver, forwarder and
 * transmit batcher, keeps one PeerLink per overlay connection, and runs the housekeeping tick.
 */
import type { Registry } from 'prom-client';
import {
  SLEEVE_BATCH, SLEEVE_POLL_ROUNDS, SLEEVE_TAP_SLOT_MIN_BYTES, SLEEVE_UDP_SLOT_BYTES, SLEEVE_TX_ARENA_BYTES,
  SLEEVE_TX_MAX_ENTRIES, SLEEVE_UDP_BUF_BYTES, DEFAULT_UNDERLAY_MTU, ETHERNET_HEADER_BYTES,
  SLEEVE_TAP_COALESCE, SLEEVE_VNET_HDR_BYTES, SLEEVE_UDP_GSO, SLEEVE_UDP_GRO, SLEEVE_UDP_GRO_MSG_BYTES,
  WeftError, describeError, type Logger, NAT_KEEPALIVE_INTERVAL_MS, NAT_DIRECT_DEAD_MS,
} from '../common/index.js';
import {
  formatEndpoint,
  type DirectPaths, type Overlay, type OverlayConnection, type OverlayConnectionParams, type OverlayRoutes, type PeerName,
} from '../mesh/index.js';
import { Forwarder, TapWriter, type RouteView } from './forwarder.js';
import { ICMP_REPLY_MAX_BYTES } from './icmp.js';
import { MacTable } from './mac-table.js';
import type { PollHandle } from './native-types.js';
import { Drop, SleeveCounters, type DropReason, type SleeveStats } from './metrics.js';
import { PeerLink, type LinkHost, type SendResult } from './peer-link.js';
import type { SleeveAeadAlg, SleeveIo } from './sleeve-io.js';
import { formatIpv4 } from '../net/index.js';
import { DEFAULT_SLEEVE_TIMING, type SleeveTiming } from './timing.js';
import { TxBatcher } from './tx-batcher.js';
import { UdpReceiver } from './udp-receiver.js';
import { podMtu } from './wire-format.js';
import { peerNameFromNumber, peerNameToNumber } from '../net/index.js';

/** What the sleeve needs from src/host at start: the bridge and its TAP port (HostPlumbing). */
export interface SleevePlumbing {
  setupBridge(mtu: number): Promise<void>;
  setupTap(name: string, mtu: number): Promise<void>;
}

/** Constructor options of {@link SleeveOverlay}: every dependency is handed in (src/daemon builds them). */
export interface SleeveOverlayOptions {
  localName: PeerName;
  /** UDP port (the same number as the TCP control port; 0 = ephemeral, for tests). */
  port: number;
  tapName: string;
  /** Overlay (pod) MTU for the bridge and TAP; default podMtu(1500) = 1408. */
  mtu?: number;
  log: Logger;
  registry?: Registry;
  /** AEAD for what we send; 'auto' = AES-256-GCM when the CPU has AES-NI. Receivers accept both. */
  alg?: 'auto' | SleeveAeadAlg;
  /** Local address to bind the UDP socket to; default all ('0.0.0.0'). */
  host?: string;
  /**
   * The native I/O (`loadNative()` in the daemon) or an in-process stand-in (unit tests).
   * Its `tapWriteCoalesced` / UDP GRO calls are optional: without them the engine writes
   * frames one by one and receives datagram by datagram.
   */
  io: SleeveIo;
  /**
   * Creates/attaches the bridge and TAP at start (the daemon's HostPlumbing), or null when
   * they already exist (tests that bring their own devices).
   */
  plumbing: SleevePlumbing | null;
  /**
   * Open the TAP with a vnet header and write received TCP runs as GSO super-frames (one
   * write instead of dozens). Default SLEEVE_TAP_COALESCE (the daemon's config may override
   * it: WEFT_SLEEVE_TAP_COALESCE). Ignored when `io` has no tapWriteCoalesced.
   */
  tapCoalesce?: boolean;
  /** Send runs of equal-size datagrams to one peer as UDP GSO messages. Default SLEEVE_UDP_GSO. */
  udpGso?: boolean;
  /** Receive with UDP GRO (trains of datagrams as one buffer, split by the addon). Default
   *  SLEEVE_UDP_GRO. Ignored when `io` lacks it. */
  udpGro?: boolean;
  /** Timing overrides (tests shorten them) and the clock (default Date.now). */
  timing?: Partial<SleeveTiming>;
  now?: () => number;
}

/** One overlay connection as shown by status (`SleeveOverlay.links()`). */
export interface SleeveLinkInfo {
  peer: PeerName;
  state: 'pending' | 'healthy' | 'failed';
  confirmed: boolean;
  udpAddress: string | null;
  pathMtu: number;
  overlayMtu: number;
  encrypted: boolean;
  /** Key epoch we send with / highest epoch authenticated from the peer. */
  sendEpoch: number;
  recvEpoch: number;
  /** A punched path (NAT traversal) rather than a control connection's link; `directUp`: carrying traffic now. */
  direct: boolean;
  directUp: boolean;
}

const MAX_LINKS = 1024;
/** virtio_net_hdr flags bit: the frame carries a partial checksum. */
const VNET_F_NEEDS_CSUM = 1;
/** Entries reserved per UDP GRO buffer (the addon posts a buffer only with this many free). */
const UDP_GRO_ENTRIES_PER_MSG = 128;

/**
 * Lifecycle: `start()` once (opens the TAP and the UDP socket through the native addon,
 * starts readiness callbacks and the tick; throws WEFT_ERR_HOST if a device cannot be
 * opened), then the mesh calls prepareConnection/setRoutes/peerGone, then `stop()`
 * (idempotent: stops polling, closes both fds, stops every link and frees its AEAD
 * handles). Guarantees: readiness callbacks never throw; every dropped frame or datagram is
 * counted by reason; keys never appear in logs.
 */
export class SleeveOverlay implements Overlay, DirectPaths {
  readonly mtu: number;
  private readonly self: number;
  private readonly log: Logger;
  private readonly timing: SleeveTiming;
  private readonly now: () => number;
  private readonly counters = new SleeveCounters();

  /** Observe every counted drop (reason, count, neighbour peer when known): the flow recorder's feed. */
  setDropObserver(fn: ((reason: DropReason, n: number, peer?: string) => void) | null): void {
    this.counters.onDrop = fn;
  }
  private readonly macs: MacTable;
  private io: SleeveIo | null = null;
  private alg: SleeveAeadAlg = 'chacha20-poly1305';
  private tapFd = -1;
  private udpFd = -1;
  /** vnet header bytes in front of every TAP frame (0 = plain TAP). */
  private vnet: 0 | 10 | 12 = 0;
  private readonly udpGso: boolean;
  private udpGro = false;
  private tapPoll: PollHandle | null = null;
  private udpPoll: PollHandle | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The pending tick is an idle (slow) one. */
  private timerIdle = false;
  private localPort = 0;
  private stopped = false;
  private lastSweep = 0;
  private errorsLogged = 0;
  // links
  private readonly slots: (PeerLink | undefined)[] = new Array<PeerLink | undefined>(MAX_LINKS).fill(undefined);
  private readonly active = new Map<number, PeerLink>();
  /** Punched paths by peer (NAT traversal); preferred over the routes while `directUp`. */
  private readonly directLinks = new Map<number, PeerLink>();
  private directHost: LinkHost | null = null;
  // routes
  private routes: OverlayRoutes | null = null;
  private unicast = new Map<number, number>();
  private floodCache = new Map<number, readonly number[]>();
  // data path (created at start)
  private tapArena = Buffer.alloc(0);
  private tapStride = 0;
  private tapLens = new Uint32Array(SLEEVE_BATCH);
  private forwarder: Forwarder | null = null;
  private receiver: UdpReceiver | null = null;
  private tx: TxBatcher | null = null;
  private linkHost: LinkHost | null = null;

  constructor(private readonly opts: SleeveOverlayOptions) {
    this.self = peerNameToNumber(opts.localName);
    this.log = opts.log.child({ component: 'sleeve' });
    this.timing = { ...DEFAULT_SLEEVE_TIMING, ...opts.timing };
    this.now = opts.now ?? Date.now;
    this.mtu = opts.mtu ?? podMtu(DEFAULT_UNDERLAY_MTU, true);
    this.macs = new MacTable(this.timing.macMaxAgeMs);
    this.udpGso = opts.udpGso ?? SLEEVE_UDP_GSO;
    this.counters.macCount = () => this.macs.size;
    if (opts.registry) this.counters.register(opts.registry);
  }

  async start(): Promise<void> {
    if (this.io || this.stopped) throw new WeftError('WEFT_ERR_CLOSED', 'sleeve overlay already started or stopped');
    const io = this.opts.io;
    const alg = this.opts.alg ?? 'auto';
    this.alg = alg === 'auto' ? (io.hasAesNi() ? 'aes-256-gcm' : 'chacha20-poly1305') : alg;
    await this.plumb();
    try {
      this.tapFd = this.openTap(io);
      this.udpFd = io.udpOpen(this.opts.host ?? '0.0.0.0', this.opts.port, { bufBytes: SLEEVE_UDP_BUF_BYTES });
      this.localPort = this.opts.port || io.udpLocalPort(this.udpFd);
      this.udpGro = this.enableGro(io);
    } catch (e) {
      this.closeFds(io);
      throw new WeftError('WEFT_ERR_HOST', `sleeve: cannot open TAP ${this.opts.tapName} / UDP port ${this.opts.port}: ${describeError(e)}`);
    }
    this.io = io;
    this.buildDataPath(io);
    this.tapPoll = io.pollStart(this.tapFd, () => this.onTapReadable());
    this.udpPoll = io.pollStart(this.udpFd, () => this.onUdpReadable());
    this.scheduleTick(this.timing.tickMs);
    this.log.info({ tap: this.opts.tapName, port: this.localPort, mtu: this.mtu, alg: this.alg, tapCoalesce: this.vnet !== 0, udpGso: this.udpGso, udpGro: this.udpGro }, 'sleeve: started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const link of this.slots) link?.stop();
    const io = this.io;
    if (io) {
      for (const h of [this.tapPoll, this.udpPoll]) {
        try { if (h !== null) io.pollStop(h); } catch { /* already stopped */ }
      }
      this.tapPoll = this.udpPoll = null;
      this.closeFds(io);
    }
    this.macs.clear();
    this.log.info('sleeve: stopped');
  }

  prepareConnection(params: OverlayConnectionParams): OverlayConnection {
    return this.newLink(params, false);
  }

  /** A punched path to a non-neighbour (src/mesh's DirectPaths): fast keepalives, preferred while datagrams arrive. */
  openDirect(params: OverlayConnectionParams): OverlayConnection {
    return this.newLink(params, true);
  }

  /** Where a neighbour's authenticated datagrams come from, while they flow (for NAT traversal). */
  observedEndpoint(name: PeerName): string | null {
    let peer: number;
    try { peer = peerNameToNumber(name); } catch { return null; }
    const l = this.active.get(peer);
    if (!l || l.direct || !l.addressLearned || l.addrIp < 0) return null;
    if (this.now() - l.lastHeardAt >= this.timing.heartbeatTimeoutMs) return null;
    return formatEndpoint(formatIpv4(l.addrIp), l.addrPort);
  }

  private newLink(params: OverlayConnectionParams, direct: boolean): OverlayConnection {
    let peer: number;
    try {
      peer = peerNameToNumber(params.remotePeer);
    } catch {
      return deadConnection(params, `invalid peer name ${params.remotePeer}`);
    }
    if (!this.linkHost || this.stopped) return deadConnection(params, 'sleeve overlay not running');
    if (peer === this.self) return deadConnection(params, 'connection to ourselves');
    const slot = this.slots.indexOf(undefined);
    if (slot < 0) return deadConnection(params, `too many sleeve connections (${MAX_LINKS})`);
    const link = new PeerLink(peer, direct ? this.directHost! : this.linkHost, params);
    link.direct = direct;
    link.slot = slot;
    this.slots[slot] = link;
    if (!this.active.get(peer)?.isConfirmed) this.active.set(peer, link);
    if (direct) this.directLinks.set(peer, link);
    return link;
  }

  setRoutes(routes: OverlayRoutes): void {
    const unicast = new Map<number, number>();
    for (const [dst, hop] of routes.unicast) {
      try { unicast.set(peerNameToNumber(dst), peerNameToNumber(hop)); } catch { /* ignore bad names */ }
    }
    this.routes = routes;
    this.unicast = unicast;
    this.floodCache = new Map();
  }

  peerGone(name: PeerName): void {
    try {
      this.macs.forgetPeer(peerNameToNumber(name));
    } catch { /* invalid name: nothing learned */ }
    this.counters.peers.delete(name);
  }

  /** Bound UDP port (useful when constructed with port 0). */
  get udpPort(): number {
    return this.localPort;
  }

  /** Counter snapshot (drops by reason, relayed frames, per-peer traffic). */
  stats(): SleeveStats {
    return this.counters.snapshot();
  }

  /** Learned MACs: { mac, peer, ageMs } (peer = our own name for local MACs). */
  macTable(): { mac: string; peer: PeerName; ageMs: number }[] {
    const now = this.now();
    return [...this.macs.dump()].map(([mac, peer, seen]) => ({ mac: peerNameFromNumber(mac), peer: peerNameFromNumber(peer), ageMs: now - seen }));
  }

  /** Overlay connections and their path state. */
  links(): SleeveLinkInfo[] {
    return this.slots.filter((l): l is PeerLink => l !== undefined).map((l) => ({
      peer: l.name, state: l.healthState, confirmed: l.isConfirmed,
      udpAddress: l.addrIp >= 0 ? `${formatIpv4(l.addrIp)}:${l.addrPort}` : null,
      pathMtu: l.pathMtu, overlayMtu: l.counters.mtu, encrypted: l.encrypted,
      sendEpoch: l.crypto?.sendEpoch ?? 0, recvEpoch: l.crypto?.recvEpoch ?? 0,
      direct: l.direct, directUp: l.direct && l.directUp,
    }));
  }

  // ─────────────── internals ───────────────

  private readonly routeView: RouteView = {
    nextHop: (dst) => {
      // A direct neighbour the mesh's routes do not know yet (its half of the new connection
      // is still being gossiped) is reached over its link, as before the first setRoutes.
      if (this.directLinks.size > 0 && this.directLinks.get(dst)?.directUp === true) return dst; // punched path alive
      const hop = this.routes ? this.unicast.get(dst) : undefined;
      return hop ?? (this.active.has(dst) ? dst : -1);
    },
    floodHops: (origin) => {
      let hops = this.floodCache.get(origin);
      if (hops === undefined) {
        hops = this.computeFloodHops(origin);
        this.floodCache.set(origin, hops);
      }
      return hops;
    },
  };

  /**
   * Next hops of origin's broadcast tree. Our own floods (broadcasts, unknown unicast) also go
   * to every direct neighbour the routes do not reach yet: right after a (re)connection the
   * topology lacks the peer's half of the link for a gossip round trip, and the first frames
   * (an ARP request, the first ping to a MAC the fresh MAC table does not know) would otherwise
   * be flooded to nobody.
   */
  private computeFloodHops(origin: number): readonly number[] {
    if (!this.routes) return origin === this.self ? [...this.active.keys()] : [];
    const out: number[] = [];
    try {
      for (const n of this.routes.broadcastNextHops(peerNameFromNumber(origin))) {
        try { out.push(peerNameToNumber(n)); } catch { /* skip bad names */ }
      }
    } catch (e) {
      this.logError('broadcastNextHops threw', e);
    }
    if (origin === this.self) for (const p of this.active.keys()) if (!this.unicast.has(p) && !out.includes(p)) out.push(p);
    return out;
  }

  private makeLinkHost(io: SleeveIo): LinkHost {
    return {
      io, log: this.log, localPort: this.localPort, alg: this.alg, timing: this.timing,
      now: () => this.now(),
      peerCounters: (name) => this.counters.peer(name),
      rekeyStalled: () => { this.counters.rekeyStalls++; },
      sendSpecial: (link, type, body, len) => (this.tx ? this.tx.sendSpecial(link, type, body, len) : 2) as SendResult,
      linkConfirmed: (link) => {
        this.active.set(link.peer, link);
        this.floodCache.clear();
        if (this.timerIdle) this.scheduleTick(this.timing.tickMs); // a new link wants the fast tick now
      },
      linkStopped: (link) => {
        if (link.slot >= 0 && this.slots[link.slot] === link) this.slots[link.slot] = undefined;
        if (this.directLinks.get(link.peer) === link) this.directLinks.delete(link.peer);
        if (this.active.get(link.peer) === link) {
          this.active.delete(link.peer);
          const other = this.slots.find((l) => l?.peer === link.peer);
          if (other) this.active.set(link.peer, other);
        }
        this.floodCache.clear();
      },
    };
  }

  /** Open the TAP, with a vnet header when coalescing is on and possible (else plain). */
  private openTap(io: SleeveIo): number {
    const want = this.opts.tapCoalesce ?? SLEEVE_TAP_COALESCE;
    if (want && typeof io.tapWriteCoalesced === 'function') {
      try {
        const fd = io.tapOpen(this.opts.tapName, { vnetHdr: true, vnetHdrBytes: SLEEVE_VNET_HDR_BYTES });
        this.vnet = SLEEVE_VNET_HDR_BYTES;
        return fd;
      } catch (e) {
        this.log.warn({ err: describeError(e) }, 'sleeve: TAP with vnet header refused; writing frames one by one');
      }
    }
    this.vnet = 0;
    return io.tapOpen(this.opts.tapName);
  }

  /** Turn UDP GRO on for the socket when wanted and possible; false = plain receive. */
  private enableGro(io: SleeveIo): boolean {
    if (!(this.opts.udpGro ?? SLEEVE_UDP_GRO) || !io.udpSetGro || !io.udpRecvBatchGro) return false;
    try {
      io.udpSetGro(this.udpFd, true);
      return true;
    } catch (e) {
      this.log.warn({ err: describeError(e) }, 'sleeve: UDP GRO refused; receiving datagram by datagram');
      return false;
    }
  }

  private buildDataPath(io: SleeveIo): void {
    this.linkHost = this.makeLinkHost(io);
    this.directHost = { ...this.linkHost, timing: { ...this.timing, heartbeatMs: Math.min(this.timing.heartbeatMs, NAT_KEEPALIVE_INTERVAL_MS) } };
    this.tapStride = Math.max(SLEEVE_TAP_SLOT_MIN_BYTES, Math.ceil((this.mtu + ETHERNET_HEADER_BYTES + 4 + 1 + this.vnet) / 64) * 64);
    this.tapArena = Buffer.alloc(this.tapStride * SLEEVE_BATCH);
    const udpArena = Buffer.alloc(SLEEVE_UDP_SLOT_BYTES * SLEEVE_BATCH);
    const icmpArena = Buffer.alloc(ICMP_REPLY_MAX_BYTES * 8);
    const tx = new TxBatcher({
      io, fd: this.udpFd, self: this.self, links: this.slots, counters: this.counters, arenaBytes: SLEEVE_TX_ARENA_BYTES,
      maxEntries: SLEEVE_TX_MAX_ENTRIES, maxSlots: MAX_LINKS, specialBytes: SLEEVE_UDP_SLOT_BYTES, now: this.now, udpGso: this.udpGso,
    });
    const src = { tap: tx.addSource(this.tapArena), udp: tx.addSource(udpArena), icmp: tx.addSource(icmpArena) };
    const gro = this.udpGro
      ? { msgBytes: SLEEVE_UDP_GRO_MSG_BYTES, entries: Math.floor(udpArena.length / SLEEVE_UDP_GRO_MSG_BYTES) * UDP_GRO_ENTRIES_PER_MSG }
      : null;
    const rxTap = new TapWriter({
      io, fd: this.tapFd, arena: udpArena, max: Math.max(SLEEVE_BATCH * 8, gro?.entries ?? 0), counters: this.counters, vnetHdrBytes: this.vnet,
    });
    const linkOf = (p: number): PeerLink | undefined => this.active.get(p);
    const fw = new Forwarder({
      self: this.self, macs: this.macs, tx, counters: this.counters, routes: this.routeView, linkOf,
      rxTap, src, io, tapFd: this.tapFd, icmpArena, vnetHdrBytes: this.vnet,
    });
    this.receiver = new UdpReceiver({
      io, fd: this.udpFd, arena: udpArena, stride: SLEEVE_UDP_SLOT_BYTES, slots: SLEEVE_BATCH,
      linkBySender: linkOf, forwarder: fw, counters: this.counters, gro,
    });
    this.forwarder = fw;
    this.tx = tx;
  }

  private onTapReadable(): void {
    const io = this.io;
    const fw = this.forwarder;
    if (!io || !fw || this.stopped) return;
    try {
      const now = this.now();
      for (let r = 0; r < SLEEVE_POLL_ROUNDS; r++) {
        const n = io.readBatch(this.tapFd, this.tapArena, this.tapStride, this.tapLens, SLEEVE_BATCH);
        this.counters.batches.tapReads++;
        this.counters.batches.tapFramesRead += n;
        const vnet = this.vnet;
        for (let i = 0; i < n; i++) {
          const len = this.tapLens[i]!;
          const off = i * this.tapStride;
          if (len >= this.tapStride || len < vnet) this.counters.drop(Drop.Malformed); // may have been truncated
          else if (vnet !== 0 && (this.tapArena[off + 1] !== 0 || (this.tapArena[off]! & VNET_F_NEEDS_CSUM) !== 0)) {
            // GSO or a partial checksum: never produced, since no TUNSETOFFLOAD bits are set.
            this.counters.drop(Drop.Malformed);
          } else fw.fromTap(this.tapArena, off + vnet, len - vnet, now);
        }
        fw.flush();
        if (n < SLEEVE_BATCH) break;
      }
    } catch (e) {
      this.logError('TAP readiness handler failed', e);
    }
  }

  private onUdpReadable(): void {
    const rx = this.receiver;
    const fw = this.forwarder;
    if (!rx || !fw || this.stopped) return;
    try {
      const now = this.now();
      for (let r = 0; r < SLEEVE_POLL_ROUNDS; r++) {
        const n = rx.receive(now);
        this.counters.batches.udpReads++;
        this.counters.batches.udpDatagramsRead += n;
        fw.flush();
        if (n < rx.fullBatch) break;
      }
    } catch (e) {
      this.logError('UDP readiness handler failed', e);
    }
  }

  /**
   * Housekeeping runs every `tickMs` while some link needs it (PeerLink.needsFastTick) and every
   * `idleTickMs` (at most heartbeatMs / 5) while all links are quiet: an idle daemon wakes
   * about once a second instead of ten times.
   */
  private scheduleTick(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerIdle = delayMs > this.timing.tickMs;
    this.timer = setTimeout(() => this.tick(), delayMs);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = this.now();
    let fast = false;
    try {
      for (const link of this.slots) {
        if (!link) continue;
        link.tick(now);
        if (link.direct) link.directUp = link.lastHeardAt > 0 && now - link.lastHeardAt < NAT_DIRECT_DEAD_MS;
        if (link.needsFastTick(now)) fast = true;
      }
      if (now - this.lastSweep >= this.timing.macSweepMs) {
        this.lastSweep = now;
        this.macs.expire(now);
      }
    } catch (e) {
      fast = true;
      this.logError('tick failed', e);
    }
    const t = this.timing;
    this.scheduleTick(fast ? t.tickMs : Math.max(t.tickMs, Math.min(t.idleTickMs, Math.floor(t.heartbeatMs / 5))));
  }

  private async plumb(): Promise<void> {
    const p = this.opts.plumbing;
    if (p === null) return;
    await p.setupBridge(this.mtu);
    await p.setupTap(this.opts.tapName, this.mtu);
  }

  private closeFds(io: SleeveIo): void {
    for (const fd of [this.tapFd, this.udpFd]) {
      try { if (fd >= 0) io.close(fd); } catch { /* already closed */ }
    }
    this.tapFd = this.udpFd = -1;
  }

  /** Log unexpected internal errors, at most 20 times per engine (a bug must not flood logs). */
  private logError(what: string, e: unknown): void {
    if (this.errorsLogged++ < 20) this.log.error({ err: describeError(e) }, `sleeve: ${what}`);
  }
}

/** A connection that only reports why it cannot work. */
function deadConnection(params: OverlayConnectionParams, reason: string): OverlayConnection {
  let done = false;
  return {
    confirm() {
      if (done) return;
      done = true;
      try { params.onHealth({ state: 'failed', reason, mode: 'sleeve' }); } catch { /* ignore */ }
    },
    onControl() { /* nothing */ },
    stop() { done = true; },
  };
}
