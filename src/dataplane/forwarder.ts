/**
 * Forwarding decisions (Weave's MAC-learning switch, spread over peers): every frame read
 * from the TAP or received from a peer is learned, then delivered locally, sent to the
 * unicast next hop of the peer behind its destination MAC, or flooded along a per-source
 * broadcast tree. Frames too big for the chosen link are answered with a synthesised ICMP
 * "fragmentation needed" / "packet too big" when the sender can act on it.
 */
import { ETHERNET_HEADER_BYTES, WeftError, missingIndex } from '../common/index.js';
import { ICMP_REPLY_MAX_BYTES, TooBigKind, buildFragNeeded, buildPacketTooBig, classifyTooBig } from './icmp.js';
import { LearnResult, isGroupMac, isLinkLocalGroup, type MacTable } from './mac-table.js';
import { Drop, type SleeveCounters } from './metrics.js';
import type { PeerLink } from './peer-link.js';
import type { SleeveIo } from './sleeve-io.js';
import type { TxBatcher } from './tx-batcher.js';
import { read48 } from './wire-format.js';

/** The routing view the forwarder consults (numbers are 48-bit peer names). */
export interface RouteView {
  /** Unicast next hop toward `dst`, or -1. */
  nextHop(dst: number): number;
  /** Neighbours to forward a broadcast originated by `origin` to. */
  floodHops(origin: number): readonly number[];
}

/** Constructor options of {@link TapWriter}. */
export interface TapWriterOptions {
  io: SleeveIo;
  /** The TAP fd. */
  fd: number;
  /** Arena the queued (offset, length) pairs point into. */
  arena: Buffer;
  /** Frames queued before `add` flushes by itself. */
  max: number;
  counters: SleeveCounters;
  /** vnet header bytes in front of each frame (0 = plain TAP, writeBatch). Default 0. */
  vnetHdrBytes?: 0 | 10 | 12;
}

/**
 * Batched writes into the TAP from one arena. `add` queues (offset, length); `flush` writes
 * them with one writeBatch, or, when the TAP was opened with a vnet header (`vnetHdrBytes`
 * 10/12), with one tapWriteCoalesced (TCP runs become GSO super-frames); frames the TAP
 * refused (queue full) are counted as queue_full.
 */
export class TapWriter {
  private readonly io: SleeveIo;
  private readonly fd: number;
  private readonly arena: Buffer;
  private readonly max: number;
  private readonly counters: SleeveCounters;
  private readonly vnetHdrBytes: 0 | 10 | 12;
  private readonly offs: Uint32Array;
  private readonly lens: Uint32Array;
  private readonly stats = new Uint32Array(3);
  private n = 0;

  constructor(o: TapWriterOptions) {
    this.io = o.io;
    this.fd = o.fd;
    this.arena = o.arena;
    this.max = o.max;
    this.counters = o.counters;
    this.vnetHdrBytes = o.vnetHdrBytes ?? 0;
    this.offs = new Uint32Array(o.max);
    this.lens = new Uint32Array(o.max);
    if (this.vnetHdrBytes !== 0 && !o.io.tapWriteCoalesced) throw new WeftError('WEFT_ERR_BAD_ARGS', 'TapWriter: vnet header needs tapWriteCoalesced');
  }

  add(off: number, len: number): void {
    if (this.n === this.max) this.flush();
    this.offs[this.n] = off;
    this.lens[this.n++] = len;
  }

  flush(): void {
    const n = this.n;
    if (n === 0) return;
    this.n = 0;
    let w = 0;
    const b = this.counters.batches;
    try {
      if (this.vnetHdrBytes === 0) {
        b.tapWriteCalls += n;
        w = this.io.writeBatch(this.fd, this.arena, this.offs, this.lens, n);
      } else {
        const s = this.stats;
        s.fill(0);
        w = this.io.tapWriteCoalesced!(this.fd, this.arena, this.offs, this.lens, n, this.vnetHdrBytes, s);
        b.tapWriteCalls += s[0] ?? missingIndex('forwarder', 0);
        b.tapSuperFrames += s[1] ?? missingIndex('forwarder', 1);
        b.tapFramesCoalesced += s[2] ?? missingIndex('forwarder', 2);
      }
    } catch {
      w = 0;
    }
    b.tapFramesWritten += w;
    if (w < n) this.counters.drop(Drop.QueueFull, n - w);
  }
}

/** Arena indexes registered with the TxBatcher. */
export interface ForwarderSources {
  tap: number;
  udp: number;
  icmp: number;
}

/** Constructor options of {@link Forwarder} (what one engine hands its forwarder at start). */
export interface ForwarderOptions {
  /** Our peer name as a 48-bit number. */
  self: number;
  macs: MacTable;
  tx: TxBatcher;
  counters: SleeveCounters;
  routes: RouteView;
  /** The link that currently carries traffic to a neighbour, if any. */
  linkOf: (peer: number) => PeerLink | undefined;
  /** Writes frames received from peers into the TAP. */
  rxTap: TapWriter;
  /** Arena indexes of the TAP, UDP and ICMP arenas in `tx`. */
  src: ForwarderSources;
  /** For the ICMP replies' own TAP writer. */
  io: SleeveIo;
  tapFd: number;
  /** Arena for synthesised ICMP replies (ICMP_REPLY_MAX_BYTES per reply). */
  icmpArena: Buffer;
  /** vnet header bytes the TAP was opened with. Default 0. */
  vnetHdrBytes?: 0 | 10 | 12;
}

/**
 * Lifecycle: one per engine, created at start. Not re-entrant; the engine calls
 * fromTap/fromPeer for one readiness round and then {@link flush} before it reuses its
 * receive arenas. Never throws for bad frames (they are counted).
 */
export class Forwarder {
  private readonly self: number;
  private readonly macs: MacTable;
  private readonly tx: TxBatcher;
  private readonly counters: SleeveCounters;
  private readonly routes: RouteView;
  private readonly linkOf: (peer: number) => PeerLink | undefined;
  private readonly rxTap: TapWriter;
  private readonly src: ForwarderSources;
  private readonly icmpArena: Buffer;
  private icmpPos = 0;
  private readonly icmpTap: TapWriter;

  constructor(o: ForwarderOptions) {
    this.self = o.self;
    this.macs = o.macs;
    this.tx = o.tx;
    this.counters = o.counters;
    this.routes = o.routes;
    this.linkOf = o.linkOf;
    this.rxTap = o.rxTap;
    this.src = o.src;
    this.icmpArena = o.icmpArena;
    this.icmpTap = new TapWriter({
      io: o.io, fd: o.tapFd, arena: o.icmpArena, max: Math.floor(o.icmpArena.length / ICMP_REPLY_MAX_BYTES),
      counters: o.counters, vnetHdrBytes: o.vnetHdrBytes ?? 0,
    });
  }

  /** A frame the local bridge sent into the TAP (arena `tapBuf`). */
  fromTap(buf: Buffer, off: number, len: number, now: number): void {
    if (len < ETHERNET_HEADER_BYTES || isGroupMac(buf[off + 6] ?? missingIndex('forwarder', off + 6))) {
      this.counters.drop(Drop.Malformed);
      return;
    }
    const dstMac = read48(buf, off);
    if (this.macs.learn(read48(buf, off + 6), this.self, now) === LearnResult.Moved) this.counters.macMoves++;
    if (isGroupMac(buf[off] ?? missingIndex('forwarder', off))) {
      if (!isLinkLocalGroup(dstMac)) this.flood(this.src.tap, buf, off, len, this.self, -1);
      return;
    }
    const owner = this.macs.lookup(dstMac, now);
    if (owner === this.self) return; // the bridge delivers it (unknown-unicast flood into the TAP)
    if (owner < 0) this.flood(this.src.tap, buf, off, len, this.self, -1);
    else this.unicast(this.src.tap, buf, off, len, this.self, owner);
  }

  /**
   * A frame record from neighbour `from`: origin peer, destination peer, frame in the UDP
   * receive arena.
   */
  fromPeer(buf: Buffer, off: number, len: number, origin: number, dst: number, from: number, now: number): void {
    if (origin === this.self || isGroupMac(buf[off + 6] ?? missingIndex('forwarder', off + 6))) {
      this.counters.drop(Drop.Malformed);
      return;
    }
    if (this.macs.learn(read48(buf, off + 6), origin, now) === LearnResult.Moved) this.counters.macMoves++;
    if (dst !== this.self) {
      this.unicast(this.src.udp, buf, off, len, origin, dst);
      return;
    }
    this.rxTap.add(off, len);
    const dstMac = read48(buf, off);
    if (isGroupMac(buf[off] ?? missingIndex('forwarder', off)) ? !isLinkLocalGroup(dstMac) : this.macs.lookup(dstMac, now) !== this.self) {
      this.flood(this.src.udp, buf, off, len, origin, from);
    }
  }

  /** Send everything queued by this round; the receive arenas may be reused afterwards. */
  flush(): void {
    this.tx.flush();
    this.rxTap.flush();
    this.icmpTap.flush();
    this.icmpPos = 0;
  }

  private unicast(src: number, buf: Buffer, off: number, len: number, origin: number, dst: number): void {
    const hop = this.routes.nextHop(dst);
    const link = hop < 0 ? undefined : this.linkOf(hop);
    if (!link || !link.usable()) {
      this.counters.drop(Drop.NoRoute);
      return;
    }
    if (len > link.maxFrameBytes) {
      this.tooBig(buf, off, len, link, origin, dst);
      return;
    }
    if (origin !== this.self) this.counters.relayedFrames++;
    this.tx.add(src, off, len, origin, dst, link.slot);
  }

  /** Flood along origin's tree; record dst = each next hop (it delivers and floods on). */
  private flood(src: number, buf: Buffer, off: number, len: number, origin: number, from: number): void {
    const hops = this.routes.floodHops(origin);
    let answered = false;
    for (let i = 0; i < hops.length; i++) {
      const hop = hops[i] ?? missingIndex('forwarder', i);
      if (hop === from || hop === origin || hop === this.self) continue;
      const link = this.linkOf(hop);
      if (!link || !link.usable()) {
        this.counters.drop(Drop.NoRoute);
        continue;
      }
      if (len > link.maxFrameBytes) {
        // Only a local sender of an unknown-unicast flood gets an ICMP error (group
        // destinations never do); the reply's origin would be unknown for relayed floods.
        if (!answered && origin === this.self) this.tooBig(buf, off, len, link, origin, this.self);
        else this.counters.drop(Drop.TooBig);
        answered = true;
        continue;
      }
      if (origin !== this.self) this.counters.relayedFrames++;
      this.tx.add(src, off, len, origin, hop, link.slot);
    }
  }

  /**
   * Count a too-big frame and, for IPv4 DF / IPv6, send the sender an ICMP error. `owner` is
   * the peer behind the original destination MAC: the reply's record carries it as origin so
   * the sender's peer learns that (spoofed-source) MAC where it really lives.
   */
  private tooBig(buf: Buffer, off: number, len: number, link: PeerLink, origin: number, owner: number): void {
    this.counters.drop(Drop.TooBig);
    const kind = classifyTooBig(buf, off, len);
    if (kind === TooBigKind.None || this.icmpPos + ICMP_REPLY_MAX_BYTES > this.icmpArena.length) return;
    const mtu = link.maxFrameBytes - ETHERNET_HEADER_BYTES;
    const o = this.icmpPos;
    const n = kind === TooBigKind.Ipv4Df
      ? buildFragNeeded(buf, off, len, mtu, this.icmpArena, o)
      : buildPacketTooBig(buf, off, len, mtu, this.icmpArena, o);
    if (n === 0) return;
    this.icmpPos += n;
    if (origin === this.self) {
      this.icmpTap.add(o, n);
    } else {
      // The sender sits behind `origin`: route the reply there (not learned here: its source
      // MAC is the original destination's).
      const hop = this.routes.nextHop(origin);
      const back = hop < 0 ? undefined : this.linkOf(hop);
      if (back && back.usable() && n <= back.maxFrameBytes) this.tx.add(this.src.icmp, o, n, owner, origin, back.slot);
    }
  }
}
