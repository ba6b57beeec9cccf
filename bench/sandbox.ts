import { BENCH_UNDERLAY_MTU, WeftError, type Logger } from '../src/common/index.js';
import { Lab } from '../lab/index.js';
import { createVethPair, exec, spawnDaemon } from './netns.js';
import type {
  BridgedPodPair,
  Daemon,
  ExecOptions,
  ExecResult,
  HostNs,
  PodOptions,
  PodPair,
  ScenarioEnv,
  SpawnOptions,
} from './types.js';

/** Addresses used inside every sandbox (each sandbox has its own namespaces). */
export const SANDBOX_ADDR = {
  underlay: ['198.18.0.1', '198.18.0.2'],
  underlayPrefixLen: 24,
  /** routed pods: host-side gateway / pod address per host */
  routedGw: ['10.61.1.1', '10.61.2.1'],
  routedPod: ['10.61.1.2', '10.61.2.2'],
  routedSubnet: ['10.61.1.0/24', '10.61.2.0/24'],
  /** bridged pods share one subnet */
  bridgedPod: ['10.61.0.1', '10.61.0.2'],
  bridgedSubnet: '10.61.0.0/24',
} as const;

/**
 * One scenario's private world, on the project's one namespace Lab (lab/): host namespaces
 * h1/h2 joined by the underlay veth, pods added on request, a temp dir, and every daemon
 * started for it. Implements {@link ScenarioEnv}. Lifecycle: `create()` once, then hand it to
 * the scenario; `destroy()` (idempotent, never throws) stops all daemons, then destroys the Lab
 * (kills leftovers, deletes every namespace and the temp dir).
 */
export class Sandbox implements ScenarioEnv {
  readonly hosts: readonly [HostNs, HostNs];
  private readonly lab: Lab;
  private readonly daemons: Daemon[] = [];
  private destroyed = false;
  private tearingDown = false;

  constructor(
    readonly prefix: string,
    readonly lifetimeS: number,
    readonly log: Logger,
    readonly signal: AbortSignal,
  ) {
    this.lab = new Lab({ prefix, dirPrefix: `${prefix}-` });
    const dev = `${prefix}u`;
    this.hosts = [
      { ns: `${prefix}-h1`, underlayDev: dev, underlayIp: SANDBOX_ADDR.underlay[0] },
      { ns: `${prefix}-h2`, underlayDev: dev, underlayIp: SANDBOX_ADDR.underlay[1] },
    ];
  }

  /** Names of all namespaces created so far (hosts first). */
  get allNamespaces(): readonly string[] {
    return this.lab.allNamespaces;
  }

  /** The scenario's scratch directory (removed by destroy()). */
  get tmpDir(): string {
    return this.lab.dir;
  }

  /** Builds the two hosts and the underlay. Throws WeftError; call destroy() regardless. */
  async create(): Promise<void> {
    for (const h of this.hosts) await this.addNetns(h.ns);
    const [h1, h2] = this.hosts;
    await createVethPair({ ns: h1.ns, dev: h1.underlayDev }, { ns: h2.ns, dev: h2.underlayDev }, BENCH_UNDERLAY_MTU);
    for (const h of this.hosts) {
      await exec(null, ['ip', '-n', h.ns, 'addr', 'add', `${h.underlayIp}/${SANDBOX_ADDR.underlayPrefixLen}`, 'dev', h.underlayDev]);
      await exec(h.ns, [
        'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
      ]);
    }
  }

  /** Like netns exec(); aborted by Ctrl-C, except during teardown (cleanup must still run). */
  exec(ns: string | null, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return exec(ns, argv, this.tearingDown ? opts : { ...opts, signal: this.signal });
  }

  /** From now on exec() ignores the abort signal, so a scenario's teardown can run commands. */
  beginTeardown(): void {
    this.tearingDown = true;
  }

  spawnDaemon(ns: string, label: string, argv: readonly string[], opts: SpawnOptions = {}): Daemon {
    if (this.destroyed || this.signal.aborted) throw new WeftError('WEFT_ERR_CLOSED', `sandbox closed; not starting ${label}`);
    const d = spawnDaemon(ns, label, argv, this.lifetimeS, opts);
    this.daemons.push(d);
    return d;
  }

  async routedPods(opts: PodOptions): Promise<PodPair> {
    const devs = await this.addPods(opts);
    for (const i of [0, 1] as const) {
      const host = this.hosts[i]!.ns;
      const pod = this.podNs(i);
      await exec(null, ['ip', '-n', host, 'addr', 'add', `${SANDBOX_ADDR.routedGw[i]}/24`, 'dev', devs.host]);
      await exec(null, ['ip', '-n', pod, 'addr', 'add', `${SANDBOX_ADDR.routedPod[i]}/24`, 'dev', devs.pod]);
      await exec(null, ['ip', '-n', pod, 'route', 'add', 'default', 'via', SANDBOX_ADDR.routedGw[i]]);
    }
    return {
      clientNs: this.podNs(0),
      serverNs: this.podNs(1),
      clientIp: SANDBOX_ADDR.routedPod[0],
      serverIp: SANDBOX_ADDR.routedPod[1],
      clientSubnet: SANDBOX_ADDR.routedSubnet[0],
      serverSubnet: SANDBOX_ADDR.routedSubnet[1],
      hostDevs: [devs.host, devs.host],
    };
  }

  async bridgedPods(opts: PodOptions): Promise<BridgedPodPair> {
    const devs = await this.addPods(opts);
    const br = `${this.prefix}br`;
    for (let i = 0; i < 2; i++) {
      const host = this.hosts[i]!.ns;
      await exec(null, ['ip', '-n', host, 'link', 'add', br, 'mtu', `${opts.mtu}`, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      await exec(null, ['ip', '-n', host, 'link', 'set', devs.host, 'master', br]);
      await exec(null, ['ip', '-n', host, 'link', 'set', br, 'up']);
      await exec(null, ['ip', '-n', this.podNs(i), 'addr', 'add', `${SANDBOX_ADDR.bridgedPod[i]}/24`, 'dev', devs.pod]);
    }
    return {
      clientNs: this.podNs(0),
      serverNs: this.podNs(1),
      clientIp: SANDBOX_ADDR.bridgedPod[0],
      serverIp: SANDBOX_ADDR.bridgedPod[1],
      clientSubnet: SANDBOX_ADDR.bridgedSubnet,
      serverSubnet: SANDBOX_ADDR.bridgedSubnet,
      hostDevs: [devs.host, devs.host],
      bridges: [br, br],
    };
  }

  async podNetns(suffix: string): Promise<string> {
    if (!/^[a-z0-9]{1,4}$/.test(suffix)) throw new WeftError('WEFT_ERR_BAD_ARGS', `pod namespace suffix "${suffix}": 1-4 of a-z0-9`);
    const ns = `${this.prefix}-${suffix}`;
    await this.addNetns(ns);
    return ns;
  }

  /** Daemons started for this sandbox that have already exited (for failure reasons). */
  exitedDaemons(): Daemon[] {
    return this.daemons.filter((d) => !d.running);
  }

  /** Stops daemons, deletes namespaces and the temp dir. Idempotent; never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.daemons.map((d) => d.stop()));
    this.lab.destroy();
  }

  private podNs(i: number): string {
    return `${this.prefix}-p${i + 1}`;
  }

  /** A Lab namespace (tracked before it is made) with IPv6 off (no DAD/RS noise in the measurements). */
  private async addNetns(ns: string): Promise<void> {
    this.lab.netns(ns.slice(this.prefix.length));
    await exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }

  /** Pod namespaces p1/p2, each with a veth to its host ("…v" in the host, "…e" in the pod). */
  private async addPods(opts: PodOptions): Promise<{ host: string; pod: string }> {
    const host = `${this.prefix}v`;
    const pod = `${this.prefix}e`;
    for (let i = 0; i < 2; i++) {
      await this.addNetns(this.podNs(i));
      await createVethPair({ ns: this.hosts[i]!.ns, dev: host }, { ns: this.podNs(i), dev: pod }, opts.mtu);
      if (opts.txOffloadOff) {
        await exec(this.hosts[i]!.ns, ['ethtool', '-K', host, 'tx', 'off'], { allowFail: true });
        await exec(this.podNs(i), ['ethtool', '-K', pod, 'tx', 'off']);
      }
    }
    return { host, pod };
  }
}
