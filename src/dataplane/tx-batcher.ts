/**
 * Transmit side of the engine: frames queued for next-hop links during one readiness round
 * are grouped per link, packed into as few datagrams as the link's path MTU allows, sealed
 * with one aeadSealBatch per link and sent with one udpSendBatch for the whole round.
 * Preallocated arenas and typed arrays; nothing is allocated per frame.
 */
import { AEAD_TAG_BYTES, AEAD_NONCE_BYTES, SLEEVE_HEADER_BYTES, SLEEVE_RECORD_HEADER_BYTES, missingIndex } from '../common/index.js';
import { Drop, type SleeveCounters } from './metrics.js';
import type { PeerLink } from './peer-link.js';
import { UdpSendStatus, type AeadHandle } from './native-types.js';
import type { SleeveIo } from './sleeve-io.js';
import { DatagramType, writeHeader, writeNonce, writeRecordHeader } from './wire-format.js';

/** Per-datagram overhead reserved in the arena besides the record: header + tag. */
const DG_OVERHEAD = SLEEVE_HEADER_BYTES + AEAD_TAG_BYTES;

/** Constructor options of {@link TxBatcher}. */
export interface TxBatcherOptions {
  io: SleeveIo;
  /** The UDP socket. */
  fd: number;
  /** Our peer name as a 48-bit number (origin of what we send). */
  self: number;
  /** The engine's link slots (indexed by the `slot` given to {@link TxBatcher.add}); read, never written. */
  links: (PeerLink | undefined)[];
  counters: SleeveCounters;
  /** Size of the datagram arena one flush packs into. bytes */
  arenaBytes: number;
  /** Frames queued before a flush happens inside `add`. */
  maxEntries: number;
  /** Number of link slots (length of `links`). */
  maxSlots: number;
  /** Arena for one heartbeat/probe datagram. bytes */
  specialBytes: number;
  now: () => number;
  /** Send runs of equal-size datagrams to one peer as UDP GSO messages (udpSendBatch `gso`). Default false. */
  udpGso?: boolean;
}

/**
 * Lifecycle: one per engine, created at start with the UDP fd, never freed explicitly (plain
 * memory). `add` queues, `flush` sends; a flush also happens inside `add` when the arena or
 * entry table would overflow, so callers never see "full". Frames are referenced by
 * (source arena, offset, length) until the flush copies them: the caller must flush before it
 * reuses a source arena.
 */
export class TxBatcher {
  private readonly io: SleeveIo;
  private readonly fd: number;
  private readonly self: number;
  private readonly links: (PeerLink | undefined)[];
  private readonly counters: SleeveCounters;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly udpGso: boolean;
  private readonly arena: Buffer;
  private readonly srcArenas: Buffer[] = [];
  // queued entries
  private n = 0;
  private bound = 0;
  private readonly eArena: Uint8Array;
  private readonly eOff: Uint32Array;
  private readonly eLen: Uint32Array;
  private readonly eOrigin: Float64Array;
  private readonly eDst: Float64Array;
  private readonly eNext: Int32Array;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private readonly usedSlots: Int32Array;
  private nUsed = 0;
  // datagrams of one flush
  private readonly sendOffs: Uint32Array;
  private readonly sendLens: Uint32Array;
  private readonly sendAddrs: Uint32Array;
  private readonly errs: Uint8Array;
  private readonly dgSlot: Int32Array;
  private readonly dgFrames: Uint32Array;
  private readonly dgBytes: Float64Array;
  // one link's seal batch
  private readonly sealOffs: Uint32Array;
  private readonly sealLens: Uint32Array;
  private readonly adOffs: Uint32Array;
  private readonly adLens: Uint32Array;
  private readonly nonces: Buffer;
  // packing cursor of one flush
  private pos = 0;
  private d = 0;
  private k = 0;
  private dgStart = -1;
  private body = 0;
  // heartbeats and probes
  private readonly special: Buffer;
  private readonly one = {
    offs: new Uint32Array(1), lens: new Uint32Array(1), addrs: new Uint32Array(2), errs: new Uint8Array(1),
    nonce: Buffer.alloc(AEAD_NONCE_BYTES), adOffs: new Uint32Array(1), adLens: new Uint32Array([SLEEVE_HEADER_BYTES]),
  };

  constructor(o: TxBatcherOptions) {
    this.io = o.io;
    this.fd = o.fd;
    this.self = o.self;
    this.links = o.links;
    this.counters = o.counters;
    this.maxEntries = o.maxEntries;
    this.now = o.now;
    this.udpGso = o.udpGso ?? false;
    const { arenaBytes, maxEntries, maxSlots, specialBytes } = o;
    this.arena = Buffer.alloc(arenaBytes);
    this.special = Buffer.alloc(specialBytes);
    this.eArena = new Uint8Array(maxEntries);
    this.eOff = new Uint32Array(maxEntries);
    this.eLen = new Uint32Array(maxEntries);
    this.eOrigin = new Float64Array(maxEntries);
    this.eDst = new Float64Array(maxEntries);
    this.eNext = new Int32Array(maxEntries);
    this.head = new Int32Array(maxSlots).fill(-1);
    this.tail = new Int32Array(maxSlots).fill(-1);
    this.usedSlots = new Int32Array(maxSlots);
    this.sendOffs = new Uint32Array(maxEntries);
    this.sendLens = new Uint32Array(maxEntries);
    this.sendAddrs = new Uint32Array(maxEntries * 2);
    this.errs = new Uint8Array(maxEntries);
    this.dgSlot = new Int32Array(maxEntries);
    this.dgFrames = new Uint32Array(maxEntries);
    this.dgBytes = new Float64Array(maxEntries);
    this.sealOffs = new Uint32Array(maxEntries);
    this.sealLens = new Uint32Array(maxEntries);
    this.adOffs = new Uint32Array(maxEntries);
    this.adLens = new Uint32Array(maxEntries).fill(SLEEVE_HEADER_BYTES);
    this.nonces = Buffer.alloc(maxEntries * AEAD_NONCE_BYTES);
  }

  /** Register a source arena; returns its index for {@link add}. */
  addSource(buf: Buffer): number {
    this.srcArenas.push(buf);
    return this.srcArenas.length - 1;
  }

  /**
   * Queue frame `src[off, off+len)` (arena index `src`) as a record (origin → dst) for the
   * link in `slot`. The caller has checked `len <= link.maxFrameBytes`.
   */
  add(src: number, off: number, len: number, origin: number, dst: number, slot: number): void {
    const need = len + SLEEVE_RECORD_HEADER_BYTES + DG_OVERHEAD;
    if (this.n >= this.maxEntries || this.bound + need > this.arena.length) this.flush();
    if (need > this.arena.length) {
      this.counters.drop(Drop.TooBig);
      return;
    }
    const i = this.n++;
    this.bound += need;
    this.eArena[i] = src;
    this.eOff[i] = off;
    this.eLen[i] = len;
    this.eOrigin[i] = origin;
    this.eDst[i] = dst;
    this.eNext[i] = -1;
    if (this.head[slot] === -1) {
      this.head[slot] = i;
      this.usedSlots[this.nUsed++] = slot;
    } else {
      this.eNext[this.tail[slot] ?? missingIndex('tx batch', slot)] = i;
    }
    this.tail[slot] = i;
  }

  /** Pack, seal and send everything queued. Never throws. */
  flush(): void {
    if (this.n === 0) return;
    this.pos = 0;
    this.d = 0;
    for (let u = 0; u < this.nUsed; u++) {
      const slot = this.usedSlots[u] ?? missingIndex('tx batch', u);
      const link = this.links[slot];
      const first = this.head[slot] ?? missingIndex('tx batch', slot);
      this.head[slot] = this.tail[slot] = -1;
      if (!link || !link.usable() || !link.crypto) {
        for (let e = first; e !== -1; e = this.eNext[e] ?? missingIndex('tx batch', e)) this.counters.drop(Drop.NoRoute);
        continue;
      }
      this.packLink(link, first);
    }
    this.n = 0;
    this.nUsed = 0;
    this.bound = 0;
    this.send(this.d);
  }

  /** Pack the entry chain starting at `e` into datagrams for `link`, then seal them. */
  private packLink(link: PeerLink, e: number): void {
    const crypto = link.crypto!;
    const cap = link.maxBodyBytes;
    const firstDg = this.d;
    const firstPos = this.pos;
    this.k = 0;
    this.dgStart = -1;
    for (; e !== -1; e = this.eNext[e] ?? missingIndex('tx batch', e)) {
      const len = this.eLen[e] ?? missingIndex('tx batch', e);
      const rec = SLEEVE_RECORD_HEADER_BYTES + len;
      if (rec > cap) { // the path MTU shrank after the forwarder checked
        this.counters.drop(Drop.TooBig);
        continue;
      }
      if (this.dgStart >= 0 && this.body + rec > cap) this.closeDatagram(link);
      if (this.dgStart < 0) {
        this.dgStart = this.pos;
        this.pos += SLEEVE_HEADER_BYTES;
        this.body = 0;
        this.dgFrames[this.d] = 0;
        this.dgBytes[this.d] = 0;
      }
      writeRecordHeader(this.arena, this.pos, this.eOrigin[e] ?? missingIndex('tx batch', e), this.eDst[e] ?? missingIndex('tx batch', e), len);
      const off = this.eOff[e] ?? missingIndex('tx batch', e);
      this.srcArenas[this.eArena[e] ?? missingIndex('tx batch', e)]!.copy(this.arena, this.pos + SLEEVE_RECORD_HEADER_BYTES, off, off + len);
      this.pos += rec;
      this.body += rec;
      // d < maxEntries: one datagram per entry at most (both arrays were sized so).
      this.dgFrames[this.d] = (this.dgFrames[this.d] ?? 0) + 1;
      this.dgBytes[this.d] = (this.dgBytes[this.d] ?? 0) + len;
    }
    if (this.dgStart >= 0) this.closeDatagram(link);
    if (this.k > 0 && !this.seal(crypto.sendHandle, this.k)) {
      for (let i = firstDg; i < this.d; i++) this.counters.drop(Drop.QueueFull, this.dgFrames[i] ?? missingIndex('tx batch', i));
      this.d = firstDg;
      this.pos = firstPos;
    }
  }

  /** Finish the open datagram: header, nonce, seal slot, send slot. */
  private closeDatagram(link: PeerLink): void {
    const crypto = link.crypto!;
    const start = this.dgStart;
    this.dgStart = -1;
    const counter = crypto.nextCounter();
    if (counter < 0) { // epoch exhausted and the peer never acknowledged a new one
      this.counters.drop(Drop.QueueFull, this.dgFrames[this.d] ?? missingIndex('tx batch', this.d));
      this.pos = start;
      return;
    }
    writeHeader(this.arena, start, DatagramType.Data, crypto.sendFlags, this.self, crypto.sendEpoch, counter);
    if (crypto.encrypted) {
      this.sealOffs[this.k] = start + SLEEVE_HEADER_BYTES;
      this.sealLens[this.k] = this.body;
      this.adOffs[this.k] = start;
      writeNonce(this.nonces, this.k * AEAD_NONCE_BYTES, crypto.sendEpoch, counter);
      this.k++;
      this.pos += AEAD_TAG_BYTES;
    }
    const d = this.d++;
    this.sendOffs[d] = start;
    this.sendLens[d] = this.pos - start;
    this.sendAddrs[2 * d] = link.addrIp;
    this.sendAddrs[2 * d + 1] = link.addrPort;
    this.dgSlot[d] = link.slot;
  }

  /**
   * Seal and send one special datagram (heartbeat/probe) with body `body[0, bodyLen)` at once,
   * from its own small arena. Returns 0 sent, 1 EMSGSIZE (too big for the path), 2 failed.
   */
  sendSpecial(link: PeerLink, type: DatagramType, body: Buffer, bodyLen: number): 0 | 1 | 2 {
    const crypto = link.crypto;
    if (!crypto || link.addrIp < 0) return 2;
    const tag = crypto.encrypted ? AEAD_TAG_BYTES : 0;
    const total = SLEEVE_HEADER_BYTES + bodyLen + tag;
    if (total > this.special.length) return 1;
    const counter = crypto.nextCounter();
    if (counter < 0) return 2;
    writeHeader(this.special, 0, type, crypto.sendFlags, this.self, crypto.sendEpoch, counter);
    body.copy(this.special, SLEEVE_HEADER_BYTES, 0, bodyLen);
    const one = this.one;
    if (tag) {
      if (!crypto.sendHandle) return 2;
      one.offs[0] = SLEEVE_HEADER_BYTES;
      one.lens[0] = bodyLen;
      writeNonce(one.nonce, 0, crypto.sendEpoch, counter);
      try {
        if (this.io.aeadSealBatch(crypto.sendHandle, this.special, one.offs, one.lens, one.nonce, one.adOffs, one.adLens, 1) !== 1) return 2;
      } catch {
        return 2;
      }
    }
    one.offs[0] = 0;
    one.lens[0] = total;
    one.addrs[0] = link.addrIp;
    one.addrs[1] = link.addrPort;
    one.errs[0] = 0;
    try {
      const sent = this.io.udpSendBatch(this.fd, this.special, one.offs, one.lens, one.addrs, 1, one.errs);
      if (one.errs[0] === UdpSendStatus.MSGSIZE) return 1;
      return sent === 1 && one.errs[0] === UdpSendStatus.OK ? 0 : 2;
    } catch {
      return 2;
    }
  }

  /** Seal the first `k` prepared messages of this flush in place with one batch call. */
  private seal(handle: AeadHandle | null, k: number): boolean {
    if (!handle) return false;
    try {
      return this.io.aeadSealBatch(handle, this.arena, this.sealOffs, this.sealLens, this.nonces, this.adOffs, this.adLens, k) === k;
    } catch {
      return false;
    }
  }

  private send(d: number): void {
    if (d === 0) return;
    this.errs.fill(UdpSendStatus.OK, 0, d);
    this.counters.batches.udpSends++;
    this.counters.batches.udpDatagramsSent += d;
    try {
      if (this.udpGso) this.io.udpSendBatch(this.fd, this.arena, this.sendOffs, this.sendLens, this.sendAddrs, d, this.errs, true);
      else this.io.udpSendBatch(this.fd, this.arena, this.sendOffs, this.sendLens, this.sendAddrs, d, this.errs);
    } catch {
      this.errs.fill(UdpSendStatus.ERROR, 0, d);
    }
    // errs[] is authoritative: the addon marks every datagram not sent (MSGSIZE, ERROR, AGAIN).
    for (let i = 0; i < d; i++) {
      const link = this.links[this.dgSlot[i] ?? missingIndex('tx batch', i)];
      const st = this.errs[i] ?? missingIndex('tx batch', i);
      if (st === UdpSendStatus.OK) {
        if (link) {
          link.counters.framesOut += this.dgFrames[i] ?? missingIndex('tx batch', i);
          link.counters.bytesOut += this.dgBytes[i] ?? missingIndex('tx batch', i);
        }
      } else if (st === UdpSendStatus.MSGSIZE) {
        this.counters.drop(Drop.TooBig, this.dgFrames[i] ?? missingIndex('tx batch', i));
        if (link) link.onSendTooBig(this.now());
      } else if (st === UdpSendStatus.ERROR) {
        this.counters.drop(Drop.NoRoute, this.dgFrames[i] ?? missingIndex('tx batch', i));
      } else {
        this.counters.drop(Drop.QueueFull, this.dgFrames[i] ?? missingIndex('tx batch', i));
      }
    }
  }
}
