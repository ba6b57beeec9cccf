// What the page shows, computed from the daemon's JSON (pure functions, no DOM): the topology
// graph, the IPAM ring's arcs, pods per host. Node can import this file too (the unit test).

/** Undirected key of a connection between two peers. */
export function edgeKey(a, b) {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/**
 * The mesh as a graph, seen from the daemon that answered `/status`.
 * nodes: every peer of the topology (self first). edges: every connection some peer announces
 * (gossip), with the path, MTU and encryption where this host is one end (its own connections
 * are the only ones it measures). relayed: the peers this host reaches through another peer
 * (its unicast route's next hop is not the peer itself).
 */
export function topology(status) {
  const self = status.name;
  const nick = new Map(status.peers.map((p) => [p.name, p.nickname]));
  nick.set(self, status.nickname);
  const names = [self, ...status.peers.map((p) => p.name).filter((n) => n !== self).sort()];
  const nodes = names.map((name) => ({ name, nickname: nick.get(name) ?? '', self: name === self }));
  const known = new Set(names);
  const edges = new Map();
  for (const p of status.peers) {
    for (const c of p.connections) {
      if (!known.has(c.name) || c.name === p.name) continue;
      const key = edgeKey(p.name, c.name);
      const e = edges.get(key) ?? { key, a: p.name < c.name ? p.name : c.name, b: p.name < c.name ? c.name : p.name, established: false, announcedBy: [] };
      e.established ||= c.established;
      e.announcedBy.push(p.name);
      edges.set(key, e);
    }
  }
  for (const c of status.connections) {
    if (!c.peer || !known.has(c.peer)) continue;
    const key = edgeKey(self, c.peer);
    const e = edges.get(key) ?? { key, a: self < c.peer ? self : c.peer, b: self < c.peer ? c.peer : self, established: false, announcedBy: [] };
    e.local = {
      state: c.state, mode: c.mode ?? 'sleeve', encrypted: c.encrypted, mtu: c.mtu, address: c.address, outbound: c.outbound,
      since: c.since, reason: c.reason, paths: c.paths ?? [],
    };
    e.established ||= c.state === 'established';
    edges.set(key, e);
  }
  const unicast = status.routes?.unicast ?? {};
  const relayed = [];
  for (const n of names) {
    if (n === self) continue;
    const hop = unicast[n];
    if (hop && hop !== n) relayed.push({ peer: n, via: hop });
  }
  return { self, nodes, edges: [...edges.values()].sort((x, y) => (x.key < y.key ? -1 : 1)), relayed, nickname: (n) => nick.get(n) ?? '' };
}

/** An IPv4 or IPv6 address as a BigInt (null when it is neither). */
export function ipToBig(ip) {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.split('.').reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
  if (!ip.includes(':')) return null;
  const [head, tail = ''] = ip.split('::');
  const hs = head ? head.split(':') : [];
  const ts = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  if (groups.length !== 8) return null;
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

/** Size of a CIDR's address space as a BigInt. */
export function cidrSize(cidr) {
  const [ip, len] = cidr.split('/');
  const bits = ip.includes(':') ? 128 : 32;
  return 1n << BigInt(bits - Number(len));
}

/**
 * The ring's entries as arcs: each [start, end] (inclusive) as a fraction of the whole range,
 * with its owner and free count; plus addresses per owner.
 */
export function ringArcs(ipam) {
  const total = cidrSize(ipam.range);
  const base = ipToBig(ipam.range.split('/')[0]);
  const arcs = [];
  const owners = new Map();
  for (const e of ipam.entries) {
    const a = ipToBig(e.start);
    const b = ipToBig(e.end);
    if (a === null || b === null || base === null || total === 0n) continue;
    const size = b - a + 1n;
    arcs.push({
      from: Number(((a - base) * 1000000n) / total) / 1e6, to: Number(((b + 1n - base) * 1000000n) / total) / 1e6,
      owner: e.owner, nickname: e.nickname ?? '', free: e.free, size, start: e.start, end: e.end,
    });
    const o = owners.get(e.owner) ?? { owner: e.owner, nickname: e.nickname ?? '', addresses: 0n, free: 0, ranges: 0 };
    o.addresses += size;
    o.free += e.free;
    o.ranges += 1;
    owners.set(e.owner, o);
  }
  return { arcs, owners: [...owners.values()], total };
}

/** The cluster's pods grouped by host (peer name), hosts in topology order, pods by namespace/name. */
export function podsByHost(workloads, hostOrder) {
  const by = new Map(hostOrder.map((h) => [h, []]));
  for (const p of workloads.pods) {
    if (!by.has(p.host)) by.set(p.host, []);
    by.get(p.host).push(p);
  }
  for (const list of by.values()) list.sort((x, y) => (x.namespace + '/' + x.name < y.namespace + '/' + y.name ? -1 : 1));
  return by;
}
