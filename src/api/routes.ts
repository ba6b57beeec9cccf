/**
 * The daemon's control API, whole: every route's method, path, request schema and reply
 * schema, in valibot. The daemon validates each request body (or query) against its route's
 * schema before a handler runs; the CLI and the CNI plugins call routes through
 * {@link ApiClient.call}, so their requests and replies are typed by the same schemas, and
 * clients that must trust a reply (the CNI plugins) check it with {@link checkReply}.
 *
 * Fields are only ever added, never renamed. docs/api.md documents every route; a test fails
 * when a route here has no section there (or a section names a route that does not exist).
 *
 * valibot rather than typebox: the CNI plugins load this file on every run, and importing
 * valibot costs about a third of typebox (+compiler) — measured in docs/api.md.
 */
import * as v from 'valibot';

// ───────────────────────────── building blocks ─────────────────────────────

/** Longest string field an API request may carry (paths, CIDRs, names). chars */
const MAX_FIELD = 4096;
/** Longest IPAM owner ID. bytes */
export const MAX_OWNER_BYTES = 256;
/** Most peers one connect/forget call may name. count */
export const MAX_PEERS_PER_CALL = 1024;
/** Most owners a GC call may keep. count */
const MAX_GC_KEEP = 65_536;

const text = v.pipe(v.string(), v.minLength(1, 'must be a non-empty string'), v.maxLength(MAX_FIELD, `must be at most ${MAX_FIELD} characters`));
const owner = v.pipe(v.string(), v.minLength(1, 'must be a non-empty string'),
  v.check((s) => Buffer.byteLength(s) <= MAX_OWNER_BYTES, `must be at most ${MAX_OWNER_BYTES} bytes`));
const int = v.pipe(v.number(), v.integer());
const empty = v.strictObject({});

// ───────────────────────────── status sections ─────────────────────────────

const StatusPeerSchema = v.object({
  name: v.string(), nickname: v.string(), uid: v.string(), version: v.number(),
  connections: v.array(v.object({ name: v.string(), address: v.string(), outbound: v.boolean(), established: v.boolean() })),
});

const StatusConnectionSchema = v.object({
  peer: v.string(), nickname: v.optional(v.string()), address: v.string(), outbound: v.boolean(),
  state: v.picklist(['established', 'connecting', 'failed']), encrypted: v.boolean(),
  reason: v.optional(v.string()), since: v.optional(v.string()), mtu: v.optional(v.number()), mode: v.optional(v.string()),
  paths: v.optional(v.array(v.object({ path: v.string(), state: v.string(), mtu: v.optional(v.number()), reason: v.optional(v.string()) }))),
});

const StatusTargetSchema = v.object({
  address: v.string(), state: v.picklist(['waiting', 'connecting', 'connected', 'failed']), attempts: v.number(),
  lastError: v.optional(v.string()), nextTryAt: v.optional(v.string()), direct: v.boolean(),
});

/** The `ipam` section of a status report (also `GET /ipam/status`). */
export const IpamStatusSchema = v.object({
  status: v.picklist(['ready', 'awaiting-consensus', 'no-range', 'split-ring', 'idle', 'removed']),
  reason: v.optional(v.string()),
  self: v.string(), nickname: v.string(), range: v.string(),
  mode: v.picklist(['consensus', 'seed', 'observer']),
  ringId: v.optional(v.string()), origin: v.optional(v.string()),
  owned: v.number(), free: v.number(), allocated: v.number(), pending: v.number(),
  unreachable: v.array(v.object({ name: v.string(), nickname: v.optional(v.string()), addresses: v.number(), percent: v.number() })),
  quorum: v.optional(v.number()), known: v.optional(v.number()),
  conflicts: v.record(v.string(), v.number()),
  removedPeers: v.array(v.string()),
  awaitingReclaim: v.array(v.object({ name: v.string(), heir: v.nullable(v.string()), addresses: v.number() })),
  entries: v.array(v.object({ start: v.string(), end: v.string(), owner: v.string(), nickname: v.optional(v.string()), free: v.number() })),
});

const counters = <K extends string>(keys: readonly K[]) =>
  v.object(Object.fromEntries(keys.map((k) => [k, v.number()])) as Record<K, v.NumberSchema<undefined>>);

/** The sleeve's view of one peer link. */
const SleeveLinkSchema = v.object({
  peer: v.string(), state: v.picklist(['pending', 'healthy', 'failed']), confirmed: v.boolean(),
  udpAddress: v.nullable(v.string()), pathMtu: v.number(), overlayMtu: v.number(), encrypted: v.boolean(),
  sendEpoch: v.number(), recvEpoch: v.number(),
});

/** The sleeve's counters. */
const SleeveStatsSchema = v.object({
  drops: counters(['no_route', 'replay', 'auth', 'too_big', 'queue_full', 'malformed', 'unknown_peer'] as const),
  relayedFrames: v.number(), macMoves: v.number(), macs: v.number(),
  peers: v.record(v.string(), counters(['framesIn', 'bytesIn', 'framesOut', 'bytesOut', 'mtu'] as const)),
  batches: counters(['tapReads', 'tapFramesRead', 'udpReads', 'udpDatagramsRead', 'udpSends', 'udpDatagramsSent',
    'tapFramesWritten', 'tapWriteCalls', 'tapSuperFrames', 'tapFramesCoalesced'] as const),
});

/**
 * The `dataplane` section of a status report. The kernel fast paths' per-peer detail is the
 * data plane's own diagnostic (rendered only as JSON): typed down to `kernelPaths.enabled`.
 */
export const DataplaneStatusSchema = v.object({
  mode: v.picklist(['fastpath', 'sleeve']),
  bridge: v.string(),
  mtu: v.number(),
  fastpath: v.looseObject({ kernelPaths: v.looseObject({ enabled: v.boolean() }) }),
  links: v.array(SleeveLinkSchema),
  stats: SleeveStatsSchema,
});

/** Snapshot of a running peer, served by `GET /status` (both listeners). */
export const StatusReportSchema = v.object({
  /** Our peer name ("8e:1f:…"). */
  name: v.string(),
  nickname: v.string(),
  /** weft package version of the daemon. */
  version: v.string(),
  /** Protocol versions this daemon speaks (inclusive). */
  protocol: v.object({ min: v.number(), max: v.number() }),
  /** True when a cluster secret is configured (control and data plane encrypted). */
  encrypted: v.boolean(),
  /** Set when running without encryption or with a weak secret; shown prominently by the CLI. */
  encryptionWarning: v.optional(v.string()),
  /** TCP control / UDP sleeve port. */
  port: v.number(),
  /** Per-run unique id of this peer incarnation. */
  uid: v.string(),
  /** Process id of the daemon (lets `weft launch` check that the answering daemon is its own). */
  pid: v.optional(v.number()),
  peers: v.array(StatusPeerSchema),
  connections: v.array(StatusConnectionSchema),
  targets: v.array(StatusTargetSchema),
  /** Unicast routes: destination peer name → next-hop peer name. */
  routes: v.optional(v.object({ unicast: v.record(v.string(), v.string()) })),
  /** Peers that were seen using our name (cloned data dir), newest last. */
  collisions: v.optional(v.array(v.string())),
  dataplane: v.optional(DataplaneStatusSchema),
  ipam: v.optional(IpamStatusSchema),
});

// ───────────────────────────── replies shared by routes ─────────────────────────────

const AllocationSchema = v.object({ owner: v.string(), address: v.string(), prefixLength: int, cidr: v.string() });

/** `GET /network`: what a plugin needs to plumb a pod onto this host's overlay. */
export const NetworkInfoSchema = v.object({
  /** Linux bridge pods attach to (e.g. "weft"). */
  bridge: text,
  /** MTU for pod interfaces. bytes */
  mtu: int,
  /** The overlay's address range (e.g. "10.32.0.0/12"); pods get a route for it. */
  range: text,
  /** Host's address on the overlay (if exposed), usable as a default gateway. */
  gateway: v.optional(v.string()),
  /** Whether pod veths need TX checksum offload off. */
  txChecksumOff: v.boolean(),
});

const EndpointSchema = v.object({ netns: v.string(), ifname: v.string(), hostIfname: v.string(), mac: v.string(), addresses: v.array(v.string()) });

// ───────────────────────────── the routes ─────────────────────────────

/** One route of the API: where it lives, what it takes (body for POST, query for GET), what it answers. */
export interface RouteSpec<Req extends v.GenericSchema = v.GenericSchema, Rep extends v.GenericSchema = v.GenericSchema> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** One line for docs and errors. */
  readonly summary: string;
  /** POST: the JSON body; GET: the query parameters (all strings). */
  readonly request: Req;
  readonly reply: Rep;
}

const route = <Req extends v.GenericSchema, Rep extends v.GenericSchema>(
  method: 'GET' | 'POST', path: string, summary: string, request: Req, reply: Rep,
): RouteSpec<Req, Rep> => ({ method, path, summary, request, reply });

const peers = v.pipe(v.array(v.string()), v.maxLength(MAX_PEERS_PER_CALL, `must list at most ${MAX_PEERS_PER_CALL} peers`));

/** Every route of the control API socket. Keys are stable names used by code; paths are the wire. */
export const ROUTES = {
  status: route('GET', '/status', 'snapshot of this peer: identity, peers, connections, targets, data plane, IPAM',
    empty, StatusReportSchema),
  report: route('GET', '/report', 'the status plus the (redacted) configuration and the full topology',
    empty, v.object({ ...StatusReportSchema.entries, config: v.record(v.string(), v.unknown()), topology: v.unknown() })),
  stop: route('POST', '/stop', 'stop the daemon (the reply comes first)', empty, v.object({ stopping: v.boolean() })),
  connect: route('POST', '/connect', 'add connection targets; replace drops the operator-given ones not listed',
    v.strictObject({ peers, replace: v.optional(v.boolean()) }), v.object({ targets: v.array(StatusTargetSchema) })),
  forget: route('POST', '/forget', 'stop trying to connect to these targets (established connections stay)',
    v.strictObject({ peers }), v.object({ forgotten: v.array(v.string()), unknown: v.array(v.string()) })),
  ping: route('POST', '/ping', 'round trip to a peer over the mesh',
    v.strictObject({ peer: text }), v.object({ peer: v.string(), rttMs: v.number(), nextHop: v.nullable(v.string()) })),
  attach: route('POST', '/attach', 'attach a network namespace to the bridge (veth, address, MTU, offload)',
    v.strictObject({ netns: text, ifname: v.optional(text), ip: v.optional(text) }),
    v.object({ ifname: v.string(), hostIfname: v.string(), mac: v.string(), cidr: v.string(), mtu: int, allocated: v.boolean() })),
  detach: route('POST', '/detach', 'remove a namespace\'s weft interface and release its address',
    v.strictObject({ netns: text, ifname: v.optional(text) }), v.object({ detached: v.boolean(), released: v.array(v.string()) })),
  expose: route('POST', '/expose', 'put an address (given, or from IPAM) on the bridge so the host is on the overlay',
    v.strictObject({ cidr: v.optional(text) }), v.object({ cidr: v.string() })),
  hide: route('POST', '/hide', 'remove an exposed address (default: all of them)',
    v.strictObject({ cidr: v.optional(text) }), v.object({ hidden: v.array(v.string()) })),
  endpoints: route('GET', '/endpoints', 'the namespaces attached to the bridge', empty, v.object({ endpoints: v.array(EndpointSchema) })),
  network: route('GET', '/network', 'bridge, pod MTU, overlay range, gateway and offload setting for plumbing pods',
    empty, NetworkInfoSchema),
  allocate: route('POST', '/ipam/allocate', 'allocate an address for an owner (idempotent per owner)',
    v.strictObject({ owner, address: v.optional(text) }), AllocationSchema),
  release: route('POST', '/ipam/release', 'release an owner\'s addresses (or one of them)',
    v.strictObject({ owner, address: v.optional(text) }), v.object({ released: v.array(v.string()) })),
  lookup: route('GET', '/ipam/lookup', 'the addresses an owner holds (WEFT_ERR_NO_ALLOCATION when none)',
    v.strictObject({ owner }), v.object({ owner: v.string(), addresses: v.array(v.object({ address: v.string(), prefixLength: int, cidr: v.string() })) })),
  gc: route('POST', '/ipam/gc', 'release every allocation whose owner starts with ownerPrefix and is not kept',
    v.strictObject({ ownerPrefix: owner, keep: v.pipe(v.array(v.string()), v.maxLength(MAX_GC_KEEP)) }),
    v.object({ released: v.array(v.object({ owner: v.string(), address: v.string() })) })),
  allocations: route('GET', '/ipam/allocations', 'every allocation this peer holds',
    empty, v.object({ allocations: v.array(v.object({ owner: v.string(), address: v.string(), prefixLength: int })) })),
  ipamStatus: route('GET', '/ipam/status', 'the IPAM section of the status (readiness and the ring)', empty, IpamStatusSchema),
  rmpeer: route('POST', '/ipam/rmpeer', 'hand the ranges of a dead peer to its heir (idempotent)',
    v.strictObject({ peer: text }),
    v.object({ name: v.string(), nickname: v.optional(v.string()), alreadyRemoved: v.boolean(), addresses: v.number(), reclaimedHere: v.number() })),
  reset: route('POST', '/reset', 'hand our ranges to a live peer, stop, and remove IPAM state and weft devices',
    empty, v.object({ left: v.object({ heir: v.nullable(v.string()), addresses: v.number(), droppedAllocations: v.number() }) })),
  metrics: route('GET', '/metrics', 'every metric as prom-client JSON', empty,
    v.array(v.object({ name: v.string(), help: v.string(), type: v.string(), aggregator: v.string(),
      values: v.array(v.object({ value: v.number(), labels: v.record(v.string(), v.union([v.string(), v.number()])), metricName: v.optional(v.string()) })) }))),
} as const;

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;
/** What a client sends to `R` (body for POST, query for GET). */
export type RequestOf<R extends RouteSpec> = v.InferInput<R['request']>;
/** What a handler of `R` receives after validation. */
export type ValidRequestOf<R extends RouteSpec> = v.InferOutput<R['request']>;
/** What `R` answers. */
export type ReplyOf<R extends RouteSpec> = v.InferOutput<R['reply']>;

export type StatusReport = v.InferOutput<typeof StatusReportSchema>;
export type StatusPeer = v.InferOutput<typeof StatusPeerSchema>;
export type StatusConnection = v.InferOutput<typeof StatusConnectionSchema>;
export type StatusTarget = v.InferOutput<typeof StatusTargetSchema>;
export type IpamStatusReport = v.InferOutput<typeof IpamStatusSchema>;
export type DataplaneStatusReport = v.InferOutput<typeof DataplaneStatusSchema>;
export type NetworkInfo = v.InferOutput<typeof NetworkInfoSchema>;
export type AttachRequest = RequestOf<Routes['attach']>;
export type AttachReply = ReplyOf<Routes['attach']>;
export type EndpointInfo = v.InferOutput<typeof EndpointSchema>;

// ───────────────────────────── validation ─────────────────────────────

function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue);
  if (issue.kind === 'schema' && issue.expected === 'never' && path) return `unknown field "${path}"`;
  if (issue.kind === 'schema' && issue.received === 'undefined' && path) return `missing field "${path}"`;
  const where = path ? `field "${path}"` : 'body';
  return `${where}: ${issue.message}`;
}

/**
 * Validate `input` against `schema`: the parsed value, or the first problem as one line naming
 * the field (`missing field "netns"`, `field "mtu": Invalid type: Expected number but received "x"`).
 */
export function validate<S extends v.GenericSchema>(schema: S, input: unknown):
  { ok: true; value: v.InferOutput<S> } | { ok: false; problem: string } {
  const r = v.safeParse(schema, input);
  if (r.success) return { ok: true, value: r.output };
  return { ok: false, problem: describeIssue(r.issues[0]).replace(/\s*\n\s*/g, ' ') };
}
