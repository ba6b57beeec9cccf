import { Type as T, type Static, type TSchema } from '@sinclair/typebox';
import { CNI_MAX_STDIN_BYTES, DNS_MAX_ADDRESSES_PER_CALL, POLICY_MAX_TEXT_BYTES } from '../common/index.js';
import { API_ROUTES, type RouteName } from './route-table.js';
import { MAX_OWNER_LENGTH, MAX_PEERS_PER_CALL } from './route-limits.js';
import {
  StatusReportSchema, StatusTargetSchema, IpamStatusSchema, SecretStatusSchema,
} from './status-schema.js';

/**
 * Every API route declared once: name, method and path (from route-table.ts), a one-line
 * summary, the request schema (the JSON body for POST, the query parameters for GET) and
 * the reply schema. The daemon validates every request against these before its handler
 * runs; clients get their request and reply types from them; docs/api.md is generated
 * from them (`npm run docs:api`). Loading this module loads typebox (~70 ms): the CNI
 * plugins import only its types.
 */


const NonEmpty = (description?: string, maxLength = 4096) => T.String({ minLength: 1, maxLength, ...(description ? { description } : {}) });
const Owner = NonEmpty('opaque owner id; CNI uses cni/<network>/<containerID>/<ifname>', MAX_OWNER_LENGTH);
const Strict = { additionalProperties: false } as const;
const Empty = T.Object({}, Strict);
const Peers = T.Array(NonEmpty('"host", "host:port" or "[v6]:port"', 300), { maxItems: MAX_PEERS_PER_CALL });
const OwnedAddress = T.Object({ address: Str('e.g. "10.32.0.5"'), prefixLength: T.Integer({ minimum: 0, maximum: 128 }), cidr: Str('address/prefixLength') });

function Str(description: string) {
  return T.String({ description });
}

/** A route: its reference (name, method, path), summary, request and reply schemas. */
export interface RouteDef<K extends RouteName = RouteName, Req extends TSchema = TSchema, Rep extends TSchema = TSchema> {
  name: K;
  method: (typeof API_ROUTES)[K]['method'];
  path: (typeof API_ROUTES)[K]['path'];
  summary: string;
  request: Req;
  reply: Rep;
}

function def<K extends RouteName, Req extends TSchema, Rep extends TSchema>(name: K, summary: string, request: Req, reply: Rep): RouteDef<K, Req, Rep> {
  const ref = API_ROUTES[name];
  return { name, method: ref.method, path: ref.path, summary, request, reply };
}

/** Labels as given (syntax checked by the handler: one line naming the bad key or value). */
const Labels = T.Record(T.String({ maxLength: 317 }), T.String({ maxLength: 63 }), { description: 'label KEY: VALUE (Kubernetes syntax)', maxProperties: 64 });
const PodPortSchema = T.Object({
  name: NonEmpty('port name (IANA service name, e.g. "http")', 15),
  port: T.Integer({ minimum: 1, maximum: 65535 }),
  protocol: T.Union([T.Literal('TCP'), T.Literal('UDP'), T.Literal('SCTP')]),
}, Strict);
/** A pod's identity as policy sees it. */
export const PodIdentitySchema = T.Object({
  namespace: Str('policy namespace of the pod'), name: Str('pod name'), labels: T.Record(T.String(), T.String()),
  ports: T.Array(T.Object({ name: T.String(), port: T.Integer(), protocol: T.String() })),
});
const PolicyRefs = T.Array(NonEmpty('NS/NAME', 320), { maxItems: 4096 });
const DnsName = NonEmpty('a name, relative to the weft domain ("db") or under it ("db.weft.local")', 253);
const PolicyText = T.String({ minLength: 1, maxLength: POLICY_MAX_TEXT_BYTES, description: 'YAML or JSON: NetworkPolicy and Namespace documents (---, or a List)' });
const PolicySource = NonEmpty('where the text came from, for error messages (file name or "-")', 256);

export const AttachReplySchema = T.Object({
  ifname: Str('interface name inside the namespace'), hostIfname: Str('host-side veth on the bridge'), mac: Str('MAC of the pod interface'),
  cidr: Str('address given to the interface'), mtu: T.Integer({ minimum: 0 }), allocated: T.Boolean({ description: 'the address came from IPAM' }),
});

export const NetworkInfoSchema = T.Object({
  bridge: NonEmpty('Linux bridge pods attach to'),
  mtu: T.Integer({ minimum: 68, maximum: 65535, description: 'MTU for pod interfaces' }),
  range: Str('the overlay\'s address range (CIDR)'),
  gateway: T.Optional(Str('host\'s address on the overlay, when exposed')),
  txChecksumOff: T.Boolean({ description: 'pod veths need TX checksum offload off' }),
});

export const ListedEndpointSchema = T.Object({
  netns: Str('namespace path'), ifname: Str('interface in the namespace'), hostIfname: Str('host-side veth'), mac: Str('MAC'),
  addresses: T.Array(T.String(), { description: 'CIDRs on the pod interface' }),
  pod: T.Optional(PodIdentitySchema),
});

const MetricSchema = T.Object({
  name: T.String(), help: T.String(), type: T.String(), aggregator: T.Optional(T.String()),
  values: T.Array(T.Object({ value: T.Number(), labels: T.Record(T.String(), T.Union([T.String(), T.Number(), T.Undefined()])), metricName: T.Optional(T.String()) })),
});

/** The whole API, by route name. */
export const ROUTES = {
  status: def('status', 'snapshot of this peer: name, peers, connections, targets, data plane, IPAM', Empty, StatusReportSchema),
  report: def('report', 'the status plus the (redacted) config and the topology dump', Empty,
    T.Intersect([StatusReportSchema, T.Object({ config: T.Record(T.String(), T.Unknown()), topology: T.Unknown() })])),
  stop: def('stop', 'stop the daemon (the reply comes first)', Empty, T.Object({ stopping: T.Boolean() })),
  connect: def('connect', 'add peers to connect to; replace drops operator-given targets not listed',
    T.Object({ peers: Peers, replace: T.Optional(T.Boolean()) }, Strict), T.Object({ targets: T.Array(StatusTargetSchema) })),
  forget: def('forget', 'stop (re)connecting to these targets; established connections stay',
    T.Object({ peers: Peers }, Strict), T.Object({ forgotten: T.Array(T.String()), unknown: T.Array(T.String()) })),
  ping: def('ping', 'round trip to a peer over the mesh gossip',
    T.Object({ peer: NonEmpty('peer name', 64) }, Strict),
    T.Object({ peer: T.String(), rttMs: T.Number({ minimum: 0 }), nextHop: T.Union([T.String(), T.Null()]) })),
  reset: def('reset', 'hand our address ranges to a live peer, stop, remove IPAM state and devices', Empty,
    T.Object({ left: T.Object({ heir: T.Union([T.String(), T.Null()]), addresses: T.Integer({ minimum: 0 }), droppedAllocations: T.Integer({ minimum: 0 }) }) })),
  secretRotate: def('secretRotate', 'load the secret file again (or passwordFile) for new handshakes; established sessions are kept',
    T.Object({ passwordFile: T.Optional(NonEmpty('absolute path; becomes the file for later rotations')) }, Strict), SecretStatusSchema),
  metrics: def('metrics', 'every Prometheus metric as JSON (prom-client getMetricsAsJSON)', Empty, T.Array(MetricSchema)),
  attach: def('attach', 'plumb a veth from the bridge into a namespace; without ip, an address from IPAM',
    T.Object({
      netns: NonEmpty('namespace name, /run/netns/NAME or /proc/PID/ns/net'), ifname: T.Optional(NonEmpty('default ethwe', 15)), ip: T.Optional(NonEmpty('CIDR')),
      namespace: T.Optional(NonEmpty('policy namespace of the pod (default "default")', 63)),
      name: T.Optional(NonEmpty('pod name (default: the network namespace\'s name)', 253)),
      labels: T.Optional(Labels),
      ports: T.Optional(T.Array(PodPortSchema, { maxItems: 64, description: 'named ports policies may refer to' })),
    }, Strict),
    T.Intersect([AttachReplySchema, T.Object({ pod: PodIdentitySchema })])),
  detach: def('detach', 'remove the namespace\'s weft interface and release its IPAM address',
    T.Object({ netns: NonEmpty('namespace'), ifname: T.Optional(NonEmpty('default ethwe', 15)) }, Strict),
    T.Object({ detached: T.Boolean(), released: T.Array(T.String()) })),
  cni: def('cni', 'run one forwarded weft-net CNI invocation (CNI_* variables and stdin); the answer is what the plugin prints and its exit code',
    T.Object({
      env: T.Object({
        CNI_COMMAND: T.Optional(T.String({ maxLength: 16 })), CNI_CONTAINERID: T.Optional(T.String({ maxLength: 1024 })),
        CNI_NETNS: T.Optional(T.String({ maxLength: 4096 })), CNI_IFNAME: T.Optional(T.String({ maxLength: 64 })),
        CNI_ARGS: T.Optional(T.String({ maxLength: 65536 })), CNI_PATH: T.Optional(T.String({ maxLength: 65536 })),
      }, Strict),
      stdin: T.String({ maxLength: CNI_MAX_STDIN_BYTES, description: 'the network configuration exactly as the runtime sent it' }),
    }, Strict),
    T.Object({ exitCode: T.Union([T.Literal(0), T.Literal(1)]), output: Str('stdout of the plugin: the result or the CNI error JSON, or empty') })),
  expose: def('expose', 'put an address (given or from IPAM) on the bridge', T.Object({ cidr: T.Optional(NonEmpty('CIDR')) }, Strict), T.Object({ cidr: T.String() })),
  hide: def('hide', 'remove an exposed address (default: all of them)', T.Object({ cidr: T.Optional(NonEmpty('CIDR')) }, Strict), T.Object({ hidden: T.Array(T.String()) })),
  endpoints: def('endpoints', 'namespaces attached to the bridge', Empty, T.Object({ endpoints: T.Array(ListedEndpointSchema) })),
  network: def('network', 'what a plugin needs to plumb a pod onto this host', Empty, NetworkInfoSchema),
  ipamAllocate: def('ipamAllocate', 'allocate an address for an owner (idempotent per owner); 503 IPAM_NOT_READY while not ready',
    T.Object({ owner: Owner, address: T.Optional(NonEmpty('ask for this address', 64)) }, Strict),
    T.Object({ owner: T.String(), address: Str('e.g. "10.32.0.5"'), prefixLength: T.Integer({ minimum: 0, maximum: 128 }), cidr: Str('e.g. "10.32.0.5/12"') })),
  ipamRelease: def('ipamRelease', 'release an owner\'s address (default: all of them)',
    T.Object({ owner: Owner, address: T.Optional(NonEmpty('only this address', 64)) }, Strict), T.Object({ released: T.Array(T.String()) })),
  ipamLookup: def('ipamLookup', 'an owner\'s addresses (query ?owner=); 404 NOT_FOUND when it has none',
    T.Object({ owner: Owner }, Strict), T.Object({ owner: T.String(), addresses: T.Array(OwnedAddress) })),
  ipamGc: def('ipamGc', 'release every owner under ownerPrefix not listed in keep',
    T.Object({ ownerPrefix: NonEmpty('GC never touches other owners', MAX_OWNER_LENGTH), keep: T.Array(T.String({ maxLength: MAX_OWNER_LENGTH }), { maxItems: 65536 }) }, Strict),
    T.Object({ released: T.Array(T.Object({ owner: T.String(), address: T.String() })) })),
  ipamAllocations: def('ipamAllocations', 'every allocation made on this peer', Empty,
    T.Object({ allocations: T.Array(T.Object({ owner: T.String(), address: T.String(), prefixLength: T.Integer({ minimum: 0, maximum: 128 }) })) })),
  ipamStatus: def('ipamStatus', 'IPAM readiness, ring and ranges', Empty, IpamStatusSchema),
  ipamRmpeer: def('ipamRmpeer', 'hand a dead peer\'s ranges to its heir (idempotent; refused while reachable)',
    T.Object({ peer: NonEmpty('peer name or nickname', 256) }, Strict),
    T.Object({ name: T.String(), nickname: T.Optional(T.String()), alreadyRemoved: T.Boolean(), addresses: T.Integer({ minimum: 0 }), reclaimedHere: T.Integer({ minimum: 0 }) })),
  label: def('label', 'change the labels of an attached pod (like kubectl label); policy follows at once',
    T.Object({
      netns: NonEmpty('network namespace of the pod'), ifname: T.Optional(NonEmpty('default ethwe', 15)),
      set: T.Optional(Labels), remove: T.Optional(T.Array(NonEmpty('label key', 317), { maxItems: 64 })),
    }, Strict),
    PodIdentitySchema),
  policyApply: def('policyApply', 'apply NetworkPolicy and Namespace documents (all or nothing); mesh mode only',
    T.Object({ text: PolicyText, source: PolicySource }, Strict),
    T.Object({ applied: T.Array(Str('NS/NAME')), namespaces: T.Array(T.String()), unchanged: T.Array(T.String()) })),
  policyDelete: def('policyDelete', 'delete policies by NS/NAME (refs), or every object the documents in text name; mesh mode only',
    T.Object({ refs: T.Optional(PolicyRefs), text: T.Optional(PolicyText), source: T.Optional(PolicySource) }, Strict),
    T.Object({ deleted: T.Array(Str('NS/NAME')), namespaces: T.Array(T.String()), unknown: T.Array(T.String()) })),
  policyList: def('policyList', 'every policy in force, with its stamp and origin (mesh mode)', Empty,
    T.Object({
      source: Str('"mesh" or "kube"'),
      policies: T.Array(T.Object({
        namespace: T.String(), name: T.String(), policyTypes: T.Array(T.String()), audit: T.Boolean(),
        origin: T.Optional(Str('peer the last apply was made on')), stampMs: T.Optional(T.Number({ description: 'wall-clock ms of the last apply' })),
        policy: T.Unknown(),
      })),
      namespaces: T.Array(T.Object({ name: T.String(), labels: T.Record(T.String(), T.String()), origin: T.Optional(T.String()), stampMs: T.Optional(T.Number()) })),
    })),
  policyExplain: def('policyExplain', 'which policy and rule decide a connection from src to dst (NS/NAME or an IP)',
    T.Object({
      src: NonEmpty('NS/NAME of a pod, or an IP address', 320), dst: NonEmpty('NS/NAME of a pod, or an IP address', 320),
      protocol: T.Union([T.Literal('TCP'), T.Literal('UDP'), T.Literal('SCTP')]), port: T.Integer({ minimum: 1, maximum: 65535 }),
    }, Strict),
    T.Object({ text: Str('the explanation, one line per step'), explanation: T.Unknown() })),
  dnsAdd: def('dnsAdd', 'add addresses to a name of the weft domain (a manual record, gossiped to every host and kept across restarts)',
    T.Object({ name: DnsName, ips: T.Array(NonEmpty('IPv4 or IPv6 address', 64), { minItems: 1, maxItems: DNS_MAX_ADDRESSES_PER_CALL }) }, Strict),
    T.Object({ name: Str('the full name'), added: T.Array(T.String()), unchanged: T.Array(T.String()) })),
  dnsRemove: def('dnsRemove', 'remove addresses (default: all of them) of a manual record; workload names go with their workload',
    T.Object({ name: DnsName, ips: T.Optional(T.Array(NonEmpty('IPv4 or IPv6 address', 64), { maxItems: DNS_MAX_ADDRESSES_PER_CALL })) }, Strict),
    T.Object({ name: Str('the full name'), removed: T.Array(T.String()), unknown: T.Array(T.String()) })),
  dnsLookup: def('dnsLookup', 'the addresses the weft domain answers for a name (query ?name=); 404 NOT_FOUND for an unknown name',
    T.Object({ name: DnsName }, Strict),
    T.Object({ name: Str('the full name'), addresses: T.Array(T.String()), workloads: T.Array(Str('addresses from attached workloads')), manual: T.Array(Str('addresses from dns-add')) })),
  dnsArgs: def('dnsArgs', 'the --dns and --dns-search arguments for docker run (this host\'s DNS server); 409 DNS_UNAVAILABLE while it does not listen', Empty,
    T.Object({ server: Str('address of this host\'s DNS server'), domain: Str('the weft domain'), args: T.Array(T.String()) })),
} satisfies { [K in RouteName]: RouteDef<K> };

export type Routes = typeof ROUTES;
/** The request of route K: its JSON body (POST) or query parameters (GET). */
export type RequestOf<K extends RouteName> = Static<Routes[K]['request']>;
/** The reply of route K. */
export type ReplyOf<K extends RouteName> = Static<Routes[K]['reply']>;
