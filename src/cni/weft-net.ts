/**
 * weft-net, the main plugin: puts a pod on this host's weft bridge (veth pair, address from the
 * daemon's IPAM or a delegated IPAM plugin, overlay route, MTU and offload from the daemon).
 */
import { DEFAULT_BRIDGE_NAME } from '../common/index.js';
import type { NetworkInfo } from '../api/index.js';
import { CniError } from './cni-error.js';
import { execDelegate } from './delegate.js';
import {
  cidrNetwork, isIpv6, parseResult, type CniDns, type CniInterface, type CniIpConfig, type CniResult, type CniRoute,
} from './cni-result.js';
import { ownerId } from './netconf.js';
import { checkNetns, interfaceExists, netnsPresent, openPodLinks } from './pod-link.js';
import type { CniPlugin, PluginRequest } from './plugin-main.js';
import { WeftDaemon } from './weft-daemon.js';
import { checkAttachment } from './weft-net-check.js';
import { collectGarbage } from './weft-net-gc.js';

/** Addresses for one attachment, from the daemon or a delegated IPAM plugin. */
interface PodAddressing {
  cidr: string;
  gateway?: string;
  routes: CniRoute[];
  dns?: CniDns;
}

async function addressFromDelegate(req: PluginRequest, type: string): Promise<PodAddressing> {
  const { output } = await execDelegate(type, 'ADD', req.conf.raw, req.env.path);
  const r = parseResult(output, `IPAM plugin ${type} returned an invalid result`);
  const ip = r.ips.find((x) => !isIpv6(x.address)) ?? r.ips[0];
  if (!ip) throw new CniError(999, `IPAM plugin ${type} returned no address`);
  return { cidr: ip.address, routes: r.routes ?? [], ...(ip.gateway ? { gateway: ip.gateway } : {}), ...(r.dns ? { dns: r.dns } : {}) };
}

/** Routes ADD installs: the overlay range, the IPAM's routes, and a default route when asked. */
function podRoutes(req: PluginRequest, net: NetworkInfo, a: PodAddressing): CniRoute[] {
  const routes: CniRoute[] = [{ dst: net.range }, ...a.routes.filter((r) => r.dst !== net.range)];
  if (req.conf.defaultRoute) {
    const gw = a.gateway ?? net.gateway;
    if (!gw) {
      throw new CniError(999, '"defaultRoute" is set but the weft daemon has no gateway address on the overlay; run "weft expose" on this host or drop "defaultRoute"');
    }
    routes.push({ dst: '0.0.0.0/0', gw });
  }
  return routes;
}

/** Put this plugin's interfaces and IP after a prevResult's (ADD in a chain must keep it). */
function mergeResult(prev: CniResult | undefined, own: { interfaces: CniInterface[]; ip: CniIpConfig; routes: CniRoute[]; dns?: CniDns }): CniResult {
  const base = prev?.interfaces?.length ?? 0;
  return {
    interfaces: [...(prev?.interfaces ?? []), ...own.interfaces],
    ips: [...(prev?.ips ?? []), { ...own.ip, interface: base + (own.ip.interface ?? 0) }],
    routes: [...(prev?.routes ?? []), ...own.routes],
    dns: own.dns ?? prev?.dns ?? {},
  };
}

async function add(req: PluginRequest): Promise<CniResult> {
  const { env, conf, log } = req;
  await checkNetns(env.netns);
  const daemon = await WeftDaemon.connect(conf.socket);
  const [net, taken] = await Promise.all([daemon.network(), interfaceExists(env.netns, env.ifname)]);
  if (taken) {
    throw new CniError(999, `interface ${env.ifname} already exists in ${env.netns}; choose another CNI_IFNAME or DEL the attachment first`);
  }
  const links = await openPodLinks(net.bridge, req.log);
  const owner = ownerId(conf.name, env.containerId, env.ifname);
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  try {
    let addressing: PodAddressing;
    if (conf.ipamType) {
      const type = conf.ipamType;
      undo.push({ what: `IPAM plugin ${type} DEL`, run: () => execDelegate(type, 'DEL', conf.raw, env.path) });
      addressing = await addressFromDelegate(req, type);
    } else {
      // Registered before the call: an allocation whose reply was lost is released too.
      undo.push({ what: `release of ${owner}`, run: () => daemon.release(owner) });
      const a = await daemon.allocate(owner);
      addressing = { cidr: `${a.address}/${a.prefixLength}`, routes: [], ...(net.gateway ? { gateway: net.gateway } : {}) };
    }
    const mtu = conf.mtu ?? net.mtu;
    const routes = podRoutes(req, net, addressing);
    const att = await links.attach({ netns: env.netns, ifname: env.ifname, cidr: addressing.cidr, mtu, txChecksumOff: net.txChecksumOff });
    undo.push({ what: `deleting ${att.hostIfname}`, run: () => links.deleteHostLink(att.hostIfname) });
    // The connected route of the address already covers its own network.
    const connected = cidrNetwork(addressing.cidr);
    await links.addRoutes(env.netns, env.ifname, routes.filter((r) => r.gw !== undefined || r.dst !== connected));
    log.info({ owner, cidr: addressing.cidr, hostIfname: att.hostIfname }, 'cni: attached');
    return mergeResult(conf.prevResult, {
      interfaces: [{ name: att.hostIfname, mac: att.hostMac }, { name: env.ifname, mac: att.mac, mtu, sandbox: env.netns }],
      ip: { address: addressing.cidr, interface: 1, ...(addressing.gateway ? { gateway: addressing.gateway } : {}) },
      routes,
      ...(conf.dns ?? addressing.dns ? { dns: conf.dns ?? addressing.dns } : {}),
    });
  } catch (e) {
    for (const u of undo.reverse()) {
      try {
        await u.run();
      } catch (ue) {
        log.warn({ err: (ue as Error).message }, `cni: rollback step failed: ${u.what}`);
      }
    }
    throw e;
  }
}

/** Host-side links named in a prevResult: interfaces without a sandbox, other than the bridge. */
function hostLinksOf(prev: CniResult | undefined, bridge: string): string[] {
  return (prev?.interfaces ?? []).filter((i) => !i.sandbox && i.name !== bridge).map((i) => i.name);
}

async function del(req: PluginRequest): Promise<void> {
  const { env, conf } = req;
  const owner = ownerId(conf.name, env.containerId, env.ifname);
  const daemon = await WeftDaemon.connect(conf.socket);
  let net: NetworkInfo | undefined;
  let daemonError: unknown;
  try {
    net = await daemon.network();
  } catch (e) {
    daemonError = e; // the veth can still go; the release is retried by the runtime
  }
  // Detaching through the namespace needs no bridge name; deleting a veth named in prevResult
  // is only done when the daemon confirms which bridge it must be on.
  const links = await openPodLinks(net?.bridge ?? DEFAULT_BRIDGE_NAME, req.log);
  if (await netnsPresent(env.netns)) await links.detach(env.netns, env.ifname);
  else if (net) for (const name of hostLinksOf(conf.prevResult, net.bridge)) await links.deleteHostVeth(name);
  if (conf.ipamType) {
    await execDelegate(conf.ipamType, 'DEL', conf.raw, env.path);
  } else {
    if (daemonError) throw daemonError;
    await daemon.release(owner);
  }
}

async function status(req: PluginRequest): Promise<void> {
  const delegated = req.conf.ipamType;
  await (await WeftDaemon.connect(req.conf.socket)).ready({ ipam: !delegated });
  if (delegated) await execDelegate(delegated, 'STATUS', req.conf.raw, req.env.path);
}

/** The weft-net plugin (see docs/cni.md). */
export const weftNetPlugin: CniPlugin = {
  kind: 'weft-net',
  add,
  del,
  check: (req) => checkAttachment(req),
  status,
  gc: (req) => collectGarbage(req, { veths: true }),
};
