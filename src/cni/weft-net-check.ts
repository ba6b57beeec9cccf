/**
 * weft-net CHECK: the attachment described by prevResult still exists as ADD made it —
 * interface, MAC, MTU, addresses, the routes weft-net creates, the host veth on the bridge,
 * and the allocation in the daemon (or the delegated IPAM plugin's own CHECK).
 */
import { CniError } from './cni-error.js';
import { delegateEnvOf, execDelegate } from './delegate.js';
import { cidrNetwork, type CniResult, type CniRoute } from './cni-result.js';
import { ownerId } from './netconf.js';
import type { AttachBackend } from './backend.js';
import { checkNetns } from './pod-link.js';
import type { PluginRequest } from './plugin-main.js';

function mismatch(msg: string): CniError {
  return new CniError(999, `CHECK failed: ${msg}`);
}

const sameRoute = (a: CniRoute, b: CniRoute): boolean => a.dst === b.dst && (b.gw === undefined || a.gw === b.gw);

/** Throws 3 when the namespace is gone, 999 naming the first difference found. */
export async function checkAttachment(req: PluginRequest, backend: AttachBackend): Promise<void> {
  const { env, conf } = req;
  const prev = conf.prevResult as CniResult; // parseNetConf requires it for CHECK
  await checkNetns(env.netns);
  const net = await backend.network();
  const links = backend.links();

  const idx = (prev.interfaces ?? []).findIndex((i) => i.name === env.ifname && i.sandbox);
  if (idx < 0) throw mismatch(`prevResult lists no interface ${env.ifname} inside a sandbox`);
  const want = prev.interfaces![idx]!;
  const state = await links.inspect(env.netns, env.ifname);
  if (!state) throw mismatch(`interface ${env.ifname} does not exist in ${env.netns}`);
  if (want.mac && state.mac.toLowerCase() !== want.mac.toLowerCase()) {
    throw mismatch(`interface ${env.ifname} has MAC ${state.mac}, prevResult says ${want.mac}`);
  }
  const mtu = want.mtu ?? conf.mtu ?? net.mtu;
  if (state.mtu !== mtu) throw mismatch(`interface ${env.ifname} has MTU ${state.mtu}, expected ${mtu}`);

  const ips = prev.ips.filter((ip) => ip.interface === idx);
  if (ips.length === 0) throw mismatch(`prevResult lists no address for ${env.ifname}`);
  for (const ip of ips) {
    if (!state.addresses.includes(ip.address)) {
      throw mismatch(`address ${ip.address} is missing from ${env.ifname} (it has ${state.addresses.join(', ') || 'none'})`);
    }
  }

  // Only the routes weft-net creates are checked (later plugins in a chain may add others).
  const connected = new Set(ips.map((ip) => cidrNetwork(ip.address)));
  const ours = (prev.routes ?? []).filter((r) => r.dst === net.range || (conf.defaultRoute && r.dst === '0.0.0.0/0'));
  for (const r of ours) {
    if (!state.routes.some((have) => sameRoute(have, r)) && !(r.gw === undefined && connected.has(r.dst))) {
      throw mismatch(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing on ${env.ifname}`);
    }
  }

  for (const host of (prev.interfaces ?? []).filter((i) => !i.sandbox && i.name !== net.bridge)) {
    const master = await links.masterOf(host.name);
    if (master === null) throw mismatch(`host veth ${host.name} does not exist`);
    if (master !== net.bridge) throw mismatch(`host veth ${host.name} is attached to ${master || 'no bridge'}, not to ${net.bridge}`);
  }

  if (conf.ipamType) {
    await execDelegate(conf.ipamType, 'CHECK', conf.raw, env.path, delegateEnvOf(backend.delegateEnv(), req.rawEnv));
    return;
  }
  const owner = ownerId(conf.name, env.containerId, env.ifname);
  const held = (await backend.addresses.lookup(owner)).map((a) => a.address);
  for (const ip of ips) {
    const addr = ip.address.split('/')[0]!;
    if (!held.includes(addr)) {
      throw mismatch(`the weft daemon holds no allocation of ${addr} for ${owner}${held.length ? ` (it holds ${held.join(', ')})` : ''}`);
    }
  }
}
