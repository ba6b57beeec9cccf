/**
 * The I/O and AEAD calls the sleeve engine makes: exactly the subset of the native addon's
 * `NativeDataplane` (src/dataplane/native.ts) it relies on, declared here so the engine can be
 * driven by an in-process fake in unit tests. Handles are opaque.
 */
export type SleeveAeadAlg = 'chacha20-poly1305' | 'aes-256-gcm';

/** Batched TAP/UDP/AEAD primitives over caller-owned arenas (see native/README.md). */
export interface SleeveIo {
  tapOpen(name: string, opts?: { vnetHdr?: boolean }): number;
  udpOpen(addr: string, port: number, opts?: { bufBytes?: number }): number;
  udpLocalPort(fd: number): number;
  close(fd: number): void;
  pollStart(fd: number, cb: () => void): unknown;
  pollStop(h: unknown): void;
  readBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, max: number): number;
  writeBatch(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, count: number): number;
  udpRecvBatch(fd: number, arena: Buffer, stride: number, lens: Uint32Array, addrs: Uint32Array, max: number): number;
  udpSendBatch(fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, addrs: Uint32Array,
    count: number, errs?: Uint8Array): number;
  pathMtu(ip: string): number;
  aeadCreate(alg: SleeveAeadAlg, key: Buffer): unknown;
  aeadFree(h: unknown): void;
  aeadSealBatch(h: unknown, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, count: number): number;
  aeadOpenBatch(h: unknown, arena: Buffer, offs: Uint32Array, lens: Uint32Array, nonces: Buffer,
    adOffs: Uint32Array, adLens: Uint32Array, ok: Uint8Array, count: number): number;
  hasAesNi(): boolean;
}

/** Truncated-datagram marker in udpRecvBatch's `lens` (anything above the stride is unusable). */
export const TRUNCATED = 0xffffffff;
/** udpSendBatch per-datagram status (`errs[i]`): sent, EMSGSIZE, other error, not attempted (EAGAIN). */
export const SEND_OK = 0;
export const SEND_MSGSIZE = 1;
export const SEND_ERROR = 2;
export const SEND_AGAIN = 3;

/** "a.b.c.d" → u32 (host order), or -1 if not a dotted IPv4 address. */
export function ipv4ToU32(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return -1;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return -1;
    v = v * 256 + o;
  }
  return v;
}

/** u32 (host order) → "a.b.c.d". */
export function u32ToIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * Split a mesh address "ip:port", "[v6]:port" or "::ffff:a.b.c.d:port" into an IPv4 u32 and
 * port. Returns null for IPv6 underlays (not supported by the sleeve yet) or garbage.
 */
export function parseUnderlayAddress(addr: string): { ip: number; port: number } | null {
  const m = /^\[?(.*?)\]?:(\d{1,5})$/.exec(addr.trim());
  if (!m) return null;
  let host = m[1]!;
  if (host.toLowerCase().startsWith('::ffff:')) host = host.slice(7);
  const ip = ipv4ToU32(host);
  const port = Number(m[2]);
  if (ip < 0 || port < 1 || port > 65535) return null;
  return { ip, port };
}
