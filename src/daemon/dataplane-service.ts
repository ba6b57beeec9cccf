import { DEFAULT_VXLAN_PORT, FASTPATH_CHANNEL, WeftError, type Logger } from '../common/index.js';
import { API_ROUTES, type ApiServer } from '../api/index.js';
import { HostPlumbing } from '../host/index.js';
import { OverlaySwitch, SleeveOverlay } from '../dataplane/index.js';
import type { Registry } from '../metrics/index.js';
import type { GossipChannel, Gossiper, Overlay, PeerName } from '../mesh/index.js';
import type { DaemonConfig } from './config.js';

/** Allocation hooks the data plane uses for `weft attach` without --ip (IPAM, when present). */
export interface AddressSource {
  allocate(owner: string): Promise<{ cidr: string }>;
  release(owner: string): Promise<string[]>;
  readonly range: string;
}

/** Name of the TAP the sleeve reads and writes. */
export const TAP_NAME = 'weft-tap';

/**
 * The host's data plane as the daemon runs it: bridge + TAP plumbing, the sleeve overlay, and
 * the API calls that attach namespaces to it. Lifecycle: start() (creates devices, opens fds)
 * before the mesh starts; stop() after the mesh stopped. Devices stay (pods keep their
 * interfaces across a daemon restart); `weft reset` removes them.
 */
export class DataplaneService {
  readonly plumbing: HostPlumbing;
  readonly sleeve: SleeveOverlay;
  /** What the mesh drives: the switch (sleeve underneath, fast paths per peer). */
  readonly overlay: OverlaySwitch;
  addresses: AddressSource | null = null;

  constructor(private readonly config: DaemonConfig, self: PeerName, private readonly log: Logger, registry: Registry) {
    this.plumbing = new HostPlumbing({ bridge: config.bridge, log });
    this.sleeve = new SleeveOverlay({
      localName: self, port: config.port, bridge: config.bridge, tapName: TAP_NAME,
      mtu: config.mtu, log, registry, host: config.host === '::' ? '0.0.0.0' : config.host,
      timing: config.rekeyIntervalMs ? { rekeyIntervalMs: config.rekeyIntervalMs } : undefined,
    });
    this.overlay = new OverlaySwitch({
      localName: self, sleeve: this.sleeve, bridge: config.bridge, tapName: TAP_NAME,
      kernelPaths: config.fastdp ?? true, hostGw: config.hostGw ?? true, vxlanPort: config.vxlanPort ?? DEFAULT_VXLAN_PORT,
      trustedSubnets: config.trustedSubnets ?? [], log, registry,
    });
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

  /** Serve attach/detach/expose/hide/endpoints/network (requests arrive validated). */
  registerRoutes(api: ApiServer): void {
    api.handle(API_ROUTES.attach, async ({ request: { netns, ifname, ip } }) => {
      let cidr = ip;
      const owner = `attach/${netns}/${ifname ?? 'ethwe'}`;
      let allocated = false;
      if (!cidr) {
        if (!this.addresses) throw new WeftError('WEFT_ERR_IPAM_NOT_READY', 'no address given and IPAM is not available on this peer: pass --ip CIDR');
        cidr = (await this.addresses.allocate(owner)).cidr;
        allocated = true;
      }
      try {
        const ep = await this.plumbing.attach({ netns, ifname, cidr, mtu: this.overlay.mtu, txOff: !this.config.podTxOffload });
        this.overlay.localChanged();
        return { ...ep, cidr, mtu: this.overlay.mtu, allocated };
      } catch (e) {
        if (allocated) await this.addresses?.release(owner).catch(() => undefined);
        throw e;
      }
    });
    api.handle(API_ROUTES.detach, async ({ request: { netns, ifname } }) => {
      const detached = await this.plumbing.detach(netns, ifname);
      this.overlay.localChanged();
      const released = this.addresses ? await this.addresses.release(`attach/${netns}/${ifname ?? 'ethwe'}`) : [];
      return { detached, released };
    });
    api.handle(API_ROUTES.expose, async ({ request }) => {
      let cidr = request.cidr;
      if (!cidr) {
        if (!this.addresses) throw new WeftError('WEFT_ERR_IPAM_NOT_READY', 'no address given and IPAM is not available: pass a CIDR');
        cidr = (await this.addresses.allocate('expose/host')).cidr;
      }
      await this.plumbing.expose(cidr);
      return { cidr };
    });
    api.handle(API_ROUTES.hide, async ({ request }) => {
      const given = request.cidr;
      const cidrs = given ? [given] : await this.plumbing.exposed();
      const hidden: string[] = [];
      for (const c of cidrs) if (await this.plumbing.hide(c)) hidden.push(c);
      if (!given && this.addresses) await this.addresses.release('expose/host');
      return { hidden };
    });
    api.handle(API_ROUTES.endpoints, async () => ({ endpoints: await this.plumbing.listAttached() }));
    api.handle(API_ROUTES.network, async () => {
      const exposed = await this.plumbing.exposed();
      return {
        bridge: this.config.bridge, mtu: this.overlay.mtu, range: this.addresses?.range ?? this.config.ipallocRange,
        gateway: exposed[0]?.split('/')[0], txChecksumOff: !this.config.podTxOffload,
      };
    });
  }
}
