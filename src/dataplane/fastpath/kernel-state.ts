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
  /** True when IPv4 unicast to this peer's pods goes by host-gw. */
  hostGw: boolean;
  /** Our device toward the peer's underlay address (host-gw only). */
  underlayDev?: string;
}

/** One of our pods' addresses, with the pod's host-side veth when it is known. */
export interface LocalPodAddress {
  ip: string;
  mac: string;
  port?: string;
}

/** The complete desired kernel state. Keys are canonical strings so diffs are plain set ops. */
export interface DesiredKernel {
  /** mac → "ip port": VXLAN unicast entries, and bridge pins on the VXLAN port. */
  unicast: Map<string, string>;
  /** "ip port" of every all-zero (flood) entry. */
  flood: Set<string>;
  /** remote pod ip → peer underlay ip (routes for host-originated traffic). */
  routes: Map<string, string>;
  /** "mac ip" of a remote host-gw pod → "peer-underlay-ip underlay-dev" (ingress forwarding). */
  forwards: Map<string, string>;
  /** Underlay devices that need the ingress hook (those of every forward). */
  underlays: Set<string>;
  /** local pod ip → "mac port" (port: its host-side veth, "" when unknown). */
  local: Map<string, string>;
  /** Host-side veths of local pods that need the ingress hook. */
  ports: Set<string>;
}

export function emptyKernel(): DesiredKernel {
  return { unicast: new Map(), flood: new Set(), routes: new Map(), forwards: new Map(), underlays: new Set(), local: new Map(), ports: new Set() };
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
  /** Our pods with their host-side veths (else only the directory's record is used). */
  localPods?: readonly LocalPodAddress[];
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
        if (p.underlayDev) d.forwards.set(`${a.mac} ${a.ip}`, `${p.underlayIp} ${p.underlayDev}`);
      }
    }
  }
  if (o.hostGwLocal) {
    const ports = new Map((o.localPods ?? []).map((a) => [`${a.mac} ${a.ip}`, a.port ?? '']));
    for (const a of o.record(o.self)?.ips ?? []) d.local.set(a.ip, `${a.mac} ${ports.get(`${a.mac} ${a.ip}`) ?? ''}`);
  }
  // A MAC or address we have locally is never programmed toward a peer (a stale record of a
  // pod that moved here must not steal its traffic).
  for (const mac of o.record(o.self)?.macs ?? []) d.unicast.delete(mac);
  for (const ip of d.local.keys()) d.routes.delete(ip);
  for (const k of [...d.forwards.keys()]) if (d.local.has(k.split(' ')[1]!)) d.forwards.delete(k);
  for (const v of d.forwards.values()) d.underlays.add(v.split(' ')[1]!);
  // Without anything to forward there is nothing to hook: pods' frames stay off the nft path.
  if (d.forwards.size > 0) {
    for (const v of d.local.values()) {
      const port = v.split(' ')[1];
      if (port) d.ports.add(port);
    }
  }
  return d;
}
