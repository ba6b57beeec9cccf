import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FakeNet, Clock, makeNode, connect, frame, BROADCAST, waitFor, linkState, advance, routes, sleep,
} from '../../test/support/dataplane/sleeve-test-support.js';
import { onesSum, finishChecksum } from './icmp.js';
import { DataKeySchedule } from '../crypto/index.js';

const A = '0a:00:00:00:00:01';
const B = '0a:00:00:00:00:02';
const C = '0a:00:00:00:00:03';
const POD_A = '020000000a01';
const POD_C = '020000000c01';

test('chain A–B–C: broadcast reaches C via B, unicast C→A is relayed by B with its keys', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.1.1');
  const b = await makeNode(net, clock, B, '198.18.1.2');
  const c = await makeNode(net, clock, C, '198.18.1.3');
  net.blocked.add('198.18.1.1>198.18.1.3').add('198.18.1.3>198.18.1.1');
  connect(a, b);
  connect(b, c);
  a.overlay.setRoutes(routes({ [B]: B, [C]: B }, { [A]: [B] }));
  b.overlay.setRoutes(routes({ [A]: A, [C]: C }, { [A]: [C], [C]: [A], [B]: [A, C] }));
  c.overlay.setRoutes(routes({ [B]: B, [A]: B }, { [C]: [B] }));
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(c, B) === 'healthy' && linkState(b, C) === 'healthy', 3000, 'healthy');
  const arp = frame(BROADCAST, POD_A, 28, 0x0806);
  a.io.injectTap(arp);
  await waitFor(() => c.io.tapOut.length === 1 && b.io.tapOut.length === 1, 2000, 'ARP broadcast at B and C');
  assert.equal(c.overlay.macTable().find((m) => m.mac === '02:00:00:00:0a:01')?.peer, A, 'C learns the MAC at its origin');
  const reply = frame(POD_A, POD_C, 500);
  c.io.injectTap(reply);
  await waitFor(() => a.io.tapOut.length === 1, 2000, 'relayed unicast');
  assert.deepEqual(a.io.tapOut[0], reply);
  assert.equal(b.io.tapOut.length, 1, 'the relay does not deliver unicast for others');
  assert.ok(b.overlay.stats().relayedFrames >= 2);
  assert.equal(net.captured.filter((d) => d.from === c.ip && d.to === a.ip).length, 0, 'never direct');
  // No route → counted.
  a.overlay.setRoutes(routes({ [B]: B }, { [A]: [B] }));
  a.overlay.stats();
  a.io.injectTap(frame(POD_C, POD_A, 60));
  await waitFor(() => a.overlay.stats().drops.no_route === 1, 2000, 'no_route');
  for (const n of [a, b, c]) await n.overlay.stop();
});

test('PMTU: a smaller path is discovered by probes; a too-big DF frame gets ICMP frag-needed', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.2.1', { timing: { pmtuProbeTimeoutMs: 20 } });
  const b = await makeNode(net, clock, B, '198.18.2.2', { timing: { pmtuProbeTimeoutMs: 20 } });
  net.pathMtus.set('198.18.2.1>198.18.2.2', 1200);
  connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy', 3000, 'healthy');
  // Probe timeouts run on the fake clock.
  for (let i = 0; i < 200 && a.overlay.links()[0]!.pathMtu !== 1200; i++) await advance(clock, 25, 25);
  assert.equal(a.overlay.links()[0]!.pathMtu, 1200);
  assert.equal(a.overlay.links()[0]!.overlayMtu, 1200 - 92);
  assert.equal(a.health.get(B)!.at(-1)!.mtu, 1108);
  assert.equal(b.overlay.links()[0]!.pathMtu, 1500, 'the reverse path is not limited');
  // DF IPv4 packet of 1300 bytes from the local pod.
  const ip = Buffer.alloc(1300);
  ip[0] = 0x45; ip.writeUInt16BE(1300, 2); ip.writeUInt16BE(0x4000, 6); ip[8] = 64; ip[9] = 17;
  Buffer.from([10, 40, 0, 1, 10, 40, 0, 2]).copy(ip, 12);
  ip.writeUInt16BE(finishChecksum(onesSum(ip, 0, 20)), 10);
  // Teach A that the destination MAC lives at B.
  b.io.injectTap(frame(BROADCAST, '020000000b01', 46));
  await waitFor(() => a.io.tapOut.length === 1, 2000, 'learn');
  a.io.injectTap(frame('020000000b01', POD_A, ip));
  await waitFor(() => a.io.tapOut.length === 2, 2000, 'ICMP back into the TAP');
  const icmp = a.io.tapOut[1]!;
  assert.equal(icmp.subarray(0, 6).toString('hex'), POD_A);
  assert.equal(icmp[14 + 20], 3);
  assert.equal(icmp[14 + 21], 4);
  assert.equal(icmp.readUInt16BE(14 + 26), 1108);
  assert.equal(a.overlay.stats().drops.too_big, 1);
  // A non-DF frame of the same size is just dropped (counted).
  ip.writeUInt16BE(0, 6);
  a.io.injectTap(frame('020000000b01', POD_A, ip));
  await waitFor(() => a.overlay.stats().drops.too_big === 2, 2000, 'non-DF too big');
  assert.equal(a.io.tapOut.length, 2);
  // A frame that fits still goes through.
  a.io.injectTap(frame('020000000b01', POD_A, 1100));
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'fits');
  for (const n of [a, b]) await n.overlay.stop();
});

test('key rotation under traffic drops nothing; both directions move epochs', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const timing = { rekeyIntervalMs: 2_000, heartbeatMs: 500 };
  const a = await makeNode(net, clock, A, '198.18.3.1', { timing });
  const b = await makeNode(net, clock, B, '198.18.3.2', { timing });
  connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy');
  let sent = 0;
  for (let round = 0; round < 40; round++) {
    a.io.injectTap(frame(BROADCAST, POD_A, 80));
    b.io.injectTap(frame(BROADCAST, '020000000b01', 80));
    sent++;
    await advance(clock, 250, 250);
  }
  await waitFor(() => b.io.tapOut.length === sent && a.io.tapOut.length === sent, 3000, 'all frames');
  const la = a.overlay.links()[0]!;
  const lb = b.overlay.links()[0]!;
  assert.ok(la.sendEpoch >= 3, `A epoch ${la.sendEpoch}`);
  assert.ok(lb.sendEpoch >= 3, `B epoch ${lb.sendEpoch}`);
  assert.equal(lb.recvEpoch, la.sendEpoch);
  const d = { ...a.overlay.stats().drops, ...{} };
  assert.equal(d.auth + d.replay + b.overlay.stats().drops.auth + b.overlay.stats().drops.replay, 0);
  // Old epochs are freed: a handful of AEAD contexts per side, not one per epoch.
  assert.ok(a.io.openAeads <= 4, `open AEAD contexts ${a.io.openAeads}`);
  for (const n of [a, b]) await n.overlay.stop();
});

test('health: no datagrams for the timeout → failed with reason; traffic back → healthy', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.4.1');
  const b = await makeNode(net, clock, B, '198.18.4.2');
  connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy', 3000, 'healthy');
  await advance(clock, 6_000, 500);
  assert.equal(linkState(a, B), 'healthy', 'slow heartbeats keep it alive');
  net.blocked.add('198.18.4.2>198.18.4.1').add('198.18.4.1>198.18.4.2');
  await advance(clock, 16_000, 500);
  assert.equal(linkState(a, B), 'failed');
  const last = a.health.get(B)!.at(-1)!;
  assert.equal(last.state, 'failed');
  assert.equal(last.reason, 'no UDP heartbeat for 15 s');
  net.blocked.clear();
  await advance(clock, 6_000, 500);
  await waitFor(() => linkState(a, B) === 'healthy', 2000, 'recovered');
  for (const n of [a, b]) await n.overlay.stop();
});

test('one-way loss is reported as such', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.5.1');
  const b = await makeNode(net, clock, B, '198.18.5.2');
  net.blocked.add('198.18.5.1>198.18.5.2');
  connect(a, b);
  await advance(clock, 16_000, 500);
  assert.equal(linkState(a, B), 'failed');
  assert.match(a.health.get(B)!.at(-1)!.reason!, /peer has not received our UDP datagrams/);
  assert.equal(linkState(b, A), 'failed');
  assert.match(b.health.get(A)!.at(-1)!.reason!, /no UDP heartbeat/);
  for (const n of [a, b]) await n.overlay.stop();
});

test('duplicate connection: the confirmed one carries traffic, stopping the other changes nothing', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.6.1');
  const b = await makeNode(net, clock, B, '198.18.6.2');
  const first = connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy');
  first.ab.stop();
  first.ba.stop();
  first.ab.stop();
  assert.equal(a.overlay.links().length, 0);
  connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy again');
  a.io.injectTap(frame(BROADCAST, POD_A, 60));
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'frame on the new connection');
  a.overlay.peerGone(B);
  await sleep(5);
  for (const n of [a, b]) await n.overlay.stop();
});

test('rotation with the real DataKeySchedule (bounded ratchet) runs past its epoch span', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const timing = { rekeyIntervalMs: 1_000, heartbeatMs: 250, epochGraceMs: 500 };
  const a = await makeNode(net, clock, A, '198.18.8.1', { timing });
  const b = await makeNode(net, clock, B, '198.18.8.2', { timing });
  const ck = Buffer.alloc(32, 7);
  const ka = DataKeySchedule.fromChainingKey(ck, true, true);
  const kb = DataKeySchedule.fromChainingKey(ck, false, true);
  const conns = connect(a, b, true, [ka, kb]);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy');
  let sent = 0;
  for (let round = 0; round < 48; round++) {
    a.io.injectTap(frame(BROADCAST, POD_A, 80));
    sent++;
    await advance(clock, 250, 250);
  }
  await waitFor(() => b.io.tapOut.length === sent, 3000, 'all frames');
  const la = a.overlay.links()[0]!;
  assert.ok(la.sendEpoch >= 8, `epoch ${la.sendEpoch} (span is 4)`);
  assert.ok(ka.send.oldestEpoch >= la.sendEpoch - 1, `schedule retired old epochs (oldest ${ka.send.oldestEpoch})`);
  const drops = a.overlay.stats().drops;
  assert.equal(drops.auth + drops.replay + b.overlay.stats().drops.auth + b.overlay.stats().drops.replay, 0);
  conns.ab.stop();
  assert.throws(() => ka.keys(la.sendEpoch), /destroyed/, 'stop destroys the schedule');
  for (const n of [a, b]) await n.overlay.stop();
});
