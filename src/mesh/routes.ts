import type { PeerName } from './gossip-types.js';
import type { TopologyView } from './topology-types.js';

/**
 * Routing tables computed from one topology snapshot. Immutable once built: recompute (cheap,
 * see DESIGN.md) whenever the topology's generation changes. Everything is deterministic: two
 * peers holding the same topology compute the same tables and the same broadcast trees.
 */
export interface Routes {
  readonly self: PeerName;
  /**
   * dst → next hop (one of our neighbours), over connections that are established AND
   * reported by both ends. For the data plane. Self is not a key.
   */
  readonly unicast: ReadonlyMap<PeerName, PeerName>;
  /** dst → next hop over every reported connection (either state, one end suffices). For gossip relay. */
  readonly unicastAll: ReadonlyMap<PeerName, PeerName>;
  /** Peers (not self) with a `unicast` route. */
  readonly reachable: ReadonlySet<PeerName>;
  /**
   * Our neighbours to forward a broadcast from `src` to: our children in src's shortest-path
   * tree over established two-way connections (the same graph as `unicast`). On a stable
   * topology every peer reachable from src receives the broadcast exactly once. Sorted by name;
   * empty when src is unknown or unreachable. Computed lazily per source and cached.
   */
  broadcastNextHops(src: PeerName): readonly PeerName[];
  /**
   * Like broadcastNextHops, over connections both ends report whatever their data-plane state
   * (control connections are usable before the overlay is established). For gossip broadcast.
   */
  broadcastAllNextHops(src: PeerName): readonly PeerName[];
}

/** Adjacency lists over dense indices assigned in name order (so index order = name order). */
interface Graph {
  names: PeerName[];
  index: Map<PeerName, number>;
  /** established + both ends report it (undirected). */
  sym: number[][];
  /** both ends report it, any state (undirected). */
  symAll: number[][];
  /** every reported connection, owner → remote (directed). */
  all: number[][];
}

function buildGraph(topology: TopologyView, self: PeerName): Graph {
  const peers = topology.peers();
  let names = peers.map((p) => p.name);
  let index = new Map<PeerName, number>();
  names.forEach((n, i) => index.set(n, i));
  // names referenced but without a record (and self, before our record exists) join the graph
  const unknown = new Set<PeerName>();
  if (!index.has(self)) unknown.add(self);
  for (const p of peers) p.connections.forEach((_c, q) => { if (!index.has(q)) unknown.add(q); });
  if (unknown.size > 0) {
    names = [...names, ...unknown].sort();
    index = new Map();
    names.forEach((n, i) => index.set(n, i));
  }
  const n = names.length;
  const out: number[][] = [];
  const est: boolean[][] = [];
  for (let i = 0; i < n; i++) {
    out.push([]);
    est.push([]);
  }
  for (const p of peers) {
    const u = index.get(p.name)!;
    const o = out[u]!;
    const e = est[u]!;
    p.connections.forEach((c, q) => {
      o.push(index.get(q)!);
      e.push(c.established);
    });
  }
  const sym: number[][] = out.map(() => []);
  const symAll: number[][] = out.map(() => []);
  for (let u = 0; u < n; u++) {
    const o = out[u]!;
    for (let k = 0; k < o.length; k++) {
      const v = o[k]!;
      if (v < u) continue; // each two-way pair once, from its lower-named end
      const back = out[v]!.indexOf(u);
      if (back < 0) continue;
      symAll[u]!.push(v);
      symAll[v]!.push(u);
      if (est[u]![k] === true && est[v]![back] === true) {
        sym[u]!.push(v);
        sym[v]!.push(u);
      }
    }
  }
  return { names, index, sym, symAll, all: out };
}

/**
 * Breadth-first search from `start`, each layer visited in name order, so the first (lowest
 * named) node of a layer to see a node becomes its parent. Returns the next hop from `start`
 * for every reached node (start itself maps to start; unreached nodes to -1).
 */
function nextHops(adj: number[][], start: number): Int32Array {
  const hop = new Int32Array(adj.length).fill(-1);
  hop[start] = start;
  let layer = [start];
  while (layer.length > 0) {
    const next: number[] = [];
    for (const u of layer) {
      const h = u === start ? -1 : hop[u]!;
      for (const v of adj[u]!) {
        if (hop[v] === -1) {
          hop[v] = h === -1 ? v : h;
          next.push(v);
        }
      }
    }
    next.sort((x, y) => x - y);
    layer = next;
  }
  return hop;
}

/** Our children in the name-ordered BFS tree rooted at `src` (indices, ascending). */
function treeChildren(adj: number[][], src: number, me: number): number[] {
  const parent = new Int32Array(adj.length).fill(-1);
  parent[src] = src;
  let layer = [src];
  while (layer.length > 0) {
    const next: number[] = [];
    let mine = false;
    for (const u of layer) {
      if (u === me) mine = true;
      for (const v of adj[u]!) {
        if (parent[v] === -1) {
          parent[v] = u;
          next.push(v);
        }
      }
    }
    if (mine) return next.filter((v) => parent[v] === me).sort((x, y) => x - y);
    next.sort((x, y) => x - y);
    layer = next;
  }
  return []; // src cannot reach us
}

function tableOf(g: Graph, hop: Int32Array, me: number): Map<PeerName, PeerName> {
  const out = new Map<PeerName, PeerName>();
  for (let i = 0; i < hop.length; i++) {
    if (i !== me && hop[i]! >= 0) out.set(g.names[i]!, g.names[hop[i]!]!);
  }
  return out;
}

/** Compute the routing tables of `self` from a topology snapshot. O(N log N + E). */
export function computeRoutes(topology: TopologyView, self: PeerName): Routes {
  const g = buildGraph(topology, self);
  const me = g.index.get(self)!;
  const unicast = tableOf(g, nextHops(g.sym, me), me);
  const unicastAll = tableOf(g, nextHops(g.all, me), me);
  const cache = new Map<PeerName, readonly PeerName[]>();
  const cacheAll = new Map<PeerName, readonly PeerName[]>();
  const tree = (adj: number[][], c: Map<PeerName, readonly PeerName[]>, src: PeerName): readonly PeerName[] => {
    let hops = c.get(src);
    if (hops === undefined) {
      const s = g.index.get(src);
      hops = Object.freeze(s === undefined ? [] : treeChildren(adj, s, me).map((i) => g.names[i]!));
      c.set(src, hops);
    }
    return hops;
  };
  return {
    self,
    unicast,
    unicastAll,
    reachable: new Set(unicast.keys()),
    broadcastNextHops: (src) => tree(g.sym, cache, src),
    broadcastAllNextHops: (src) => tree(g.symAll, cacheAll, src),
  };
}
