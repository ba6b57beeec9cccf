/**
 * Keeping kernel fast paths up across a daemon restart (pure): the state a previous daemon left
 * (adopted at start), and the paths of peers whose connection closed while they may be restarting
 * ("lingering"). See docs/fastpath.md, "Restarts".
 */
import type { PeerName } from '../../mesh/index.js';
import { emptyKernel, type DesiredKernel, type PeerPaths } from './kernel-state.js';
import type { PodRecord } from './pod-directory.js';

/** Forwarding state read back from the kernel by the VXLAN and host-gw edges. */
export interface KernelReadback {
  vxlan: { unicast: Map<string, string>; flood: Set<string> };
  hostgw: { routes: Map<string, string>; local: Map<string, string>; forwards: Map<string, string>; underlays: Set<string>; ports: Set<string> } | null;
}

/** The read-back state as KernelSync's applied state. */
export function adoptedKernel(r: KernelReadback): DesiredKernel {
  const d = emptyKernel();
  for (const [k, v] of r.vxlan.unicast) d.unicast.set(k, v);
  for (const f of r.vxlan.flood) d.flood.add(f);
  if (r.hostgw) {
    for (const [k, v] of r.hostgw.routes) d.routes.set(k, v);
    for (const [k, v] of r.hostgw.local) d.local.set(k, v);
    for (const [k, v] of r.hostgw.forwards) d.forwards.set(k, v);
    for (const x of r.hostgw.underlays) d.underlays.add(x);
    for (const x of r.hostgw.ports) d.ports.add(x);
  }
  return d;
}

/** Entries in `d` (sum over every kind). */
export function kernelSize(d: DesiredKernel): number {
  return d.unicast.size + d.flood.size + d.routes.size + d.local.size + d.forwards.size + d.underlays.size + d.ports.size;
}

/** Underlay addresses of the peers `d` forwards to (VXLAN remotes, route gateways, forwards). */
export function peersOf(d: DesiredKernel): Set<string> {
  const out = new Set<string>();
  const first = (v: string): string => v.split(' ')[0]!;
  for (const v of d.unicast.values()) if (v) out.add(first(v));
  for (const f of d.flood) out.add(first(f));
  for (const v of d.routes.values()) out.add(v);
  for (const v of d.forwards.values()) out.add(first(v));
  out.delete('');
  return out;
}

/** A peer whose connection closed while it had a kernel path, kept for a while. */
interface Lingerer {
  paths: PeerPaths;
  record: PodRecord | undefined;
  until: number;
}

/**
 * Peers whose connection closed while on a kernel path. Their last paths and pod record keep
 * being programmed until `until`, or until a new connection to them has settled, or (when they
 * are reachable over other peers) until they are neither connected nor unreachable — whichever
 * comes first. Pure: the caller supplies the clock and drives expiry.
 */
export class Lingering {
  private readonly peers = new Map<PeerName, Lingerer>();

  keep(paths: PeerPaths, record: PodRecord | undefined, until: number): void {
    this.peers.set(paths.peer, { paths, record, until });
  }

  has(peer: PeerName): boolean {
    return this.peers.has(peer);
  }

  drop(peer: PeerName): boolean {
    return this.peers.delete(peer);
  }

  get size(): number {
    return this.peers.size;
  }

  /** The kept record of `peer` (after the directory forgot it). */
  record(peer: PeerName): PodRecord | undefined {
    return this.peers.get(peer)?.record;
  }

  /** Remove expired ones; true when any was removed. */
  expire(now: number): PeerName[] {
    const gone: PeerName[] = [];
    for (const [p, l] of this.peers) if (l.until <= now) gone.push(p);
    for (const p of gone) this.peers.delete(p);
    return gone;
  }

  /** Earliest expiry (Infinity when none). */
  nextExpiry(): number {
    let t = Infinity;
    for (const l of this.peers.values()) t = Math.min(t, l.until);
    return t;
  }

  /**
   * Paths still to program: those of lingering peers that are not superseded by a live
   * connection (`live(peer)`: a connection to it exists) and, when not connected, are not
   * reachable another way (`reachable(peer)`).
   */
  paths(live: (p: PeerName) => boolean, reachable: (p: PeerName) => boolean): PeerPaths[] {
    const out: PeerPaths[] = [];
    for (const [p, l] of this.peers) if (live(p) || !reachable(p)) out.push(l.paths);
    return out;
  }
}
