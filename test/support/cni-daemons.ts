/**
 * Real weft daemons for the CNI runtime tests: hosts from the shared Lab, launched with one IPAM
 * range and consensus over all of them, plus the probes those tests need (does the daemon
 * serve /network, is IPAM ready, which allocations does it hold).
 */
import { isWeftError } from '../../src/common/index.js';
import type { Lab, LabHost } from './lab.js';

export const OVERLAY_RANGE = '10.97.0.0/16';
export const PASSWORD = 'weft cni test secret 0123456789';

/** Launch every host (each knowing the previous one) with IPAM over OVERLAY_RANGE. */
export function launchWithIpam(lab: Lab, hosts: LabHost[]): void {
  hosts.forEach((h, i) => lab.launch(h, {
    password: PASSWORD,
    peers: i > 0 ? [hosts[i - 1]!.ip] : [],
    extraArgs: ['--ipalloc-range', OVERLAY_RANGE, '--ipalloc-init', `consensus=${hosts.length}`],
  }));
}

/**
 * Throws unless the daemon serves the CNI endpoints (GET /network, GET /ipam/status). A
 * NOT_FOUND there is a regression of the daemon, so it fails the test (it used to skip, and a
 * regression then showed as a skip); IPAM_NOT_READY is fine (consensus may still be running).
 */
export async function assertCniServed(h: LabHost): Promise<void> {
  for (const path of ['/network', '/ipam/status']) {
    try {
      await h.client.request('GET', path);
    } catch (e) {
      if (!isWeftError(e, 'WEFT_ERR_IPAM_NOT_READY')) {
        throw new Error(`the weft daemon on ${h.ns} does not serve GET ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
  }
}

/** Wait (bounded) until every host's IPAM reports ready. */
export async function untilIpamReady(lab: Lab, hosts: LabHost[], timeoutMs = 30_000): Promise<void> {
  await lab.until('IPAM ready on every host', timeoutMs, async () => {
    for (const h of hosts) {
      const s = (await h.client.request('GET', '/ipam/status')) as { status?: string };
      if (s.status !== 'ready') return false;
    }
    return true;
  });
}

/** Owner → address of every allocation a daemon holds (GET /ipam/allocations). */
export async function allocations(h: LabHost): Promise<Map<string, string>> {
  const v = (await h.client.request('GET', '/ipam/allocations')) as unknown;
  const list = Array.isArray(v) ? v : ((v as { allocations?: unknown[] } | undefined)?.allocations ?? []);
  const out = new Map<string, string>();
  for (const a of list as { owner?: string; address?: string }[]) if (a.owner && a.address) out.set(a.owner, a.address.split('/')[0]!);
  return out;
}
