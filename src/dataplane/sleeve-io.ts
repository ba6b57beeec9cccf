/**
 * The I/O and AEAD calls the sleeve engine makes: the subset of the native addon's
 * `NativeDataplane` it relies on (see native-types.ts and native/README.md), named here so
 * the engine can be driven by an in-process fake in unit tests.
 */
import { isIpv4Mapped, parseIp } from '../net/index.js';
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

/**
 * Split a mesh address "ip:port", "[v6]:port" or "::ffff:a.b.c.d:port" into an IPv4 u32 and
 * port. Returns null for IPv6 underlays (not supported by the sleeve yet) or garbage.
 */
export function parseUnderlayAddress(addr: string): { ip: number; port: number } | null {
  const m = /^\[?(.*?)\]?:(\d{1,5})$/.exec(addr.trim());
  if (!m) return null;
  const a = parseIp(m[1] ?? '');
  const ip = a === null ? null : a.family === 4 ? a.value : isIpv4Mapped(a.value) ? Number(a.value & 0xffffffffn) : null;
  const port = Number(m[2]);
  if (ip === null || port < 1 || port > 65535) return null;
  return { ip, port };
}
