/**
 * The flow query's mesh messages (channel `flows`, unicast over the encrypted mesh):
 *   [kind u8: 1 request, 2 reply][id u32 BE][JSON, UTF-8]
 * Request: `{ q: FlowQuery, after?: seq, head?: true }` — `q.since` is sent as `sinceMs`
 * (absolute wall time) so the hosts' query windows agree. Reply: `{ records, lastSeq }`.
 * Decoding is strict and bounded (fuzzed): a message that does not fit is WEFT_ERR_DECODE,
 * every record of a reply is checked field by field, unknown fields are dropped.
 */
import { WeftError } from '../common/index.js';
import {
  DROP_REASONS, FLOW_EVENTS, FLOW_PATHS, VERDICTS, type FlowEndpoint, type FlowPolicy, type FlowQuery, type FlowRecord,
} from '../api/index.js';

export const FLOW_KIND_REQUEST = 1;
export const FLOW_KIND_REPLY = 2;
/** Largest flow message (under the mesh's 4 MiB control message limit). bytes */
export const FLOW_MESSAGE_MAX_BYTES = 3 * 1024 * 1024;

export interface FlowRequest {
  q: FlowQuery;
  sinceMs?: number;
  after?: number;
  head?: boolean;
}

export interface FlowReply {
  records: FlowRecord[];
  lastSeq: number;
  error?: string;
}

export type FlowMessage = { kind: 1; id: number; request: FlowRequest } | { kind: 2; id: number; reply: FlowReply };

const bad = (what: string): WeftError => new WeftError('WEFT_ERR_DECODE', `flow message: ${what}`);

export function encodeFlowMessage(m: FlowMessage): Buffer {
  const json = Buffer.from(JSON.stringify(m.kind === FLOW_KIND_REQUEST ? m.request : m.reply), 'utf8');
  const b = Buffer.allocUnsafe(5 + json.length);
  b[0] = m.kind;
  b.writeUInt32BE(m.id >>> 0, 1);
  json.copy(b, 5);
  return b;
}

/**
 * A reply's encoding, dropping the oldest records until it fits FLOW_MESSAGE_MAX_BYTES (a
 * query for the newest N records keeps the newest).
 */
export function encodeReplyBounded(id: number, reply: FlowReply): Buffer {
  let records = reply.records;
  for (;;) {
    const b = encodeFlowMessage({ kind: FLOW_KIND_REPLY, id, reply: { ...reply, records } });
    if (b.length <= FLOW_MESSAGE_MAX_BYTES || records.length === 0) return b;
    records = records.slice(Math.ceil(records.length / 4));
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, what: string, max = 512): string => {
  if (typeof v !== 'string' || v.length > max) throw bad(`${what} must be a string of at most ${max} characters`);
  return v;
};
const uint = (v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw bad(`${what} must be an integer 0..${max}`);
  return v;
};
const oneOf = <T extends string>(v: unknown, values: readonly T[], what: string): T => {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw bad(`${what} must be one of ${values.join(', ')}`);
  return v as T;
};

function endpoint(v: unknown, what: string): FlowEndpoint {
  if (!isObj(v)) throw bad(`${what} must be an object`);
  const e: FlowEndpoint = { ip: str(v.ip, `${what}.ip`, 64) };
  if (v.port !== undefined) e.port = uint(v.port, `${what}.port`, 65535);
  if (v.namespace !== undefined) e.namespace = str(v.namespace, `${what}.namespace`, 63);
  if (v.name !== undefined) e.name = str(v.name, `${what}.name`, 253);
  if (v.host !== undefined) e.host = str(v.host, `${what}.host`, 256);
  if (v.labels !== undefined) {
    if (!isObj(v.labels)) throw bad(`${what}.labels must be an object`);
    const entries = Object.entries(v.labels);
    if (entries.length > 64) throw bad(`${what}.labels has over 64 entries`);
    e.labels = {};
    for (const [k, lv] of entries) e.labels[str(k, `${what}.labels key`, 317)] = str(lv, `${what}.labels value`, 63);
  }
  return e;
}

function policy(v: unknown, what: string): FlowPolicy {
  if (!isObj(v)) throw bad(`${what} must be an object`);
  const p: FlowPolicy = {
    namespace: str(v.namespace, `${what}.namespace`, 63), name: str(v.name, `${what}.name`, 253),
    direction: oneOf(v.direction, ['ingress', 'egress'] as const, `${what}.direction`),
  };
  if (v.rule !== undefined) p.rule = uint(v.rule, `${what}.rule`, 1_000_000);
  return p;
}

/** One record from a peer, checked; unknown fields dropped. */
export function checkFlowRecord(v: unknown, what = 'record'): FlowRecord {
  if (!isObj(v)) throw bad(`${what} must be an object`);
  const time = str(v.time, `${what}.time`, 40);
  if (Number.isNaN(Date.parse(time))) throw bad(`${what}.time is not a time`);
  const r: FlowRecord = {
    time, seq: uint(v.seq, `${what}.seq`), event: oneOf(v.event, FLOW_EVENTS, `${what}.event`),
    verdict: oneOf(v.verdict, VERDICTS, `${what}.verdict`),
    source: endpoint(v.source, `${what}.source`), destination: endpoint(v.destination, `${what}.destination`),
    protocol: str(v.protocol, `${what}.protocol`, 16), path: oneOf(v.path, FLOW_PATHS, `${what}.path`),
    observed_on: str(v.observed_on, `${what}.observed_on`, 256),
  };
  if (v.drop_reason !== undefined) r.drop_reason = oneOf(v.drop_reason, DROP_REASONS, `${what}.drop_reason`);
  if (v.policies !== undefined) {
    if (!Array.isArray(v.policies) || v.policies.length > 64) throw bad(`${what}.policies must be a list of at most 64`);
    r.policies = v.policies.map((p, i) => policy(p, `${what}.policies[${i}]`));
  }
  if (v.tcp_flags !== undefined) {
    if (!Array.isArray(v.tcp_flags) || v.tcp_flags.length > 8) throw bad(`${what}.tcp_flags must be a list of at most 8`);
    r.tcp_flags = v.tcp_flags.map((f, i) => str(f, `${what}.tcp_flags[${i}]`, 8));
  }
  if (v.tcp_state !== undefined) r.tcp_state = str(v.tcp_state, `${what}.tcp_state`, 16);
  for (const k of ['bytes', 'packets', 'reply_bytes', 'reply_packets'] as const) if (v[k] !== undefined) r[k] = uint(v[k], `${what}.${k}`);
  return r;
}

const QUERY_KEYS = ['last', 'since', 'verdict', 'reason', 'pod', 'from-pod', 'to-pod', 'namespace', 'port', 'protocol'] as const;

function checkRequest(v: unknown): FlowRequest {
  if (!isObj(v) || !isObj(v.q)) throw bad('request must be an object with a query');
  const q: FlowQuery = {};
  for (const [k, val] of Object.entries(v.q)) {
    if (!(QUERY_KEYS as readonly string[]).includes(k)) throw bad(`unknown query field "${k.slice(0, 32)}"`);
    q[k as (typeof QUERY_KEYS)[number]] = str(val, `q.${k}`, 320);
  }
  const r: FlowRequest = { q };
  if (v.sinceMs !== undefined) r.sinceMs = uint(v.sinceMs, 'sinceMs');
  if (v.after !== undefined) {
    if (typeof v.after !== 'number' || !Number.isInteger(v.after) || v.after < -1) throw bad('after must be an integer ≥ -1');
    r.after = v.after;
  }
  if (v.head !== undefined) {
    if (typeof v.head !== 'boolean') throw bad('head must be a boolean');
    r.head = v.head;
  }
  return r;
}

function checkReply(v: unknown): FlowReply {
  if (!isObj(v) || !Array.isArray(v.records)) throw bad('reply must be an object with records');
  if (v.records.length > 100_000) throw bad('reply has over 100000 records');
  if (typeof v.lastSeq !== 'number' || !Number.isInteger(v.lastSeq) || v.lastSeq < -1) throw bad('lastSeq must be an integer ≥ -1');
  const r: FlowReply = { records: v.records.map((x, i) => checkFlowRecord(x, `records[${i}]`)), lastSeq: v.lastSeq };
  if (v.error !== undefined) r.error = str(v.error, 'error', 512);
  return r;
}

/** Decode a flow message; WEFT_ERR_DECODE (one line) when it is not one. */
export function decodeFlowMessage(b: Buffer): FlowMessage {
  if (b.length < 5) throw bad(`${b.length} bytes, want at least 5`);
  if (b.length > FLOW_MESSAGE_MAX_BYTES) throw bad(`${b.length} bytes, over ${FLOW_MESSAGE_MAX_BYTES}`);
  const kind = b[0];
  const id = b.readUInt32BE(1);
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8', 5));
  } catch {
    throw bad('body is not JSON');
  }
  if (kind === FLOW_KIND_REQUEST) return { kind: 1, id, request: checkRequest(v) };
  if (kind === FLOW_KIND_REPLY) return { kind: 2, id, reply: checkReply(v) };
  throw bad(`kind ${kind}`);
}
