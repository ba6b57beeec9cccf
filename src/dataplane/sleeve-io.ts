/**
 * The I/O and AEAD calls the sleeve engine makes: the subset of the native addon's
 * `NativeDataplane` it relies on (see native-types.ts and native/README.md), named here so
 * the engine can be driven by an in-process fake in unit tests.
 */
import type { AeadAlg, NativeDataplane } from './native-types.js';

export type SleeveAeadAlg = AeadAlg;

/**
 * Batched TAP/UDP/AEAD primitives over caller-owned arenas. `tapWriteCoalesced` and the UDP
 * GRO pair are optional: without them (e.g. the in-process fake) the engine keeps a plain TAP
 * with one write per frame and one datagram per receive slot.
 */
export type SleeveIo = Pick<NativeDataplane,
  | 'tapOpen' | 'udpOpen' | 'udpLocalPort' | 'close' | 'pollStart' | 'pollStop'
  | 'readBatch' | 'writeBatch' | 'udpRecvBatch' | 'udpSendBatch' | 'pathMtu'
  | 'aeadCreate' | 'aeadFree' | 'aeadSealBatch' | 'aeadOpenBatch' | 'hasAesNi'>
  & Partial<Pick<NativeDataplane, 'tapWriteCoalesced' | 'udpSetGro' | 'udpRecvBatchGro'>>;

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
