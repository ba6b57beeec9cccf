/**
 * Protocol and implementation constants — the one place they live. Every value states its
 * unit. "Spec" values are part of the wire protocol (changing them breaks interop between
 * versions); "impl" values are local tuning and may differ between peers.
 */

// ───────────────────────────── Spec: ports and framing ─────────────────────────────
/** TCP control port and UDP sleeve port (same number). */
export const DEFAULT_PORT = 6783;
/** UDP port of the kernel VXLAN fast path. */
export const DEFAULT_VXLAN_PORT = 6784;
/** Read-only status/metrics HTTP listener. */
export const DEFAULT_STATUS_ADDR = '127.0.0.1:6782';
/** Magic that opens every control connection (4 bytes, ASCII). */
export const PROTOCOL_MAGIC = Buffer.from('weft', 'ascii');
/** Protocol versions this build speaks (inclusive range). Highest common version wins.
 *  v2: the cluster PSK is derived by Argon2id (PSK_KDF_PARAMS[2]); v1 (one BLAKE2b) is gone. */
export const PROTOCOL_MIN_VERSION = 2;
export const PROTOCOL_MAX_VERSION = 2;
/** Prelude: magic(4) + minVersion(1) + maxVersion(1). bytes */
export const PRELUDE_BYTES = 6;
/** Length prefix of post-handshake control messages. bytes */
export const LENGTH_PREFIX_BYTES = 4;
/** Hard limit of one decrypted control message (tag + body). bytes */
export const MAX_CONTROL_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Largest handshake message accepted before authentication. bytes */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 512;
/** Peer names are 6 bytes on the wire, printed like a MAC. bytes */
export const PEER_NAME_BYTES = 6;

// ───────────────────────────── Spec: crypto ─────────────────────────────
/** X25519 key sizes. bytes */
export const X25519_KEY_BYTES = 32;
/** AEAD (ChaCha20-Poly1305 IETF) key / nonce / tag. bytes */
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
/** Handshake timestamps outside now ± this window are refused. ms */
export const HANDSHAKE_CLOCK_WINDOW_MS = 120_000;

// ───────────────────────────── Spec: crypto handshake and keys (src/crypto) ─────────────────────────────
/** Noise protocol name hashed into every handshake (ASCII). */
export const HANDSHAKE_PROTOCOL_NAME = 'Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b';
/** Fixed label prepended to the caller's prologue (ASCII). */
export const HANDSHAKE_PROLOGUE_LABEL = 'weft handshake v1';
/** Domain-separation labels (ASCII) for peer names, the cluster PSK and data-plane keys. */
export const PEER_NAME_LABEL = 'weft peer name';
export const CLUSTER_PSK_LABEL = 'weft cluster psk v1';
/** Argon2id salt context: salt = BLAKE2b-128 of this string (fixed, the same for every weft cluster). */
export const CLUSTER_PSK_SALT_CONTEXT = 'weft cluster psk argon2id salt v2';
/** PSK label of random secrets (64+ hex digits, or binary files of 32+ bytes): one BLAKE2b, no Argon2id. */
export const CLUSTER_PSK_RAW_LABEL = 'weft cluster psk raw v2';
/**
 * Argon2id parameters of the cluster PSK, by negotiated protocol version (the prelude carries the
 * versions and is the handshake prologue, so both ends derive with the same parameters). A later
 * release that raises them adds a version and derives the PSK for each version it speaks.
 * opslimit: passes; memlimit: bytes (libsodium: 1 lane).
 */
export const PSK_KDF_PARAMS: Readonly<Record<number, { opslimit: number; memlimitBytes: number }>> = {
  2: { opslimit: 3, memlimitBytes: 32 * 1024 * 1024 },
};
/** Most secrets one host accepts at once: the one it uses, plus one during a rotation. secrets */
export const MAX_CLUSTER_SECRETS = 2;
/** Shortest hex secret taken as random (256 bits): no Argon2id for it. hex digits */
export const RAW_SECRET_HEX_DIGITS = 64;
/** Shortest non-text (binary) secret taken as random: no Argon2id for it. bytes */
export const RAW_SECRET_BINARY_BYTES = 32;
export const DATA_KEY_ROOT_LABEL = 'weft dataplane keys v1';
export const DATA_KEY_EPOCH_KEY_LABEL = 'weft epoch key';
export const DATA_KEY_EPOCH_CHAIN_LABEL = 'weft epoch chain';
/** Message 1 timestamp: u64 seconds + u32 nanoseconds, big-endian. bytes */
export const HANDSHAKE_TIMESTAMP_BYTES = 12;
/** Exact size of message 1 (e + sealed timestamp). bytes */
export const HANDSHAKE_MSG1_BYTES = 60;
/** Minimum sizes of messages 2 (e, sealed s, tag) and 3 (sealed s, tag); caller payload adds to these. bytes */
export const HANDSHAKE_MSG2_MIN_BYTES = 96;
export const HANDSHAKE_MSG3_MIN_BYTES = 64;
/** Messages one session CipherState may seal/open before it refuses (reconnect long before). messages */
export const SESSION_MAX_MESSAGES = 2 ** 48;
/** Epochs a DataKeySchedule direction holds at once, counted from its oldest retained epoch. epochs */
export const DATA_KEY_EPOCH_SPAN = 4;

// ───────────────────────────── Impl: crypto (src/crypto) ─────────────────────────────
/** Ephemeral keys remembered to refuse replayed handshake message 1s (oldest evicted). entries */
export const HANDSHAKE_REPLAY_CACHE_ENTRIES = 4096;
/** Data-plane anti-replay sliding window (counters behind the highest seen). packets */
export const REPLAY_WINDOW_PACKETS = 8192;

// ───────────────────────────── Impl: control plane timing ─────────────────────────────
/** Time an unauthenticated connection may take to complete the handshake. ms */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Control heartbeat interval. ms (a dead connection is noticed after HEARTBEAT_TIMEOUT_MS) */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** No message for this long closes the connection. ms (issue: ≤ 60 s) */
export const HEARTBEAT_TIMEOUT_MS = 30_000;
/** Incoming handshake token bucket: burst size (handshakes) and refill (handshakes/s). */
export const ACCEPT_BURST = 20;
export const ACCEPT_RATE_PER_S = 10;
/** Concurrent not-yet-authenticated connections. count */
export const MAX_PENDING_HANDSHAKES = 64;
/** Per source address (IPv4, or IPv6 /64): concurrent pending handshakes, and its own accept bucket. count / handshakes / handshakes per s */
export const MAX_PENDING_HANDSHAKES_PER_SOURCE = 8;
export const ACCEPT_BURST_PER_SOURCE = 8;
export const ACCEPT_RATE_PER_SOURCE_PER_S = 4;
/** Reserve accepts for quiet sources (full bucket of their own) once the global bucket is empty. handshakes / handshakes per s */
export const ACCEPT_QUIET_BURST = 2;
export const ACCEPT_QUIET_RATE_PER_S = 1;
/** Source addresses the accept gate tracks at once (idle ones are forgotten first). count */
export const ACCEPT_MAX_SOURCES = 1024;
/** Default connection limit. count */
export const DEFAULT_CONN_LIMIT = 64;
/** Connection maker backoff: first retry interval, factor, cap. ms / × / ms */
export const BACKOFF_INITIAL_MS = 2_000;
export const BACKOFF_FACTOR = 1.5;
export const BACKOFF_MAX_MS = 6 * 60_000;
/** A connection that lived this long resets its target's backoff. ms */
export const BACKOFF_RESET_AFTER_MS = 60_000;
/** Periodic full-state gossip interval. ms */
export const GOSSIP_INTERVAL_MS = 30_000;
/** Coalescing delay for topology updates after a local change. ms */
export const TOPOLOGY_UPDATE_DEFER_MS = 200;
/** Route recalculation debounce. ms */
export const ROUTE_RECALC_DEFER_MS = 50;
/** Unreachable-peer garbage collection delay after an update. ms */
export const PEER_GC_DEFER_MS = 1_000;
/** Gossip fan-out: min(GOSSIP_FANOUT_FACTOR·log2(N), neighbours). */
export const GOSSIP_FANOUT_FACTOR = 2;

// ───────────────────────────── Spec: topology gossip (src/mesh topology*.ts) ─────────────────────────────
/** Most peer records / digest entries / requested names in one topology message. count */
export const TOPOLOGY_MAX_PEERS = 16_384;
/** Most connections one peer record may list. count */
export const TOPOLOGY_MAX_CONNECTIONS_PER_PEER = 1_024;
/** Longest nickname in a peer record. bytes (UTF-8) */
export const TOPOLOGY_MAX_NICKNAME_BYTES = 255;
/** Longest connection address ("ip:port") in a peer record. bytes */
export const TOPOLOGY_MAX_ADDRESS_BYTES = 128;
/** Anti-entropy summary tree: bits of the 32-bit name hash per level (16-ary) and depth. bits / levels */
export const TOPOLOGY_SYNC_BITS_PER_LEVEL = 4;
export const TOPOLOGY_SYNC_MAX_DEPTH = 8;
/** Most summary nodes or digest ranges in one topology message. count */
export const TOPOLOGY_MAX_SYNC_NODES = 4_096;

// ───────────────────────────── Impl: topology gossip (src/mesh topology*.ts) ─────────────────────────────
/** A mismatched summary subtree with at most this many peers (each side) is settled by digest. count */
export const TOPOLOGY_SYNC_LEAF_PEERS = 24;
/** Cap of one UPDATE served in reply to anti-entropy (the rest follows next round). bytes */
export const TOPOLOGY_MAX_UPDATE_BYTES = 1024 * 1024;
/** Self-conflicts (records about our name with another uid that forced a version bump) within
 *  TOPOLOGY_CLONE_WINDOW_MS that mark a likely live clone (cloned data dir). count / ms */
export const TOPOLOGY_CLONE_CONFLICTS = 4;
export const TOPOLOGY_CLONE_WINDOW_MS = 120_000;

// ───────────────────────────── Impl: daemon ─────────────────────────────
export const DEFAULT_DATA_DIR = '/var/lib/weft';
export const DEFAULT_API_SOCKET = '/run/weft/weft.sock';
export const API_SOCKET_ENV = 'WEFT_API_SOCKET';
export const PASSWORD_ENV = 'WEFT_PASSWORD';
/** Replaced PSKs are wiped this long after a rotation (handshakes started before it may still use them). ms */
export const RETIRED_PSK_WIPE_MS = 2 * HANDSHAKE_TIMEOUT_MS;
/** How long `weft launch` waits for a background daemon to become ready. ms */
export const LAUNCH_READY_TIMEOUT_MS = 20_000;

// ───────────────────────────── Impl: operator surface (api, cli) ─────────────────────────────
/** Largest JSON request body the API socket accepts. bytes */
export const API_MAX_BODY_BYTES = 1024 * 1024;
/** Largest response body the API client reads. bytes */
export const API_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Time a client may take to send a whole request to the API/status servers. ms */
export const API_REQUEST_TIMEOUT_MS = 10_000;
/** Most files the web page (`/ui`, the package's ui/ directory) may have. count */
export const UI_ASSET_MAX_FILES = 64;
/** Largest file of the web page. bytes */
export const UI_ASSET_MAX_BYTES = 1024 * 1024;
/** Default API client timeout for one request (connect + reply). ms */
export const API_CLIENT_TIMEOUT_MS = 10_000;
/** On stop, in-flight API responses get this long before their sockets are destroyed. ms */
export const API_SHUTDOWN_GRACE_MS = 2_000;
/** Unix socket paths longer than this cannot be bound on Linux (sun_path minus NUL). bytes */
export const UNIX_SOCKET_PATH_MAX_BYTES = 107;
/** How long `weft stop` waits for the API socket to go quiet. ms */
export const STOP_WAIT_TIMEOUT_MS = 15_000;
/** Poll interval of `weft launch` / `weft stop` while waiting on the daemon. ms */
export const CLI_POLL_INTERVAL_MS = 100;

// ───────────────────────────── Impl: benchmark harness (bench/) ─────────────────────────────
/** Interleaved measurement rounds per scenario. count */
export const BENCH_DEFAULT_ROUNDS = 3;
/** iperf3 run length per measurement. s */
export const BENCH_DEFAULT_DURATION_S = 5;
/** Parallel TCP streams of the multi-stream run. count */
export const BENCH_PARALLEL_STREAMS = 4;
/** Echo requests per RTT measurement, and their interval. count / s */
export const BENCH_PING_COUNT = 20;
export const BENCH_PING_INTERVAL_S = 0.05;
/** Underlay veth MTU between the two simulated hosts. bytes */
export const BENCH_UNDERLAY_MTU = 1500;
/** Pause between measurements so queues and softirq backlog drain. ms */
export const BENCH_SETTLE_MS = 1_000;
/** Time an overlay may take after setup until pod1 reaches pod2. ms */
export const BENCH_REACH_TIMEOUT_MS = 20_000;
/** Default timeout of one helper command (ip, wg, ethtool, key generation). ms */
export const BENCH_EXEC_TIMEOUT_MS = 15_000;
/** Grace between SIGTERM and SIGKILL when stopping a daemon. ms */
export const BENCH_STOP_GRACE_MS = 3_000;
/** Runs whose foreign CPU load is below this count as quiet. % of one core */
export const BENCH_QUIET_FOREIGN_PCT = 20;
/** TCP port of the iperf3 server in the server pod. */
export const BENCH_IPERF_PORT = 5201;

// ───────────────────────────── Spec: sleeve datagrams (src/dataplane) ─────────────────────────────
/** Version carried in the high nibble of a sleeve datagram's first byte. */
export const SLEEVE_VERSION = 1;
/** Clear sleeve header: ver/type(1) flags(1) sender(6) epoch(4) counter(8); it is the AEAD AD. bytes */
export const SLEEVE_HEADER_BYTES = 20;
/** Per-frame record header inside the body: src peer(6) dst peer(6) length(2). bytes */
export const SLEEVE_RECORD_HEADER_BYTES = 14;
/** IPv4 header + UDP header around every sleeve datagram. bytes */
export const UDP_IPV4_OVERHEAD_BYTES = 28;
/** Ethernet header (no VLAN tag). bytes */
export const ETHERNET_HEADER_BYTES = 14;
/** Lowest underlay path MTU the PMTU search will settle on (IPv4 minimum reassembly size). bytes */
export const SLEEVE_PMTU_FLOOR_BYTES = 552;

// ───────────────────────────── Impl: sleeve engine timing and sizes (src/dataplane) ─────────────────────────────
/** Heartbeat interval until the peer confirms it hears us, then the normal interval. ms */
export const SLEEVE_HEARTBEAT_FAST_MS = 500;
export const SLEEVE_HEARTBEAT_MS = 5_000;
/** No authenticated datagram from a peer for this long → path reported failed. ms */
export const SLEEVE_HEARTBEAT_TIMEOUT_MS = 15_000;
/** The sender moves to the next key epoch after this long (once the peer acknowledged the current one). ms */
export const SLEEVE_REKEY_INTERVAL_MS = 120_000;
/**
 * A rotation that is due but blocked for this long because the peer has not acknowledged the
 * current epoch fails the link (reason in status, weft_sleeve_rekey_stalls_total, a warning) and
 * the mesh re-handshakes the connection, instead of staying on the old keys forever. ms
 */
export const SLEEVE_REKEY_ACK_TIMEOUT_MS = 60_000;
/** …or after this many datagrams in one epoch, whichever comes first. datagrams */
export const SLEEVE_REKEY_AFTER_DATAGRAMS = 2 ** 32;
/** Hard stop: never send more datagrams than this in one epoch (far below 2^64). datagrams */
export const SLEEVE_REJECT_AFTER_DATAGRAMS = 2 ** 48;
/** The receiver keeps accepting the previous epoch this long after the peer moved on. ms */
export const SLEEVE_EPOCH_GRACE_MS = 30_000;
/** Learned MAC addresses expire after (must exceed the kernel ARP cache lifetime). ms */
export const SLEEVE_MAC_MAX_AGE_MS = 10 * 60_000;
/** Expiry sweep of the MAC table. ms */
export const SLEEVE_MAC_SWEEP_MS = 60_000;
/** One PMTU probe waits this long for its acknowledgement over the control connection. ms */
export const SLEEVE_PMTU_PROBE_TIMEOUT_MS = 250;
/** Probes per PMTU search before settling on the highest verified size. count */
export const SLEEVE_PMTU_MAX_PROBES = 16;
/** A finished PMTU search is repeated after. ms */
export const SLEEVE_PMTU_RECHECK_MS = 10 * 60_000;
/** Engine housekeeping tick (heartbeats, timeouts, probes, rekey). ms */
export const SLEEVE_TICK_MS = 100;
/**
 * The same tick while every link is healthy, hears its peer and runs no PMTU search (capped at
 * a fifth of the heartbeat interval, so heartbeats stay on time). ms
 */
export const SLEEVE_IDLE_TICK_MS = 1_000;
/** Frames / datagrams taken per readBatch / udpRecvBatch call. count */
export const SLEEVE_BATCH = 64;
/** Batches taken per readiness callback before yielding to the event loop. count */
export const SLEEVE_POLL_ROUNDS = 8;
/** Minimum TAP read slot (grows with the overlay MTU). bytes */
export const SLEEVE_TAP_SLOT_MIN_BYTES = 2048;
/** UDP receive slot; larger datagrams are truncated and counted as malformed. bytes */
export const SLEEVE_UDP_SLOT_BYTES = 16_384;
/** Transmit arena shared by all peers for one flush. bytes */
export const SLEEVE_TX_ARENA_BYTES = 1024 * 1024;
/** Queued transmit frames per flush (frames × fan-out). count */
export const SLEEVE_TX_MAX_ENTRIES = 4096;
/** UDP socket SO_RCVBUF / SO_SNDBUF. bytes */
export const SLEEVE_UDP_BUF_BYTES = 4 * 1024 * 1024;
// ── sleeve performance switches (src/dataplane; each has an env override for A/B runs) ──
/** Open the sleeve TAP with a vnet header and coalesce received TCP segments into GSO super-frames (one TAP write per run). */
export const SLEEVE_TAP_COALESCE = true;
/** virtio_net_hdr size used on the sleeve TAP when coalescing (10 = struct virtio_net_hdr). bytes */
export const SLEEVE_VNET_HDR_BYTES = 10;
/** Send runs of equal-size sleeve datagrams to one peer as one UDP GSO message (UDP_SEGMENT); env WEFT_SLEEVE_UDP_GSO=0|1 overrides. */
export const SLEEVE_UDP_GSO = true;
/** Receive sleeve datagrams with UDP GRO (one buffer per train, split by the addon); env WEFT_SLEEVE_UDP_GRO=0|1 overrides. */
export const SLEEVE_UDP_GRO = true;
/** Receive buffer per UDP GRO message (a GRO train is at most 64 KiB). bytes */
export const SLEEVE_UDP_GRO_MSG_BYTES = 65_536;
/** Underlay MTU assumed when none is known. bytes */
export const DEFAULT_UNDERLAY_MTU = 1500;

// ───────────────────────────── Impl: host plumbing (src/host) ─────────────────────────────
/** Timeout of one ip/ethtool/sysctl/nsenter invocation. ms */
export const HOST_EXEC_TIMEOUT_MS = 10_000;
/** Transmit queue length of the sleeve TAP (bursty userspace reader). frames */
export const HOST_TAP_TXQUEUELEN = 5_000;
/** Default bridge and container interface names. */
export const DEFAULT_BRIDGE_NAME = 'weft';
export const DEFAULT_TAP_NAME = 'weft-tap';
export const DEFAULT_CONTAINER_IFNAME = 'ethwe';

// ───────────────────────────── Spec: IPAM gossip (src/ipam) ─────────────────────────────
/** Gossip channel name the IPAM registers with the router. */
export const IPAM_CHANNEL = 'ipam';
/** Version byte that opens every IPAM gossip message. */
export const IPAM_WIRE_VERSION = 1;
/** Ring identity: truncated SHA-256 of the ring's origin (range, mode, members). bytes */
export const IPAM_RING_ID_BYTES = 16;
/** Most ring entries / tombstones / electors / members one IPAM message may carry. count */
export const IPAM_MAX_ENTRIES = 65_536;
export const IPAM_MAX_TOMBSTONES = 65_536;
export const IPAM_MAX_ELECTORS = 4_096;
export const IPAM_MAX_MEMBERS = 4_096;
/** Longest nickname / denial reason carried in IPAM messages. bytes (UTF-8) */
export const IPAM_MAX_NICKNAME_BYTES = 64;
export const IPAM_MAX_REASON_BYTES = 256;
/** Most designated heirs one peer may list. count */
export const IPAM_MAX_DESIGNATED_HEIRS = 8;
/** Narrowest allocation range: a /30 has 2 usable addresses. prefix length (IPv4) */
export const IPAM_MAX_PREFIX_V4 = 30;

// ───────────────────────────── Impl: IPAM (src/ipam) ─────────────────────────────
/** Default allocation range (`--ipalloc-range`). CIDR */
export const DEFAULT_IPALLOC_RANGE = '10.32.0.0/12';
/** Heirs each peer designates for its ranges (the first live one inherits after rmpeer). count */
export const IPAM_DESIGNATED_HEIRS = 3;
/** Housekeeping tick: consensus retries, donation timeouts, auto-reclaim. ms */
export const IPAM_TICK_INTERVAL_MS = 1_000;
/** A space request unanswered for this long counts as refused; the next donor is asked. ms */
export const IPAM_DONATION_TIMEOUT_MS = 5_000;
/** Donors asked for one allocation before it fails with WEFT_ERR_IPAM_EXHAUSTED. count */
export const IPAM_MAX_DONOR_TRIES = 5;
/** Upper bound of one pending allocation (waiting for donations). ms */
export const IPAM_ALLOCATION_TIMEOUT_MS = 30_000;
/** A consensus proposer without progress for this long starts a higher round. ms */
export const IPAM_CONSENSUS_RETRY_MS = 3_000;
/** The append log is compacted into a snapshot after this many records / bytes. count / bytes */
export const IPAM_COMPACT_AFTER_RECORDS = 4_096;
export const IPAM_COMPACT_AFTER_BYTES = 4 * 1024 * 1024;
/** Largest single store record accepted on load (guards against a corrupt length). bytes */
export const IPAM_MAX_RECORD_BYTES = 16 * 1024 * 1024;

// ───────────────────────────── Impl: native data-plane addon (src/dataplane/native*.ts) ─────────────────────────────
/** Default SO_RCVBUF/SO_SNDBUF of addon UDP sockets (forced past rmem_max/wmem_max as root). bytes */
export const NATIVE_UDP_BUF_BYTES = 4 * 1024 * 1024;
/** Batch size the addon is tuned for (one recvmmsg/sendmmsg chunk is 64 messages). messages */
export const NATIVE_BATCH_MAX = 64;

// ───────────────────────────── Impl: CNI plugins (src/cni) ─────────────────────────────
/** Largest network configuration accepted on a plugin's stdin. bytes */
export const CNI_MAX_STDIN_BYTES = 1024 * 1024;
/** Plugin → daemon request limit (network info, release, lookup, status, gc). ms */
export const CNI_DAEMON_TIMEOUT_MS = 10_000;
/** Plugin → daemon allocation limit (an allocation may wait for a donation from another peer). ms */
export const CNI_ALLOCATE_TIMEOUT_MS = 35_000;
/** Limit of one delegated IPAM plugin run (ADD/DEL/CHECK/GC/STATUS). ms */
export const CNI_DELEGATE_TIMEOUT_MS = 60_000;
/** Default network name and conflist file name written by `weft setup-cni`. */
export const CNI_DEFAULT_NETWORK = 'weft';
export const CNI_CONFLIST_FILE = '10-weft.conflist';
/** Default directories of CNI plugin executables and network configurations. */
export const CNI_DEFAULT_BIN_DIR = '/opt/cni/bin';
export const CNI_DEFAULT_CONF_DIR = '/etc/cni/net.d';

// ───────────────────────────── Spec: fast paths (src/dataplane/fastpath) ─────────────────────────────
/** VXLAN network identifier of the data device (pod frames) and of the probe device. 24-bit */
export const FASTPATH_DATA_VNI = 0x574654;
export const FASTPATH_PROBE_VNI = 0x574655;
/** Probe socket port = VXLAN port + this (host-gw probes and decapsulated VXLAN probes arrive there). */
export const FASTPATH_PROBE_PORT_OFFSET = 1;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) around a pod packet. bytes */
export const VXLAN_OVERHEAD_BYTES = 50;
/** Address of every host's probe device (/30; the peer's probes come from the next address). */
export const FASTPATH_PROBE_ADDR = '169.254.67.84';
export const FASTPATH_PROBE_PEER_ADDR = '169.254.67.85';
export const FASTPATH_PROBE_PREFIX = 30;
/** Gossip channel carrying each peer's local pod MACs and IPv4 addresses. */
export const FASTPATH_CHANNEL = 'fastpath';
/** Most MACs / IPv4 addresses one peer may announce. count */
export const FASTPATH_MAX_MACS = 4_096;
export const FASTPATH_MAX_IPS = 4_096;
/** Route protocol number tagging weft's host-gw routes (`ip route … proto 87`). */
export const FASTPATH_ROUTE_PROTO = 87;

// ───────────────────────────── Impl: fast paths (src/dataplane/fastpath) ─────────────────────────────
/** Default device names of the VXLAN data device (on the bridge) and of the probe device. */
export const FASTPATH_VXLAN_DEVICE = 'weft-vxlan';
export const FASTPATH_PROBE_DEVICE = 'weft-vxprobe';
/** nftables table (netdev family) holding host-gw's ingress forwarding: maps, sets, chains. */
export const FASTPATH_NFT_TABLE = 'weft_hostgw';
/** A working path is probed this often (full-size probe and full-size reply). ms */
export const FASTPATH_PROBE_INTERVAL_MS = 250;
/** No reply for this long → the path is failed and traffic moves to the next path. ms (< 2 s) */
export const FASTPATH_FAIL_AFTER_MS = 1_200;
/** Consecutive answered probes before a (re)tried path carries traffic. count */
export const FASTPATH_CONFIRM_REPLIES = 3;
/** A failed path is re-probed after this, doubling per failed attempt up to the cap. ms */
export const FASTPATH_REPROBE_INITIAL_MS = 1_000;
export const FASTPATH_REPROBE_MAX_MS = 16_000;
/**
 * Finest granularity of the switch's housekeeping (probes, timeouts): its timer runs only while
 * some path is probing or has a timeout or retry pending, waking at the earliest deadline but at
 * most once per this interval. ms
 */
export const FASTPATH_TICK_MS = 50;
/** Local pod rescan interval used only when the netlink event subscription cannot be opened. ms */
export const FASTPATH_LOCAL_SCAN_FALLBACK_MS = 1_000;
/** Coalescing window of local kernel events (links, learned MACs) before one rescan of local pods. ms */
export const FASTPATH_EVENT_DEBOUNCE_MS = 100;
/**
 * After a restart, kernel state adopted from the previous daemon (VXLAN entries, host-gw routes,
 * nft elements) that the new daemon does not want yet is kept until every peer it points at is
 * back and programmed, or at most this long; then leftovers are removed. ms
 */
export const FASTPATH_ADOPT_GRACE_MS = 30_000;

/**
 * Sampling interval of the `nodejs_eventloop_lag_*` histogram (perf_hooks.monitorEventLoopDelay):
 * one timer wake-up per interval, idle or not. ms
 */
export const METRICS_EVENT_LOOP_RESOLUTION_MS = 1_000;

/**
 * A restarted daemon dials the peers it was last connected to (data dir peers.json) at once, and
 * keeps them as dial targets this long; then only configured and discovered peers remain. ms
 */
export const REMEMBERED_PEERS_DIAL_MS = 60_000;

// --- network policy (issue 12) ---
/** nftables table (family inet) holding the policy chains, sets and counters. */
export const POLICY_NFT_TABLE = 'weft_policy';
/** NFLOG group of policy drops and audit "would drop" records (read by the flow records). */
export const POLICY_NFLOG_GROUP = 3217;
/** Policy drops/audit records logged to NFLOG at most this many per second per host (counters count all). */
export const POLICY_NFLOG_RATE_PER_S = 100;
/** Gossip channel of the policy store (policies and namespaces, LWW per object). */
export const POLICY_GOSSIP_CHANNEL = 'policy';
/** Gossip channel of the workload directory (pod identities: namespace, name, labels, ports, addresses). */
export const WORKLOAD_GOSSIP_CHANNEL = 'workloads';
/** Tombstones of deleted policy objects are kept this long before they may be forgotten (ms). */
export const POLICY_TOMBSTONE_TTL_MS = 24 * 3600_000;
/** Changes to the policy inputs are coalesced for this long before the ruleset is recompiled (ms). */
export const POLICY_RECOMPILE_DEBOUNCE_MS = 20;
/** Largest workload-directory or policy-store gossip message (JSON envelope included). bytes */
export const POLICY_GOSSIP_MAX_BYTES = 2 * 1024 * 1024;
/** Most pods one host may announce in the workload directory. count */
export const WORKLOAD_MAX_PODS_PER_HOST = 4_096;
/** Most addresses one pod may announce. count */
export const WORKLOAD_MAX_IPS_PER_POD = 16;
/** Most objects (policies, namespaces and tombstones together) the policy store holds or one message carries. count */
export const POLICY_MAX_OBJECTS = 16_384;
/** Largest policy document text `weft policy apply` may send (the API body limit also applies). bytes */
export const POLICY_MAX_TEXT_BYTES = 512 * 1024;
/** A failed policy compile or kernel apply is retried after this long (or at the next change). ms */
export const POLICY_APPLY_RETRY_MS = 1_000;

// --- Kubernetes mode (issue 12: `weft launch --kube` / `--kubeconfig FILE`) ---
/** First retry after a failed list or a dropped watch; doubles per consecutive failure. ms */
export const KUBE_RETRY_MIN_MS = 500;
/** Longest pause between two retries of a list or watch. ms */
export const KUBE_RETRY_MAX_MS = 30_000;
/** Changes seen on the API server's watches are coalesced this long before the source reports a change. ms */
export const KUBE_CHANGE_DEBOUNCE_MS = 50;
/** Objects per list request (`limit`; the rest follow with `continue`). objects */
export const KUBE_LIST_PAGE_SIZE = 500;
/** A list of more pages than this is refused (a server that never ends its `continue` chain). pages */
export const KUBE_LIST_MAX_PAGES = 10_000;

// --- Docker plugin (issue 14: libnetwork remote network + IPAM driver) ---
/** Content type of Docker's plugin protocol (requests and replies). */
export const DOCKER_PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';
/** Where dockerd discovers the plugin (`weft` is the driver name: the file name without `.sock`). */
export const DEFAULT_DOCKER_PLUGIN_SOCKET = '/run/docker/plugins/weft.sock';
/** The Docker Engine API socket the plugin asks for container names and labels. */
export const DEFAULT_DOCKER_API_SOCKET = '/var/run/docker.sock';
/** Largest plugin request body. bytes */
export const DOCKER_PLUGIN_MAX_BODY_BYTES = 64 * 1024;
/** Timeout of one Docker Engine API request. ms */
export const DOCKER_ENGINE_TIMEOUT_MS = 5_000;
/** After Join, the container behind the endpoint is looked up in the Engine API until found, for up to this long. ms */
export const DOCKER_IDENTITY_LOOKUP_MS = 60_000;
/** First pause between two of those lookups; doubles up to DOCKER_IDENTITY_RETRY_MAX_MS. ms */
export const DOCKER_IDENTITY_RETRY_MIN_MS = 100;
/** Longest pause between two lookups. ms */
export const DOCKER_IDENTITY_RETRY_MAX_MS = 2_000;
/** Interface name prefix Docker gives the weft interface inside a container (`eth0`, `eth1`, …). */
export const DOCKER_IFNAME_PREFIX = 'eth';
// --- service discovery (issue 14: weaveDNS-style names) ---
/** Gossip channel of the DNS store's manual records (`weft dns-add`; LWW per name and address). */
export const DNS_GOSSIP_CHANNEL = 'dns';
/** Default domain workload names are answered under (`NAME.weft.local`); `--dns-domain` overrides. */
export const DEFAULT_DNS_DOMAIN = 'weft.local';
/** TTL of every answer under the weft domain (short: names follow attach/detach quickly). s */
export const DNS_TTL_S = 1;
/** UDP and TCP port of the per-host DNS server (on the host's overlay address). */
export const DNS_PORT = 53;
/** Tombstones of removed manual records are kept this long before they may be forgotten. ms */
export const DNS_TOMBSTONE_TTL_MS = 24 * 3600_000;
/** Most manual records (name and address pairs, tombstones included) the store holds. count */
export const DNS_MAX_RECORDS = 16_384;
/** Most addresses one `weft dns-add` may name. count */
export const DNS_MAX_ADDRESSES_PER_CALL = 64;
/** Most addresses one answer carries (the rest are left out; a UDP answer stays under 512 bytes). count */
export const DNS_MAX_ANSWERS = 24;
/** Largest DNS message over UDP without EDNS (RFC 1035). bytes */
export const DNS_UDP_MIN_PAYLOAD = 512;
/** Largest DNS message the server accepts or relays (the TCP length prefix's limit). bytes */
export const DNS_MAX_MESSAGE_BYTES = 65_535;
/** One upstream attempt (UDP, or its TCP retry) waits this long before the next upstream is tried. ms */
export const DNS_UPSTREAM_TIMEOUT_MS = 2_000;
/** Forwarded queries in flight at once; beyond it new ones are answered SERVFAIL. count */
export const DNS_MAX_FORWARDS_IN_FLIGHT = 1_024;
/** An idle TCP client connection is closed after this long. ms */
export const DNS_TCP_IDLE_MS = 10_000;
/** Most TCP client connections at once. count */
export const DNS_MAX_TCP_CLIENTS = 128;
/** The server checks the host's overlay address (expose/hide) this often and rebinds when it moved. ms */
export const DNS_REBIND_CHECK_MS = 2_000;
/** Upstream resolvers are read from this file when `--dns-upstream` is not given. */
export const DNS_RESOLV_CONF = '/etc/resolv.conf';
// --- NAT traversal (issue 16: punched direct sleeve paths between peers behind NAT) ---
/**
 * A peer tells each neighbour where it sees its other neighbours' sleeve datagrams come from
 * (public address:port) this often, and at once when one changes. ms
 */
export const NAT_ANNOUNCE_INTERVAL_MS = 2_000;
/** An observation not refreshed for this long is forgotten (its introducer went away). ms */
export const NAT_OBSERVATION_TTL_MS = 30_000;
/** A punched path that is not healthy this long after both sides started sending counts as failed. ms */
export const NAT_PUNCH_TIMEOUT_MS = 5_000;
/**
 * A routed key exchange (HS1 → HS3) not finished within this long is abandoned and started again
 * after NAT_HANDSHAKE_RETRY_MS, doubling per consecutive loss (a message lost while routes settle). ms
 */
export const NAT_HANDSHAKE_TIMEOUT_MS = 2_000;
export const NAT_HANDSHAKE_RETRY_MS = 500;
/** First pause before punching a peer again after a failure; doubles up to NAT_PUNCH_RETRY_MAX_MS. ms */
export const NAT_PUNCH_RETRY_MS = 15_000;
/** Longest pause between two punching attempts to one peer. ms */
export const NAT_PUNCH_RETRY_MAX_MS = 300_000;
/**
 * Keepalive (sleeve heartbeat) interval on a punched path: it holds both NAT mappings open (far
 * below the 30 s conntrack / home-router UDP timeouts) and lets a dead direct path be noticed
 * within NAT_DIRECT_DEAD_MS. Costs 2 small datagrams per second per punched peer. ms
 */
export const NAT_KEEPALIVE_INTERVAL_MS = 500;
/**
 * A punched path is used only while an authenticated datagram arrived within this long; past it
 * the frames go to the relay again (the path is kept and comes back when datagrams do). ms
 */
export const NAT_DIRECT_DEAD_MS = 1_600;
/** Most peers one endpoint announcement lists (the rest wait for the next round). count */
export const NAT_MAX_ANNOUNCED = 128;
/** Most peers we keep observations, attempts and punched paths for. count */
export const NAT_MAX_PEERS = 1_024;
