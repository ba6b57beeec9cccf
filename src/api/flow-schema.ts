import { Type as T, type Static } from '@sinclair/typebox';

/**
 * Flow records and the flow query (docs/flows.md). Field names are snake_case and stable:
 * they are only ever added, never renamed. One record is one event seen by one host:
 *  - `event: "new"`  a connection through a local pod was conntracked (verdict forwarded);
 *  - `event: "end"`  it was destroyed: `bytes` / `packets` (both directions) when the kernel
 *                    accounts them (nf_conntrack_acct);
 *  - `event: "drop"` a packet was dropped (verdict dropped, `drop_reason` says why) or would
 *                    have been by an audit-mode policy (verdict audit).
 */

import { DROP_REASONS, FLOW_EVENTS, FLOW_PATHS, VERDICTS } from './flow-codes.js';

const Str = T.String();

const lit = <V extends string>(values: readonly V[], description: string) =>
  T.Union(values.map((v) => T.Literal(v)), { description });

/** One side of a flow: the address always, the pod identity when the address is a known pod. */
export const FlowEndpointSchema = T.Object({
  ip: T.String({ description: 'IPv4 or IPv6 address' }),
  port: T.Optional(T.Integer({ minimum: 0, maximum: 65535, description: 'TCP/UDP/SCTP port' })),
  namespace: T.Optional(T.String({ description: 'pod namespace (absent: not a known pod)' })),
  name: T.Optional(T.String({ description: 'pod name' })),
  labels: T.Optional(T.Record(T.String(), T.String(), { description: 'pod labels' })),
  host: T.Optional(T.String({ description: 'nickname of the host the pod runs on' })),
});

/** A policy that decided a drop (or an audit): its name, direction and rule index when known. */
export const FlowPolicySchema = T.Object({
  namespace: Str,
  name: Str,
  direction: T.Union([T.Literal('ingress'), T.Literal('egress')]),
  rule: T.Optional(T.Integer({ minimum: 0, description: 'index of the rule in the policy\'s ingress/egress list; absent: no rule allowed it (default deny of an isolated pod)' })),
});

/** One flow record. */
export const FlowRecordSchema = T.Object({
  time: T.String({ description: 'ISO-8601 UTC with milliseconds, when the observing host saw the event' }),
  seq: T.Integer({ minimum: 0, description: 'per-observer sequence number (increases by one per record, ring losses leave gaps)' }),
  event: lit(FLOW_EVENTS, '"new", "end" (connection destroyed) or "drop"'),
  verdict: lit(VERDICTS, '"forwarded", "dropped" or "audit" (an audit-mode policy would have dropped it)'),
  drop_reason: T.Optional(lit(DROP_REASONS, 'why it was dropped (verdict dropped or audit)')),
  policies: T.Optional(T.Array(FlowPolicySchema, { description: 'the policies that decided a drop or audit' })),
  source: FlowEndpointSchema,
  destination: FlowEndpointSchema,
  protocol: T.String({ description: '"TCP", "UDP", "ICMP", "ICMPv6", "SCTP", or "IP/<number>"' }),
  tcp_flags: T.Optional(T.Array(T.String(), { description: 'TCP flags of a dropped packet ("SYN", "ACK", …)' })),
  tcp_state: T.Optional(T.String({ description: 'conntrack TCP state on "end" ("TIME_WAIT", "CLOSE", …)' })),
  path: lit(FLOW_PATHS, 'how it crossed: "local" (same host), "sleeve", "vxlan", "hostgw"; "unknown" for a remote address that is no pod'),
  observed_on: T.String({ description: 'nickname of the host that recorded it' }),
  bytes: T.Optional(T.Integer({ minimum: 0, description: 'on "end": bytes both ways (conntrack accounting)' })),
  packets: T.Optional(T.Integer({ minimum: 0, description: 'on "end": packets both ways' })),
  reply_bytes: T.Optional(T.Integer({ minimum: 0, description: 'on "end": of `bytes`, those from destination to source' })),
  reply_packets: T.Optional(T.Integer({ minimum: 0 })),
});
export type FlowRecord = Static<typeof FlowRecordSchema>;
export type FlowEndpoint = Static<typeof FlowEndpointSchema>;
export type FlowPolicy = Static<typeof FlowPolicySchema>;

const Param = (description: string, maxLength = 320) => T.Optional(T.String({ minLength: 1, maxLength, description }));

/**
 * The query of `GET /flows` and `GET /flows/stream` (both listeners): query parameters named
 * like the CLI's flags. Every value is a string checked by the flow filter parser, which
 * refuses a bad one with one line naming it (400 WEFT_ERR_BAD_ARGS).
 */
export const FlowQuerySchema = T.Object({
  last: Param('at most this many records, newest kept (1..100000, default 100; ignored by the stream)', 6),
  since: Param('only records newer than this duration ago: "500ms", "30s", "5m", "2h"', 16),
  verdict: Param('forwarded | dropped | audit', 16),
  reason: Param('a drop reason (policy-denied, no-route, too-big, auth, replay, bad-frame, queue-full)', 32),
  pod: Param('NS/NAME: either side is this pod'),
  'from-pod': Param('NS/NAME: the source is this pod'),
  'to-pod': Param('NS/NAME: the destination is this pod'),
  namespace: Param('either side is in this namespace', 63),
  port: Param('either side\'s port (1..65535)', 5),
  protocol: Param('tcp | udp | icmp | icmpv6 | sctp (any case)', 8),
  local: Param('"1" or "true": this host only (no mesh query)', 5),
}, { additionalProperties: false });
export type FlowQuery = Static<typeof FlowQuerySchema>;

/** How one host answered a cluster-wide query. */
export const FlowObserverSchema = T.Object({
  peer: T.String({ description: 'peer name' }),
  nickname: Str,
  answered: T.Boolean(),
  records: T.Integer({ minimum: 0, description: 'records it returned' }),
  error: T.Optional(T.String({ description: 'why not (timeout, unreachable, refused)' })),
});

/** Reply of `GET /flows`. */
export const FlowQueryReplySchema = T.Object({
  flows: T.Array(FlowRecordSchema, { description: 'oldest first, merged by time across hosts; at most `last`' }),
  observers: T.Array(FlowObserverSchema, { description: 'every host asked (this one first)' }),
  warning: T.Optional(T.String({ description: 'one line naming the hosts that did not answer in time' })),
});
export type FlowQueryReply = Static<typeof FlowQueryReplySchema>;

/**
 * One line of the NDJSON stream `GET /flows/stream` (content-type application/x-ndjson):
 * `{"type":"flow","flow":{…}}` for each new matching record (cluster-wide unless local=1),
 * `{"type":"warning","message":"…","peers":[…]}` when hosts stop or start answering, and
 * `{"type":"heartbeat","time":"…"}` every few seconds so a client can tell the stream is alive.
 */
export const FlowStreamLineSchema = T.Union([
  T.Object({ type: T.Literal('flow'), flow: FlowRecordSchema }),
  T.Object({ type: T.Literal('warning'), message: Str, peers: T.Array(Str, { description: 'nicknames not answering' }) }),
  T.Object({ type: T.Literal('heartbeat'), time: Str }),
]);
export type FlowStreamLine = Static<typeof FlowStreamLineSchema>;
