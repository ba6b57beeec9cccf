import { Type as T, type Static } from '@sinclair/typebox';

/**
 * Schema of `GET /status` (both listeners): every section typed, nothing open-ended except
 * per-name counter maps. Fields are only ever added, never renamed; optional fields may be
 * absent on older daemons.
 */

const Str = T.String();
const Int = T.Integer({ minimum: 0 });
const Num = T.Number();
const Bool = T.Boolean();
const Counters = T.Record(T.String(), T.Number());
const Enabled = T.Object({ enabled: Bool, reason: T.Optional(Str) });

/** One peer of the topology as the daemon knows it (gossiped, possibly slightly stale). */
export const StatusPeerSchema = T.Object({
  name: Str, nickname: Str, uid: Str,
  version: T.Number({ description: 'topology version of this peer\'s announcement' }),
  connections: T.Array(T.Object({ name: Str, address: Str, outbound: Bool, established: Bool })),
});

/** One data path of a connection: its state, MTU and why it is not used. */
export const PathStatusSchema = T.Object({ path: Str, state: Str, mtu: T.Optional(Num), reason: T.Optional(Str) });

/** One of our own control connections. */
export const StatusConnectionSchema = T.Object({
  peer: T.String({ description: 'remote peer name (empty while connecting)' }),
  nickname: T.Optional(Str),
  address: T.String({ description: 'remote "host:port"' }),
  outbound: Bool,
  state: T.Union([T.Literal('established'), T.Literal('connecting'), T.Literal('failed')]),
  encrypted: Bool,
  reason: T.Optional(Str),
  since: T.Optional(T.String({ description: 'ISO-8601 time the connection entered its state' })),
  mtu: T.Optional(Num),
  mode: T.Optional(T.String({ description: '"hostgw", "vxlan" or "sleeve"' })),
  paths: T.Optional(T.Array(PathStatusSchema)),
});

/** One address the connection maker keeps trying (with backoff). */
export const StatusTargetSchema = T.Object({
  address: Str,
  state: T.Union([T.Literal('waiting'), T.Literal('connecting'), T.Literal('connected'), T.Literal('failed')]),
  attempts: Int,
  lastError: T.Optional(Str),
  nextTryAt: T.Optional(Str),
  direct: T.Boolean({ description: 'given by the operator (launch/connect), not discovered' }),
});

/** The IPAM section (`GET /ipam/status` too). */
export const IpamStatusSchema = T.Object({
  status: T.Union([T.Literal('ready'), T.Literal('awaiting-consensus'), T.Literal('no-range'), T.Literal('split-ring'), T.Literal('idle'), T.Literal('removed')]),
  reason: T.Optional(Str),
  self: Str, nickname: Str, range: Str,
  mode: T.Union([T.Literal('consensus'), T.Literal('seed'), T.Literal('observer')]),
  ringId: T.Optional(Str), origin: T.Optional(Str),
  owned: Int, free: Int, allocated: Int, pending: Int,
  unreachable: T.Array(T.Object({ name: Str, nickname: T.Optional(Str), addresses: Int, percent: Num })),
  quorum: T.Optional(Int), known: T.Optional(Int),
  conflicts: Counters,
  removedPeers: T.Array(Str),
  awaitingReclaim: T.Array(T.Object({ name: Str, heir: T.Union([Str, T.Null()]), addresses: Int })),
  entries: T.Array(T.Object({ start: Str, end: Str, owner: Str, nickname: T.Optional(Str), free: Int })),
});

const SleeveLinkSchema = T.Object({
  peer: Str, state: T.Union([T.Literal('pending'), T.Literal('healthy'), T.Literal('failed')]), confirmed: Bool,
  udpAddress: T.Union([Str, T.Null()]), pathMtu: Num, overlayMtu: Num, encrypted: Bool, sendEpoch: Num, recvEpoch: Num,
});

const SleeveStatsSchema = T.Object({
  drops: Counters, relayedFrames: Num, macMoves: Num, macs: Num,
  peers: T.Record(T.String(), T.Object({ framesIn: Num, bytesIn: Num, framesOut: Num, bytesOut: Num, mtu: Num })),
  batches: T.Object({
    tapReads: Num, tapFramesRead: Num, udpReads: Num, udpDatagramsRead: Num, udpSends: Num, udpDatagramsSent: Num,
    tapFramesWritten: Num, tapWriteCalls: Num, tapSuperFrames: Num, tapFramesCoalesced: Num,
  }),
});

const FastpathStatusSchema = T.Object({
  kernelPaths: Enabled, hostGw: Enabled,
  vxlan: T.Object({ device: Str, port: Num, vni: Num, probePort: Num }),
  espTransport: T.Object({ supported: Bool, reason: Str }),
  trustedSubnets: T.Array(Str),
  podMtu: Num,
  flood: T.String({ description: '"kernel" or "sleeve"' }),
  connections: T.Array(T.Object({ peer: Str, mode: Str, encrypted: Bool, mtu: T.Optional(Num), paths: T.Array(PathStatusSchema) })),
  kernel: T.Object({
    vxlanEntries: Num, floodTo: T.Array(T.Union([Str, T.Undefined()])), hostGwRoutes: Num, forwards: Num, localPods: Num, lastError: T.Optional(Str),
  }),
});

/** The data-plane section: bridge, MTU, fast paths, sleeve links and counters. */
export const DataplaneStatusSchema = T.Object({
  mode: T.String({ description: '"fastpath" or "sleeve"' }),
  bridge: Str, mtu: Num,
  fastpath: FastpathStatusSchema,
  links: T.Array(SleeveLinkSchema),
  stats: SleeveStatsSchema,
});

/** The network-policy section: where policy comes from, what is enforced, the last apply. */
export const PolicyStatusSchema = T.Object({
  source: T.String({ description: '"mesh" (weft policy apply, gossiped) or "kube" (the Kubernetes API)' }),
  policies: Num, namespaces: Num, pods: T.Integer({ minimum: 0, description: 'pods known cluster-wide' }),
  localPods: T.Integer({ minimum: 0, description: 'local pod addresses the ruleset speaks for' }),
  rules: Num, isolations: Num,
  applies: T.Integer({ minimum: 0, description: 'rulesets handed to the kernel edge' }),
  errors: T.Integer({ minimum: 0, description: 'failed compiles or applies' }),
  lastApply: T.Optional(T.Object({
    atMs: T.Number({ description: 'wall-clock ms' }), durationMs: T.Number({ minimum: 0 }), changed: Bool,
    elementsAdded: Num, elementsRemoved: Num, rulesChanged: Num,
  })),
  lastError: T.Optional(Str),
  enforcing: T.Boolean({ description: 'the kernel edge is running' }),
  pending: T.Optional(T.Boolean({ description: 'a change of the input is not compiled and applied yet' })),
  inputDigest: T.Optional(T.String({ description: 'policyInputDigest of the input in force (last applied; with no policy, nothing to enforce): equal on hosts that enforce the same world' })),
  kube: T.Optional(T.Object({
    server: Str,
    synced: T.Boolean({ description: 'pods, namespaces and networkpolicies all listed: until then the previous ruleset stays in force' }),
    resources: T.Record(T.String(), T.Object({
      state: Str, listed: Bool, objects: Num, lists: Num, reconnects: Num, errors: Num, lastError: T.Optional(Str),
    })),
    pods: T.Object({ used: Num, skipped: T.Record(T.String(), Num) }),
    rejected: T.Object({ total: Num, current: T.Array(T.Object({ key: Str, reason: Str })) }),
  }, { description: 'Kubernetes mode: what the API server watches are doing' })),
});

/** The service-discovery section: the DNS server and what it answers (docs/dns.md). */
export const DnsStatusSchema = T.Object({
  domain: Str,
  listening: T.Union([Str, T.Null()], { description: 'ADDR:PORT the server listens on; null while the host has no overlay address (weft expose)' }),
  upstreams: T.Array(Str, { description: 'resolvers every other name is forwarded to' }),
  names: T.Integer({ minimum: 0, description: 'names the weft domain answers' }),
  manual: T.Integer({ minimum: 0, description: 'live dns-add records (name and address pairs)' }),
  skippedWorkloads: T.Integer({ minimum: 0, description: 'workloads whose name is not a DNS name' }),
  queries: T.Object({
    answered: Num, nxdomain: Num, forwarded: Num, servfail: Num,
    refused: T.Integer({ minimum: 0, description: 'malformed messages refused (FORMERR or dropped)' }),
  }),
  refusedBy: T.Record(T.String(), Num, { description: 'refused messages by reason' }),
});

/** Snapshot of a running peer. */
/** The cluster secret as status shows it: where it came from and how many — never the secret
 *  nor anything derived from it. */
export const SecretStatusSchema = T.Object({
  source: T.Union([T.Literal('file'), T.Literal('fd'), T.Literal('env'), T.Literal('none')]),
  secrets: T.Integer({ minimum: 0, maximum: 2, description: 'secrets accepted: 1, or 2 during a rotation (the first is used to initiate)' }),
  kdf: T.Array(T.Union([T.Literal('argon2id'), T.Literal('raw')]), { description: 'per secret: Argon2id (a password) or one hash (a random secret)' }),
  deriveMs: T.Number({ minimum: 0, description: 'time the last PSK derivation took (ms)' }),
  rotatedAt: T.Optional(T.String({ description: 'ISO-8601 time of the last `weft secret rotate`' })),
});

export const StatusReportSchema = T.Object({
  name: T.String({ description: 'our peer name ("8e:1f:…")' }),
  nickname: Str,
  version: T.String({ description: 'weft package version of the daemon' }),
  protocol: T.Object({ min: Int, max: Int }),
  encrypted: T.Boolean({ description: 'a cluster secret is configured' }),
  encryptionWarning: T.Optional(Str),
  secret: T.Optional(SecretStatusSchema),
  port: T.Integer({ minimum: 0, maximum: 65535, description: 'TCP control / UDP sleeve port' }),
  uid: T.String({ description: 'per-run unique id of this peer incarnation' }),
  pid: T.Optional(Int),
  peers: T.Array(StatusPeerSchema),
  connections: T.Array(StatusConnectionSchema),
  targets: T.Array(StatusTargetSchema),
  routes: T.Optional(T.Object({ unicast: T.Record(T.String(), T.String()) })),
  collisions: T.Optional(T.Array(Str)),
  dataplane: T.Optional(DataplaneStatusSchema),
  ipam: T.Optional(IpamStatusSchema),
  policy: T.Optional(PolicyStatusSchema),
  dns: T.Optional(DnsStatusSchema),
});

export type StatusReport = Static<typeof StatusReportSchema>;
export type StatusPeer = Static<typeof StatusPeerSchema>;
export type StatusConnection = Static<typeof StatusConnectionSchema>;
export type StatusTarget = Static<typeof StatusTargetSchema>;
export type IpamStatusSection = Static<typeof IpamStatusSchema>;
export type DataplaneStatus = Static<typeof DataplaneStatusSchema>;
export type PolicyStatus = Static<typeof PolicyStatusSchema>;
export type DnsStatus = Static<typeof DnsStatusSchema>;
