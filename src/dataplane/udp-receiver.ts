/**
 * Receive side of the engine: one udpRecvBatch, header checks, one aeadOpenBatch per
 * (link, epoch, algorithm) group, replay windows (advanced only after a successful open),
 * then dispatch: frame records to the forwarder, heartbeats and probes to their link.
 * Garbage of any shape is counted and dropped; nothing here throws.
 */
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, SLEEVE_HEADER_BYTES, missingIndex } from '../common/index.js';
import type { RecvEpoch } from './link-crypto.js';
import { Drop, type SleeveCounters } from './metrics.js';
import type { PeerLink } from './peer-link.js';
import type { AeadHandle } from './native-types.js';
import type { SleeveIo } from './sleeve-io.js';
import type { Forwarder } from './forwarder.js';
import { DatagramType, FLAG_PLAIN, forEachRecord, readHeader, writeNonce, type HeaderView } from './wire-format.js';

const enum St { Drop = 0, Pending = 1, Opened = 2 }

/** UDP GRO receive mode: buffers of `msgBytes` in the arena, up to `entries` datagrams per batch. */
export interface UdpGroMode {
  msgBytes: number;
  entries: number;
}

/** Constructor options of {@link UdpReceiver}. */
export interface UdpReceiverOptions {
  io: SleeveIo;
  /** The UDP socket. */
  fd: number;
  /** Receive arena: `slots` × `stride` bytes, or GRO buffers of gro.msgBytes. */
  arena: Buffer;
  /** Bytes per receive slot (without GRO). */
  stride: number;
  /** Datagrams per batch (without GRO). */
  slots: number;
  /** The link a datagram's sender is on, if any. */
  linkBySender: (peer: number) => PeerLink | undefined;
  forwarder: Forwarder;
  counters: SleeveCounters;
  /** UDP GRO mode, or null (default) for plain receive. */
  gro?: UdpGroMode | null;
}

/**
 * Lifecycle: one per engine, created at start with the UDP fd and its receive arena
 * (`slots` × `stride`, or with `gro`: buffers of gro.msgBytes whose datagrams are split by
 * the addon). {@link receive} handles one batch; the caller flushes the forwarder
 * afterwards and before the next batch (frames delivered to the TAP point into the arena).
 */
export class UdpReceiver {
  readonly arena: Buffer;
  readonly lens: Uint32Array;
  private readonly io: SleeveIo;
  private readonly fd: number;
  private readonly stride: number;
  private readonly slots: number;
  private readonly linkBySender: (peer: number) => PeerLink | undefined;
  private readonly forwarder: Forwarder;
  private readonly counters: SleeveCounters;
  private readonly gro: UdpGroMode | null;
  private readonly offs: Uint32Array;
  /** Entries per batch, and the largest datagram an entry can hold. */
  private readonly entries: number;
  private readonly maxLen: number;
  /** A batch of at least this many entries may have left more queued. */
  readonly fullBatch: number;
  private readonly addrs: Uint32Array;
  private readonly hdr: HeaderView = { type: 0, flags: 0, sender: 0, epoch: 0, counter: 0 };
  private readonly st: Uint8Array;
  private readonly type: Uint8Array;
  private readonly flags: Uint8Array;
  private readonly counter: Float64Array;
  private readonly link: (PeerLink | undefined)[];
  private readonly ctx: (RecvEpoch | undefined)[];
  private readonly handle: (AeadHandle | null)[];
  // one open group
  private readonly gIdx: Int32Array;
  private readonly gOffs: Uint32Array;
  private readonly gLens: Uint32Array;
  private readonly gAdOffs: Uint32Array;
  private readonly gAdLens: Uint32Array;
  private readonly gOk: Uint8Array;
  private readonly gNonces: Buffer;
  private readonly dgNonces: Buffer;
  // record visitor state (avoids a closure per datagram)
  private curLink: PeerLink | undefined;
  private curNow = 0;
  private readonly visit = (src: number, dst: number, off: number, len: number): void => {
    const link = this.curLink!;
    link.counters.framesIn++;
    link.counters.bytesIn += len;
    this.forwarder.fromPeer(this.arena, off, len, src, dst, link.peer, this.curNow);
  };

  constructor(o: UdpReceiverOptions) {
    this.io = o.io;
    this.fd = o.fd;
    this.arena = o.arena;
    this.stride = o.stride;
    this.slots = o.slots;
    this.linkBySender = o.linkBySender;
    this.forwarder = o.forwarder;
    this.counters = o.counters;
    this.gro = o.gro ?? null;
    const { gro, slots, stride, arena } = this;
    this.entries = gro ? gro.entries : slots;
    this.maxLen = gro ? gro.msgBytes : stride;
    this.fullBatch = gro ? Math.max(1, Math.floor(arena.length / gro.msgBytes)) : slots;
    const cap = this.entries;
    this.offs = new Uint32Array(cap);
    this.lens = new Uint32Array(cap);
    this.addrs = new Uint32Array(cap * 2);
    this.st = new Uint8Array(cap);
    this.type = new Uint8Array(cap);
    this.flags = new Uint8Array(cap);
    this.counter = new Float64Array(cap);
    this.link = new Array<PeerLink | undefined>(cap).fill(undefined);
    this.ctx = new Array<RecvEpoch | undefined>(cap).fill(undefined);
    this.handle = new Array<AeadHandle | null>(cap).fill(null);
    this.gIdx = new Int32Array(cap);
    this.gOffs = new Uint32Array(cap);
    this.gLens = new Uint32Array(cap);
    this.gAdOffs = new Uint32Array(cap);
    this.gAdLens = new Uint32Array(cap).fill(SLEEVE_HEADER_BYTES);
    this.gOk = new Uint8Array(cap);
    this.gNonces = Buffer.alloc(cap * AEAD_NONCE_BYTES);
    this.dgNonces = Buffer.alloc(cap * AEAD_NONCE_BYTES);
  }

  /** Receive and process one batch; returns the number of datagrams taken from the socket. */
  receive(now: number): number {
    let n = 0;
    try {
      if (this.gro) {
        n = this.io.udpRecvBatchGro!(this.fd, this.arena, this.gro.msgBytes, this.offs, this.lens, this.addrs, this.entries);
      } else {
        n = this.io.udpRecvBatch(this.fd, this.arena, this.stride, this.lens, this.addrs, this.slots);
        for (let i = 0; i < n; i++) this.offs[i] = i * this.stride;
      }
    } catch {
      return 0;
    }
    if (n <= 0) return 0;
    this.classify(n, now);
    this.open(n);
    this.dispatch(n, now);
    for (let i = 0; i < n; i++) {
      this.link[i] = undefined;
      this.ctx[i] = undefined;
      this.handle[i] = null;
    }
    return n;
  }

  /** Header, sender, epoch and replay pre-checks; marks each datagram Pending or Drop. */
  private classify(n: number, now: number): void {
    const h = this.hdr;
    for (let i = 0; i < n; i++) {
      this.st[i] = St.Drop;
      const len = this.lens[i] ?? missingIndex('rx batch', i);
      const off = this.offs[i] ?? missingIndex('rx batch', i);
      // len > maxLen also covers the addon's LEN_TRUNCATED and LEN_NOT_IPV4 markers.
      if (len > this.maxLen || !readHeader(this.arena, off, len, h)) {
        this.counters.drop(Drop.Malformed);
        continue;
      }
      const link = this.linkBySender(h.sender);
      if (!link || !link.crypto) {
        this.counters.drop(Drop.UnknownPeer);
        continue;
      }
      const crypto = link.crypto;
      if (crypto.encrypted === ((h.flags & FLAG_PLAIN) !== 0)) { // plain datagram on a sealed link, or vice versa
        this.counters.drop(Drop.Auth);
        continue;
      }
      const ctx = crypto.recvContext(h.epoch, now);
      if (!ctx) {
        this.counters.drop(crypto.isStale(h.epoch) ? Drop.Replay : Drop.Auth, 1, link.name);
        continue;
      }
      if (crypto.encrypted) {
        if (!ctx.window.check(h.counter)) {
          this.counters.drop(Drop.Replay, 1, link.name);
          continue;
        }
        const handle = crypto.handleFor(ctx, h.flags);
        if (handle === null) {
          this.counters.drop(Drop.Auth);
          continue;
        }
        this.handle[i] = handle;
        writeNonce(this.dgNonces, i * AEAD_NONCE_BYTES, h.epoch, h.counter);
        this.st[i] = St.Pending;
      } else {
        this.st[i] = St.Opened;
      }
      this.link[i] = link;
      this.ctx[i] = ctx;
      this.type[i] = h.type;
      this.flags[i] = h.flags;
      this.counter[i] = h.counter;
    }
  }

  /** Open pending datagrams in place, one aeadOpenBatch per distinct handle. */
  private open(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.st[i] !== St.Pending) continue;
      const handle = this.handle[i] ?? missingIndex('rx batch', i); // Pending implies a handle (classify)
      let k = 0;
      for (let j = i; j < n; j++) {
        if (this.st[j] !== St.Pending || this.handle[j] !== handle) continue;
        const off = this.offs[j] ?? missingIndex('rx batch', j);
        this.gIdx[k] = j;
        this.gOffs[k] = off + SLEEVE_HEADER_BYTES;
        this.gLens[k] = (this.lens[j] ?? missingIndex('rx batch', j)) - SLEEVE_HEADER_BYTES;
        this.gAdOffs[k] = off;
        this.dgNonces.copy(this.gNonces, k * AEAD_NONCE_BYTES, j * AEAD_NONCE_BYTES, (j + 1) * AEAD_NONCE_BYTES);
        k++;
      }
      this.gOk.fill(0, 0, k);
      try {
        this.io.aeadOpenBatch(handle, this.arena, this.gOffs, this.gLens, this.gNonces, this.gAdOffs, this.gAdLens, this.gOk, k);
      } catch {
        this.gOk.fill(0, 0, k);
      }
      for (let g = 0; g < k; g++) this.st[this.gIdx[g] ?? missingIndex('rx batch', g)] = this.gOk[g] ? St.Opened : St.Drop;
      for (let g = 0; g < k; g++) if (!this.gOk[g]) this.counters.drop(Drop.Auth);
    }
  }

  /** In arrival order: replay window, link bookkeeping, then the body by type. */
  private dispatch(n: number, now: number): void {
    for (let i = 0; i < n; i++) {
      if (this.st[i] !== St.Opened) continue;
      const link = this.link[i] ?? missingIndex('rx batch', i);
      const ctx = this.ctx[i] ?? missingIndex('rx batch', i);
      const crypto = link.crypto!;
      if (crypto.encrypted && !ctx.window.accept(this.counter[i] ?? missingIndex('rx batch', i))) {
        this.counters.drop(Drop.Replay, 1, link.name);
        continue;
      }
      link.onAuthenticated(ctx, this.addrs[2 * i] ?? missingIndex('rx batch', 2 * i), this.addrs[2 * i + 1] ?? missingIndex('rx batch', 2 * i + 1), now);
      const off = this.offs[i] ?? missingIndex('rx batch', i);
      const len = this.lens[i] ?? missingIndex('rx batch', i);
      const bodyOff = off + SLEEVE_HEADER_BYTES;
      const bodyLen = len - SLEEVE_HEADER_BYTES - (crypto.encrypted ? AEAD_TAG_BYTES : 0);
      switch (this.type[i]) {
        case DatagramType.Data:
          this.curLink = link;
          this.curNow = now;
          if (!forEachRecord(this.arena, bodyOff, bodyLen, this.visit)) this.counters.drop(Drop.Malformed);
          this.curLink = undefined;
          break;
        case DatagramType.Heartbeat:
          link.onHeartbeat(this.arena, bodyOff, bodyLen, now);
          break;
        case DatagramType.PmtuProbe:
          link.onProbe(this.arena, bodyOff, bodyLen, len);
          break;
      }
    }
  }
}
