/**
 * GC (spec 1.1.0): release every allocation of this network whose attachment is not listed in
 * `cni.dev/valid-attachments`, and (weft-net) delete the host veths that still carry a released
 * address. With a delegated IPAM plugin, GC is forwarded to it instead.
 */
import { CniError } from './cni-error.js';
import { execDelegate } from './delegate.js';
import { ownerId, ownerPrefix } from './netconf.js';
import type { PodLinks } from './pod-link.js';
import type { PluginRequest } from './plugin-main.js';

/** What GC needs: the IPAM's GC call, and (weft-net, in the daemon) the pod links. */
export interface GcBackend {
  gc(ownerPrefix: string, keep: string[]): Promise<{ owner: string; address: string }[]>;
  /** Absent: no veths are deleted (weft-ipam). */
  links?: () => PodLinks;
  delegateEnv?: () => NodeJS.ProcessEnv;
}

/**
 * Collect garbage for `req.conf.name`. A veth is deleted only when its pod interface was
 * listed (before the GC call) with an address the daemon just released from a stale owner of
 * this network: that pairing identifies it without guessing from names. Errors do not stop
 * the sweep; they are reported together at the end (999).
 */
export async function collectGarbage(req: PluginRequest, backend: GcBackend): Promise<void> {
  const { conf, env, log } = req;
  if (conf.ipamType) {
    await execDelegate(conf.ipamType, 'GC', conf.raw, env.path, backend.delegateEnv?.());
    return;
  }
  const keep = (conf.validAttachments ?? []).map((a) => ownerId(conf.name, a.containerID, a.ifname));
  const errors: string[] = [];
  let endpoints: { hostIfname: string; addresses: string[] }[] = [];
  const links = backend.links?.();
  if (links) {
    try {
      endpoints = await links.listEndpoints();
    } catch (e) {
      if (e instanceof CniError && e.cniCode === 11) throw e;
      errors.push(`listing pod veths: ${(e as Error).message}`);
    }
  }
  const released = await backend.gc(ownerPrefix(conf.name), keep);
  log.info({ released: released.length, kept: keep.length }, 'cni: gc released stale allocations');
  const stale = new Set(released.map((r) => r.address));
  for (const ep of endpoints) {
    if (!ep.addresses.some((a) => stale.has(a.split('/')[0]!))) continue;
    try {
      await links!.deleteHostLink(ep.hostIfname);
      log.info({ hostIfname: ep.hostIfname }, 'cni: gc deleted a stale pod veth');
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0) throw new CniError(999, `GC released ${released.length} allocation(s) but: ${errors.join('; ')}`);
}
