/**
 * JSON shapes exchanged over the API socket and the status listener: the contract between
 * the daemon (which fills them) and the CLI / other clients (which read them). Fields are only
 * ever added, never renamed; optional fields may be absent on older daemons.
 */

/** Snapshot of a running peer, served by `GET /status` (both listeners). */
export interface StatusReport {
  /** Our peer name ("8e:1f:…"). */
  name: string;
  nickname: string;
  /** weft package version of the daemon. */
  version: string;
  /** Protocol versions this daemon speaks (inclusive). */
  protocol: { min: number; max: number };
  /** True when a cluster secret is configured (control and data plane encrypted). */
  encrypted: boolean;
  /** Set when running without encryption or with a weak secret; shown prominently by the CLI. */
  encryptionWarning?: string;
  /** TCP control / UDP sleeve port. */
  port: number;
  /** Per-run unique id of this peer incarnation. */
  uid: string;
  /** Process id of the daemon (lets `weft launch` check that the answering daemon is its own). */
  pid?: number;
  /** Every peer in the topology (us included) with the connections it announces. */
  peers: StatusPeer[];
  /** Our own control connections, including ones still connecting or failed. */
  connections: StatusConnection[];
  /** Addresses the connection maker is trying to keep a connection to. */
  targets: StatusTarget[];
  /** Unicast routes: destination peer name → next-hop peer name. */
  routes?: { unicast: Record<string, string> };
  /** Peers that were seen using our name (cloned data dir), newest last. */
  collisions?: string[];
  /** Later subsystems add sections (ipam, dataplane). */
  [extra: string]: unknown;
}

/** One peer of the topology as the daemon knows it (gossiped, possibly slightly stale). */
export interface StatusPeer {
  name: string;
  nickname: string;
  uid: string;
  /** Topology version of this peer's announcement. */
  version: number;
  connections: { name: string; address: string; outbound: boolean; established: boolean }[];
}

/** One of our own control connections. */
export interface StatusConnection {
  /** Remote peer name (may be empty while connecting). */
  peer: string;
  nickname?: string;
  /** Remote address "host:port". */
  address: string;
  outbound: boolean;
  state: 'established' | 'connecting' | 'failed';
  encrypted: boolean;
  /** Why the connection failed or is degraded (one line). */
  reason?: string;
  /** ISO-8601 time the connection entered its current state. */
  since?: string;
  /** Data-plane path MTU, when known. bytes */
  mtu?: number;
  /** Data-plane mode of this connection ("hostgw", "vxlan" or "sleeve"). */
  mode?: string;
  /** Every data path of this connection: its state, MTU and why it is not used. */
  paths?: { path: string; state: string; mtu?: number; reason?: string }[];
}

/** One address the connection maker keeps trying (with backoff). */
export interface StatusTarget {
  address: string;
  state: 'waiting' | 'connecting' | 'connected' | 'failed';
  attempts: number;
  lastError?: string;
  /** ISO-8601 time of the next attempt, while waiting. */
  nextTryAt?: string;
  /** True when given by the operator (launch/connect), false when discovered via gossip. */
  direct: boolean;
}

/** Body of every error response: `{ "error": { "code", "message" } }`. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** `POST /connect`: add targets; `replace` drops the operator-given targets not listed. */
export interface ConnectRequest {
  peers: string[];
  replace?: boolean;
}

/** `POST /forget`: stop trying to connect to these targets (established connections stay). */
export interface ForgetRequest {
  peers: string[];
}

/** Readiness as reported by the daemon for `/readyz`. */
export interface Readiness {
  ready: boolean;
  /** Why not ready (one line), when `ready` is false. */
  reason?: string;
}

/** Paths of the API calls the CLI uses (other subsystems register more). */
export const API_PATHS = {
  status: '/status',
  report: '/report',
  stop: '/stop',
  connect: '/connect',
  forget: '/forget',
} as const;
