/**
 * weft-ipam, the IPAM-only plugin: addresses from the weft daemon's ring for any main plugin
 * that delegates IPAM (e.g. the reference `bridge`). Settings live in the `ipam` section:
 * `socket` and `defaultRoute`. Returns the abbreviated IPAM result (no interfaces).
 */
import { CniError } from './cni-error.js';
import { cidrNetwork, type CniResult, type CniRoute } from './cni-result.js';
import { ownerId } from './netconf.js';
import type { CniPlugin, PluginRequest } from './plugin-main.js';
import { WeftDaemon } from './weft-daemon.js';
import { collectGarbage } from './weft-net-gc.js';

const owner = (req: PluginRequest): string => ownerId(req.conf.name, req.env.containerId, req.env.ifname);

async function add(req: PluginRequest): Promise<CniResult> {
  const daemon = await WeftDaemon.connect(req.conf.socket);
  const net = await daemon.network();
  if (req.conf.defaultRoute && !net.gateway) {
    throw new CniError(999, '"ipam.defaultRoute" is set but the weft daemon has no gateway address on the overlay; run "weft expose" on this host or drop it');
  }
  const id = owner(req);
  const a = await daemon.allocate(id);
  const cidr = `${a.address}/${a.prefixLength}`;
  const routes: CniRoute[] = cidrNetwork(cidr) === net.range ? [] : [{ dst: net.range }];
  if (req.conf.defaultRoute) routes.push({ dst: '0.0.0.0/0', gw: net.gateway! });
  return {
    ips: [{ address: cidr, ...(req.conf.defaultRoute ? { gateway: net.gateway! } : {}) }],
    ...(routes.length > 0 ? { routes } : {}),
    dns: req.conf.dns ?? {},
  };
}

async function check(req: PluginRequest): Promise<void> {
  const daemon = await WeftDaemon.connect(req.conf.socket);
  const id = owner(req);
  const held = new Set((await daemon.lookup(id)).map((x) => x.address));
  const listed = (req.conf.prevResult?.ips ?? []).map((ip) => ip.address.split('/')[0]!);
  if (!listed.some((a) => held.has(a))) {
    throw new CniError(999, `CHECK failed: the weft daemon holds no allocation for ${id} matching prevResult (${listed.join(', ') || 'no addresses'}); it holds ${[...held].join(', ') || 'none'}`);
  }
}

/** The weft-ipam plugin (see docs/cni.md). */
export const weftIpamPlugin: CniPlugin = {
  kind: 'weft-ipam',
  add,
  del: async (req) => { await (await WeftDaemon.connect(req.conf.socket)).release(owner(req)); },
  check,
  status: async (req) => { await (await WeftDaemon.connect(req.conf.socket)).ready({ ipam: true }); },
  gc: async (req) => {
    const daemon = await WeftDaemon.connect(req.conf.socket);
    await collectGarbage(req, { gc: (p, keep) => daemon.gc(p, keep) });
  },
};
