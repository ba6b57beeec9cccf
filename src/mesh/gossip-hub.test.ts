import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/index.js';
import { createMeshMetrics, createRegistry } from '../metrics/index.js';
import { GossipHub, type GossipTransport } from './gossip-hub.js';
import type { Gossiper } from './gossip-types.js';
import { Tag, type ControlMessage } from './messages.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const C = '02:00:00:00:00:03';
const D = '02:00:00:00:00:04';

/** A hub for peer A with neighbours B and C; `tree` answers broadcastNextHops. */
function hubWith(tree: (src: string) => string[]) {
  const sent: { to: string; msg: ControlMessage }[] = [];
  const conn = (to: string) => ({ send: (msg: ControlMessage) => { sent.push({ to, msg }); } });
  const neighbours = new Map([[B, conn(B)], [C, conn(C)]]);
  const transport: GossipTransport = {
    self: A,
    neighbours: () => neighbours,
    nextHopAll: () => undefined,
    broadcastNextHops: tree,
    peerCount: () => 4,
  };
  const hub = new GossipHub(transport, createMeshMetrics(createRegistry()), silentLogger(), () => 0.5);
  const got: Buffer[] = [];
  const gossiper: Gossiper = {
    onGossipUnicast: () => undefined,
    onGossipBroadcast: (_src, update) => { got.push(update); return update; },
    onGossip: () => null,
    gossip: () => null,
  };
  const channel = hub.register('test', gossiper);
  return { hub, channel, sent, got };
}

test('own broadcast reaches every neighbour even before the routes include them', () => {
  const { channel, sent } = hubWith(() => []); // routes not computed yet
  channel.broadcast(Buffer.from('x'));
  assert.deepEqual(sent.map((s) => s.to).sort(), [B, C]);
  assert.ok(sent.every((s) => s.msg.tag === Tag.Broadcast));
});

test('own broadcast is sent once per neighbour when the tree already lists them', () => {
  const { channel, sent } = hubWith(() => [B, C]);
  channel.broadcast(Buffer.from('x'));
  assert.deepEqual(sent.map((s) => s.to).sort(), [B, C]);
});

test("others' broadcasts follow only the source's tree, never back to the sender", () => {
  const { hub, sent, got } = hubWith((src) => (src === D ? [B, C] : []));
  hub.handle(B, { tag: Tag.Broadcast, channel: 'test', src: D, payload: Buffer.from('y') }, 10);
  assert.equal(got.length, 1);
  assert.deepEqual(sent.map((s) => s.to), [C]);
  sent.length = 0;
  hub.handle(B, { tag: Tag.Broadcast, channel: 'test', src: C, payload: Buffer.from('z') }, 10);
  assert.deepEqual(sent, []); // C's tree has no hops through us
});
