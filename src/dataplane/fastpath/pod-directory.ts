/**
 * Which pod MACs and IPv4 addresses live behind which peer, spread over the gossip channel
 * `fastpath` (pure: no I/O; the switch feeds it local scans and sends what it returns).
 *
 * Kernel paths never show frames to userspace, so unlike the sleeve nothing can be learned
 * from traffic: every peer announces its local MACs (bridge FDB of its pod ports, plus its
 * bridge's own MAC) and its attached pods' addresses. Each peer's record carries a version
 * (wall-clock ms at change, strictly increasing); the higher version wins.
 *
 * Message: u8 wire version (1) | u16 record count | records, each:
 *   peer(6) | version f64 | u16 macs | mac(6)* | u16 ips | (ipv4 u32, mac index u16)*
 */
import { FASTPATH_MAX_IPS, FASTPATH_MAX_MACS, WeftError } from '../../common/index.js';
import type { Gossiper, PeerName } from '../../mesh/index.js';
import { read48, write48 } from '../wire-format.js';
import { peerNameFromNumber, peerNameToNumber } from '../../net/index.js';
import { formatIpv4, parseIpv4 } from '../../net/index.js';

const WIRE_VERSION = 1;
const MAX_RECORDS = 16_384;

/** One peer's announced pods. */
export interface PodRecord {
  version: number;
  /** Lowercase "aa:bb:…" MACs. */
  macs: string[];
  /** IPv4 pod addresses with the MAC of their interface. */
  ips: { ip: string; mac: string }[];
}

const decodeError = (what: string) => new WeftError('WEFT_ERR_DECODE', `fastpath gossip: ${what}`);

export function encodeRecords(records: ReadonlyMap<PeerName, PodRecord>): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(3);
  head[0] = WIRE_VERSION;
  head.writeUInt16BE(records.size, 1);
  parts.push(head);
  for (const [peer, r] of records) {
    const b = Buffer.alloc(6 + 8 + 2 + r.macs.length * 6 + 2 + r.ips.length * 6);
    let o = 0;
    write48(b, o, peerNameToNumber(peer)); o += 6;
    b.writeDoubleBE(r.version, o); o += 8;
    b.writeUInt16BE(r.macs.length, o); o += 2;
    for (const m of r.macs) { write48(b, o, peerNameToNumber(m)); o += 6; }
    b.writeUInt16BE(r.ips.length, o); o += 2;
    for (const a of r.ips) {
      b.writeUInt32BE(parseIpv4(a.ip) ?? -1, o);
      b.writeUInt16BE(Math.max(0, r.macs.indexOf(a.mac)), o + 4);
      o += 6;
    }
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** Decode; WEFT_ERR_DECODE for anything malformed or out of bounds. */
export function decodeRecords(buf: Buffer): Map<PeerName, PodRecord> {
  if (buf.length < 3 || buf[0] !== WIRE_VERSION) throw decodeError('bad header');
  const count = buf.readUInt16BE(1);
  if (count > MAX_RECORDS) throw decodeError('too many records');
  const out = new Map<PeerName, PodRecord>();
  let o = 3;
  const need = (n: number) => { if (o + n > buf.length) throw decodeError('truncated'); };
  for (let i = 0; i < count; i++) {
    need(16);
    const peer = peerNameFromNumber(read48(buf, o)); o += 6;
    const version = buf.readDoubleBE(o); o += 8;
    if (!Number.isFinite(version) || version < 0) throw decodeError('bad version');
    const nm = buf.readUInt16BE(o); o += 2;
    if (nm > FASTPATH_MAX_MACS) throw decodeError('too many MACs');
    need(nm * 6 + 2);
    const macs: string[] = [];
    for (let k = 0; k < nm; k++) { macs.push(peerNameFromNumber(read48(buf, o))); o += 6; }
    const ni = buf.readUInt16BE(o); o += 2;
    if (ni > FASTPATH_MAX_IPS) throw decodeError('too many addresses');
    need(ni * 6);
    const ips: { ip: string; mac: string }[] = [];
    for (let k = 0; k < ni; k++) {
      const ip = formatIpv4(buf.readUInt32BE(o));
      const idx = buf.readUInt16BE(o + 4);
      o += 6;
      const mac = macs[idx];
      if (mac === undefined) throw decodeError('address refers to a missing MAC');
      ips.push({ ip, mac });
    }
    out.set(peer, { version, macs, ips });
  }
  if (o !== buf.length) throw decodeError('trailing bytes');
  return out;
}

/**
 * The directory. Lifecycle: created with our name; `setLocal` after each local scan (returns
 * the update to broadcast when something changed); the router drives the Gossiper methods;
 * `forget` when a peer is gone for good. `onChange(peer)` fires for every changed record.
 */
export class PodDirectory implements Gossiper {
  private readonly records = new Map<PeerName, PodRecord>();
  private ownVersion = 0;
  private reannounce = false;

  constructor(readonly self: PeerName, private readonly onChange: (peer: PeerName) => void) {}

  /** A peer's current record (or undefined). */
  get(peer: PeerName): PodRecord | undefined {
    return this.records.get(peer);
  }

  peers(): PeerName[] {
    return [...this.records.keys()];
  }

  /** Replace our own record; returns the encoded update when it changed, else null. */
  setLocal(macs: string[], ips: { ip: string; mac: string }[], now = Date.now()): Buffer | null {
    const sortedMacs = [...new Set(macs.map((m) => m.toLowerCase()))].sort().slice(0, FASTPATH_MAX_MACS);
    const sortedIps = ips.filter((a) => sortedMacs.includes(a.mac.toLowerCase()))
      .map((a) => ({ ip: a.ip, mac: a.mac.toLowerCase() }))
      .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0)).slice(0, FASTPATH_MAX_IPS);
    const cur = this.records.get(this.self);
    if (cur && !this.reannounce && JSON.stringify([cur.macs, cur.ips]) === JSON.stringify([sortedMacs, sortedIps])) return null;
    this.reannounce = false;
    this.ownVersion = Math.max(now, this.ownVersion + 1);
    const rec: PodRecord = { version: this.ownVersion, macs: sortedMacs, ips: sortedIps };
    this.records.set(this.self, rec);
    this.onChange(this.self);
    return encodeRecords(new Map([[this.self, rec]]));
  }

  forget(peer: PeerName): void {
    if (peer !== this.self && this.records.delete(peer)) this.onChange(peer);
  }

  onGossipUnicast(): void {
    // not used
  }

  onGossipBroadcast(_src: PeerName, update: Buffer): Buffer | null {
    return this.merge(decodeRecords(update)).size > 0 ? update : null;
  }

  onGossip(update: Buffer): Buffer | null {
    const delta = this.merge(decodeRecords(update));
    return delta.size > 0 ? encodeRecords(delta) : null;
  }

  gossip(): Buffer | null {
    return this.records.size > 0 ? encodeRecords(this.records) : null;
  }

  /** Merge; returns the records that were new to us. Records about ourselves are ignored
   *  (we are the only authority), except that a newer version pushes ours beyond it. */
  private merge(incoming: Map<PeerName, PodRecord>): Map<PeerName, PodRecord> {
    const delta = new Map<PeerName, PodRecord>();
    for (const [peer, r] of incoming) {
      if (peer === this.self) {
        if (r.version >= this.ownVersion) {
          this.ownVersion = r.version + 1;
          this.reannounce = true; // a stale record of an earlier incarnation: outvote it
        }
        continue;
      }
      const cur = this.records.get(peer);
      if (cur && cur.version >= r.version) continue;
      this.records.set(peer, r);
      delta.set(peer, r);
      this.onChange(peer);
    }
    return delta;
  }
}
