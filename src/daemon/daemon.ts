import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Lifecycle, WeftError, createLogger, describeError, PROTOCOL_MIN_VERSION, PROTOCOL_MAX_VERSION, HANDSHAKE_TIMEOUT_MS,
  REMEMBERED_PEERS_DIAL_MS, DEFAULT_DOCKER_API_SOCKET, DEFAULT_DNS_DOMAIN, DNS_PORT,
} from '../common/index.js';
import { loadOrCreateIdentity } from '../crypto/index.js';
import { ApiServer, StatusServer, API_ROUTES, parsePeerList, type PolicyStatus, type StatusReport } from '../api/index.js';
import { createRegistry, createMeshMetrics } from '../metrics/index.js';
import { MeshRouter, PeerPing, PING_CHANNEL, parsePeerName } from '../mesh/index.js';
import type { DaemonConfig } from './config.js';
import { AttachService } from './attach-service.js';
import { DOCKER_STATE_FILE, buildDockerPlugin } from './docker-service.js';
import { DataplaneService } from './dataplane-service.js';
import { IpamService } from './ipam-service.js';
import { PeersFile } from './peers-file.js';
import { SecretService } from './secret-service.js';
import { PolicyEdge, netlinkKernel } from '../host/index.js';
import { PodIdentities } from './pod-identities.js';
import { MeshPolicySource, type PolicyInputSource } from './policy-source.js';
import { PolicyService } from './policy-service.js';
import { DnsService } from './dns-service.js';
import { registerPolicyRoutes } from './policy-routes.js';
import { buildKubePolicySource } from './kube-policy.js';
import type { KubePolicySource } from '../kube/index.js';
import { packageVersion, packageRoot } from '../common/index.js';
import { clusterWorkloads } from './workloads.js';
import { FlowService } from './flow-service.js';
import type { PolicyInput } from '../policy/index.js';

/** What another mode may plug in (Kubernetes mode: its policy source). */
export interface DaemonDeps {
  /**
   * The source of policies, namespaces and pods (default: mesh mode's gossiped policy store and
   * workload directory). Built after the identity is known.
   */
  policySource?: (self: string, log: ReturnType<typeof createLogger>) => PolicyInputSource;
}

/**
 * Run one daemon until it is stopped (API `POST /stop`, SIGTERM or SIGINT). Resolves after a
 * clean shutdown; rejects with a WeftError on a fatal start-up error (nothing left running).
 * `hooks.onReady` is called once every listener is up.
 */
export async function runDaemon(config: DaemonConfig, hooks: { onReady(): void }, deps: DaemonDeps = {}): Promise<void> {
  const log = createLogger({ level: config.logLevel });
  const identity = await loadOrCreateIdentity(config.dataDir);
  if (config.name && config.name.toLowerCase() !== identity.name) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG',
      `--name ${config.name} does not match this data dir's identity (${identity.name}); the name is derived from the key in ${config.dataDir}`);
  }
  const secrets = new SecretService(config, log);
  await secrets.load();
  const encrypted = secrets.encrypted;
  const encryptionWarning = encrypted ? undefined
    : 'no cluster secret: anyone who can reach port ' + config.port + ' can join, and pod traffic is NOT encrypted (set --password-file or WEFT_PASSWORD)';
  if (encryptionWarning) log.warn(`INSECURE: ${encryptionWarning}`);

  const registry = createRegistry();
  const metrics = createMeshMetrics(registry);
  const ipam = new IpamService(config, identity.name, log.child({ component: 'ipam' }), registry);
  const peersFile = new PeersFile(config.dataDir, log);
  const remembered = await peersFile.load();
  const router = new MeshRouter({
    identity, keyring: () => secrets.keyring(), nickname: config.nickname, host: config.host, port: config.port, connLimit: config.connLimit,
    timing: {
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      gossipIntervalMs: config.gossipIntervalMs,
      backoffScale: config.backoffScale,
    },
    metrics, log: log.child({ component: 'mesh' }), preferredRelay: config.preferredRelay === true,
    events: {
      onPeersChanged: (reachable) => {
        ipam.ipam.onPeersChanged(reachable);
        peersFile.update(router.connectedAddresses());
      },
      onPeerGone: (name) => {
        ipam.ipam.onPeerGone(name);
        mesh?.peerGone(name);
      },
    },
  });
  ipam.attach(router);

  // Network policy: pod identities (attach records), the input source, the kernel edge.
  const policyLog = log.child({ component: 'policy' });
  const pods = new PodIdentities(config.dataDir, policyLog, () => {
    mesh?.localChanged();
    policy.localChanged();
    flows?.localChanged();
  });
  await pods.load();
  // Kubernetes mode (--kube / --kubeconfig): the API server is the source of pods, namespaces
  // and policies; otherwise mesh mode's gossiped store and workload directory.
  const kube = deps.policySource ? null : await buildKubePolicySource(config, policyLog);
  const mesh: MeshPolicySource | null = deps.policySource || kube ? null
    : new MeshPolicySource({ self: identity.name, dataDir: config.dataDir, log: policyLog, localPods: () => pods.announced() });
  mesh?.attach(router);
  const source: PolicyInputSource = deps.policySource?.(identity.name, policyLog) ?? kube ?? mesh!;
  const sourceKind = mesh ? 'mesh' as const : 'kube' as const;
  const policyEdge = new PolicyEdge({ kernel: netlinkKernel(), log: policyLog, bridge: config.bridge });
  const policy = new PolicyService({
    source, sourceKind, enforcer: policyEdge, localIps: () => pods.localIps(),
    ...(kube ? { sourceStatus: () => kubeStatus(kube) } : {}),
    log: policyLog, registry,
  });

  // host-gw keeps the pods policy polices off its netdev shortcut (they are routed through conntrack).
  const dataplane = new DataplaneService(config, identity.name, log.child({ component: 'dataplane' }), registry,
    { policedPods: () => policyEdge.policedPods() });
  dataplane.attach(router);
  dataplane.addresses = ipam;

  // Service discovery: names from every workload the source knows (mesh: the workload directory;
  // Kubernetes mode: the API server's pods) plus the gossiped manual records; the server listens
  // on the host's overlay address (weft expose) and follows it.
  const dns = config.dns === false ? null : new DnsService({
    self: identity.name, dataDir: config.dataDir, log: log.child({ component: 'dns' }), registry,
    domain: config.dnsDomain ?? DEFAULT_DNS_DOMAIN, ...(config.dnsUpstreams ? { upstreams: config.dnsUpstreams } : {}), port: DNS_PORT,
    workloads: () => {
      try {
        return source.snapshot().pods;
      } catch {
        return []; // Kubernetes mode before the first sync
      }
    },
    onWorkloadsChanged: (cb) => source.onChange(cb),
    listenAddress: async () => (await dataplane.networkInfo()).gateway,
  });
  dns?.attach(router);
  if (dns) dataplane.onExposureChanged = () => void dns.addressChanged();
  // Flow records (docs/flows.md): pod conntrack, the policy table's NFLOG, sleeve drops.
  let flowInput: PolicyInput | null = null;
  source.onChange(() => { flowInput = null; });
  let names: { at: number; map: Map<string, string> } = { at: -Infinity, map: new Map() };
  const nickname = (peer: string): string => {
    if (peer === identity.name) return config.nickname;
    if (Date.now() - names.at > 1000 || !names.map.has(peer)) {
      names = { at: Date.now(), map: new Map(router.topology.statusPeers().map((p) => [p.name, p.nickname])) };
    }
    return names.map.get(peer) ?? peer;
  };
  const flows: FlowService | null = new FlowService({
    self: { name: identity.name, nickname: config.nickname }, log: log.child({ component: 'flows' }), registry,
    recording: config.flows ?? true, ...(config.flowRing !== undefined ? { ringSize: config.flowRing } : {}),
    policyInput: () => {
      if (flowInput) return flowInput;
      try { flowInput = source.snapshot(); } catch { return null; }
      return flowInput;
    },
    ruleset: () => policy.ruleset(),
    nickname,
    modes: () => new Map(dataplane.status().fastpath.connections.map((c) => [c.peer, c.mode])),
    peers: () => [...router.unicastRoutes.keys()].filter((n) => n !== identity.name).map((n) => ({ name: n, nickname: nickname(n) })),
    listAttached: () => dataplane.plumbing.listAttached(),
  });
  flows.attach(router);
  dataplane.sleeve.setDropObserver(flows.sleeveDrop);

  const pinger = new PeerPing();
  pinger.attach(router.newGossip(PING_CHANNEL, pinger));

  const status = (): StatusReport => ({
    name: identity.name,
    nickname: config.nickname,
    version: packageVersion(),
    protocol: { min: PROTOCOL_MIN_VERSION, max: PROTOCOL_MAX_VERSION },
    encrypted,
    encryptionWarning,
    secret: secrets.status(),
    port: config.port,
    uid: router.uid.toString(16),
    pid: process.pid,
    peers: router.topology.statusPeers(),
    connections: router.connectionStatus(),
    targets: router.targets(),
    routes: { unicast: Object.fromEntries(router.unicastRoutes) },
    collisions: router.collisions.length > 0 ? [...router.collisions] : undefined,
    dataplane: dataplane.status(),
    ipam: ipam.ipam.status(),
    policy: policy.status(),
    ...(dns ? { dns: dns.status() } : {}),
  });

  let stopping: Promise<void> | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const api = new ApiServer({ socketPath: config.apiSocket, logger: log.child({ component: 'api' }), onBadInput: (r) => metrics.badInput('api', r) });
  api.handle(API_ROUTES.status, () => status());
  api.handle(API_ROUTES.report, () => ({ ...status(), config: redactedConfig(config), topology: router.topology.report() }));
  api.handle(API_ROUTES.connect, ({ request }) => {
    const req = { peers: parsePeerList(request.peers), replace: request.replace };
    const bad = router.connect(req.peers, req.replace ?? false);
    if (bad.length > 0) throw new WeftError('WEFT_ERR_BAD_ARGS', `bad peer address: ${bad.join(', ')}`);
    return { targets: router.targets() };
  });
  api.handle(API_ROUTES.forget, ({ request }) => {
    const req = { peers: parsePeerList(request.peers) };
    const missing = router.forget(req.peers);
    return { forgotten: req.peers.filter((p) => !missing.includes(p)), unknown: missing };
  });
  api.handle(API_ROUTES.ping, async ({ request }) => {
    const peer = parsePeerName(request.peer);
    const rttMs = await pinger.ping(peer);
    return { peer, rttMs, nextHop: router.topology.routes.unicastAll.get(peer) ?? null };
  });
  dataplane.registerRoutes(api);
  const attach = new AttachService({
    plumbing: dataplane.plumbing, network: () => dataplane.networkInfo(), addresses: () => ipam,
    log: log.child({ component: 'attach' }), onEndpointsChanged: () => dataplane.overlay.localChanged(), pods,
  });
  attach.registerRoutes(api);
  // Docker's libnetwork plugin (network + IPAM driver "weft"), unless --no-docker-plugin.
  const docker = config.dockerPluginSocket
    ? buildDockerPlugin({
      socketPath: config.dockerPluginSocket, engineSocket: config.dockerApiSocket ?? DEFAULT_DOCKER_API_SOCKET, dataDir: config.dataDir,
      ipam, attach, plumbing: dataplane.plumbing, log: log.child({ component: 'docker' }),
      onBadInput: (reason) => metrics.badInput('docker', reason),
    })
    : null;
  registerPolicyRoutes(api, { self: identity.name, source, sourceKind, mesh, pods, settled: () => policy.settled() });
  dataplane.pods = pods;
  ipam.registerRoutes(api);
  if (dns) dns.registerRoutes(api);
  else registerDnsOff(api);
  api.handleFlows(flows.query);
  api.handle(API_ROUTES.reset, () => {
    const left = ipam.ipam.leave();
    setImmediate(() => void shutdown('reset requested over the API', true));
    return { left };
  });
  // A gauge with no sample yet (the event-loop delay histogram between two 1 s samples) is NaN:
  // JSON has no NaN, so such values are left out rather than sent as null.
  api.handle(API_ROUTES.metrics, async () => (await registry.getMetricsAsJSON())
    .map((m) => ({ ...m, type: String(m.type), values: m.values.filter((v) => Number.isFinite(v.value)) })));
  api.handle(API_ROUTES.secretRotate, ({ request }) => secrets.rotate(request.passwordFile));
  api.handle(API_ROUTES.stop, () => {
    setImmediate(() => void shutdown('stop requested over the API'));
    return { stopping: true };
  });

  const statusServer = config.statusAddr
    ? new StatusServer({
      addr: config.statusAddr, registry, logger: log.child({ component: 'status' }),
      status: () => status(),
      readiness: () => ipam.readiness(),
      flows: flows.query,
      onBadQuery: () => metrics.badInput('status', 'bad_request'),
      workloads: () => clusterWorkloads(source, sourceKind),
      ...(uiDir() ? { uiDir: uiDir()! } : {}),
    })
    : null;

  // Start order: the API socket first (so `weft launch` sees the daemon), IPAM before the data
  // plane, the data plane before the mesh that drives it, the read-only listener last. Stop
  // runs in reverse; a failed start stops what had started.
  const lifecycle = new Lifecycle((name, e) => log.warn({ component: name, err: describeError(e) }, 'error during shutdown'))
    .add('api', api)
    .add('ipam', ipam)
    .add('dataplane', dataplane)
    .add('docker', docker?.server ?? null)
    .add('policy', {
      // The bridge exists now: drop identities whose interface went away while we were down.
      start: async () => {
        const gone = pods.reconcile([...await dataplane.plumbing.listAttached(), ...(docker?.plugin.listed() ?? [])]);
        if (gone > 0) policyLog.info({ gone }, 'policy: forgot the identities of pods detached while the daemon was down');
        await policy.start();
      },
      stop: async () => {
        await policy.stop();
        await pods.close();
      },
    })
    .add('dns', dns)
    .add('flows', flows)
    .add('mesh', router)
    .add('status', statusServer);

  const shutdown = (why: string, reset = false): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason: why }, 'shutting down');
      await peersFile.close(); // closing connections must not erase the remembered peers
      await lifecycle.stop();
      if (reset) {
        try {
          await policy.reset();
          await dataplane.reset();
          await rm(join(config.dataDir, 'ipam'), { recursive: true, force: true });
          await rm(join(config.dataDir, DOCKER_STATE_FILE), { force: true });
          log.info('reset: IPAM state and weft devices removed');
        } catch (e) { log.warn({ err: describeError(e) }, 'reset incomplete'); }
      }
      secrets.stop();
      resolveStopped();
    })();
    return stopping;
  };
  const stopRequested = (): boolean => stopping !== null;
  const onSignal = (sig: string) => void shutdown(`received ${sig}`);
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));

  try {
    await lifecycle.start();
  } catch (e) {
    if (e instanceof WeftError && e.code === 'WEFT_ERR_CLOSED' && stopRequested()) {
      await stopped; // a signal or `POST /stop` arrived during start-up: a clean stop, not a failure
      return;
    }
    await shutdown(`start-up failed: ${describeError(e)}`);
    throw e;
  }
  const bad = router.connect(config.peers);
  if (bad.length > 0) log.warn({ peers: bad }, 'ignoring unparsable peer addresses');
  // The peers we were connected to before a restart: dial them now (they may back off for seconds).
  const configured = new Set(router.targets().filter((t) => t.direct).map((t) => t.address));
  const extra = remembered.filter((a) => !configured.has(a));
  if (extra.length > 0 && router.connect(extra).length === 0) {
    log.info({ peers: extra }, 'dialling the peers of the previous run');
    const t = setTimeout(() => router.forget(extra), REMEMBERED_PEERS_DIAL_MS);
    t.unref();
  }
  log.info({ name: identity.name, nickname: config.nickname, encrypted, api: config.apiSocket }, 'weft daemon ready');
  hooks.onReady();
  await stopped;
}

/** With --no-dns the dns-* routes answer, with the reason, rather than look like an older daemon. */
function registerDnsOff(api: ApiServer): void {
  const off = (): never => {
    throw new WeftError('WEFT_ERR_DNS_UNAVAILABLE', 'DNS is off on this host (weft launch --no-dns)');
  };
  api.handle(API_ROUTES.dnsAdd, off);
  api.handle(API_ROUTES.dnsRemove, off);
  api.handle(API_ROUTES.dnsLookup, off);
  api.handle(API_ROUTES.dnsArgs, off);
}

/** The web page's files: `ui/` of the package (the checkout or the installed package). */
function uiDir(): string | null {
  const root = packageRoot();
  return root === null ? null : join(root, 'ui');
}

function redactedConfig(c: DaemonConfig): Record<string, unknown> {
  return { ...c, passwordFile: c.passwordFile ? '(set)' : undefined, passwordFd: c.passwordFd !== undefined ? '(set)' : undefined };
}

/** Kubernetes mode's watch status as the policy section of /status carries it. */
function kubeStatus(kube: KubePolicySource): NonNullable<PolicyStatus['kube']> {
  const k = kube.status();
  return { ...k, rejected: { total: k.rejected.total, current: [...k.rejected.current] } };
}
