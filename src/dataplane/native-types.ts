/**
 * Types and ABI constants of the data-plane addon (native/, built to build/Release/weft_dp.node).
 * See native/README.md for the C side. Everything here is pure declarations. The raw surface
 * (names, arguments, results) is declared once in src/host/native-addon.ts; NativeDataplane
 * below is the checked, documented API over it (option records, narrower types), and
 * native-raw.ts checks at compile time that each of its methods is an addon export.
 */
import type { AeadHandle, PollHandle } from '../host/index.js';

/** AEAD algorithms the addon implements (both: 32-byte key, 12-byte nonce, 16-byte tag). */
export type AeadAlg = 'chacha20-poly1305' | 'aes-256-gcm';

/** Opaque poll and AEAD handles, declared with the addon's surface (src/host/native-addon.ts). */
export type { AeadHandle, PollHandle } from '../host/index.js';

/** Options of {@link NativeDataplane.tapOpen}. */
export interface TapOpenOptions {
  /** Prefix every frame with a virtio_net_hdr (IFF_VNET_HDR), for checksum/GSO offloads. */
  vnetHdr?: boolean;
  /** Size of that header: 10 (struct virtio_net_hdr, default) or 12 (with num_buffers). bytes */
  vnetHdrBytes?: 10 | 12;
}

/** Options of {@link NativeDataplane.udpOpen}. */
export interface UdpOpenOptions {
  /** SO_RCVBUF and SO_SNDBUF, forced when root. Default NATIVE_UDP_BUF_BYTES. bytes */
  bufBytes?: number;
  /** Set SO_REUSEPORT before bind (several sockets on one port, e.g. one per worker). */
  reusePort?: boolean;
}

/** `lens[i]` of a frame or datagram that did not fit its arena slot: count it as malformed.
 *  (readBatch also uses it for a frame that fills the slot exactly; see there.) */
export const LEN_TRUNCATED = 0xffffffff;
/** `lens[i]` of a datagram from a non-IPv4 source (IPv6 "::" sockets only). */
export const LEN_NOT_IPV4 = 0xfffffffe;

/** Per-datagram result written to udpSendBatch's `errs[i]`. */
export const UdpSendStatus = {
  /** Sent. */
  OK: 0,
  /** EMSGSIZE: larger than the path MTU with DF set; shrink the PMTU and resend smaller. */
  MSGSIZE: 1,
  /** Any other per-datagram failure (unreachable, refused by a firewall, port 0, …). */
  ERROR: 2,
  /** Not attempted: the socket send buffer was full (EAGAIN). */
  AGAIN: 3,
} as const;
export type UdpSendStatus = (typeof UdpSendStatus)[keyof typeof UdpSendStatus];

/** TUNSETOFFLOAD flags for {@link NativeDataplane.tapSetOffload} (linux/if_tun.h TUN_F_*). */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
} as const;

/** virtio_net_hdr constants (linux/virtio_net.h) for frames read with `vnetHdr`. Byte 0 is
 *  `flags`, byte 1 `gso_type`, then u16 hdr_len, gso_size, csum_start, csum_offset (host order). */
export const VirtioNet = {
  F_NEEDS_CSUM: 0x01,
  F_DATA_VALID: 0x02,
  GSO_NONE: 0,
  GSO_TCPV4: 1,
  GSO_UDP: 3,
  GSO_TCPV6: 4,
  GSO_ECN: 0x80,
} as const;

/**
 * The data-plane addon: TAP and UDP batch I/O into caller-owned arenas, readiness callbacks,
 * and batched in-place AEAD. Obtained from `loadNative()`.
 *
 * Thread model: every call runs synchronously on the calling thread and never blocks (fds are
 * non-blocking; loops end at EAGAIN or at the given count). Usable from worker_threads; fds
 * may be shared between threads, handles may not.
 *
 * Ownership: fds returned by `tapOpen`/`udpOpen` belong to the caller, who closes each exactly
 * once with `close` (which also stops a poll on it). Arenas and typed arrays stay owned by the
 * caller; the addon keeps no reference to them after a call returns.
 *
 * Safety: every index, offset, length, count and stride is checked against the real size of
 * the array it refers to, in TypeScript (shapes) and again in C (every element), before any
 * byte moves. Bad arguments throw `WeftError('WEFT_ERR_BAD_ARGS')` with the C TypeError or
 * RangeError as `cause`; OS failures throw `WeftError('WEFT_ERR_HOST')` whose `cause` has
 * `.code` (errno name, e.g. "EPERM"), `.errno` and `.syscall`; use of a freed AEAD handle
 * throws `WeftError('WEFT_ERR_CLOSED')`. A bad argument never reads or writes out of bounds.
 */
export interface NativeDataplane {
  /** Open /dev/net/tun as TAP `name` (IFF_TAP|IFF_NO_PI, non-blocking, CLOEXEC); optional
   *  IFF_VNET_HDR. Returns fd. The device must already exist or is created non-persistent
   *  (it disappears when the fd is closed). */
  tapOpen(name: string, opts?: TapOpenOptions): number;
  /** TUNSETOFFLOAD: tell the kernel which offloads (TunOffload bits) we accept in frames we
   *  read; requires vnetHdr. 0 turns them all off. */
  tapSetOffload(fd: number, flags: number): void;
  /** Software GSO for one frame read with a vnet header: arena[off .. off+len) is the
   *  virtio_net_hdr (vnetHdrBytes) + an Ethernet frame. A TCPv4/TCPv6 super-frame is cut into
   *  plain Ethernet frames of ≤ gso_size TCP payload (IPv4 id/length/checksum, IPv6 payload
   *  length, TCP seq/flags/checksum fixed per segment); a non-GSO frame is copied, with a
   *  partial checksum (F_NEEDS_CSUM) completed. Frame k goes to out[k*outStride ..), its
   *  length to outLens[k]. Returns the frame count, or 0 to drop (malformed, unsupported
   *  gso_type such as UDP, IP extension headers, or more than `max` slots / `outStride` bytes
   *  needed). Input and output must not overlap. */
  gsoSplit(arena: Buffer, off: number, len: number, vnetHdrBytes: 10 | 12, out: Buffer, outStride: number,
    outLens: Uint32Array, max: number): number;
  /** UDP socket bound to addr:port (IPv4 literal or "0.0.0.0"; "::" = dual stack),
   *  non-blocking, SO_RCVBUF/SO_SNDBUF = bufBytes, IP_MTU_DISCOVER = DO (DF set) so
   *  oversize sends fail with EMSGSIZE. Returns fd. */
  udpOpen(addr: string, port: number, opts?: UdpOpenOptions): number;
  /** The local port a UDP fd is bound to (after binding port 0). */
  udpLocalPort(fd: number): number;
  /** Stop any poll on fd, then close it. Closing an fd twice throws (EBADF). */
  close(fd: number): void;
  /** Call cb() (no arguments) whenever fd is readable (level-triggered uv_poll on this
   *  thread's loop) until pollStop/close. One poll per fd. cb must not throw: an exception
   *  becomes an uncaughtException, as for any I/O callback. The poll keeps the loop alive. */
  pollStart(fd: number, cb: () => void): PollHandle;
  /** Stop the callbacks. Idempotent; no callback runs after it returns. */
  pollStop(h: PollHandle): void;
  /** Read up to `max` frames: frame i goes to arena[i*stride .. i*stride+stride), its length
   *  to lens[i]. Returns count (0 when EAGAIN). Loops read() until EAGAIN or max. A frame that
   *  fills its slot completely gets LEN_TRUNCATED (TAP reads truncate silently, so "exactly
   *  stride" and "longer" look the same): make stride at least 1 byte more than the largest
   *  frame (MTU + 14 Ethernet + 4 VLAN + vnet header). */
  readBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, max: number): number;
  /** Write `count` frames: frame i = arena[offs[i] .. offs[i]+lens[i]). One write() per frame.
   *  Returns frames written (stops at EAGAIN; the rest are dropped and counted by the caller;
   *  a frame the kernel refuses by itself, e.g. a runt, is skipped). */
  writeBatch(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, count: number): number;
  /** Like writeBatch, for a TAP opened with `vnetHdr` (vnetHdrBytes 10 or 12): consecutive
   *  in-order TCP segments of one flow (IPv4 without options / IPv6 without extension headers,
   *  same headers except length/id/checksum/seq, flags ACK or ACK|PSH, equal sizes but the
   *  last, valid checksums) are joined into one GSO super-frame (gso_type TCPV4/TCPV6,
   *  gso_size = first segment's payload, NEEDS_CSUM) and written with one writev; every other
   *  frame is written behind a zeroed header. A super-frame the kernel refuses is retried as
   *  single frames. Frames of one flow keep their order; only the order between flows may
   *  change. The arena is not modified. Returns frames written (counted per input frame; stops
   *  at EAGAIN like writeBatch). `stats` (≥ 3 elements) receives [write syscalls,
   *  super-frames, frames inside super-frames]. */
  tapWriteCoalesced(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, count: number,
    vnetHdrBytes: 10 | 12, stats?: Uint32Array): number;
  /** recvmmsg up to max datagrams into arena slots of `stride`; lens[i] length, addrs[2*i] =
   *  IPv4 as uint32 (host order), addrs[2*i+1] = port. Returns count (0 on EAGAIN). Truncated
   *  datagrams (MSG_TRUNC) get lens[i] = LEN_TRUNCATED so the caller counts them as malformed. */
  udpRecvBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, addrs: Uint32Array,
    max: number): number;
  /** sendmmsg: datagram i = arena[offs[i] .. +lens[i]) to addrs[2i]:addrs[2i+1]. Returns number
   *  sent. errs (optional) gets a UdpSendStatus per datagram: MSGSIZE on EMSGSIZE (caller
   *  shrinks PMTU) and the rest continue; AGAIN for those left unsent when the buffer filled.
   *  `gso` (default false): runs of datagrams to one address that are contiguous in the arena
   *  and equally long (a shorter last one allowed; ≤ 64 datagrams, ≤ 65,000 bytes) go as one
   *  UDP GSO message (UDP_SEGMENT cmsg); the wire sees the same datagrams. A run the kernel
   *  refuses is resent datagram by datagram, so the statuses mean the same as without gso. */
  udpSendBatch(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, addrs: Uint32Array,
    count: number, errs?: Uint8Array, gso?: boolean): number;
  /** setsockopt(UDP_GRO): let the kernel queue trains of equal-size datagrams from one source
   *  as one buffer (read them with udpRecvBatchGro only). */
  udpSetGro(fd: number, on: boolean): void;
  /** recvmmsg for a socket with UDP GRO: buffer j lands in arena[j*msgBytes ..) (make msgBytes
   *  ≥ 65,536), and every datagram becomes one entry: offs[i], lens[i] (LEN_TRUNCATED /
   *  LEN_NOT_IPV4 as udpRecvBatch), addrs[2i], addrs[2i+1], pointing inside those buffers.
   *  Posts only as many buffers as fit the arena and leave 128 free entries each (so `max`
   *  should be ≥ 128 × buffers wanted). Returns the entry count (0 when nothing is queued). */
  udpRecvBatchGro(fd: number, arena: Buffer, msgBytes: number, offs: Uint32Array, lens: Uint32Array,
    addrs: Uint32Array, max: number): number;
  /** IP_MTU of a connected probe toward ip (IPv4 or IPv6) — getsockopt on a temporary connected
   *  UDP socket (route MTU, or a smaller PMTU the kernel learned); for PMTU discovery. */
  pathMtu(ip: string): number;
  /** AEAD context (keeps an EVP_CIPHER_CTX per key). key 32 bytes (copied into OpenSSL's key
   *  schedule; the caller may wipe its Buffer afterwards). */
  aeadCreate(alg: AeadAlg, key: Buffer): AeadHandle;
  /** Release the contexts now (wipes the key schedule). Idempotent. */
  aeadFree(h: AeadHandle): void;
  /** In-place seal of `count` messages: msg i = arena[offs[i] .. +lens[i]) plaintext; the
   *  16-byte tag is written right after it (offs[i]+lens[i]+16 <= arena.length is checked).
   *  Nonce i = 12 bytes from nonces[12*i..]; AD i = arena[adOffs[i] .. +adLens[i]) (may be
   *  length 0). Regions of different messages must not overlap. Returns count sealed. */
  aeadSealBatch(h: AeadHandle, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, count: number): number;
  /** In-place open: lens[i] includes the tag; on success ok[i]=1 and the first lens[i]-16 bytes
   *  are plaintext; on auth failure (or lens[i] < 16) ok[i]=0 and nothing changes. Returns the
   *  number that verified. */
  aeadOpenBatch(h: AeadHandle, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, ok: Uint8Array, count: number): number;
  /** Does the CPU have AES-NI (so aes-256-gcm is the better default)? */
  hasAesNi(): boolean;
  /** OpenSSL version of the node binary that provides the AEAD code (for logs). */
  opensslVersion(): string;
}
