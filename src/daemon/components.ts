/**
 * The data plane's composition root: the one place that builds the host plumbing, the native
 * addon's I/O, the kernel edges (VXLAN, host-gw), the sleeve and the fast-path switch, and
 * hands each its dependencies. src/dataplane and src/host never build each other's parts;
 * tests build their own set (fakes or real parts) the same way.
 */
import { DEFAULT_TAP_NAME, DEFAULT_VXLAN_PORT, FASTPATH_EVENT_DEBOUNCE_MS, type Logger } from '../common/index.js';
import { HostGwEdge, HostPlumbing, LocalStateWatcher, VxlanEdge, probeEspTransport, underlayRoute } from '../host/index.js';
import {
  OverlaySwitch, SleeveOverlay, loadNative, vxlanEdgeSettings, type NativeDataplane,
} from '../dataplane/index.js';
import type { Registry } from '../metrics/index.js';
import type { PeerName } from '../mesh/index.js';
import type { DaemonConfig } from './config.js';

/** Name of the TAP the sleeve reads and writes. */
export const TAP_NAME = DEFAULT_TAP_NAME;

/** The data plane's parts as the daemon runs them (DataplaneService owns them). */
export interface DataplaneParts {
  /** Bridge, TAP, pod veths, exposed addresses (src/host). */
  plumbing: HostPlumbing;
  sleeve: SleeveOverlay;
  /** What the mesh drives: the switch (sleeve underneath, fast paths per peer). */
  overlay: OverlaySwitch;
}

/** What {@link buildDataplane} may be given instead of the real thing. */
export interface DataplaneDeps {
  /** The addon (default: `loadNative()`, which throws WEFT_ERR_HOST with the fix when it is not built). */
  native?: NativeDataplane;
  /** The local pods network policy polices (PolicyEdge.policedPods): host-gw keeps them off its shortcut. */
  policedPods?: () => readonly string[];
}

/**
 * Build the data plane of peer `self` from the daemon's config. Constructs only: no device,
 * socket or fd exists before `overlay.start()`. Throws WEFT_ERR_HOST when the native addon is
 * missing or stale, WEFT_ERR_BAD_ARGS for an invalid bridge name.
 */
export function buildDataplane(config: DaemonConfig, self: PeerName, log: Logger, registry: Registry,
  deps: DataplaneDeps = {}): DataplaneParts {
  const native = deps.native ?? loadNative();
  const plumbing = new HostPlumbing({ bridge: config.bridge, log });
  const sleeve = new SleeveOverlay({
    localName: self, port: config.port, tapName: TAP_NAME, mtu: config.mtu, log, registry,
    host: config.host === '::' ? '0.0.0.0' : config.host,
    timing: config.rekeyIntervalMs ? { rekeyIntervalMs: config.rekeyIntervalMs } : undefined,
    io: native, plumbing,
    tapCoalesce: config.sleeveTapCoalesce, udpGso: config.sleeveUdpGso, udpGro: config.sleeveUdpGro,
  });
  const vxlanPort = config.vxlanPort ?? DEFAULT_VXLAN_PORT;
  const edgeLog = log.child({ component: 'fastpath' });
  const overlay = new OverlaySwitch({
    localName: self, sleeve, bridge: config.bridge, tapName: TAP_NAME,
    kernelPaths: config.fastdp ?? true, hostGw: config.hostGw ?? true, vxlanPort,
    trustedSubnets: config.trustedSubnets ?? [], log, registry,
    io: native,
    edges: {
      vxlan: new VxlanEdge({ bridge: config.bridge, log: edgeLog, ...vxlanEdgeSettings(self, vxlanPort) }),
      hostgw: new HostGwEdge({ bridge: config.bridge, log: edgeLog, ...(deps.policedPods ? { policedPods: deps.policedPods } : {}) }),
    },
    listPods: () => plumbing.listAttached(),
    watcher: new LocalStateWatcher({
      log: edgeLog, debounceMs: FASTPATH_EVENT_DEBOUNCE_MS,
      ...(config.netlinkRcvbufBytes !== undefined ? { rcvbufBytes: config.netlinkRcvbufBytes } : {}),
    }),
    routeTo: async (ip) => {
      const r = await underlayRoute(ip);
      return { dev: r.dev, gateway: r.gateway ?? null };
    },
    probeEsp: probeEspTransport,
  });
  return { plumbing, sleeve, overlay };
}
