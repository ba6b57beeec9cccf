/**
 * NAT traversal's protocol logic with two real NatTraversal instances, real Noise handshakes
 * and real keyrings; only the mesh's unicast and the sleeve are stand-ins (a function call and
 * a recorder). The punching itself is tested with real NATs in test/integration/nat.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/index.js';
import { ClusterKeyring, generateIdentity, type Identity } from '../crypto/index.js';
import type { GossipChannel, PeerName } from './gossip-types.js';
import type { DirectPaths, OverlayConnection, OverlayConnectionParams } from './overlay-types.js';
import { NatTraversal } from './nat-traversal.js';
import { NatKind, decodeNat, encodeAnnounce, encodeHs, parseEndpoint } from './nat-wire.js';
import { judgeNat, preferRelays, punchFailureReason } from './nat-peers.js';
import type { PeerInfo, TopologyView } from './topology-types.js';

class Direct implements DirectPaths {
  readonly opened: OverlayConnectionParams[] = [];
  readonly udpPort = 6783;
  constructor(private readonly seen: Map<PeerName, string>) {}
  observedEndpoint(p: PeerName): string | null { return this.seen.get(p) ?? null; }
  openDirect(params: OverlayConnectionParams): OverlayConnection {
    this.opened.push(params);
    return { confirm() {}, onControl() {}, stop() {} };
  }
}

interface Node { id: Identity; nat: NatTraversal; direct: Direct; inbox: { from: PeerName; msg: Buffer }[] }

async function pair(secretA: number, secretC: number) {
  const mk = async (secret: number): Promise<ClusterKeyring> => ClusterKeyring.derive([{ secret: Buffer.alloc(32, secret), kdf: 'raw' }]);
  let [ia, ic] = [generateIdentity(), generateIdentity()];
  if (ia.name > ic.name) [ia, ic] = [ic, ia]; // A initiates (lower name)
  const b = generateIdentity().name;
  const nodes = new Map<PeerName, Node>();
  const make = async (id: Identity, secret: number): Promise<Node> => {
    const keyring = await mk(secret);
    const direct = new Direct(new Map());
    const nat = new NatTraversal({
      self: id.name, identity: id, keyring: () => keyring, preferredRelay: false, log: silentLogger(),
      neighbours: () => new Map([[b, 6783]]), reachable: () => true, nextHop: () => b, nickname: (p) => p, relaysChanged: () => {},
    });
    const node: Node = { id, nat, direct, inbox: [] };
    const channel: GossipChannel = {
      name: 'nat', broadcast() {}, gossip() {},
      unicast: (dst, msg) => { nodes.get(dst)?.inbox.push({ from: id.name, msg: Buffer.from(msg) }); },
    };
    nat.attach(channel, direct);
    nodes.set(id.name, node);
    return node;
  };
  const a = await make(ia, secretA);
  const c = await make(ic, secretC);
  /** Deliver queued messages until quiet; returns the kinds delivered. */
  const pump = (): number[] => {
    const kinds: number[] = [];
    for (let guard = 0; guard < 20; guard++) {
      let moved = false;
      for (const n of [a, c]) {
        for (const { from, msg } of n.inbox.splice(0)) {
          moved = true;
          kinds.push(msg[0]!);
          try { n.nat.onGossipUnicast(from, msg); } catch { /* counted by the hub in the real mesh */ }
        }
      }
      if (!moved) break;
    }
    return kinds;
  };
  // B tells both where it sees the other.
  a.nat.onGossipUnicast(b, encodeAnnounce(false, [{ peer: c.id.name, endpoint: '198.51.100.3:6783', listenPort: 6783 }, { peer: a.id.name, endpoint: '198.51.100.1:6783', listenPort: 6783 }]));
  c.nat.onGossipUnicast(b, encodeAnnounce(false, [{ peer: a.id.name, endpoint: '198.51.100.1:6783', listenPort: 6783 }, { peer: c.id.name, endpoint: '198.51.100.3:6783', listenPort: 6783 }]));
  return { a, c, b, pump };
}

function tick(n: NatTraversal): void {
  (n as unknown as { tick(): void }).tick();
}

test('routed key exchange: both ends open the punched path to the endpoint B reported, with the same keys', async () => {
  const { a, c, pump } = await pair(1, 1);
  tick(a.nat);
  assert.deepEqual(pump(), [NatKind.Hs1, NatKind.Hs2, NatKind.Hs3]);
  assert.equal(a.direct.opened.length, 1);
  assert.equal(c.direct.opened.length, 1);
  assert.equal(a.direct.opened[0]!.remoteAddress, '198.51.100.3:6783');
  assert.equal(c.direct.opened[0]!.remoteAddress, '198.51.100.1:6783');
  const [ka, kc] = [a.direct.opened[0]!.dataKeys.keys(0), c.direct.opened[0]!.dataKeys.keys(0)];
  assert.ok(ka.send.equals(kc.recv) && ka.recv.equals(kc.send), 'direction-separated keys agree');
  assert.equal(a.nat.status()[0]?.path, 'punching');
});

test('a peer with another cluster secret gets nothing: message 1 refused, no path, no answer', async () => {
  const { a, c, pump } = await pair(1, 2);
  tick(a.nat);
  assert.deepEqual(pump(), [NatKind.Hs1]); // C never answers
  assert.equal(c.direct.opened.length, 0);
  assert.equal(a.direct.opened.length, 0);
  assert.equal(c.nat.refused.get('bad_handshake'), 1);
});

test('forged, replayed and out-of-order punch messages are counted and refused', async () => {
  const { a, c, b, pump } = await pair(1, 1);
  tick(a.nat);
  const hs1 = a.inbox.length === 0 ? c.inbox[0]!.msg : null;
  assert.ok(hs1);
  pump();
  // The same HS1 again (a replay by whoever relays it): refused by the replay cache.
  c.nat.onGossipUnicast(a.id.name, hs1);
  assert.equal(c.nat.refused.get('replayed_handshake'), 1);
  assert.equal(c.direct.opened.length, 1, 'the replay opened nothing');
  // Random bytes as an HS2 for an attempt A does not hold; an HS3 out of the blue.
  a.nat.onGossipUnicast(c.id.name, encodeHs(NatKind.Hs2, 999, Buffer.alloc(96, 7)));
  c.nat.onGossipUnicast(a.id.name, encodeHs(NatKind.Hs3, 999, Buffer.alloc(96, 7)));
  assert.equal(a.nat.refused.get('unexpected_handshake'), 1);
  assert.equal(c.nat.refused.get('unexpected_handshake'), 1);
  // An HS1 from the higher-named peer (wrong role), and from a neighbour.
  a.nat.onGossipUnicast(c.id.name, encodeHs(NatKind.Hs1, 5, Buffer.alloc(60)));
  assert.equal(a.nat.refused.get('wrong_role'), 1);
  c.nat.onGossipUnicast(b, encodeHs(NatKind.Hs1, 5, Buffer.alloc(60)));
  assert.equal(c.nat.refused.get('neighbour'), 1);
  // Garbage HS1 from A's name: the Noise open fails (no DH done).
  c.nat.onGossipUnicast(a.id.name, encodeHs(NatKind.Hs1, 6, Buffer.alloc(60, 1)));
  assert.equal(c.nat.refused.get('bad_handshake'), 1);
  // Announcements from a non-neighbour move nothing.
  a.nat.onGossipUnicast(c.id.name, encodeAnnounce(false, [{ peer: c.id.name, endpoint: '203.0.113.9:1', listenPort: 6783 }]));
  assert.equal(a.nat.refused.get('not_neighbour'), 1);
  // Malformed messages throw WEFT_ERR_DECODE (the hub counts them as bad input).
  assert.throws(() => a.nat.onGossipUnicast(b, Buffer.from([NatKind.Announce, 0, 1, 1, 2])), { code: 'WEFT_ERR_DECODE' });
  assert.throws(() => a.nat.onGossipUnicast(b, Buffer.from([99])), { code: 'WEFT_ERR_DECODE' });
  assert.throws(() => decodeNat(encodeAnnounce(false, []).subarray(0, 1)), { code: 'WEFT_ERR_DECODE' });
});

test('endpoints: both families parse, names and port 0 do not', () => {
  assert.deepEqual(parseEndpoint('198.51.100.7:6783'), { ip: '198.51.100.7', port: 6783 });
  assert.deepEqual(parseEndpoint('[2001:db8::1]:6783'), { ip: '2001:db8::1', port: 6783 });
  for (const bad of ['host:6783', '1.2.3.4:0', '1.2.3.4', '2001:db8::1:6783', '[2001:db8::1]6783', '1.2.3.4:65536']) assert.equal(parseEndpoint(bad), null, bad);
});

test('NAT verdicts: different ports seen by different peers is a symmetric NAT; the reason says so', () => {
  const nick = (p: string) => p;
  const sym = judgeNat(new Map([['b', { endpoint: '198.51.100.3:4000', listenPort: 6783, at: 0 }], ['d', { endpoint: '198.51.100.3:5000', listenPort: 6783, at: 0 }]]), nick);
  const easy = judgeNat(new Map([['b', { endpoint: '198.51.100.1:6783', listenPort: 6783, at: 0 }]]), nick);
  const rewrites = judgeNat(new Map([['b', { endpoint: '198.51.100.3:4000', listenPort: 6783, at: 0 }]]), nick);
  assert.equal(sym.symmetric, true);
  assert.equal(easy.symmetric || easy.rewritesPorts, false);
  assert.equal(rewrites.rewritesPorts, true);
  assert.match(punchFailureReason(sym, easy, 'x', 5000), /^symmetric NAT detected: the peer is seen from different ports by different peers \(b sees .*:4000, d sees .*:5000\)/);
  assert.match(punchFailureReason(rewrites, easy, 'x', 5000), /the peer's NAT rewrites ports/);
  assert.match(punchFailureReason(easy, easy, '198.51.100.3:6783', 5000), /timed out after 5 s/);
});

test('preferred relays: two-hop routes move onto a relay that is as close; direct routes stay', () => {
  const conns = (peers: string[]) => new Map(peers.map((p) => [p, { address: '', outbound: true, established: true }]));
  const recs: Record<string, string[]> = { a: ['b', 'r', 'd'], b: ['a', 'c'], r: ['a', 'c'], c: ['b', 'r'], d: ['a'] };
  const view: TopologyView = {
    peers: () => Object.keys(recs).map((n) => ({ name: n, connections: conns(recs[n]!) }) as unknown as PeerInfo),
    get: (n) => (recs[n] ? ({ name: n, connections: conns(recs[n]) } as unknown as PeerInfo) : undefined),
  };
  const unicast = new Map([['b', 'b'], ['r', 'r'], ['d', 'd'], ['c', 'b']]);
  const out = preferRelays(unicast, view, 'a', new Set(['r']));
  assert.equal(out.get('c'), 'r');
  assert.equal(out.get('b'), 'b');
  assert.equal(preferRelays(unicast, view, 'a', new Set()), unicast);
});
