/**
 * DnsRecordStore: the manual records of `weft dns-add NAME IP...` / `weft dns-remove NAME [IP]`,
 * replicated on the gossip channel DNS_GOSSIP_CHANNEL and persisted by the daemon
 * (`dns-records.json`). One last-writer-wins register per (name, address) pair, in the shared
 * LwwTable of src/directory (the PolicyStore's mechanism): an add makes the pair live, a remove
 * writes a tombstone (kept DNS_TOMBSTONE_TTL_MS), so a partition heals to the latest intent and a
 * removed name does not come back from a peer that missed the removal. Names are kept relative to
 * the domain and in lowercase (names.ts). Pure: no I/O; time comes in as arguments.
 *
 * Message (envelope kind `dns`) and file body:
 *   { "entries": [ { "name", "ip", "ms", "origin", "live": true|false } ] }
 */
import {
  DNS_MAX_ADDRESSES_PER_CALL, DNS_MAX_RECORDS, DNS_TOMBSTONE_TTL_MS, POLICY_GOSSIP_MAX_BYTES, WeftError,
} from '../common/index.js';
import { LwwTable, type LwwSchema, type LwwStamp } from '../directory/index.js';
import type { Gossiper, PeerName } from '../mesh/index.js';
import { formatIp, isPeerName, parseIp } from '../net/index.js';
import { dnsNameProblem, normalizeName } from './names.js';

/** One (name, address) register: live, or a tombstone. */
export interface DnsRecordEntry {
  /** Relative to the domain, lowercase. */
  readonly name: string;
  /** Canonical text form of the address. */
  readonly ip: string;
  readonly stamp: LwwStamp;
  readonly live: boolean;
}

/** What an add or remove did. */
export interface DnsRecordChange {
  /** Encoded entries to broadcast; null when nothing changed. */
  readonly update: Buffer | null;
  /** Addresses now added (add) or removed (remove). */
  readonly changed: readonly string[];
  /** Addresses that were already in that state. */
  readonly unchanged: readonly string[];
}

const bad = (what: string) => new WeftError('WEFT_ERR_DECODE', what);

function checkName(v: unknown, where: string): string {
  if (typeof v !== 'string') throw bad(`${where}: field "name" must be a string`);
  const p = dnsNameProblem(v);
  if (p || v !== normalizeName(v)) throw bad(`${where}: field "name": ${p ?? 'must be lowercase without a trailing dot'}`);
  return v;
}

function checkIp(v: unknown, where: string): string {
  const ip = typeof v === 'string' ? parseIp(v) : null;
  if (!ip || formatIp(ip) !== v) throw bad(`${where}: field "ip" must be an IP address in canonical form`);
  return v;
}

const SCHEMA: LwwSchema<DnsRecordEntry> = {
  envelope: 'dns',
  what: { gossip: 'dns gossip', file: 'dns records file', table: 'DNS record store' },
  maxEntries: DNS_MAX_RECORDS,
  tombstoneTtlMs: DNS_TOMBSTONE_TTL_MS,
  maxBytes: POLICY_GOSSIP_MAX_BYTES,
  id: (e) => `${e.name} ${e.ip}`,
  stamp: (e) => e.stamp,
  withStamp: (e, stamp) => ({ ...e, stamp }),
  canonical: (e) => (e.live ? 'live' : null),
  toWire: (e) => ({ name: e.name, ip: e.ip, ms: e.stamp.ms, origin: e.stamp.origin, live: e.live }),
  fromWire(v, where) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where}: must be an object`);
    const { name, ip, ms, origin, live, ...rest } = v as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw bad(`${where}: unexpected field "${Object.keys(rest)[0]}"`);
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw bad(`${where}: field "ms" must be a non-negative number`);
    if (!isPeerName(origin)) throw bad(`${where}: field "origin" is not a peer name`);
    if (typeof live !== 'boolean') throw bad(`${where}: field "live" must be true or false`);
    return { name: checkName(name, where), ip: checkIp(ip, where), stamp: { ms, origin }, live };
  },
};

/** Validate a name and addresses of a local call: WEFT_ERR_BAD_ARGS naming the bad one. */
function localArgs(name: string, ips: readonly string[]): { name: string; ips: string[] } {
  const n = normalizeName(name);
  const p = dnsNameProblem(n);
  if (p) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid name "${name}": ${p}`);
  if (ips.length > DNS_MAX_ADDRESSES_PER_CALL) throw new WeftError('WEFT_ERR_BAD_ARGS', `at most ${DNS_MAX_ADDRESSES_PER_CALL} addresses per call`);
  const out = ips.map((s) => {
    const ip = parseIp(s);
    if (!ip) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid address "${s}": not an IPv4 or IPv6 address`);
    return formatIp(ip);
  });
  return { name: n, ips: [...new Set(out)] };
}

/**
 * Lifecycle: created with a change callback; `load` the persisted state once; `add` / `remove`
 * for local API calls (broadcast what they return); the router drives the Gossiper methods;
 * `expire(now)` now and then. Guarantees: at most DNS_MAX_RECORDS pairs (tombstones included;
 * beyond it local calls get WEFT_ERR_BAD_ARGS and gossip is refused and counted); everything
 * from a peer or a file is validated again; `onChange` fires once per call that changed a pair.
 */
export class DnsRecordStore implements Gossiper {
  private readonly table: LwwTable<DnsRecordEntry>;

  constructor(onChange: () => void = () => undefined) {
    this.table = new LwwTable(SCHEMA, onChange);
  }

  /** Gossiped entries refused because the store was full. count */
  get refused(): number {
    return this.table.refused;
  }

  /** Every entry (tombstones included), sorted by name then address. */
  list(): DnsRecordEntry[] {
    return this.table.list();
  }

  /** Live records: name → addresses (sorted). */
  live(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const e of this.table.list()) {
      if (!e.live) continue;
      const l = out.get(e.name);
      if (l) l.push(e.ip);
      else out.set(e.name, [e.ip]);
    }
    return out;
  }

  /** Make every (name, ip) pair live; WEFT_ERR_BAD_ARGS for a bad name or address. */
  add(name: string, ips: readonly string[], now: number, origin: PeerName): DnsRecordChange {
    const a = localArgs(name, ips);
    if (a.ips.length === 0) throw new WeftError('WEFT_ERR_BAD_ARGS', 'dns-add needs at least one address');
    return this.write(a.ips.map((ip) => ({ name: a.name, ip, stamp: { ms: 0, origin }, live: true })), now, origin);
  }

  /** Tombstone the pairs of `name` with these addresses (none given: every live one). */
  remove(name: string, ips: readonly string[], now: number, origin: PeerName): DnsRecordChange {
    const a = localArgs(name, ips);
    const targets = a.ips.length > 0 ? a.ips : (this.live().get(a.name) ?? []);
    return this.write(targets.map((ip) => ({ name: a.name, ip, stamp: { ms: 0, origin }, live: false })), now, origin);
  }

  expire(now: number): number {
    return this.table.expire(now);
  }

  serialize(): string {
    return this.table.serialize();
  }

  /** Merge a persisted state (WEFT_ERR_DECODE naming the problem; nothing merged then). */
  load(text: string): number {
    return this.table.load(text);
  }

  /** Decode a gossip message (fuzzing, tests); WEFT_ERR_DECODE naming the first problem. */
  decode(buf: Buffer): DnsRecordEntry[] {
    return this.table.decode(buf);
  }

  encode(entries: readonly DnsRecordEntry[]): Buffer {
    return this.table.encode(entries);
  }

  onGossipUnicast(): void {
    // not used
  }

  onGossipBroadcast(src: PeerName, update: Buffer): Buffer | null {
    return this.table.onGossipBroadcast(src, update);
  }

  onGossip(update: Buffer): Buffer | null {
    return this.table.onGossip(update);
  }

  gossip(): Buffer | null {
    return this.table.gossip();
  }

  private write(wanted: DnsRecordEntry[], now: number, origin: PeerName): DnsRecordChange {
    const r = this.table.write(wanted, now, origin);
    return { update: r.update, changed: r.written.map((e) => e.ip), unchanged: r.unchanged.map((e) => e.ip) };
  }
}
