import type { LevelWithSilent } from 'pino';
import type { KubeAccess } from '../kube/index.js';

/**
 * Everything `weft launch` can configure. Built by the CLI parser (src/cli), consumed by the
 * daemon (src/daemon). Values are already validated and defaulted when a DaemonConfig exists.
 * The cluster secret itself is never part of the config: only where to read it from.
 */
export interface DaemonConfig {
  /** Peer addresses to connect to at start ("host" or "host:port"). */
  peers: string[];
  /** Explicit peer name override (normally derived from the identity key). */
  name?: string;
  /** Display name; default: os.hostname(). */
  nickname: string;
  /** TCP control + UDP sleeve port. */
  port: number;
  /** Address to bind the control listener to (default all: '0.0.0.0'). */
  host: string;
  /** File holding the cluster secret (or two, during a rotation); the secret may instead come
   *  from passwordFd or WEFT_PASSWORD. */
  passwordFile?: string;
  /** Inherited descriptor (a pipe) holding the secret: how `weft launch` hands WEFT_PASSWORD to
   *  its background daemon without putting it in the daemon's environment. Read once, closed. */
  passwordFd?: number;
  dataDir: string;
  apiSocket: string;
  /** 'host:port' for the read-only HTTP listener, or '' to disable it. */
  statusAddr: string;
  connLimit: number;
  logLevel: LevelWithSilent;
  /** Timing overrides (tests use much shorter values). ms */
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  gossipIntervalMs: number;
  /** Multiplies every connection-maker backoff interval (tests: e.g. 0.1). */
  backoffScale: number;
  /** Linux bridge pods attach to (default 'weft'). */
  bridge: string;
  /** Pod/overlay MTU override; default derived from the underlay MTU minus sleeve overhead. bytes */
  mtu?: number;
  /** IPAM address range (CIDR). */
  ipallocRange: string;
  /** IPAM bootstrap: wait for a quorum of N peers, or let the named seed peers split the range. */
  ipallocInit: { consensus?: number; seeds?: string[] };
  /**
   * Leave TX checksum offload (and TSO) on for pod veths (default true): the sleeve TAP
   * advertises no checksum offload, so the kernel completes checksums before frames reach
   * userspace. `--pod-tx-offload off` restores Weave's conservative "tx off" setting.
   */
  podTxOffload: boolean;
  /** Data-plane key rotation interval override (tests). ms */
  rekeyIntervalMs?: number;
  /** Flow ring size (--flow-ring). records; default FLOW_RING_DEFAULT (docs/flows.md) */
  flowRing?: number;
  /** Flow recording (pod conntrack, NFLOG, sleeve drops); false with --no-flows. Default true. */
  flows?: boolean;
  /** Kernel fast paths (VXLAN, host-gw); false with --no-fastdp. Default true. */
  fastdp?: boolean;
  /** Volunteer as preferred relay for peers without a direct path (`--relay`). Default false. */
  preferredRelay?: boolean;
  /** host-gw between peers on one L2 segment; false with --no-hostgw. Default true. */
  hostGw?: boolean;
  /** UDP port of the kernel VXLAN path (probes use the next port). Default DEFAULT_VXLAN_PORT. */
  vxlanPort?: number;
  /** With a cluster secret, only peers inside these CIDRs may get unencrypted fast paths. */
  trustedSubnets?: string[];
  /** Reclaim the ranges of a peer unreachable for this long (off when undefined). ms */
  ipallocReclaimAfterMs?: number;
  /**
   * Sleeve batching switches, for A/B benchmarks (docs/performance.md); undefined = the
   * defaults SLEEVE_TAP_COALESCE, SLEEVE_UDP_GSO, SLEEVE_UDP_GRO. No flags: `weft launch`
   * sets them from the documented environment overrides WEFT_SLEEVE_TAP_COALESCE,
   * WEFT_SLEEVE_UDP_GSO and WEFT_SLEEVE_UDP_GRO (`0` or `1`), read once when it parses its
   * command line (src/cli/commands/launch-config.ts).
   */
  sleeveTapCoalesce?: boolean;
  sleeveUdpGso?: boolean;
  sleeveUdpGro?: boolean;
  /**
   * Kubernetes mode: read the cluster's pods, namespaces and NetworkPolicies from the API server
   * (`--kube`: in-cluster service account; `--kubeconfig FILE`). Undefined: not in Kubernetes mode.
   */
  kube?: KubeAccess;
  /**
   * Unix socket of the Docker plugin (network + IPAM driver "weft"; dockerd finds it in
   * /run/docker/plugins/). Undefined: no plugin (`--no-docker-plugin`).
   */
  dockerPluginSocket?: string;
  /** dockerd's Engine API socket, where the plugin reads container names and labels (default DEFAULT_DOCKER_API_SOCKET). */
  dockerApiSocket?: string;
  /** Service discovery (docs/dns.md): false with --no-dns. Default true. */
  dns?: boolean;
  /** The weft domain (`--dns-domain`, normalised). Default DEFAULT_DNS_DOMAIN. */
  dnsDomain?: string;
  /** Upstream resolvers (`--dns-upstream`); undefined: the nameservers of /etc/resolv.conf. */
  dnsUpstreams?: { host: string; port: number }[];
  /** Receive buffer of the local kernel-event socket (env WEFT_NETLINK_RCVBUF_BYTES; tests shrink it to force overflows). bytes */
  netlinkRcvbufBytes?: number;
}
