import type { LevelWithSilent } from 'pino';
import {
  DEFAULT_CONN_LIMIT, DEFAULT_DATA_DIR, DEFAULT_PORT, DEFAULT_STATUS_ADDR, DEFAULT_VXLAN_PORT, GOSSIP_INTERVAL_MS,
  HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, DEFAULT_DOCKER_PLUGIN_SOCKET, UNIX_SOCKET_PATH_MAX_BYTES,
} from '../../common/index.js';
import { parseHostPort, parsePeerList } from '../../api/index.js';
import type { DaemonConfig } from '../../daemon/index.js';
import { UsageError, type CliContext } from '../command.js';
import {
  API_SOCKET_OPTION, absolutePath, apiSocketPath, invalid, parseCommandArgs, parseIntFlag, parseNumberFlag,
} from '../args.js';
import { isCidr, isIp, isPeerName, parseCidr } from '../../net/index.js';
import { DNS_LAUNCH_OPTIONS, parseDnsFlags } from './launch-dns.js';

/**
 * `weft launch` flags. The last four are test tuning only and are deliberately left out of
 * `--help`: --heartbeat-interval MS, --heartbeat-timeout MS (> interval), --gossip-interval MS,
 * --backoff-scale X (multiplies every connection-maker backoff, e.g. 0.1) and
 * --rekey-interval MS (data-plane key rotation, default 2 min).
 */
export const LAUNCH_OPTIONS = {
  name: { type: 'string' },
  nickname: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'password-file': { type: 'string' },
  'password-fd': { type: 'string' },
  'data-dir': { type: 'string' },
  ...API_SOCKET_OPTION,
  'status-addr': { type: 'string' },
  'conn-limit': { type: 'string' },
  'log-level': { type: 'string' },
  foreground: { type: 'boolean' },
  'heartbeat-interval': { type: 'string' },
  'heartbeat-timeout': { type: 'string' },
  'gossip-interval': { type: 'string' },
  'backoff-scale': { type: 'string' },
  'rekey-interval': { type: 'string' },
  'pod-tx-offload': { type: 'string' },
  bridge: { type: 'string' },
  mtu: { type: 'string' },
  'ipalloc-range': { type: 'string' },
  'ipalloc-init': { type: 'string' },
  'ipalloc-reclaim-after': { type: 'string' },
  'no-fastdp': { type: 'boolean' },
  relay: { type: 'boolean' },
  'no-hostgw': { type: 'boolean' },
  'vxlan-port': { type: 'string' },
  'trusted-subnets': { type: 'string' },
  kube: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  'docker-plugin-socket': { type: 'string' },
  'no-docker-plugin': { type: 'boolean' },
  'docker-api-socket': { type: 'string' },
  ...DNS_LAUNCH_OPTIONS,
  'flow-ring': { type: 'string' },
  'no-flows': { type: 'boolean' },
} as const;

const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MAX_CONN_LIMIT = 10_000;
/** Highest descriptor --password-fd accepts (0-2 are stdio). */
const MAX_PASSWORD_FD = 1_000_000;
/** Bounds of the timing flags. ms */
const MIN_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 3_600_000;
const MAX_BACKOFF_SCALE = 100;
/** A peer name in either hex case (normalised to lowercase where it is kept). */
const isPeerNameAnyCase = (n: string): boolean => isPeerName(n.toLowerCase());
const PASSWORD_FLAG_REFUSED =
  '--password is not accepted on the command line (it would show in ps); use --password-file or WEFT_PASSWORD';

/** A validated `weft launch` command line. */
export interface LaunchArgs {
  config: DaemonConfig;
  foreground: boolean;
}

/**
 * Parse and validate `weft launch` arguments into a complete DaemonConfig, with defaults from
 * src/common/constants.ts. No I/O (file checks are in checkLaunchFiles). Throws UsageError for
 * a malformed command line, WEFT_ERR_BAD_ARGS (`invalid <flag> "<value>": …`) for bad values.
 */
export function parseLaunchArgs(args: string[], ctx: CliContext): LaunchArgs {
  for (const a of args) {
    if (a === '--') break;
    if (a === '--password' || a.startsWith('--password=')) throw new UsageError(PASSWORD_FLAG_REFUSED);
  }
  const { values: v, positionals } = parseCommandArgs('launch', args, LAUNCH_OPTIONS);

  const nickname = v.nickname ?? ctx.hostname;
  if (!/^[^\s\p{Cc}]{1,64}$/u.test(nickname)) throw invalid('--nickname', nickname, 'must be 1-64 characters without spaces or control characters');
  if (v.name !== undefined && !isPeerNameAnyCase(v.name)) throw invalid('--name', v.name, 'must be 6 hex bytes like 8e:1f:00:aa:bb:cc');
  const host = v.host ?? '0.0.0.0';
  if (!isIp(host)) throw invalid('--host', host, 'must be an IPv4 or IPv6 address');
  const logLevel = v['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw invalid('--log-level', logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  const statusAddr = v['status-addr'] ?? DEFAULT_STATUS_ADDR;
  if (statusAddr !== '') parseHostPort(statusAddr, { what: '--status-addr', requirePort: true, allowPortZero: true });
  if (v['password-file'] === '') throw invalid('--password-file', '', 'must not be empty');
  if (v['data-dir'] === '') throw invalid('--data-dir', '', 'must not be empty');

  const heartbeatIntervalMs = timing('--heartbeat-interval', v['heartbeat-interval'], HEARTBEAT_INTERVAL_MS);
  const heartbeatTimeoutMs = timing('--heartbeat-timeout', v['heartbeat-timeout'], HEARTBEAT_TIMEOUT_MS);
  if (heartbeatTimeoutMs <= heartbeatIntervalMs) {
    throw invalid('--heartbeat-timeout', String(heartbeatTimeoutMs), `must be greater than the heartbeat interval (${heartbeatIntervalMs} ms)`);
  }
  const config: DaemonConfig = {
    peers: parsePeerList(positionals),
    nickname,
    port: v.port === undefined ? DEFAULT_PORT : parseIntFlag('--port', v.port, 1, 65535),
    host,
    dataDir: absolutePath(ctx, v['data-dir'] ?? DEFAULT_DATA_DIR),
    apiSocket: apiSocketPath(ctx, v['api-socket']),
    statusAddr,
    connLimit: v['conn-limit'] === undefined ? DEFAULT_CONN_LIMIT : parseIntFlag('--conn-limit', v['conn-limit'], 1, MAX_CONN_LIMIT),
    logLevel: logLevel as LevelWithSilent,
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    gossipIntervalMs: timing('--gossip-interval', v['gossip-interval'], GOSSIP_INTERVAL_MS),
    backoffScale: v['backoff-scale'] === undefined ? 1 : parseNumberFlag('--backoff-scale', v['backoff-scale'], 0, MAX_BACKOFF_SCALE),
    ...parseDataplaneFlags(v),
  };
  Object.assign(config, parseFastpathFlags(v, config.port));
  if (v['rekey-interval'] !== undefined) config.rekeyIntervalMs = timing('--rekey-interval', v['rekey-interval'], 0);
  if (v.name !== undefined) config.name = v.name.toLowerCase();
  if (v['password-file'] !== undefined) config.passwordFile = absolutePath(ctx, v['password-file']);
  if (v['password-fd'] !== undefined) {
    if (v['password-file'] !== undefined) throw new UsageError('--password-fd and --password-file are exclusive; use one');
    if (!(v.foreground ?? false)) throw new UsageError('--password-fd needs --foreground (in the background, weft launch hands WEFT_PASSWORD to the daemon this way itself)');
    config.passwordFd = parseIntFlag('--password-fd', v['password-fd'], 3, MAX_PASSWORD_FD);
  }
  Object.assign(config, parseDnsFlags(v));
  // Flow records (docs/flows.md): ring size in records; --no-flows turns recording off.
  if (v['flow-ring'] !== undefined) config.flowRing = parseIntFlag('--flow-ring', v['flow-ring'], 16, 1_048_576);
  if (v['no-flows'] === true) config.flows = false;
  const kube = parseKubeFlags(v, ctx);
  if (kube) config.kube = kube;
  Object.assign(config, parseDockerFlags(v, ctx));
  Object.assign(config, sleeveSwitches(ctx.env));
  return { config, foreground: v.foreground ?? false };
}

/**
 * The sleeve's A/B benchmark switches (docs/performance.md), read from the environment here
 * and nowhere else: WEFT_SLEEVE_TAP_COALESCE, WEFT_SLEEVE_UDP_GSO, WEFT_SLEEVE_UDP_GRO = `0`
 * (off) or `1` (on); unset or empty keeps the default; anything else is refused. Also
 * WEFT_NETLINK_RCVBUF_BYTES (1024 to 256 MiB), the kernel-event socket's receive buffer.
 */
export function sleeveSwitches(env: NodeJS.ProcessEnv): Pick<DaemonConfig, 'sleeveTapCoalesce' | 'sleeveUdpGso' | 'sleeveUdpGro' | 'netlinkRcvbufBytes'> {
  const out: ReturnType<typeof sleeveSwitches> = {};
  const read = (name: string): boolean | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    if (text !== '0' && text !== '1') throw invalid(name, text, 'must be 0 (off) or 1 (on)');
    return text === '1';
  };
  const tap = read('WEFT_SLEEVE_TAP_COALESCE');
  const gso = read('WEFT_SLEEVE_UDP_GSO');
  const gro = read('WEFT_SLEEVE_UDP_GRO');
  if (tap !== undefined) out.sleeveTapCoalesce = tap;
  if (gso !== undefined) out.sleeveUdpGso = gso;
  if (gro !== undefined) out.sleeveUdpGro = gro;
  const rcvbuf = env.WEFT_NETLINK_RCVBUF_BYTES;
  if (rcvbuf !== undefined && rcvbuf !== '') out.netlinkRcvbufBytes = parseIntFlag('WEFT_NETLINK_RCVBUF_BYTES', rcvbuf, 1024, 256 * 1024 * 1024);
  return out;
}

/** Data-plane and IPAM flags: --bridge, --mtu, --ipalloc-range, --ipalloc-init, --ipalloc-reclaim-after. */
function parseDataplaneFlags(v: Record<string, string | string[] | boolean | undefined>): Pick<DaemonConfig, 'bridge' | 'mtu' | 'ipallocRange' | 'ipallocInit' | 'ipallocReclaimAfterMs' | 'podTxOffload'> {
  const bridge = (v.bridge as string | undefined) ?? DEFAULT_BRIDGE;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw invalid('--bridge', bridge, 'must be a Linux interface name (1-15 characters)');
  const mtu = v.mtu === undefined ? undefined : parseIntFlag('--mtu', v.mtu as string, MIN_POD_MTU, MAX_POD_MTU);
  const range = (v['ipalloc-range'] as string | undefined) ?? DEFAULT_IPALLOC_RANGE;
  const rc = parseCidr(range);
  if (rc?.address.family !== 4 || rc.prefixLength < 8 || rc.prefixLength > 30) {
    throw invalid('--ipalloc-range', range, 'must be an IPv4 CIDR with a prefix length from 8 to 30, e.g. 10.32.0.0/12');
  }
  const ipallocInit: DaemonConfig['ipallocInit'] = {};
  const init = v['ipalloc-init'] as string | undefined;
  if (init !== undefined) {
    const c = /^consensus=(\d+)$/.exec(init);
    const sd = /^seed=(.+)$/.exec(init);
    const seeds = sd?.[1]?.split(',');
    if (c && Number(c[1]) >= 1 && Number(c[1]) <= 1000) ipallocInit.consensus = Number(c[1]);
    else if (seeds && seeds.every((n) => isPeerNameAnyCase(n))) ipallocInit.seeds = seeds.map((n) => n.toLowerCase());
    else throw invalid('--ipalloc-init', init, 'must be consensus=N (1-1000) or seed=NAME,... (peer names like 8e:1f:00:aa:bb:cc)');
  }
  const txo = (v['pod-tx-offload'] as string | undefined) ?? 'on';
  if (txo !== 'on' && txo !== 'off') throw invalid('--pod-tx-offload', txo, 'must be on or off');
  const out: ReturnType<typeof parseDataplaneFlags> = { bridge, ipallocRange: range, ipallocInit, podTxOffload: txo === 'on' };
  if (mtu !== undefined) out.mtu = mtu;
  const reclaim = v['ipalloc-reclaim-after'] as string | undefined;
  if (reclaim !== undefined) out.ipallocReclaimAfterMs = 1000 * parseIntFlag('--ipalloc-reclaim-after', reclaim, 10, 30 * 24 * 3600);
  return out;
}

/** Fast-path flags: --no-fastdp, --no-hostgw, --vxlan-port PORT, --trusted-subnets CIDR,... */
function parseFastpathFlags(v: Record<string, string | string[] | boolean | undefined>, port: number):
  Pick<DaemonConfig, 'fastdp' | 'hostGw' | 'vxlanPort' | 'trustedSubnets' | 'preferredRelay'> {
  const vxlanPort = v['vxlan-port'] === undefined ? DEFAULT_VXLAN_PORT : parseIntFlag('--vxlan-port', v['vxlan-port'] as string, 1, 65534);
  if (vxlanPort === port || vxlanPort + 1 === port) {
    throw invalid('--vxlan-port', String(vxlanPort), `must differ from --port ${port} (the fast path also uses the next port for probes)`);
  }
  const text = (v['trusted-subnets'] as string | undefined) ?? '';
  const trustedSubnets = text.split(',').map((x) => x.trim()).filter(Boolean);
  for (const c of trustedSubnets) {
    if (!isCidr(c, 4)) {
      throw invalid('--trusted-subnets', text, `"${c}" is not an IPv4 CIDR like 10.0.0.0/8`);
    }
  }
  // Only non-defaults are set, so a config without them means "fast paths on, port 6784".
  const out: ReturnType<typeof parseFastpathFlags> = {};
  if (v['no-fastdp'] === true) out.fastdp = false;
  if (v.relay === true) out.preferredRelay = true;
  if (v['no-hostgw'] === true) out.hostGw = false;
  if (v['vxlan-port'] !== undefined) out.vxlanPort = vxlanPort;
  if (trustedSubnets.length > 0) out.trustedSubnets = trustedSubnets;
  return out;
}

/**
 * The Docker plugin: `--docker-plugin-socket PATH` (default DEFAULT_DOCKER_PLUGIN_SOCKET),
 * `--no-docker-plugin`, `--docker-api-socket PATH` (dockerd's Engine API).
 */
function parseDockerFlags(v: Record<string, string | boolean | string[] | undefined>, ctx: CliContext): Pick<DaemonConfig, 'dockerPluginSocket' | 'dockerApiSocket'> {
  const sock = v['docker-plugin-socket'] as string | undefined;
  const api = v['docker-api-socket'] as string | undefined;
  if (v['no-docker-plugin'] === true && sock !== undefined) throw new UsageError('--no-docker-plugin and --docker-plugin-socket exclude each other; give one');
  for (const [flag, p] of [['--docker-plugin-socket', sock], ['--docker-api-socket', api]] as const) {
    if (p === undefined) continue;
    if (p === '') throw invalid(flag, '', 'must not be empty');
    if (Buffer.byteLength(absolutePath(ctx, p)) > UNIX_SOCKET_PATH_MAX_BYTES) throw invalid(flag, p, `must be a unix socket path of at most ${UNIX_SOCKET_PATH_MAX_BYTES} bytes`);
  }
  const out: ReturnType<typeof parseDockerFlags> = {};
  if (v['no-docker-plugin'] !== true) out.dockerPluginSocket = absolutePath(ctx, sock ?? DEFAULT_DOCKER_PLUGIN_SOCKET);
  if (api !== undefined) out.dockerApiSocket = absolutePath(ctx, api);
  return out;
}

/**
 * Kubernetes mode: `--kube` (in-cluster, the pod's service account) or `--kubeconfig FILE`
 * (made absolute; the file is checked by checkLaunchFiles). Not both.
 */
function parseKubeFlags(v: Record<string, string | string[] | boolean | undefined>, ctx: CliContext): DaemonConfig['kube'] {
  const file = v.kubeconfig as string | undefined;
  if (v.kube === true && file !== undefined) throw new UsageError('--kube (in-cluster) and --kubeconfig FILE exclude each other; give one');
  if (file === '') throw invalid('--kubeconfig', '', 'must not be empty');
  if (v.kube === true) return { mode: 'in-cluster' };
  return file === undefined ? undefined : { mode: 'kubeconfig', file: absolutePath(ctx, file) };
}

const DEFAULT_BRIDGE = 'weft';
const DEFAULT_IPALLOC_RANGE = '10.32.0.0/12';
/** Pod MTU bounds. bytes */
const MIN_POD_MTU = 576;
const MAX_POD_MTU = 65_000;

function timing(flag: string, text: string | undefined, dflt: number): number {
  return text === undefined ? dflt : parseIntFlag(flag, text, MIN_INTERVAL_MS, MAX_INTERVAL_MS);
}
