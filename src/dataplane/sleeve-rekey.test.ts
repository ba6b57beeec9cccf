/**
 * Key rotation at the default timings (120 s rotation, 30 s grace, 60 s acknowledgement
 * deadline) under a fake clock, with the real DataKeySchedule: old keys are wiped, and a peer
 * that never acknowledges a new epoch fails the link visibly and asks for a new handshake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FakeNet, Clock, makeNode, connect, frame, BROADCAST, waitFor, linkState, advance,
} from '../../test/support/dataplane/sleeve-test-support.js';
import { DataKeySchedule } from '../crypto/index.js';
import { SLEEVE_EPOCH_GRACE_MS, SLEEVE_REKEY_ACK_TIMEOUT_MS, SLEEVE_REKEY_INTERVAL_MS } from '../common/index.js';
import type { DataKeysLike } from '../mesh/index.js';
import { DatagramType } from './wire-format.js';

const A = '0a:00:00:00:00:01';
const B = '0a:00:00:00:00:02';
const POD_A = '020000000a01';

/** Epoch field of a captured sleeve datagram (header: ver/type, flags, sender(6), epoch(4), counter(8)). */
const epochOf = (d: Buffer): number => d.readUInt32BE(8);
const typeOf = (d: Buffer): number => d[0]! & 0x0f;

function schedules(): [DataKeySchedule, DataKeySchedule] {
  const ck = Buffer.alloc(32, 9);
  return [DataKeySchedule.fromChainingKey(ck, true, true), DataKeySchedule.fromChainingKey(ck, false, true)];
}

test('default timings: rotation at 120 s on a fake clock, old epoch accepted for the 30 s grace, then its keys are wiped', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  // Default sleeve timings (tick intervals only are shortened by makeNode).
  const a = await makeNode(net, clock, A, '198.18.31.1');
  const b = await makeNode(net, clock, B, '198.18.31.2');
  const [ka, kb] = schedules();
  const conns = connect(a, b, true, [ka, kb]);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy');
  const key0 = ka.send.key(0);
  const key0Copy = Buffer.from(key0);
  assert.ok(key0Copy.some((x) => x !== 0));

  a.io.injectTap(frame(BROADCAST, POD_A, 80));
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'frame on epoch 0');
  const epoch0Data = net.captured.find((d) => d.from === a.ip && typeOf(d.data) === DatagramType.Data);
  assert.ok(epoch0Data && epochOf(epoch0Data.data) === 0);

  await advance(clock, SLEEVE_REKEY_INTERVAL_MS - 1_000, 1_000);
  assert.equal(a.overlay.links()[0]!.sendEpoch, 0, 'not before 120 s');
  await advance(clock, 2_000, 500);
  await waitFor(() => a.overlay.links()[0]!.sendEpoch === 1 && b.overlay.links()[0]!.sendEpoch === 1, 2000, 'both rotated');
  await waitFor(() => b.overlay.links()[0]!.recvEpoch === 1, 2000, 'B authenticated epoch 1');
  a.io.injectTap(frame(BROADCAST, POD_A, 80));
  await waitFor(() => b.io.tapOut.length === 2, 2000, 'frame on epoch 1');
  assert.equal(epochOf(net.captured.filter((d) => d.from === a.ip && typeOf(d.data) === DatagramType.Data).at(-1)!.data), 1);

  // After the grace period epoch 0 is gone for good: a datagram of it is refused (stale epoch),
  // and its keys are underivable and zeroed on both sides.
  await advance(clock, SLEEVE_EPOCH_GRACE_MS + 2_000, 1_000);
  const replayBefore = b.overlay.stats().drops.replay;
  net.deliver(epoch0Data.from, 45000, b.ip, b.overlay.udpPort, epoch0Data.data);
  await waitFor(() => b.overlay.stats().drops.replay === replayBefore + 1, 2000, 'old-epoch datagram dropped');
  assert.equal(b.io.tapOut.length, 2, 'not delivered');
  assert.throws(() => ka.send.key(0), /forgotten/, 'sender forgot epoch 0');
  assert.throws(() => kb.recv.key(0), /forgotten/, 'receiver forgot epoch 0');
  assert.ok(key0.every((x) => x === 0), 'the epoch-0 key buffer was zeroed');
  assert.ok(a.io.openAeads <= 4 && b.io.openAeads <= 4, `AEAD contexts ${a.io.openAeads}/${b.io.openAeads}`);
  assert.equal(a.overlay.stats().rekeyStalls + b.overlay.stats().rekeyStalls, 0);
  assert.equal(linkState(a, B), 'healthy');
  conns.ab.stop();
  conns.ba.stop();
  for (const n of [a, b]) await n.overlay.stop();
});

test('a peer that never acknowledges the new epoch: the link fails with a reason, counts a stall and asks the mesh to reconnect', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.32.1');
  const b = await makeNode(net, clock, B, '198.18.32.2');
  const [ka, kbReal] = schedules();
  // B's key schedule is broken beyond epoch 0 on its receive side: it never authenticates (so
  // never acknowledges) A's epoch 1, while it keeps sending heartbeats on epoch 0.
  const kb: DataKeysLike = {
    encrypted: true,
    keys: (e) => {
      if (e > 0) throw new Error('broken key schedule');
      return kbReal.keys(e);
    },
  };
  connect(a, b, true, [ka, kb]);
  await waitFor(() => linkState(a, B) === 'healthy', 3000, 'healthy');
  // Epoch 0 is acknowledged, so A rotates to 1 at 120 s; the rotation to 2 is due at 240 s
  // but blocked; 60 s later A gives up.
  const stallAt = 2 * SLEEVE_REKEY_INTERVAL_MS + SLEEVE_REKEY_ACK_TIMEOUT_MS;
  await advance(clock, stallAt - 2_000, 1_000);
  assert.equal(a.overlay.links()[0]!.sendEpoch, 1, 'stuck on epoch 1');
  assert.equal(a.overlay.stats().rekeyStalls, 0, 'not yet');
  await advance(clock, 4_000, 500);
  await waitFor(() => a.overlay.stats().rekeyStalls === 1, 2000, 'stall counted');
  const last = a.health.get(B)!.at(-1)!;
  assert.equal(last.state, 'failed');
  assert.equal(last.reconnect, true);
  assert.match(last.reason!, /key rotation stalled: peer has not acknowledged data key epoch 1 for 60 s/);
  assert.equal(linkState(a, B), 'failed');
  // No more frames on the old keys.
  const sentBefore = net.captured.filter((d) => d.from === a.ip && typeOf(d.data) === DatagramType.Data).length;
  a.io.injectTap(frame(BROADCAST, POD_A, 80));
  await advance(clock, 2_000, 500);
  assert.equal(net.captured.filter((d) => d.from === a.ip && typeOf(d.data) === DatagramType.Data).length, sentBefore);
  assert.equal(a.overlay.stats().rekeyStalls, 1, 'counted once');
  for (const n of [a, b]) await n.overlay.stop();
});
