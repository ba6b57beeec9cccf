/**
 * OverlaySwitch: the Overlay the mesh drives. It runs the sleeve underneath every connection
 * (never torn down, so falling back is instant) and adds the kernel fast paths per peer:
 * host-gw (plain routed IPv4 between peers on one L2 segment) and VXLAN (kernel L2 tunnel),
 * each used only while full-size probes are answered. Design: docs/fastpath.md.
 */
import type { Registry } from 'prom-client';
import {
  FASTPATH_ADDRESS_SCAN_MS, FASTPATH_CONFIRM_REPLIES, FASTPATH_DATA_VNI, FASTPATH_FAIL_AFTER_MS,
  FASTPATH_LOCAL_SCAN_MS, FASTPATH_PROBE_INTERVAL_MS, FASTPATH_PROBE_PORT_OFFSET,
  FASTPATH_REPROBE_INITIAL_MS, FASTPATH_REPROBE_MAX_MS, FASTPATH_TICK_MS,
  FASTPATH_VXLAN_DEVICE, describeError, type Logger,
} from '../../common/index.js';
import type { HostGwEdge, VxlanEdge } from '../../host/index.js';
import type {
  GossipChannel, Overlay, OverlayConnection, OverlayConnectionParams, OverlayRoutes, PeerName,
} from '../../mesh/index.js';
import { isIp, peerNameToNumber } from '../../net/index.js';
import { VXLAN_DEVICE_MTU } from './edge-settings.js';
import { FastConnection, type ConnectionHost, type PathStatus } from './fast-connection.js';
import { desiredKernel, kernelFlood, type DesiredKernel, type Mode, type PeerPaths, type LocalPodAddress } from './kernel-state.js';
import { KernelSync, type KernelOps } from './kernel-sync.js';
import { FastpathMetrics, MODES, type ChangeReason } from './metrics.js';
import type { PathTiming } from './path-monitor.js';
import { PodDirectory } from './pod-directory.js';
import { ProbeSocket, type ProbeIo, type ProbeTarget, type SendOutcome } from './probe-socket.js';
import type { ProbeMessage, ProbePath } from './probe-wire.js';
import { parseSubnets, type Subnet } from './trust.js';

/** The sleeve as the switch uses it (SleeveOverlay, or a stand-in in tests). */
export interface SleeveLike extends Overlay {
  readonly mtu: number;
}

/** Kernel edges, injectable for tests (default: src/host's VxlanEdge and HostGwEdge). */
export interface SwitchEdges {
  vxlan: Pick<KernelOps, 'setUnicast' | 'deleteUnicast' | 'pinOnBridge' | 'unpinFromBridge' | 'addFlood' | 'deleteFlood'>
    & Pick<VxlanEdge, 'setup' | 'remove' | 'isolatePort' | 'unisolatePort' | 'localMacs'>;
  hostgw: Pick<KernelOps, 'addRemote' | 'deleteRemote' | 'addForward' | 'deleteForward' | 'addLocal' | 'deleteLocal'
    | 'addPort' | 'deletePort' | 'addUnderlay' | 'deleteUnderlay'>
    & Pick<HostGwEdge, 'setup' | 'reset' | 'bridgeTxOffload'>;
}

/** Constructor options of {@link OverlaySwitch}: every dependency is handed in (src/daemon builds them). */
export interface OverlaySwitchOptions {
  localName: PeerName;
  sleeve: SleeveLike;
  /** The bridge pods attach to (the one `edges` and `listPods` were built for). */
  bridge: string;
  /** The sleeve's TAP (isolated from the VXLAN port on the bridge). */
  tapName: string;
  /** Kernel paths on (false with --no-fastdp). */
  kernelPaths: boolean;
  /** host-gw on (false with --no-hostgw); needs kernelPaths. */
  hostGw: boolean;
  vxlanPort: number;
  /** `--trusted-subnets` CIDRs. */
  trustedSubnets: readonly string[];
  log: Logger;
  registry?: Registry;
  /** The probe socket's I/O: the native addon (`loadNative()`), or an in-process network in tests. */
  io: ProbeIo;
  /** The kernel edges: src/host's VxlanEdge and HostGwEdge in the daemon, recorders in tests. */
  edges: SwitchEdges;
  /** The pods attached to our bridge (the daemon's HostPlumbing.listAttached). */
  listPods: () => Promise<{ mac: string; addresses: string[]; hostIfname?: string }[]>;
  /** Device and gateway (null when on-link) toward an underlay address (the daemon: src/host's underlayRoute). */
  routeTo: (ip: string) => Promise<{ dev: string; gateway: string | null }>;
  /** Whether ESP transport mode works here (src/host's probeEspTransport), or null to skip the probe (unit tests). */
  probeEsp: (() => Promise<{ supported: boolean; reason: string }>) | null;
  timing?: Partial<PathTiming>;
}

/** One connection in {@link OverlaySwitch.status}. */
export interface SwitchConnectionStatus {
  peer: PeerName;
  mode: Mode;
  encrypted: boolean;
  mtu?: number;
  paths: PathStatus[];
}

/**
 * Lifecycle: `start()` starts the sleeve (bridge, TAP), probes ESP support, and — unless
 * --no-fastdp — creates the VXLAN devices, host-gw forwarding and the probe socket (a failure
 * there disables the kernel paths with the reason shown in status; the sleeve still runs).
 * The mesh then drives prepareConnection / setRoutes / peerGone. `stop()` (idempotent) stops
 * timers and connections, removes every kernel entry, device, route and rule the fast paths
 * made, then stops the sleeve. Guarantees: frames between two peers on a kernel path never
 * reach userspace; a path carries traffic only after full-size probes were answered both ways;
 * each mode change is logged once with its reason and counted.
 */
export class OverlaySwitch implements Overlay {
  readonly directory: PodDirectory;
  readonly podMtu: number;
  readonly probePort: number;
  private readonly self: number;
  private readonly log: Logger;
  private readonly timing: PathTiming;
  private readonly trusted: Subnet[];
  private readonly edges: SwitchEdges;
  private readonly kernel: KernelSync;
  private readonly metrics: FastpathMetrics;
  private readonly connectionHost: ConnectionHost;
  private readonly conns = new Set<FastConnection>();
  private readonly byPeer = new Map<number, FastConnection>();
  private probeSocket: ProbeSocket | null = null;
  private channel: GossipChannel | null = null;
  private routes: OverlayRoutes | null = null;
  private reachable = new Set<PeerName>();
  private floodKernel = false;
  private kernelError: string | null = null;
  private hostGwError: string | null = null;
  private esp: { supported: boolean; reason: string } = { supported: false, reason: 'not probed yet' };
  private tickTimer: NodeJS.Timeout | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private scanning = false;
  private lastAddressScan = 0;
  private lastPorts = '';
  private localIps: LocalPodAddress[] = [];
  private started = false;
  private stopped = false;

  constructor(private readonly o: OverlaySwitchOptions) {
    this.self = peerNameToNumber(o.localName);
    this.log = o.log.child({ component: 'fastpath' });
    this.timing = {
      probeIntervalMs: FASTPATH_PROBE_INTERVAL_MS, failAfterMs: FASTPATH_FAIL_AFTER_MS, confirmReplies: FASTPATH_CONFIRM_REPLIES,
      reprobeInitialMs: FASTPATH_REPROBE_INITIAL_MS, reprobeMaxMs: FASTPATH_REPROBE_MAX_MS, ...o.timing,
    };
    this.trusted = parseSubnets(o.trustedSubnets.join(','));
    this.probePort = o.vxlanPort + FASTPATH_PROBE_PORT_OFFSET;
    this.podMtu = o.kernelPaths ? Math.min(o.sleeve.mtu, VXLAN_DEVICE_MTU) : o.sleeve.mtu;
    this.edges = o.edges;
    const v = this.edges.vxlan;
    const g = this.edges.hostgw;
    const ops: KernelOps = {
      setUnicast: (mac, ip, port) => v.setUnicast(mac, ip, port),
      deleteUnicast: (mac) => v.deleteUnicast(mac),
      pinOnBridge: (mac) => v.pinOnBridge(mac),
      unpinFromBridge: (mac) => v.unpinFromBridge(mac),
      addFlood: (ip, port) => v.addFlood(ip, port),
      deleteFlood: (ip) => v.deleteFlood(ip),
      addRemote: (ip, via) => g.addRemote(ip, via),
      deleteRemote: (ip) => g.deleteRemote(ip),
      addForward: (mac, ip, via, dev) => g.addForward(mac, ip, via, dev),
      deleteForward: (mac, ip) => g.deleteForward(mac, ip),
      addLocal: (ip, mac, port) => g.addLocal(ip, mac, port),
      deleteLocal: (ip, port) => g.deleteLocal(ip, port),
      addPort: (dev) => g.addPort(dev),
      deletePort: (dev) => g.deletePort(dev),
      addUnderlay: (dev) => g.addUnderlay(dev),
      deleteUnderlay: (dev) => g.deleteUnderlay(dev),
    };
    this.connectionHost = {
      self: o.localName,
      log: this.log,
      timing: this.timing,
      kernelOff: () => this.kernelOff(),
      hostGwOff: () => this.hostGwOff(),
      vxlanPort: o.vxlanPort,
      probePort: this.probePort,
      trusted: this.trusted,
      podMtu: this.podMtu,
      pathMtu: (ip) => {
        if (!this.probeSocket) throw new Error('probe socket not open');
        return this.probeSocket.pathMtu(ip);
      },
      routeTo: o.routeTo,
      sendProbe: (path, t, m) => this.sendProbe(path, t, m),
      changed: () => this.changed(),
      modeChanged: (peer, from, to, reason, why) => this.modeChanged(peer, from, to, reason, why),
    };
    this.kernel = new KernelSync(ops, () => this.desired(), this.log);
    this.metrics = new FastpathMetrics(o.registry, () => this.modeCounts());
    this.directory = new PodDirectory(o.localName, () => this.changed());
  }

  /** The MTU pods must use: the minimum over every path that may carry them. bytes */
  get mtu(): number {
    return this.podMtu;
  }

  /** Give the switch its gossip channel (the router's `newGossip(FASTPATH_CHANNEL, switch.directory)`). */
  attachGossip(channel: GossipChannel): void {
    this.channel = channel;
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    await this.o.sleeve.start();
    if (this.o.probeEsp) {
      this.esp = await this.o.probeEsp().catch((e: unknown) => ({ supported: false, reason: describeError(e) }));
    }
    if (this.o.kernelPaths) await this.startKernelPaths();
    this.tickTimer = setInterval(() => this.tick(), FASTPATH_TICK_MS);
    this.tickTimer.unref();
    if (this.o.kernelPaths && this.kernelError === null) {
      this.scanTimer = setInterval(() => void this.scanLocal(), FASTPATH_LOCAL_SCAN_MS);
      this.scanTimer.unref();
      void this.scanLocal();
    }
    this.log.info({
      kernelPaths: this.kernelOff() ?? 'on', hostGw: this.hostGwOff() ?? 'on', vxlanPort: this.o.vxlanPort,
      podMtu: this.podMtu, espTransport: this.esp.supported,
    }, 'fastpath: switch started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.tickTimer, this.scanTimer]) if (t) clearInterval(t);
    for (const c of this.conns) c.stop();
    await this.kernel.stop();
    this.probeSocket?.close();
    if (this.o.kernelPaths && this.kernelError === null) {
      for (const [ip, v] of this.kernel.current.local) await this.edges.hostgw.deleteLocal(ip, v.split(' ')[1] || undefined).catch(() => undefined);
      if (this.o.hostGw && this.hostGwError === null) await this.edges.hostgw.bridgeTxOffload(false).catch(() => undefined);
      for (const step of [() => this.edges.hostgw.reset(), () => this.edges.vxlan.remove(), () => this.edges.vxlan.unisolatePort(this.o.tapName)]) {
        try { await step(); } catch (e) { this.log.warn({ err: describeError(e) }, 'fastpath: cleanup step failed'); }
      }
    }
    await this.o.sleeve.stop();
  }

  prepareConnection(params: OverlayConnectionParams): OverlayConnection {
    let fc: FastConnection;
    try {
      fc = new FastConnection(this.connectionHost, params);
    } catch {
      return this.o.sleeve.prepareConnection(params); // invalid name: the sleeve reports it
    }
    fc.attachSleeve(this.o.sleeve.prepareConnection(fc.sleeveParams()));
    this.conns.add(fc);
    const self = this;
    return {
      confirm() {
        if (fc.isStopped) return;
        self.byPeer.set(fc.peerNum, fc);
        fc.confirm();
        self.changed();
      },
      onControl(msg: Buffer) { fc.onControl(msg); },
      stop() {
        fc.stop();
        self.conns.delete(fc);
        if (self.byPeer.get(fc.peerNum) === fc) self.byPeer.delete(fc.peerNum);
        self.changed();
      },
    };
  }

  setRoutes(routes: OverlayRoutes): void {
    this.routes = routes;
    this.reachable = new Set([...routes.unicast.keys()].filter((p) => p !== this.o.localName));
    this.pushSleeveRoutes();
    this.changed();
  }

  peerGone(name: PeerName): void {
    this.o.sleeve.peerGone(name);
    this.directory.forget(name);
  }

  /** Status section: kernel paths, ESP support, flooding, per-connection paths. */
  status() {
    const k = this.kernel.current;
    return {
      kernelPaths: { enabled: this.kernelOff() === null, ...(this.kernelOff() ? { reason: this.kernelOff()! } : {}) },
      hostGw: { enabled: this.hostGwOff() === null, ...(this.hostGwOff() ? { reason: this.hostGwOff()! } : {}) },
      vxlan: { device: FASTPATH_VXLAN_DEVICE, port: this.o.vxlanPort, vni: FASTPATH_DATA_VNI, probePort: this.probePort },
      espTransport: this.esp,
      trustedSubnets: this.trusted.map((s) => s.cidr),
      podMtu: this.podMtu,
      flood: this.floodKernel ? 'kernel' : 'sleeve',
      connections: [...this.byPeer.values()].map((c): SwitchConnectionStatus => {
        const h = c.health();
        return { peer: c.peer, mode: c.mode, encrypted: h.encrypted, ...(h.mtu ? { mtu: h.mtu } : {}), paths: h.paths };
      }),
      kernel: {
        vxlanEntries: k.unicast.size, floodTo: [...k.flood].map((f) => f.split(' ')[0]), hostGwRoutes: k.routes.size,
        forwards: k.forwards.size, localPods: k.local.size, ...(this.kernel.lastError ? { lastError: this.kernel.lastError } : {}),
      },
    };
  }

  /** Resolves once the kernel matches the current desired state (tests). */
  settle(): Promise<void> {
    return this.kernel.schedule();
  }

  // ─────────────── internals ───────────────

  private kernelOff(): string | null {
    if (!this.o.kernelPaths) return 'fast path disabled (--no-fastdp)';
    if (this.kernelError !== null) return `fast path unavailable: ${this.kernelError}`;
    return null;
  }

  private hostGwOff(): string | null {
    const k = this.kernelOff();
    if (k !== null) return k;
    if (!this.o.hostGw) return 'host-gw disabled (--no-hostgw)';
    if (this.hostGwError !== null) return `host-gw unavailable: ${this.hostGwError}`;
    return null;
  }

  private async startKernelPaths(): Promise<void> {
    try {
      const sock = new ProbeSocket(this.o.io, this.probePort, this.self, this.log, (m, from) => this.onProbe(m, from));
      sock.open();
      this.probeSocket = sock;
      await this.edges.vxlan.setup();
      await this.edges.vxlan.isolatePort(this.o.tapName);
    } catch (e) {
      this.kernelError = describeError(e);
      this.log.error({ err: this.kernelError }, 'fastpath: kernel paths unavailable, every connection stays on the sleeve');
      this.probeSocket?.close();
      this.probeSocket = null;
      await this.edges.vxlan.remove().catch(() => undefined);
      return;
    }
    if (!this.o.hostGw) return;
    try {
      await this.edges.hostgw.setup();
    } catch (e) {
      this.hostGwError = describeError(e);
      this.log.error({ err: this.hostGwError }, 'fastpath: host-gw unavailable');
    }
  }

  private sendProbe(path: ProbePath, t: ProbeTarget, m: ProbeMessage): SendOutcome {
    const s = this.probeSocket;
    if (!s) return 'error';
    const msg = { ...m, sender: this.self };
    return path === 'hostgw' ? s.sendHostGw(t, msg) : s.sendVxlan(t, msg);
  }

  private onProbe(m: ProbeMessage, _from: number): void {
    this.byPeer.get(m.sender)?.onProbe(m, Date.now());
  }

  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    try {
      for (const c of this.byPeer.values()) c.tick(now);
    } catch (e) {
      this.log.error({ err: describeError(e) }, 'fastpath: tick failed');
    }
  }

  private changed(): void {
    if (this.stopped) return;
    const flood = kernelFlood(this.reachable, this.peerPaths());
    if (flood !== this.floodKernel) {
      this.floodKernel = flood;
      this.log.info({ flood: flood ? 'kernel' : 'sleeve' }, flood
        ? 'fastpath: every reachable peer is on VXLAN: our broadcasts go by VXLAN head-end replication'
        : 'fastpath: our broadcasts go by the sleeve\'s broadcast tree');
      this.pushSleeveRoutes();
    }
    void this.kernel.schedule();
  }

  private pushSleeveRoutes(): void {
    const r = this.routes;
    if (!r) return;
    const self = this.o.localName;
    const kernelFloods = this.floodKernel;
    this.o.sleeve.setRoutes({
      unicast: r.unicast,
      broadcastNextHops: (src) => (src === self && kernelFloods ? [] : r.broadcastNextHops(src)),
    });
  }

  private peerPaths(): PeerPaths[] {
    const out: PeerPaths[] = [];
    for (const c of this.byPeer.values()) {
      if (c.isStopped || !c.hello || c.underlayIp === null) continue;
      out.push({
        peer: c.peer, underlayIp: c.underlayIp, vxlanPort: c.hello.vxlanPort, l2: c.l2, hostGw: c.hostGwActive,
        ...(c.underlayDev ? { underlayDev: c.underlayDev } : {}),
      });
    }
    return out;
  }

  private desired(): DesiredKernel {
    return desiredKernel({
      self: this.o.localName, peers: this.peerPaths(), record: (p) => this.directory.get(p),
      flood: this.floodKernel, hostGwLocal: this.hostGwOff() === null, localPods: this.localIps,
    });
  }

  private modeChanged(peer: PeerName, from: Mode, to: Mode, reason: ChangeReason, why: string): void {
    this.metrics.pathChange(from, to, reason);
    this.log.info({ peer, from, to, reason: why }, `fastpath: data path to ${peer}: ${from} → ${to} (${why})`);
  }

  private modeCounts(): Record<Mode, number> {
    const m = Object.fromEntries(MODES.map((x) => [x, 0])) as Record<Mode, number>;
    for (const c of this.byPeer.values()) m[c.mode]++;
    return m;
  }

  /** Local MACs (bridge FDB) every scan, pod addresses on port changes or every 10 s. */
  private async scanLocal(): Promise<void> {
    if (this.scanning || this.stopped) return;
    this.scanning = true;
    try {
      const entries = await this.edges.vxlan.localMacs([this.o.tapName, FASTPATH_VXLAN_DEVICE]);
      const ports = entries.map((e) => e.port).sort().join(',');
      const now = Date.now();
      if (ports !== this.lastPorts || now - this.lastAddressScan >= FASTPATH_ADDRESS_SCAN_MS) {
        this.lastPorts = ports;
        this.lastAddressScan = now;
        this.localIps = await this.readPodAddresses();
      }
      const macs = [...entries.map((e) => e.mac), ...this.localIps.map((a) => a.mac)];
      const update = this.directory.setLocal(macs, this.localIps);
      if (update) this.channel?.broadcast(update);
    } catch (e) {
      this.log.debug({ err: describeError(e) }, 'fastpath: local scan failed');
    } finally {
      this.scanning = false;
    }
  }

  private async readPodAddresses(): Promise<LocalPodAddress[]> {
    const out: LocalPodAddress[] = [];
    for (const p of await this.o.listPods()) {
      for (const a of p.addresses) {
        const ip = a.split('/')[0]!;
        if (isIp(ip, 4) && p.mac) {
          out.push({ ip, mac: p.mac.toLowerCase(), ...(p.hostIfname ? { port: p.hostIfname } : {}) });
        }
      }
    }
    return out;
  }
}
