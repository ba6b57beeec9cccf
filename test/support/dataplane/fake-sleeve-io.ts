/**
 * Test double of the native addon for the sleeve engine: an in-process "underlay" (FakeNet)
 * joining fake hosts, each with a TAP (frames injected by the test, frames written collected)
 * and UDP sockets. AEAD uses sodium-native ChaCha20-Poly1305 for both algorithm names (the
 * "AES" key is domain-separated so a mismatch still fails). Readiness callbacks run from
 * setImmediate while data is queued (level-triggered, like uv_poll). Test-only.
 */
import sodium from 'sodium-native';
import type { SleeveAeadAlg, SleeveIo } from '../../../src/dataplane/sleeve-io.js';
import { LEN_TRUNCATED, UdpSendStatus, type AeadHandle, type PollHandle, type TapOpenOptions } from '../../../src/dataplane/native-types.js';
import { formatIpv4, parseIpv4 } from '../../../src/net/index.js';

interface FakeFd {
  kind: 'tap' | 'udp';
  name: string;
  port: number;
  rx: { data: Buffer; ip: number; port: number }[];
  cb: (() => void) | null;
  scheduled: boolean;
  closed: boolean;
  /** vnet header bytes the TAP was opened with (0 = plain). */
  vnet: number;
}

/** The shared underlay: delivery, per-path MTU (silent drops above it) and blocked paths. */
export class FakeNet {
  readonly hosts = new Map<string, FakeHostIo>();
  /** "a.b.c.d>e.f.g.h" → path MTU (datagrams larger are silently dropped, like a DF drop). */
  readonly pathMtus = new Map<string, number>();
  /** "a>b" pairs whose datagrams vanish. */
  readonly blocked = new Set<string>();
  /** Every datagram that crossed the underlay (for capture/replay tests). */
  readonly captured: { from: string; to: string; toPort: number; data: Buffer }[] = [];

  host(ip: string, localMtu = 1500): FakeHostIo {
    const h = new FakeHostIo(this, ip, localMtu);
    this.hosts.set(ip, h);
    return h;
  }

  pathMtu(from: string, to: string, localMtu: number): number {
    return Math.min(localMtu, this.pathMtus.get(`${from}>${to}`) ?? 65535);
  }

  /** Deliver a datagram to ip:port (dropped if no socket is bound there). */
  deliver(fromIp: string, fromPort: number, toIp: string, toPort: number, data: Buffer): void {
    const h = this.hosts.get(toIp);
    if (!h) return;
    h.receiveUdp(parseIpv4(fromIp) ?? -1, fromPort, toPort, data);
  }
}

/** One fake host's addon. */
export class FakeHostIo implements SleeveIo {
  private readonly fds = new Map<number, FakeFd>();
  private nextFd = 100;
  private nextPort = 40000;
  /** Frames the engine wrote into the TAP. */
  readonly tapOut: Buffer[] = [];
  /** Frames accepted per writeBatch call before the TAP queue is "full" (Infinity = never). */
  tapWriteLimit = Infinity;
  /** Calls of tapWriteCoalesced (the engine's path for a TAP with a vnet header). */
  coalescedWriteCalls = 0;
  aesNi = true;
  openAeads = 0;

  constructor(readonly net: FakeNet, readonly ip: string, readonly localMtu: number) {}

  /** Make the bridge send `frame` into the TAP (the engine reads it). */
  injectTap(frame: Buffer): void {
    for (const f of this.fds.values()) {
      if (f.kind === 'tap' && !f.closed) {
        f.rx.push({ data: Buffer.from(frame), ip: 0, port: 0 });
        this.schedule(f);
      }
    }
  }

  receiveUdp(fromIp: number, fromPort: number, toPort: number, data: Buffer): void {
    for (const f of this.fds.values()) {
      if (f.kind === 'udp' && f.port === toPort && !f.closed) {
        f.rx.push({ data: Buffer.from(data), ip: fromIp, port: fromPort });
        this.schedule(f);
      }
    }
  }

  /** With `vnetHdr`, reads carry a zeroed header and the engine writes with tapWriteCoalesced. */
  tapOpen(name: string, opts?: TapOpenOptions): number {
    const fd = this.open({ kind: 'tap', name, port: 0 });
    if (opts?.vnetHdr) this.fd(fd).vnet = opts.vnetHdrBytes ?? 10;
    return fd;
  }

  udpOpen(_addr: string, port: number): number {
    return this.open({ kind: 'udp', name: 'udp', port: port || this.nextPort++ });
  }

  udpLocalPort(fd: number): number {
    return this.fd(fd).port;
  }

  close(fd: number): void {
    const f = this.fd(fd);
    f.closed = true;
    f.cb = null;
    this.fds.delete(fd);
  }

  pollStart(fd: number, cb: () => void): PollHandle {
    const f = this.fd(fd);
    f.cb = cb;
    this.schedule(f);
    return fd as unknown as PollHandle;
  }

  pollStop(h: PollHandle): void {
    const f = this.fds.get(h as unknown as number);
    if (f) f.cb = null;
  }

  readBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, max: number): number {
    const f = this.fd(fd);
    let n = 0;
    while (n < max && f.rx.length > 0) {
      const { data } = f.rx.shift()!;
      const frame = f.vnet ? Buffer.concat([Buffer.alloc(f.vnet), data]) : data;
      frame.copy(arena, n * stride, 0, Math.min(stride, frame.length));
      lens[n++] = frame.length >= stride ? LEN_TRUNCATED : frame.length;
    }
    return n;
  }

  /** Frames are collected as they are (no merging); stats say one write per frame. */
  tapWriteCoalesced(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, count: number,
    _vnetHdrBytes: 10 | 12, stats?: Uint32Array): number {
    if (!this.fd(fd).vnet) throw new Error('fake: tapWriteCoalesced on a TAP without vnet header');
    this.coalescedWriteCalls++;
    const n = this.writeBatch(fd, arena, offs, lens, count);
    if (stats) stats.set([n, 0, 0]);
    return n;
  }

  writeBatch(_fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, count: number): number {
    const n = Math.min(count, this.tapWriteLimit);
    for (let i = 0; i < n; i++) this.tapOut.push(Buffer.from(arena.subarray(offs[i]!, offs[i]! + lens[i]!)));
    return n;
  }

  udpRecvBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, addrs: Uint32Array, max: number): number {
    const f = this.fd(fd);
    let n = 0;
    while (n < max && f.rx.length > 0) {
      const d = f.rx.shift()!;
      d.data.copy(arena, n * stride, 0, Math.min(stride, d.data.length));
      lens[n] = d.data.length > stride ? LEN_TRUNCATED : d.data.length;
      addrs[2 * n] = d.ip;
      addrs[2 * n + 1] = d.port;
      n++;
    }
    return n;
  }

  udpSendBatch(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, addrs: Uint32Array,
    count: number, errs?: Uint8Array): number {
    const f = this.fd(fd);
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const to = formatIpv4(addrs[2 * i]!);
      const port = addrs[2 * i + 1]!;
      const len = lens[i]!;
      if (errs) errs[i] = UdpSendStatus.OK;
      if (len + 28 > this.localMtu) {
        if (errs) errs[i] = UdpSendStatus.MSGSIZE;
        continue;
      }
      if (port === 0) {
        if (errs) errs[i] = UdpSendStatus.ERROR;
        continue;
      }
      sent++;
      const data = Buffer.from(arena.subarray(offs[i]!, offs[i]! + len));
      this.net.captured.push({ from: this.ip, to, toPort: port, data });
      if (this.net.blocked.has(`${this.ip}>${to}`)) continue;
      if (len + 28 > this.net.pathMtu(this.ip, to, this.localMtu)) continue;
      this.net.deliver(this.ip, f.port, to, port, data);
    }
    return sent;
  }

  pathMtu(): number {
    return this.localMtu;
  }

  aeadCreate(alg: SleeveAeadAlg, key: Buffer): AeadHandle {
    this.openAeads++;
    const k = Buffer.alloc(32);
    if (alg === 'aes-256-gcm') sodium.crypto_generichash(k, Buffer.from('fake-aes'), key);
    else key.copy(k);
    return { k, freed: false } as unknown as AeadHandle;
  }

  aeadFree(h: AeadHandle): void {
    const x = h as unknown as { freed: boolean };
    if (!x.freed) this.openAeads--;
    x.freed = true;
  }

  aeadSealBatch(h: AeadHandle, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, count: number): number {
    const { k } = h as unknown as { k: Buffer };
    for (let i = 0; i < count; i++) {
      const m = Buffer.from(arena.subarray(offs[i]!, offs[i]! + lens[i]!));
      const ad = Buffer.from(arena.subarray(adOffs[i]!, adOffs[i]! + adLens[i]!));
      const c = arena.subarray(offs[i]!, offs[i]! + lens[i]! + 16);
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, ad, null, nonces.subarray(12 * i, 12 * i + 12), k);
    }
    return count;
  }

  aeadOpenBatch(h: AeadHandle, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, ok: Uint8Array, count: number): number {
    const { k } = h as unknown as { k: Buffer };
    let good = 0;
    for (let i = 0; i < count; i++) {
      ok[i] = 0;
      if (lens[i]! < 16) continue;
      const c = Buffer.from(arena.subarray(offs[i]!, offs[i]! + lens[i]!));
      const ad = Buffer.from(arena.subarray(adOffs[i]!, adOffs[i]! + adLens[i]!));
      const m = Buffer.alloc(lens[i]! - 16);
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, c, ad, nonces.subarray(12 * i, 12 * i + 12), k);
      } catch {
        continue;
      }
      m.copy(arena, offs[i]!);
      ok[i] = 1;
      good++;
    }
    return good;
  }

  hasAesNi(): boolean {
    return this.aesNi;
  }

  private open(o: Pick<FakeFd, 'kind' | 'name' | 'port'>): number {
    const fd = this.nextFd++;
    this.fds.set(fd, { vnet: 0, ...o, rx: [], cb: null, scheduled: false, closed: false });
    return fd;
  }

  private fd(fd: number): FakeFd {
    const f = this.fds.get(fd);
    if (!f) throw new Error(`fake: bad fd ${fd}`);
    return f;
  }

  private schedule(f: FakeFd): void {
    if (f.scheduled || !f.cb || f.rx.length === 0) return;
    f.scheduled = true;
    setImmediate(() => {
      f.scheduled = false;
      if (f.cb && !f.closed) f.cb();
      this.schedule(f);
    });
  }
}
