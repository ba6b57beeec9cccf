/**
 * Wire format of the `nat` gossip channel (NAT traversal, issue 16). Pure: no I/O.
 *
 * Every message travels as a mesh unicast (routed hop by hop over the encrypted control
 * connections), so only cluster members can send one. Layout: `[kind u8][body]`.
 *
 * ```
 * ANNOUNCE (1)  flags u8 (bit0: sender is a preferred relay) · count varint ≤ NAT_MAX_ANNOUNCED
 *               · entry*: peer name(6) · endpoint string(≤ 64, "ip:port" / "[v6]:port") · listen port u16
 *               "I see peer P's sleeve datagrams come from ENDPOINT; it listens on PORT."
 *               The receiver itself may be one of the entries (what it looks like from outside).
 * HS1..HS3 (2–4) attempt u32 · Noise XXpsk0 message bytes(≤ 512)   (routed key exchange)
 * CONTROL (5)   attempt u32 · overlay control bytes(≤ 2048)            (PMTU acks of a punched path)
 * CLOSE (6)     attempt u32                                          (the sender dropped the path)
 * ```
 *
 * The payloads of HS2 and HS3 (inside the Noise messages, so encrypted and authenticated by the
 * other end's identity key) carry the endpoints the sender is seen from: `count varint ≤ 8 ·
 * endpoint string*`. A decode failure throws WEFT_ERR_DECODE (the gossip hub counts it).
 */
import { WeftError, NAT_MAX_ANNOUNCED } from '../common/index.js';
import { Reader, Writer, parseIp, type PeerName } from '../net/index.js';

export const NAT_CHANNEL = 'nat';

export const NatKind = { Announce: 1, Hs1: 2, Hs2: 3, Hs3: 4, Control: 5, Close: 6 } as const;
export type NatKindValue = (typeof NatKind)[keyof typeof NatKind];

const MAX_ENDPOINT_CHARS = 64;
const MAX_NOISE_BYTES = 512;
const MAX_CONTROL_BYTES = 2048;
const MAX_SELF_ENDPOINTS = 8;
const FLAG_RELAY = 1;

export interface Observation { peer: PeerName; endpoint: string; listenPort: number }
export interface Announce { kind: 1; preferredRelay: boolean; entries: Observation[] }
export interface HsMessage { kind: 2 | 3 | 4; attempt: number; noise: Buffer }
export interface ControlMsg { kind: 5; attempt: number; payload: Buffer }
export interface CloseMsg { kind: 6; attempt: number }
export type NatMessage = Announce | HsMessage | ControlMsg | CloseMsg;

/** A parsed endpoint: an IP literal (either family) and a UDP port 1..65535. */
export interface Endpoint { ip: string; port: number }

/** Parse "a.b.c.d:port" or "[v6]:port"; null when it is not one (no names, no port 0). */
export function parseEndpoint(s: string): Endpoint | null {
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') return null;
    host = s.slice(1, close);
    port = s.slice(close + 2);
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) return null;
    host = s.slice(0, i);
    port = s.slice(i + 1);
    if (host.includes(':')) return null; // a bare IPv6 needs brackets
  }
  if (!/^[0-9]{1,5}$/.test(port)) return null;
  const p = Number(port);
  if (p < 1 || p > 65_535) return null;
  const ip = parseIp(host);
  if (!ip) return null;
  return { ip: host, port: p };
}

/** "ip:port", with brackets around an IPv6 address. */
export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function encodeAnnounce(preferredRelay: boolean, entries: readonly Observation[]): Buffer {
  if (entries.length > NAT_MAX_ANNOUNCED) throw new WeftError('WEFT_ERR_BAD_ARGS', `announce of ${entries.length} entries (max ${NAT_MAX_ANNOUNCED})`);
  const w = new Writer(16 + entries.length * 32).u8(NatKind.Announce).u8(preferredRelay ? FLAG_RELAY : 0).varint(entries.length);
  for (const e of entries) w.peerName(e.peer).string(e.endpoint).u16(e.listenPort);
  return w.finish();
}

export function encodeHs(kind: 2 | 3 | 4, attempt: number, noise: Buffer): Buffer {
  return new Writer(8 + noise.length).u8(kind).u32(attempt).bytes(noise).finish();
}

export function encodeControl(attempt: number, payload: Buffer): Buffer {
  return new Writer(8 + payload.length).u8(NatKind.Control).u32(attempt).bytes(payload).finish();
}

export function encodeClose(attempt: number): Buffer {
  return new Writer(8).u8(NatKind.Close).u32(attempt).finish();
}

/** Decode one message, all or nothing. Throws WEFT_ERR_DECODE naming what is wrong. */
export function decodeNat(buf: Buffer): NatMessage {
  const r = new Reader(buf, 'nat message');
  const kind = r.u8('kind');
  let m: NatMessage;
  switch (kind) {
    case NatKind.Announce: {
      const flags = r.u8('flags');
      if ((flags & ~FLAG_RELAY) !== 0) throw r.fail('flags', `unknown bits ${flags}`);
      const n = r.varint('count');
      if (n > NAT_MAX_ANNOUNCED) throw r.fail('count', `${n} entries (max ${NAT_MAX_ANNOUNCED})`);
      const entries: Observation[] = [];
      for (let i = 0; i < n; i++) {
        const peer = r.peerName('entry peer');
        const endpoint = r.string(MAX_ENDPOINT_CHARS, 'entry endpoint');
        if (!parseEndpoint(endpoint)) throw r.fail('entry endpoint', `not an ip:port: ${JSON.stringify(endpoint)}`);
        const listenPort = r.u16('entry listen port');
        if (listenPort === 0) throw r.fail('entry listen port', 'port 0');
        entries.push({ peer, endpoint, listenPort });
      }
      m = { kind, preferredRelay: (flags & FLAG_RELAY) !== 0, entries };
      break;
    }
    case NatKind.Hs1: case NatKind.Hs2: case NatKind.Hs3:
      m = { kind, attempt: r.u32('attempt'), noise: r.bytes(MAX_NOISE_BYTES, 'noise message') };
      break;
    case NatKind.Control:
      m = { kind, attempt: r.u32('attempt'), payload: r.bytes(MAX_CONTROL_BYTES, 'control payload') };
      break;
    case NatKind.Close:
      m = { kind, attempt: r.u32('attempt') };
      break;
    default:
      throw r.fail('kind', `unknown kind ${kind}`);
  }
  r.end('trailing bytes');
  return m;
}

/** The handshake payload: the endpoints the sender is seen from. */
export function encodeSelfEndpoints(endpoints: readonly string[]): Buffer {
  const list = endpoints.slice(0, MAX_SELF_ENDPOINTS);
  const w = new Writer(8 + list.length * 24).varint(list.length);
  for (const e of list) w.string(e);
  return w.finish();
}

export function decodeSelfEndpoints(buf: Buffer): string[] {
  const r = new Reader(buf, 'nat handshake payload');
  const n = r.varint('count');
  if (n > MAX_SELF_ENDPOINTS) throw r.fail('count', `${n} endpoints (max ${MAX_SELF_ENDPOINTS})`);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = r.string(MAX_ENDPOINT_CHARS, 'endpoint');
    if (!parseEndpoint(e)) throw r.fail('endpoint', `not an ip:port: ${JSON.stringify(e)}`);
    out.push(e);
  }
  r.end('trailing bytes');
  return out;
}
