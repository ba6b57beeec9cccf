/**
 * The flow recorder: turns kernel events (a pod namespace's conntrack NEW/DESTROY, the policy
 * table's NFLOG records) and sleeve drops into flow records, enriched with pod identity and
 * path, kept in the ring and counted. Pure logic: the daemon feeds it decoded events and
 * hands it the lookups it needs; no I/O, no timers (the clock is passed in).
 *
 * Guarantees: every event is counted in the counters (by verdict, reason, policy) before any
 * sampling; records beyond `maxRecordsPerSecond` (a token bucket) are not stored but counted
 * in `suppressed` — so the counters are exact while the ring's contents may be thinned.
 */
import type { FlowEndpoint, FlowPath, FlowPolicy, FlowRecord, DropReason } from '../api/index.js';
import type { FlowRing, UnnumberedFlow } from './ring.js';

/** A pod as the recorder names it. */
export interface FlowPodView {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Nickname of its host. */
  host: string;
  /** It runs on this host. */
  local: boolean;
}

/** One conntrack event of a pod namespace, as the host edge decodes it. */
export interface FlowConntrackEvent {
  type: 'new' | 'destroy';
  orig: { src: string; dst: string; proto: number; sport?: number; dport?: number };
  tcpState?: string;
  origPackets?: number;
  origBytes?: number;
  replyPackets?: number;
  replyBytes?: number;
}

/** One NFLOG record of the policy table. */
export interface FlowNflogEvent {
  prefix: string;
  packet?: { src: string; dst: string; proto: number; sport?: number; dport?: number; tcpFlags?: string[] };
}

/** A drop in the sleeve. */
export interface SleeveDropEvent {
  reason: 'no-route' | 'too-big' | 'auth' | 'replay' | 'bad-frame' | 'queue-full';
  /** How many were dropped at once (a batch). */
  count: number;
  /** The inner packet's addresses when known (no-route, too-big). */
  packet?: { src: string; dst: string; proto: number; sport?: number; dport?: number };
  /** The outer sender (auth, replay): its underlay address and, when known, its peer nickname. */
  sender?: { ip: string; port: number; peer?: string };
}

/** What the recorder is handed. */
export interface FlowRecorderOptions {
  ring: FlowRing;
  /** Our nickname (observed_on). */
  self: string;
  /** The pod with this address, if any. */
  pod(ip: string): FlowPodView | undefined;
  /** How traffic to a remote host (by nickname) crosses. */
  pathToHost(host: string): FlowPath;
  /** The policies that isolate `ip` in `direction` (audit: the audit-mode ones). */
  policiesFor(direction: 'ingress' | 'egress', ip: string, audit: boolean): FlowPolicy[];
  /** Most records stored per second (default 5,000); counters count everything. */
  maxRecordsPerSecond?: number;
}

/** Counts by verdict, reason and policy: exact, never sampled. */
export interface FlowCounts {
  /** key `verdict|reason` (reason '' for forwarded) → events */
  byVerdict: Map<string, number>;
  /** key `policy|direction|verdict` → drops (or audits) */
  byPolicy: Map<string, number>;
  /** Connections ended, and their bytes and packets. */
  ended: number;
  bytes: number;
  packets: number;
  /** Records not stored because of the rate limit. */
  suppressed: number;
  /** Events that named no local pod (ignored). */
  ignored: number;
}

const PROTO: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };
export const protocolName = (n: number): string => PROTO[n] ?? `IP/${n}`;

const POLICY_PREFIX = /^weft-policy (drop|audit) (ingress|egress): ?$/;

export class FlowRecorder {
  readonly counts: FlowCounts = { byVerdict: new Map(), byPolicy: new Map(), ended: 0, bytes: 0, packets: 0, suppressed: 0, ignored: 0 };
  private tokens: number;
  private lastRefill = -1;
  private readonly rate: number;

  constructor(private readonly o: FlowRecorderOptions) {
    this.rate = o.maxRecordsPerSecond ?? 5000;
    this.tokens = this.rate;
  }

  /** A conntrack event from the namespace of local pod `podIp`. */
  conntrack(e: FlowConntrackEvent, podIp: string, now: number): void {
    const t = e.orig;
    if (isLoopback(t.src) || isLoopback(t.dst)) return;
    if (t.src !== podIp && t.dst !== podIp) { this.counts.ignored++; return; }
    // A connection between two local pods is tracked in both namespaces: keep the source's view.
    if (t.dst === podIp && t.src !== podIp && this.o.pod(t.src)?.local) return;
    const ended = e.type === 'destroy';
    this.count('forwarded', '');
    const rec: UnnumberedFlow = {
      time: new Date(now).toISOString(), event: ended ? 'end' : 'new', verdict: 'forwarded',
      source: this.endpoint(t.src, t.sport), destination: this.endpoint(t.dst, t.dport),
      protocol: protocolName(t.proto), path: this.path(t.src, t.dst), observed_on: this.o.self,
    };
    if (ended) {
      const bytes = (e.origBytes ?? 0) + (e.replyBytes ?? 0);
      const packets = (e.origPackets ?? 0) + (e.replyPackets ?? 0);
      this.counts.ended++;
      this.counts.bytes += bytes;
      this.counts.packets += packets;
      if (e.origBytes !== undefined || e.replyBytes !== undefined) {
        rec.bytes = bytes;
        rec.packets = packets;
        rec.reply_bytes = e.replyBytes ?? 0;
        rec.reply_packets = e.replyPackets ?? 0;
      }
      if (e.tcpState) rec.tcp_state = e.tcpState;
    }
    this.store(rec, now);
  }

  /** An NFLOG record of the policy table; false when its prefix is not the policy table's. */
  nflog(e: FlowNflogEvent, now: number): boolean {
    const m = POLICY_PREFIX.exec(e.prefix);
    if (!m) return false;
    const audit = m[1] === 'audit';
    const direction = m[2] as 'ingress' | 'egress';
    const verdict = audit ? 'audit' : 'dropped';
    const p = e.packet;
    const local = p ? (direction === 'ingress' ? p.dst : p.src) : undefined;
    const policies = local ? this.o.policiesFor(direction, local, audit) : [];
    this.count(verdict, 'policy-denied');
    for (const pol of policies) this.bump(this.counts.byPolicy, `${pol.namespace}/${pol.name}|${direction}|${verdict}`, 1);
    if (policies.length === 0) this.bump(this.counts.byPolicy, `|${direction}|${verdict}`, 1);
    const rec: UnnumberedFlow = {
      time: new Date(now).toISOString(), event: 'drop', verdict, drop_reason: 'policy-denied', policies,
      source: p ? this.endpoint(p.src, p.sport) : { ip: '' }, destination: p ? this.endpoint(p.dst, p.dport) : { ip: '' },
      protocol: p ? protocolName(p.proto) : 'unknown', path: p ? this.path(p.src, p.dst) : 'unknown', observed_on: this.o.self,
    };
    if (p?.tcpFlags) rec.tcp_flags = p.tcpFlags;
    this.store(rec, now);
    return true;
  }

  /** A sleeve drop. */
  sleeveDrop(e: SleeveDropEvent, now: number): void {
    this.count('dropped', e.reason, e.count);
    const p = e.packet;
    const source: FlowEndpoint = p ? this.endpoint(p.src, p.sport) : e.sender ? { ip: e.sender.ip, port: e.sender.port, ...(e.sender.peer ? { host: e.sender.peer } : {}) } : { ip: '' };
    const destination: FlowEndpoint = p ? this.endpoint(p.dst, p.dport) : { ip: '', host: this.o.self };
    this.store({
      time: new Date(now).toISOString(), event: 'drop', verdict: 'dropped', drop_reason: e.reason as DropReason,
      source, destination, protocol: p ? protocolName(p.proto) : 'UDP', path: 'sleeve', observed_on: this.o.self,
      ...(e.count > 1 ? { packets: e.count } : {}),
    }, now);
  }

  private endpoint(ip: string, port?: number): FlowEndpoint {
    const pod = this.o.pod(ip);
    const e: FlowEndpoint = { ip };
    if (port !== undefined) e.port = port;
    if (pod) {
      e.namespace = pod.namespace;
      e.name = pod.name;
      e.labels = { ...pod.labels };
      e.host = pod.host;
    }
    return e;
  }

  private path(src: string, dst: string): FlowPath {
    const s = this.o.pod(src);
    const d = this.o.pod(dst);
    if (s?.local && d?.local) return 'local';
    const remote = s?.local ? d : d?.local ? s : undefined;
    if (!remote) return 'unknown';
    return this.o.pathToHost(remote.host);
  }

  private count(verdict: string, reason: string, n = 1): void {
    this.bump(this.counts.byVerdict, `${verdict}|${reason}`, n);
  }

  private bump(m: Map<string, number>, k: string, n: number): void {
    m.set(k, (m.get(k) ?? 0) + n);
  }

  private store(rec: UnnumberedFlow, now: number): void {
    if (this.lastRefill < 0) this.lastRefill = now;
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.lastRefill) * this.rate) / 1000);
    this.lastRefill = now;
    if (this.tokens < 1) {
      this.counts.suppressed++;
      return;
    }
    this.tokens -= 1;
    this.o.ring.push(rec);
  }
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

export type { FlowRecord };
