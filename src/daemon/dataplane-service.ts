import { FASTPATH_CHANNEL, WeftError, type Logger } from '../common/index.js';
import { API_ROUTES, type ApiServer, type NetworkInfo } from '../api/index.js';
import type { HostPlumbing } from '../host/index.js';
import type { OverlaySwitch, SleeveOverlay } from '../dataplane/index.js';
import type { Registry } from '../metrics/index.js';
import type { GossipChannel, Gossiper, Overlay, PeerName } from '../mesh/index.js';
import { TAP_NAME, buildDataplane, type DataplaneDeps } from './components.js';
import type { DaemonConfig } from './config.js';

export { TAP_NAME } from './components.js';

/** Allocation hooks the data plane uses for `weft attach` without --ip (IPAM, when present). */
export interface AddressSource {
  allocate(owner: string): Promise<{ cidr: string }>;
  release(owner: string): Promise<string[]>;
  readonly range: string;
}

/**
 * The host's data plane as the daemon runs it: bridge + TAP plumbing, the sleeve overlay, and
 * the API calls that attach namespaces to it; its parts are built by ./components.ts.
 * Lifecycle: start() (creates devices, opens fds) before the mesh starts; stop() after the
 * mesh stopped. Devices stay (pods keep their
 * interfaces across a daemon restart); `weft reset` removes them.
 */
export class DataplaneService {
  readonly plumbing: HostPlumbing;
  readonly sleeve: SleeveOverlay;
  /** What the mesh drives: the switch (sleeve underneath, fast paths per peer). */
  readonly overlay: OverlaySwitch;
  addresses: AddressSource | null = null;
  /** Called after `weft expose` / `weft hide` changed the host's overlay addresses (set by the daemon: the DNS server follows them). */
  onExposureChanged: () => void = () => undefined;
  /** Pod identities shown by `weft ps` (set by the daemon). */
  pods: { find(netns: string, ifname: string): { pod: { namespace: string; name: string; labels: Readonly<Record<string, string>>; ports: readonly { name: string; port: number; protocol: string }[] } } | undefined } | null = null;

  constructor(private readonly config: DaemonConfig, self: PeerName, private readonly log: Logger, registry: Registry,
    deps: DataplaneDeps = {}) {
    const parts = buildDataplane(config, self, log, registry, deps);
    this.plumbing = parts.plumbing;
    this.sleeve = parts.sleeve;
    this.overlay = parts.overlay;
  }

  /** Hand the overlay and the fast paths' gossip channel to the mesh router (before it starts). */
  attach(router: { setOverlay(o: Overlay): void; newGossip(name: string, g: Gossiper): GossipChannel }): void {
    router.setOverlay(this.overlay);
    this.overlay.attachGossip(router.newGossip(FASTPATH_CHANNEL, this.overlay.directory));
  }

  get mtu(): number {
    return this.overlay.mtu;
  }

  async start(): Promise<void> {
    await this.overlay.start();
  }

  async stop(): Promise<void> {
    await this.overlay.stop();
  }

  /**
   * Remove weft's devices and fast-path state (`weft reset`); call after stop(), which leaves
   * them in place. Pods' veths go with the bridge.
   */
  async reset(): Promise<void> {
    await this.overlay.resetKernel();
    await this.plumbing.teardown(TAP_NAME);
  }

  /** Status section. */
  status() {
    const fast = this.overlay.status();
    return {
      mode: fast.kernelPaths.enabled ? 'fastpath' : 'sleeve', bridge: this.config.bridge, mtu: this.overlay.mtu,
      fastpath: fast, links: this.sleeve.links(), stats: this.sleeve.stats(),
    };
  }

  /** What pods join: bridge, MTU, range, gateway (the first exposed address), TX checksum setting. */
  async networkInfo(): Promise<NetworkInfo> {
    const exposed = await this.plumbing.exposed();
    const gateway = exposed[0]?.split('/')[0];
    return {
      bridge: this.config.bridge, mtu: this.overlay.mtu, range: this.addresses?.range ?? this.config.ipallocRange,
      ...(gateway ? { gateway } : {}), txChecksumOff: !this.config.podTxOffload,
    };
  }

  /** Serve expose/hide/endpoints/network (requests arrive validated; attach/detach: AttachService). */
  registerRoutes(api: ApiServer): void {
    api.handle(API_ROUTES.expose, async ({ request }) => {
      let cidr = request.cidr;
      if (!cidr) {
        if (!this.addresses) throw new WeftError('WEFT_ERR_IPAM_NOT_READY', 'no address given and IPAM is not available: pass a CIDR');
        cidr = (await this.addresses.allocate('expose/host')).cidr;
      }
      await this.plumbing.expose(cidr);
      this.onExposureChanged();
      return { cidr };
    });
    api.handle(API_ROUTES.hide, async ({ request }) => {
      const given = request.cidr;
      const cidrs = given ? [given] : await this.plumbing.exposed();
      const hidden: string[] = [];
      for (const c of cidrs) if (await this.plumbing.hide(c)) hidden.push(c);
      if (!given && this.addresses) await this.addresses.release('expose/host');
      this.onExposureChanged();
      return { hidden };
    });
    api.handle(API_ROUTES.endpoints, async () => ({
      endpoints: (await this.plumbing.listAttached()).map((e) => {
        const p = this.pods?.find(e.netns, e.ifname)?.pod;
        return p ? { ...e, pod: { namespace: p.namespace, name: p.name, labels: { ...p.labels }, ports: p.ports.map((x) => ({ ...x })) } } : e;
      }),
    }));
    api.handle(API_ROUTES.network, () => this.networkInfo());
  }
}
