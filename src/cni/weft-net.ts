/**
 * weft-net's verbs as the daemon runs them (the plugin process is a thin client that forwards
 * env and stdin, see cni-client.ts): ADD puts a pod on this host's weft bridge through the
 * daemon's one attach orchestration (address from the daemon's IPAM or a delegated IPAM
 * plugin, veth, overlay route, MTU and offload), DEL undoes it idempotently, CHECK and GC read
 * the kernel and the IPAM back.
 */
import type { NetworkInfo } from '../api/index.js';
import type { AddressRequest, AttachBackend, PodAddressing } from './backend.js';
import { CniError } from './cni-error.js';
import { parseCniArgs } from './cni-env.js';
import { delegateEnvOf, execDelegate } from './delegate.js';
import {
  isIpv6, parseResult, type CniDns, type CniInterface, type CniIpConfig, type CniResult, type CniRoute,
} from './cni-result.js';
import { ownerId } from './netconf.js';
import { checkNetns } from './pod-link.js';
import type { CniPlugin, PluginRequest } from './plugin-main.js';
import { checkAttachment } from './weft-net-check.js';
import { collectGarbage } from './weft-net-gc.js';

const delegateEnv = (req: PluginRequest, backend: AttachBackend): NodeJS.ProcessEnv => delegateEnvOf(backend.delegateEnv(), req.rawEnv);

async function addressFromDelegate(req: PluginRequest, type: string, env: NodeJS.ProcessEnv): Promise<PodAddressing> {
  const { output } = await execDelegate(type, 'ADD', req.conf.raw, req.env.path, env);
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

async function add(req: PluginRequest, backend: AttachBackend): Promise<CniResult> {
  const { env, conf } = req;
  await checkNetns(env.netns); // the orchestration checks too; this names CNI_NETNS in the message
  const net = await backend.network();
  let address: AddressRequest = { kind: 'ipam' };
  if (conf.ipamType) {
    const type = conf.ipamType;
    const denv = delegateEnv(req, backend);
    address = {
      kind: 'lease', what: `IPAM plugin ${type}`,
      acquire: () => addressFromDelegate(req, type, denv),
      release: () => execDelegate(type, 'DEL', conf.raw, env.path, denv),
    };
  }
  const mtu = conf.mtu ?? net.mtu;
  const args = parseCniArgs(env.args);
  const namespace = args.get('K8S_POD_NAMESPACE');
  const name = args.get('K8S_POD_NAME');
  const att = await backend.attach({
    owner: ownerId(conf.name, env.containerId, env.ifname), netns: env.netns, ifname: env.ifname, address, mtu,
    routes: (a) => podRoutes(req, net, a), exclusive: true,
    identity: { ...(namespace ? { namespace } : {}), name: name || env.containerId.slice(0, 63) },
  });
  const a = att.addressing;
  return mergeResult(conf.prevResult, {
    interfaces: [{ name: att.hostIfname, mac: att.hostMac }, { name: env.ifname, mac: att.mac, mtu, sandbox: env.netns }],
    ip: { address: a.cidr, interface: 1, ...(a.gateway ? { gateway: a.gateway } : {}) },
    routes: att.routes,
    ...(conf.dns ?? a.dns ? { dns: conf.dns ?? a.dns } : {}),
  });
}

/** Host-side links named in a prevResult: interfaces without a sandbox, other than the bridge. */
function hostLinksOf(prev: CniResult | undefined, bridge: string): string[] {
  return (prev?.interfaces ?? []).filter((i) => !i.sandbox && i.name !== bridge).map((i) => i.name);
}

async function del(req: PluginRequest, backend: AttachBackend): Promise<void> {
  const { env, conf } = req;
  const net = await backend.network();
  const type = conf.ipamType;
  await backend.detach({
    owner: ownerId(conf.name, env.containerId, env.ifname), netns: env.netns, ifname: env.ifname,
    hostLinks: hostLinksOf(conf.prevResult, net.bridge),
    ...(type ? { release: () => execDelegate(type, 'DEL', conf.raw, env.path, delegateEnv(req, backend)) } : {}),
  });
}

async function status(req: PluginRequest, backend: AttachBackend): Promise<void> {
  const delegated = req.conf.ipamType;
  if (delegated) {
    await execDelegate(delegated, 'STATUS', req.conf.raw, req.env.path, delegateEnv(req, backend));
    return;
  }
  const s = backend.addresses.readiness();
  if (!s) throw new CniError(50, 'weft IPAM not available: IPAM is not running on this weft daemon');
  if (s.status !== 'ready') throw new CniError(51, `weft IPAM is not ready (${s.status})${s.reason ? `: ${s.reason}` : ''}`);
}

/** The weft-net verbs over a daemon's {@link AttachBackend} (see docs/cni.md). */
export function weftNetVerbs(backend: AttachBackend): CniPlugin {
  return {
    kind: 'weft-net',
    add: (req) => add(req, backend),
    del: (req) => del(req, backend),
    check: (req) => checkAttachment(req, backend),
    status: (req) => status(req, backend),
    gc: (req) => collectGarbage(req, {
      gc: (p, keep) => backend.addresses.gc(p, keep),
      links: () => backend.links(),
      delegateEnv: () => delegateEnv(req, backend),
    }),
  };
}
