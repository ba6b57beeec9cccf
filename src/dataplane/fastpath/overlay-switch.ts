/**
 * OverlaySwitch: the Overlay the mesh drives. It runs the sleeve underneath every connection
 * (never torn down, so falling back is instant) and adds the kernel fast paths per peer:
 * host-gw (plain routed IPv4 between peers on one L2 segment) and VXLAN (kernel L2 tunnel),
 * each used only while full-size probes are answered. Design: docs/fastpath.md.
 */
import type { Registry } from 'prom-client';
import {
  FASTPATH_ADOPT_GRACE_MS, FASTPATH_CONFIRM_REPLIES, FASTPATH_DATA_VNI,
  FASTPATH_FAIL_AFTER_MS, FASTPATH_PROBE_INTERVAL_MS, FASTPATH_PROBE_PORT_OFFSET, FASTPATH_REPROBE_INITIAL_MS,
  FASTPATH_REPROBE_MAX_MS, FASTPATH_TICK_MS, FASTPATH_VXLAN_DEVICE, describeError, type Logger,
} from '../../common/index.js';
import type { LocalWatcher } from '../../host/index.js';
import type {
  GossipChannel, Overlay, OverlayConnection, OverlayConnectionParams, OverlayRoutes, PeerName,
} from '../../mesh/index.js';
import { peerNameToNumber } from '../../net/index.js';
import { VXLAN_DEVICE_MTU } from './edge-settings.js';
import { FastConnection, type ConnectionHost, type PathStatus } from './fast-connection.js';
import { desiredKernel, kernelFlood, type DesiredKernel, type Mode, type PeerPaths, type LocalPodAddress } from './kernel-state.js';
import { LocalPods, type LocalScan } from './local-pods.js';
import { kernelSize } from './restart.js';
import { RestartKeeper } from './restart-keeper.js';
import { KernelSync } from './kernel-sync.js';
import { DeadlineTimer } from './deadline-timer.js';
import { kernelOps, type SwitchEdges } from './switch-edges.js';
export type { SwitchEdges } from './switch-edges.js';
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
  /** Local kernel events (src/host's LocalStateWatcher in the daemon), or null: rescans only on `localChanged()`. */
  watcher: LocalWatcher | null;
  /** How long adopted or lingering kernel state is kept (default FASTPATH_ADOPT_GRACE_MS). ms */
  graceMs?: number;
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
 * --no-fastdp — makes the VXLAN devices, host-gw forwarding and the probe socket (a failure
 * there disables the kernel paths with the reason shown in status; the sleeve still runs),
 * adopting what a previous daemon left, and subscribes to local kernel events. The mesh then
 * drives prepareConnection / setRoutes / peerGone. `stop()` (idempotent) stops timers,
 * connections and the subscription and then the sleeve, and leaves the kernel fast-path state
 * in place (pods keep talking over VXLAN / host-gw while no daemon runs); {@link resetKernel}
 * (weft reset) removes it. Guarantees: frames between two peers on a kernel path never reach
 * userspace; a path carries traffic only after full-size probes were answered both ways; each
 * mode change is logged once with its reason and counted; adopted entries and those of a peer
 * whose connection closed are kept until that peer is back and settled, or for at most the
 * grace (then removed); no timer runs while no path is probing or waiting for a timeout.
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
  /** Probes and timeouts: runs only while some path has one due. */
  private readonly housekeeping: DeadlineTimer;
  private local: LocalPods | null = null;
  private localScanned = false;
  private localIps: LocalPodAddress[] = [];
  private readonly restart: RestartKeeper;
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
    const ops = kernelOps(this.edges);
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
    this.housekeeping = new DeadlineTimer(FASTPATH_TICK_MS, () => {
      let due = Infinity;
      for (const c of this.byPeer.values()) due = Math.min(due, c.nextDue());
      return this.started ? due : Infinity;
    }, (now) => this.tick(now));
    this.restart = new RestartKeeper({
      log: this.log, kernel: this.kernel, graceMs: o.graceMs ?? FASTPATH_ADOPT_GRACE_MS,
      record: (p) => this.directory.get(p), changed: () => this.changed(),
    });
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
    else await this.removeKernelState('fast path disabled (--no-fastdp)');
    if (this.o.kernelPaths && this.kernelError === null) {
      this.local = new LocalPods({
        log: this.log, watcher: this.o.watcher,
        readMacs: () => this.edges.vxlan.localMacs([this.o.tapName, FASTPATH_VXLAN_DEVICE]),
        readPods: this.o.listPods,
        onScan: (scan) => this.onLocalScan(scan),
      });
      this.local.start();
    }
    this.log.info({
      kernelPaths: this.kernelOff() ?? 'on', hostGw: this.hostGwOff() ?? 'on', vxlanPort: this.o.vxlanPort,
      podMtu: this.podMtu, espTransport: this.esp.supported,
    }, 'fastpath: switch started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.housekeeping.stop();
    this.restart.stop();
    this.local?.stop();
    for (const c of this.conns) c.stop();
    await this.kernel.stop();
    this.probeSocket?.close();
    if (this.o.kernelPaths && this.kernelError === null) {
      this.log.info({ entries: kernelSize(this.kernel.current) }, 'fastpath: stopped; kernel fast-path state left in place (weft reset removes it)');
    }
    await this.o.sleeve.stop();
  }

  /**
   * Remove every device, entry, route and rule the fast paths made (`weft reset`; after stop).
   * Missing pieces are fine; failures are logged, never thrown.
   */
  async resetKernel(): Promise<void> {
    await this.removeKernelState('reset');
  }

  /** Rescan local pods now (the daemon attached or detached one). */
  localChanged(): void {
    this.local?.changed();
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
        if (!self.stopped && self.byPeer.get(fc.peerNum) === fc) self.restart.closed(self.pathsOf(fc), fc.mode);
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
        adopting: this.kernel.adopting, lingering: this.restart.lingeringCount,
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
      await this.restart.adopt(async () => ({
        vxlan: await this.edges.vxlan.entries(), hostgw: this.o.hostGw ? await this.edges.hostgw.entries() : null,
      }));
    } catch (e) {
      this.kernelError = describeError(e);
      this.log.error({ err: this.kernelError }, 'fastpath: kernel paths unavailable, every connection stays on the sleeve');
      this.probeSocket?.close();
      this.probeSocket = null;
      await this.edges.vxlan.remove().catch(() => undefined);
      return;
    }
    if (!this.o.hostGw) {
      await this.edges.hostgw.reset().catch(() => undefined); // a previous daemon's host-gw state
      return;
    }
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

  private tick(now: number): void {
    if (this.stopped) return;
    try {
      for (const c of this.byPeer.values()) c.tick(now);
    } catch (e) {
      this.log.error({ err: describeError(e) }, 'fastpath: tick failed');
    }
  }

  private changed(): void {
    if (this.stopped) return;
    this.housekeeping.arm();
    // A lingering peer (restarting) still counts: our broadcasts keep reaching it over VXLAN.
    const paths = this.peerPaths();
    const reach = new Set(this.reachable);
    for (const p of paths) if (this.restart.isLingering(p.peer)) reach.add(p.peer);
    const flood = kernelFlood(reach, paths);
    if (flood !== this.floodKernel) {
      this.floodKernel = flood;
      this.log.info({ flood: flood ? 'kernel' : 'sleeve' }, flood
        ? 'fastpath: every reachable peer is on VXLAN: our broadcasts go by VXLAN head-end replication'
        : 'fastpath: our broadcasts go by the sleeve\'s broadcast tree');
      this.pushSleeveRoutes();
    }
    this.restart.update(this.byPeer.values(), this.localScanned);
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
    const live = new Set<PeerName>();
    for (const c of this.byPeer.values()) {
      const p = this.pathsOf(c);
      if (p === null) continue;
      if (this.restart.isLingering(c.peer) && !c.settled) continue; // the lingering paths stand until it settles
      live.add(c.peer);
      out.push(p);
    }
    const connected = (peer: PeerName) => [...this.byPeer.values()].some((c) => c.peer === peer);
    // Reachable over another peer (not only through the closed connection itself, whose route may be stale).
    const viaOther = (peer: PeerName) => { const hop = this.routes?.unicast.get(peer); return hop !== undefined && hop !== peer; };
    for (const p of this.restart.lingeringPaths(connected, viaOther)) if (!live.has(p.peer)) out.push(p);
    return out;
  }

  private pathsOf(c: FastConnection): PeerPaths | null {
    if (c.isStopped || !c.hello || c.underlayIp === null) return null;
    return {
      peer: c.peer, underlayIp: c.underlayIp, vxlanPort: c.hello.vxlanPort, l2: c.l2, hostGw: c.hostGwActive,
      ...(c.underlayDev ? { underlayDev: c.underlayDev } : {}),
    };
  }

  private desired(): DesiredKernel {
    return desiredKernel({
      self: this.o.localName, peers: this.peerPaths(), record: (p) => this.directory.get(p) ?? this.restart.record(p),
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

  private onLocalScan(scan: LocalScan): void {
    this.localIps = scan.ips;
    this.localScanned = true;
    const update = this.directory.setLocal(scan.macs, scan.ips);
    if (update) this.channel?.broadcast(update);
    this.changed();
  }

  /** Remove every fast-path device, entry, route and rule (reset, or kernel paths turned off). */
  private async removeKernelState(why: string): Promise<void> {
    for (const step of [() => this.edges.hostgw.reset(), () => this.edges.vxlan.remove(), () => this.edges.vxlan.unisolatePort(this.o.tapName)]) {
      try { await step(); } catch (e) { this.log.warn({ err: describeError(e), why }, 'fastpath: cleanup step failed'); }
    }
  }
}
