/**
 * What the kernel should hold for the fast paths (pure). Computed from each connected peer's
 * active paths, the pod directory and the reachable peer set; applied by KernelSync.
 *
 * Who floods what (exactly-once broadcast; see docs/fastpath.md):
 *   - Frames never cross between the VXLAN port and the sleeve TAP on a bridge (both ports
 *     are "isolated"), so a frame that arrived on one kernel path is only delivered locally.
 *   - A peer's *own* broadcasts, multicasts and unknown unicasts go either
 *       all by VXLAN ("kernel flood": every reachable peer is a direct VXLAN peer; one
 *       all-zero FDB entry per peer, the sleeve floods nothing of ours), or
 *       all by the sleeve ("sleeve flood": no all-zero entries, the sleeve floods along the
 *       mesh's per-source broadcast tree as before).
 *   - Frames of other origins are relayed by the sleeve along their tree, unchanged.
 */
import type { PeerName } from '../../mesh/index.js';
import type { PodRecord } from './pod-directory.js';

export type L2Path = 'vxlan' | 'sleeve';
export type Mode = 'hostgw' | 'vxlan' | 'sleeve';

/** One connected peer as the kernel programming sees it. */
export interface PeerPaths {
  peer: PeerName;
  underlayIp: string;
  vxlanPort: number;
  /** Path for L2 frames (ARP, broadcast, non-IPv4, unicast when host-gw is off). */
  l2: L2Path;
  /** True when IPv4 unicast to this peer's pods is routed by host-gw. */
  hostGw: boolean;
}

/** The complete desired kernel state. Keys are canonical strings so diffs are plain set ops. */
export interface DesiredKernel {
  /** mac → "ip port": VXLAN unicast entries, and bridge pins on the VXLAN port. */
  unicast: Map<string, string>;
  /** "ip port" of every all-zero (flood) entry. */
  flood: Set<string>;
  /** remote pod ip → peer underlay ip. */
  routes: Map<string, string>;
  /** "mac ip" of every redirect rule. */
  redirects: Set<string>;
  /** local pod ip → mac. */
  local: Map<string, string>;
}

export function emptyKernel(): DesiredKernel {
  return { unicast: new Map(), flood: new Set(), routes: new Map(), redirects: new Set(), local: new Map() };
}

/**
 * Kernel flood mode: true when at least one peer is reachable and every reachable peer is a
 * direct neighbour whose L2 path is VXLAN.
 */
export function kernelFlood(reachable: ReadonlySet<PeerName>, peers: readonly PeerPaths[]): boolean {
  if (reachable.size === 0) return false;
  const vx = new Set(peers.filter((p) => p.l2 === 'vxlan').map((p) => p.peer));
  for (const r of reachable) if (!vx.has(r)) return false;
  return true;
}

/** Desired state for `peers` (connected, confirmed), the directory and our own pods. */
export function desiredKernel(o: {
  self: PeerName;
  peers: readonly PeerPaths[];
  record: (peer: PeerName) => PodRecord | undefined;
  flood: boolean;
  hostGwLocal: boolean;
}): DesiredKernel {
  const d = emptyKernel();
  for (const p of o.peers) {
    const rec = o.record(p.peer);
    const dst = `${p.underlayIp} ${p.vxlanPort}`;
    if (p.l2 === 'vxlan') {
      if (o.flood) d.flood.add(dst);
      for (const mac of rec?.macs ?? []) d.unicast.set(mac, dst);
    }
    if (p.hostGw) {
      for (const a of rec?.ips ?? []) {
        d.routes.set(a.ip, p.underlayIp);
        d.redirects.add(`${a.mac} ${a.ip}`);
      }
    }
  }
  if (o.hostGwLocal) {
    for (const a of o.record(o.self)?.ips ?? []) d.local.set(a.ip, a.mac);
  }
  // A MAC or address we have locally is never programmed toward a peer (a stale record of a
  // pod that moved here must not steal its traffic).
  for (const mac of o.record(o.self)?.macs ?? []) d.unicast.delete(mac);
  for (const ip of d.local.keys()) d.routes.delete(ip);
  for (const r of [...d.redirects]) if (d.local.has(r.split(' ')[1]!)) d.redirects.delete(r);
  return d;
}
