/**
 * The flow filter: the query's string parameters (CLI flags, `/flows` query parameters, a
 * peer's mesh request) checked and turned into a predicate over records. Pure. Every bad
 * value is refused with one line naming the parameter (WEFT_ERR_BAD_ARGS).
 */
import { WeftError } from '../common/index.js';
import { isIp } from '../net/index.js';
import { DROP_REASONS, VERDICTS, type FlowQuery, type FlowRecord, type FlowEndpoint } from '../api/index.js';

/** Most records one query returns. count */
export const FLOW_QUERY_MAX_LAST = 100_000;
/** Records returned when `last` is not given. count */
export const FLOW_QUERY_DEFAULT_LAST = 100;
/** Longest `since`: 30 days. ms */
const MAX_SINCE_MS = 30 * 24 * 3600 * 1000;

const PROTOCOLS: Record<string, string> = { tcp: 'TCP', udp: 'UDP', icmp: 'ICMP', icmpv6: 'ICMPv6', sctp: 'SCTP' };

/** A checked query. Fields absent match everything. */
export interface FlowFilter {
  last: number;
  /** Records at or after this wall-clock time. ms */
  sinceMs?: number;
  verdict?: string;
  reason?: string;
  pod?: { namespace: string; name: string };
  fromPod?: { namespace: string; name: string };
  toPod?: { namespace: string; name: string };
  namespace?: string;
  port?: number;
  protocol?: string;
  /** An IP (pod= may name an address instead of NS/NAME). */
  ip?: string;
  local: boolean;
}

const bad = (param: string, value: string, want: string): WeftError =>
  new WeftError('WEFT_ERR_BAD_ARGS', `bad flow filter ${param}="${value.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}": ${want}`);

/** "500ms", "30s", "5m", "2h", "1d" → ms. Throws WEFT_ERR_BAD_ARGS naming `param`. */
export function parseDuration(text: string, param = 'since'): number {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text);
  if (!m) throw bad(param, text, 'want a duration like 500ms, 30s, 5m, 2h or 1d');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  if (ms > MAX_SINCE_MS) throw bad(param, text, 'at most 30d');
  return ms;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const NS = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function podRef(param: string, text: string): { namespace: string; name: string } {
  const slash = text.indexOf('/');
  const namespace = slash < 0 ? '' : text.slice(0, slash);
  const name = slash < 0 ? '' : text.slice(slash + 1);
  if (!NS.test(namespace) || !NAME.test(name)) throw bad(param, text, 'want NAMESPACE/NAME of a pod');
  return { namespace, name };
}

function int(param: string, text: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(text)) throw bad(param, text, `want an integer ${min}..${max}`);
  const n = Number(text);
  if (n < min || n > max) throw bad(param, text, `want an integer ${min}..${max}`);
  return n;
}

/** Check a query. `now` is the wall clock used for `since`. */
export function parseFlowQuery(q: FlowQuery, now: number = Date.now()): FlowFilter {
  const f: FlowFilter = { last: FLOW_QUERY_DEFAULT_LAST, local: false };
  const known = new Set(['last', 'since', 'verdict', 'reason', 'pod', 'from-pod', 'to-pod', 'namespace', 'port', 'protocol', 'local']);
  for (const [k, v] of Object.entries(q)) {
    if (!known.has(k)) throw new WeftError('WEFT_ERR_BAD_ARGS', `unknown flow filter "${k.slice(0, 64)}"`);
    if (typeof v !== 'string' && v !== undefined) throw new WeftError('WEFT_ERR_BAD_ARGS', `flow filter ${k} must be a string`);
  }
  if (q.last !== undefined) f.last = int('last', q.last, 1, FLOW_QUERY_MAX_LAST);
  if (q.since !== undefined) f.sinceMs = now - parseDuration(q.since);
  if (q.verdict !== undefined) {
    if (!(VERDICTS as readonly string[]).includes(q.verdict)) throw bad('verdict', q.verdict, `want one of ${VERDICTS.join(', ')}`);
    f.verdict = q.verdict;
  }
  if (q.reason !== undefined) {
    if (!(DROP_REASONS as readonly string[]).includes(q.reason)) throw bad('reason', q.reason, `want one of ${DROP_REASONS.join(', ')}`);
    f.reason = q.reason;
  }
  if (q.pod !== undefined) {
    if (isIp(q.pod)) f.ip = q.pod;
    else f.pod = podRef('pod', q.pod);
  }
  if (q['from-pod'] !== undefined) f.fromPod = podRef('from-pod', q['from-pod']);
  if (q['to-pod'] !== undefined) f.toPod = podRef('to-pod', q['to-pod']);
  if (q.namespace !== undefined) {
    if (!NS.test(q.namespace)) throw bad('namespace', q.namespace, 'want a namespace name');
    f.namespace = q.namespace;
  }
  if (q.port !== undefined) f.port = int('port', q.port, 1, 65535);
  if (q.protocol !== undefined) {
    const p = PROTOCOLS[q.protocol.toLowerCase()];
    if (!p) throw bad('protocol', q.protocol, 'want tcp, udp, icmp, icmpv6 or sctp');
    f.protocol = p;
  }
  if (q.local !== undefined) {
    if (!['1', 'true', '0', 'false'].includes(q.local)) throw bad('local', q.local, 'want 1, true, 0 or false');
    f.local = q.local === '1' || q.local === 'true';
  }
  return f;
}

const isPod = (e: FlowEndpoint, p: { namespace: string; name: string }): boolean => e.namespace === p.namespace && e.name === p.name;

/** Whether `r` passes every filter field except `last` and `sinceMs` (the ring applies those). */
export function matchesFlow(r: FlowRecord, f: FlowFilter): boolean {
  if (f.verdict !== undefined && r.verdict !== f.verdict) return false;
  if (f.reason !== undefined && r.drop_reason !== f.reason) return false;
  if (f.pod && !isPod(r.source, f.pod) && !isPod(r.destination, f.pod)) return false;
  if (f.ip !== undefined && r.source.ip !== f.ip && r.destination.ip !== f.ip) return false;
  if (f.fromPod && !isPod(r.source, f.fromPod)) return false;
  if (f.toPod && !isPod(r.destination, f.toPod)) return false;
  if (f.namespace !== undefined && r.source.namespace !== f.namespace && r.destination.namespace !== f.namespace) return false;
  if (f.port !== undefined && r.source.port !== f.port && r.destination.port !== f.port) return false;
  if (f.protocol !== undefined && r.protocol !== f.protocol) return false;
  return true;
}

