/**
 * Flow recording as the daemon runs it (docs/flows.md): builds the ring, the recorder and the
 * cluster query; opens one conntrack event socket per local pod namespace (PodConntrack) and
 * the NFLOG listener of the policy table; feeds the sleeve's drops in. The lookups the
 * recorder needs (pod by address, path to a host, policies isolating a pod) are built here
 * from the policy input, the policy ruleset in force and the data plane's connection modes,
 * and cached (rebuilt when their source changes, at most once per second for the modes).
 *
 * Lifecycle: `attach(router)` before the mesh starts; `start()` after the data plane (the
 * NFLOG socket, then every attached pod); `localChanged()` after attach/detach; `stop()`.
 * A pod whose namespace cannot be tracked is logged and retried on the next change; it never
 * fails the daemon.
 */
import { POLICY_NFLOG_GROUP, describeError, type Logger, type Startable } from '../common/index.js';
import type { FlowPath, FlowPolicy } from '../api/index.js';
import {
  FlowQueryService, FlowRecorder, FlowRing, FLOW_CHANNEL, FLOW_RING_DEFAULT, registerFlowMetrics, type FlowPodView, type SleeveDropEvent,
} from '../flows/index.js';
import { PodConntrack, netlinkKernel, nflogListener, type NetfilterEvents, type NflogRecord, type ListedEndpoint } from '../host/index.js';
import type { GossipChannel, Gossiper, PeerName } from '../mesh/index.js';
import type { Registry } from '../metrics/index.js';
import type { PolicyInput, PolicyRuleset } from '../policy/index.js';

export interface FlowServiceOptions {
  self: { name: PeerName; nickname: string };
  log: Logger;
  registry: Registry;
  ringSize?: number;
  /** Record at all (false: --no-flows; the query still answers, from an empty ring). */
  recording: boolean;
  /** Every pod of the cluster (the policy input's pods, hosts by peer name). */
  policyInput(): PolicyInput | null;
  /** The policy ruleset in force. */
  ruleset(): PolicyRuleset | null;
  /** Nickname of a peer name (itself when unknown). */
  nickname(peer: string): string;
  /** Connection modes to peers by name ("hostgw", "vxlan", "sleeve"). */
  modes(): ReadonlyMap<string, string>;
  /** Reachable peers with nicknames. */
  peers(): { name: PeerName; nickname: string }[];
  /** The pods attached to this host's bridge. */
  listAttached(): Promise<ListedEndpoint[]>;
}

const SLEEVE_REASON: Record<string, SleeveDropEvent['reason']> = {
  no_route: 'no-route', too_big: 'too-big', auth: 'auth', replay: 'replay', malformed: 'bad-frame', unknown_peer: 'auth', queue_full: 'queue-full',
};

export class FlowService implements Startable {
  readonly ring: FlowRing;
  readonly recorder: FlowRecorder;
  readonly query: FlowQueryService;
  private nflog: NetfilterEvents<NflogRecord> | null = null;
  private readonly tracked = new Map<string, { ct: PodConntrack; ip: string }>();
  private running = false;
  private syncing: Promise<void> = Promise.resolve();
  private podIndex: { input: PolicyInput | null; byIp: Map<string, FlowPodView> } = { input: null, byIp: new Map() };
  private policyIndex: { ruleset: PolicyRuleset | null; byKey: Map<string, FlowPolicy[]> } = { ruleset: null, byKey: new Map() };
  private modeCache: { at: number; modes: ReadonlyMap<string, string> } = { at: -Infinity, modes: new Map() };
  private readonly lost = { malformed: 0, overruns: 0 };

  constructor(private readonly o: FlowServiceOptions) {
    this.ring = new FlowRing(o.ringSize ?? FLOW_RING_DEFAULT);
    this.recorder = new FlowRecorder({
      ring: this.ring, self: o.self.nickname,
      pod: (ip) => this.pod(ip),
      pathToHost: (host) => this.pathTo(host),
      policiesFor: (direction, ip, audit) => this.policies(direction, ip, audit),
    });
    this.query = new FlowQueryService({ ring: this.ring, log: o.log, self: o.self, peers: o.peers });
    registerFlowMetrics(o.registry, this.recorder, this.ring, () => this.socketCounts());
  }

  attach(router: { newGossip(name: string, g: Gossiper): GossipChannel }): void {
    this.query.attach(router.newGossip(FLOW_CHANNEL, this.query));
  }

  /** The sleeve's drop observer (SleeveOverlay.setDropObserver). */
  readonly sleeveDrop = (reason: string, n: number, peer?: string): void => {
    if (!this.running || !this.o.recording) return;
    const r = SLEEVE_REASON[reason];
    if (!r) return;
    this.recorder.sleeveDrop({ reason: r, count: n, ...(peer ? { sender: { ip: '', port: 0, peer: this.o.nickname(peer) } } : {}) }, Date.now());
  };

  async start(): Promise<void> {
    this.running = true;
    if (!this.o.recording) return;
    try {
      this.nflog = nflogListener({ log: this.o.log, group: POLICY_NFLOG_GROUP, onRecord: (r) => { this.recorder.nflog(r, Date.now()); } });
      this.nflog.start();
    } catch (e) {
      this.nflog = null;
      this.o.log.warn({ err: describeError(e) }, 'flows: no NFLOG listener: policy drops are not recorded');
    }
    this.localChanged();
    await this.syncing;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.query.stop();
    await this.syncing.catch(() => undefined);
    this.nflog?.stop();
    this.nflog = null;
    for (const { ct } of this.tracked.values()) await ct.stop(false);
    this.tracked.clear();
  }

  /** Pods were attached or detached: track the new namespaces, forget the gone ones. */
  localChanged(): void {
    if (!this.running || !this.o.recording) return;
    this.syncing = this.syncing.then(() => this.sync()).catch((e: unknown) => this.o.log.warn({ err: describeError(e) }, 'flows: pod sync failed'));
  }

  private async sync(): Promise<void> {
    if (!this.running) return;
    const listed = await this.o.listAttached();
    const want = new Map<string, string>();
    for (const e of listed) {
      const ip = e.addresses.map((a) => a.split('/')[0]!).find((a) => a.includes('.')) ?? e.addresses[0]?.split('/')[0];
      if (ip) want.set(e.netns, ip);
    }
    for (const [ns, t] of this.tracked) {
      if (want.get(ns) === t.ip) continue;
      await t.ct.stop(false);
      this.tracked.delete(ns);
    }
    for (const [ns, ip] of want) {
      if (this.tracked.has(ns)) continue;
      const ct = new PodConntrack({
        log: this.o.log, nsPath: ns, kernel: netlinkKernel({ nsPath: ns }),
        onEvent: (ev) => { this.recorder.conntrack(ev, ip, Date.now()); },
      });
      try {
        await ct.start();
        this.tracked.set(ns, { ct, ip });
        this.o.log.info({ netns: ns, ip }, 'flows: tracking the connections of a pod');
      } catch (e) {
        this.o.log.warn({ netns: ns, err: describeError(e) }, 'flows: cannot track the connections of a pod');
      }
    }
  }

  private socketCounts(): { malformed: number; overruns: number } {
    let malformed = this.lost.malformed + (this.nflog?.stats.malformed ?? 0);
    let overruns = this.lost.overruns + (this.nflog?.stats.overruns ?? 0);
    for (const { ct } of this.tracked.values()) { malformed += ct.stats.malformed; overruns += ct.stats.overruns; }
    return { malformed, overruns };
  }

  private pod(ip: string): FlowPodView | undefined {
    const input = this.o.policyInput();
    if (input !== this.podIndex.input) {
      const byIp = new Map<string, FlowPodView>();
      for (const p of input?.pods ?? []) {
        const view: FlowPodView = { namespace: p.namespace, name: p.name, labels: p.labels, host: this.o.nickname(p.host), local: p.host === this.o.self.name };
        for (const a of p.ips) byIp.set(a, view);
      }
      this.podIndex = { input, byIp };
    }
    const hit = this.podIndex.byIp.get(ip);
    if (hit) return hit;
    // A local pod not yet in the directory (just attached): still local.
    for (const t of this.tracked.values()) if (t.ip === ip) return { namespace: '', name: '', labels: {}, host: this.o.self.nickname, local: true };
    return undefined;
  }

  private pathTo(host: string): FlowPath {
    const now = Date.now();
    if (now - this.modeCache.at > 1000) this.modeCache = { at: now, modes: this.o.modes() };
    for (const [peer, mode] of this.modeCache.modes) {
      if (this.o.nickname(peer) !== host && peer !== host) continue;
      return mode === 'hostgw' ? 'hostgw' : mode === 'vxlan' ? 'vxlan' : 'sleeve';
    }
    return 'sleeve';
  }

  private policies(direction: 'ingress' | 'egress', ip: string, audit: boolean): FlowPolicy[] {
    const rs = this.o.ruleset();
    if (rs !== this.policyIndex.ruleset) {
      const byKey = new Map<string, FlowPolicy[]>();
      for (const iso of rs?.isolations ?? []) {
        const slash = iso.policy.indexOf('/');
        const pol: FlowPolicy = { namespace: iso.policy.slice(0, slash), name: iso.policy.slice(slash + 1), direction: iso.direction };
        for (const t of iso.targets) {
          const k = `${iso.direction}|${t}|${iso.audit ? 1 : 0}`;
          const list = byKey.get(k) ?? [];
          list.push(pol);
          byKey.set(k, list);
        }
      }
      this.policyIndex = { ruleset: rs, byKey };
    }
    return [...(this.policyIndex.byKey.get(`${direction}|${ip}|${audit ? 1 : 0}`) ?? [])];
  }
}
