import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { peerNameFromBytes } from '../net/index.js';
import { computeRoutes } from './routes.js';
import { Topology } from './topology.js';
import type { ConnectionInfo, PeerInfo, TopologyView } from './topology-types.js';

const h = (i: number): string => peerNameFromBytes(Buffer.from([0x0a, 0, 0, 0, (i >> 8) & 255, i & 255]), 0);

/** A topology view from directed "a reports a connection to b" claims. */
function view(claims: [number, number, boolean][]): TopologyView {
  const recs = new Map<string, Map<string, ConnectionInfo>>();
  for (const [a, b, established] of claims) {
    if (!recs.has(h(a))) recs.set(h(a), new Map());
    if (!recs.has(h(b))) recs.set(h(b), new Map());
    recs.get(h(a))!.set(h(b), { address: 'x', outbound: a < b, established });
  }
  const infos = new Map<string, PeerInfo>();
  for (const [name, connections] of recs) infos.set(name, { name, nickname: '', uid: 1n, version: 1, connections });
  const sorted = [...infos.values()].sort((x, y) => (x.name < y.name ? -1 : 1));
  return { peers: () => sorted, get: (n) => infos.get(n) };
}
/** Both ends report every edge, established. */
const both = (edges: [number, number][], established = true): [number, number, boolean][] =>
  edges.flatMap(([a, b]) => [[a, b, established], [b, a, established]] as [number, number, boolean][]);

test('chain h1-h2-h3-h4-h5: everything from h1 goes via h2', () => {
  const r = computeRoutes(view(both([[1, 2], [2, 3], [3, 4], [4, 5]])), h(1));
  assert.deepEqual([...r.unicast].sort(), [[h(2), h(2)], [h(3), h(2)], [h(4), h(2)], [h(5), h(2)]]);
  assert.deepEqual(r.unicastAll, r.unicast);
  assert.deepEqual([...r.reachable].sort(), [h(2), h(3), h(4), h(5)]);
  const mid = computeRoutes(view(both([[1, 2], [2, 3], [3, 4], [4, 5]])), h(3));
  assert.equal(mid.unicast.get(h(1)), h(2));
  assert.equal(mid.unicast.get(h(5)), h(4));
  // broadcast from h1 along the chain: h3 forwards to h4 only
  assert.deepEqual(mid.broadcastNextHops(h(1)), [h(4)]);
  assert.deepEqual(mid.broadcastNextHops(h(3)), [h(2), h(4)]);
  assert.deepEqual(mid.broadcastNextHops(h(99)), []);
});

test('one-sided or unestablished connections are not used for unicast, only for unicastAll', () => {
  // h1 claims h2 (h2 does not claim h1); h2-h3 two-way but h3 says not established; h1-h4 two-way
  const v = view([[1, 2, true], [2, 3, true], [3, 2, false], ...both([[1, 4]])]);
  const r = computeRoutes(v, h(1));
  assert.deepEqual([...r.unicast], [[h(4), h(4)]]);
  assert.equal(r.unicastAll.get(h(2)), h(2));
  assert.equal(r.unicastAll.get(h(3)), h(2));
  assert.deepEqual([...r.reachable], [h(4)]);
  assert.deepEqual(r.broadcastNextHops(h(1)), [h(4)]);
  assert.deepEqual(r.broadcastAllNextHops(h(1)), [h(4)]); // h1-h2 is still one-sided
  const r2 = computeRoutes(v, h(2));
  assert.deepEqual(r2.broadcastAllNextHops(h(2)), [h(3)]);
  assert.deepEqual(r2.broadcastNextHops(h(2)), []);
});

test('ties break by name: a diamond routes via the lower-named middle', () => {
  const v = view(both([[1, 3], [1, 2], [3, 4], [2, 4]]));
  assert.equal(computeRoutes(v, h(1)).unicast.get(h(4)), h(2));
  assert.equal(computeRoutes(v, h(4)).unicast.get(h(1)), h(2));
  // broadcast from h1: h4 hears it from h2 only
  assert.deepEqual(computeRoutes(v, h(2)).broadcastNextHops(h(1)), [h(4)]);
  assert.deepEqual(computeRoutes(v, h(3)).broadcastNextHops(h(1)), []);
});

/** Deliver a broadcast from src by simulating every peer's forwarding; returns deliveries per peer. */
function flood(v: TopologyView, nodes: number[], src: number, all: boolean): Map<number, number> {
  const routes = new Map(nodes.map((n) => [n, computeRoutes(v, h(n))]));
  const byName = new Map(nodes.map((n) => [h(n), n]));
  const got = new Map<number, number>();
  const queue = [src];
  let steps = 0;
  while (queue.length > 0 && steps++ < 100_000) {
    const at = queue.shift()!;
    const r = routes.get(at)!;
    for (const next of all ? r.broadcastAllNextHops(h(src)) : r.broadcastNextHops(h(src))) {
      const n = byName.get(next)!;
      got.set(n, (got.get(n) ?? 0) + 1);
      queue.push(n);
    }
  }
  return got;
}

test('property: broadcast trees deliver exactly once on random connected graphs', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 40 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 80 }), fc.array(fc.boolean(), { maxLength: 200 }), (n, extra, estab) => {
    const nodes = Array.from({ length: n }, (_, i) => i + 1);
    const edges = new Set<string>();
    // a random spanning tree keeps it connected, plus random extra edges
    for (let i = 2; i <= n; i++) edges.add(`${1 + (extra[i % Math.max(1, extra.length)]?.[0] ?? 0) % (i - 1)},${i}`);
    for (const [a, b] of extra) { const x = 1 + (a % n); const y = 1 + (b % n); if (x !== y) edges.add(`${Math.min(x, y)},${Math.max(x, y)}`); }
    const pairs = [...edges].map((e) => e.split(',').map(Number) as [number, number]);
    const v = view(both(pairs));
    for (const src of [1, n, 1 + (n >> 1)]) {
      const got = flood(v, nodes, src, false);
      for (const x of nodes) assert.equal(got.get(x) ?? 0, x === src ? 0 : 1, `src ${src} node ${x}`);
    }
    // with some two-way connections not yet established: broadcastAll still reaches all exactly once,
    // broadcast reaches exactly its established component, once each
    const mixed = view(pairs.flatMap(([a, b], i) => {
      const e = estab[i % Math.max(1, estab.length)] ?? true;
      return [[a, b, e], [b, a, e]] as [number, number, boolean][];
    }));
    const gotAll = flood(mixed, nodes, 1, true);
    for (const x of nodes) assert.equal(gotAll.get(x) ?? 0, x === 1 ? 0 : 1);
    const gotEst = flood(mixed, nodes, 1, false);
    const reach = computeRoutes(mixed, h(1)).reachable;
    for (const x of nodes) assert.equal(gotEst.get(x) ?? 0, reach.has(h(x)) ? 1 : 0);
  }), { numRuns: 150 });
});

test('scale: 5000 peers of degree ~10 (timing logged, not asserted)', () => {
  const n = 5000;
  let seed = 42;
  const rnd = (m: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % m; };
  const adj: Set<number>[] = Array.from({ length: n }, () => new Set());
  for (let i = 1; i < n; i++) { const j = rnd(i); adj[i]!.add(j); adj[j]!.add(i); }
  while (adj.reduce((s, a) => s + a.size, 0) < n * 10) {
    const a = rnd(n); const b = rnd(n);
    if (a !== b && adj[a]!.size < 14 && adj[b]!.size < 14) { adj[a]!.add(b); adj[b]!.add(a); }
  }
  const me = new Topology(h(0), 'me', 1n);
  const records: Buffer[] = [];
  for (let i = 1; i < n; i++) {
    const t = new Topology(h(i), `n${i}`, BigInt(i + 1));
    t.setLocalConnections([...adj[i]!].map((j) => ({ peer: h(j), address: `10.1.${j >> 8}.${j & 255}:6783`, outbound: i < j, established: true })));
    records.push(t.encodeSubset([], {})!);
  }
  me.setLocalConnections([...adj[0]!].map((j) => ({ peer: h(j), address: 'a:1', outbound: true, established: true })));
  for (const r of records) me.applyUpdate(r);
  assert.equal(me.size, n);
  const t0 = performance.now();
  const cold = computeRoutes(me, h(0));
  const t1 = performance.now();
  const warm = computeRoutes(me, h(0));
  const t2 = performance.now();
  let trees = 0;
  for (let i = 0; i < 100; i++) trees += warm.broadcastNextHops(h(i * 37)).length;
  const t3 = performance.now();
  assert.equal(cold.reachable.size, n - 1);
  assert.equal(warm.unicast.size, n - 1);
  assert.ok(trees > 0);
  console.log(`routes: ${n} peers, ${n * 10 / 2} links: first ${(t1 - t0).toFixed(1)} ms (incl. lazy record decode), then ${(t2 - t1).toFixed(1)} ms; broadcast tree ${((t3 - t2) / 100).toFixed(2)} ms/source`);
});
