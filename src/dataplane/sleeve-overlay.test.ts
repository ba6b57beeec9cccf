import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FakeNet, Clock, makeNode, connect, frame, BROADCAST, waitFor, linkState, sleep, type TestNode,
} from '../../test/support/dataplane/sleeve-test-support.js';

const A = '0a:00:00:00:00:01';
const B = '0a:00:00:00:00:02';
const POD_A = '020000000a01';
const POD_B = '020000000b01';

async function pair(encrypted = true, o: { bPort?: number } = {}): Promise<{ net: FakeNet; clock: Clock; a: TestNode; b: TestNode }> {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.0.1');
  const b = await makeNode(net, clock, B, '198.18.0.2', { port: o.bPort ?? 6783 });
  connect(a, b, encrypted);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'links healthy');
  return { net, clock, a, b };
}

const totalDrops = (n: TestNode): number => Object.values(n.overlay.stats().drops).reduce((x, y) => x + y, 0);

test('two peers: heartbeats make both links healthy; stop frees every AEAD handle', async () => {
  const { a, b } = await pair();
  assert.equal(a.health.get(B)!.at(-1)!.state, 'healthy');
  assert.equal(a.health.get(B)!.at(-1)!.mode, 'sleeve');
  assert.equal(a.health.get(B)!.at(-1)!.mtu, 1408);
  await a.overlay.stop();
  await b.overlay.stop();
  await a.overlay.stop();
  assert.equal(a.io.openAeads, 0);
  assert.equal(b.io.openAeads, 0);
});

test('broadcast floods to the peer, MACs are learned, unicast reply goes back', async () => {
  const { a, b } = await pair();
  const arp = frame(BROADCAST, POD_A, 28, 0x0806);
  a.io.injectTap(arp);
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'broadcast delivered');
  assert.deepEqual(b.io.tapOut[0], arp);
  assert.deepEqual(b.overlay.macTable().find((m) => m.mac === '02:00:00:00:0a:01')?.peer, A);
  const reply = frame(POD_A, POD_B, 100);
  b.io.injectTap(reply);
  await waitFor(() => a.io.tapOut.length === 1, 2000, 'unicast reply');
  assert.deepEqual(a.io.tapOut[0], reply);
  // A frame to a MAC known to be local is left to the bridge.
  a.io.injectTap(frame(POD_A, '020000000a02', 60));
  await sleep(20);
  assert.equal(b.io.tapOut.length, 1);
  const s = a.overlay.stats();
  assert.equal(s.peers[B]!.framesOut, 1);
  assert.equal(s.peers[B]!.framesIn, 1);
  assert.equal(totalDrops(a) + totalDrops(b), 0);
  await a.overlay.stop(); await b.overlay.stop();
});

test('TAP with vnet header (default) and plain TAP (tapCoalesce: false) both deliver; writes are counted', async () => {
  for (const coalesce of [true, false]) {
    const net = new FakeNet();
    const clock = new Clock();
    const a = await makeNode(net, clock, A, '198.18.0.1', { tapCoalesce: coalesce });
    const b = await makeNode(net, clock, B, '198.18.0.2', { tapCoalesce: coalesce });
    connect(a, b, true);
    await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'links healthy');
    const frames = Array.from({ length: 5 }, (_, i) => frame(POD_B, POD_A, 200 + i));
    for (const f of frames) a.io.injectTap(f);
    await waitFor(() => b.io.tapOut.length === 5, 2000, `frames delivered (coalesce ${coalesce})`);
    assert.deepEqual(b.io.tapOut, frames, 'frames arrive without the vnet header, in order');
    const s = b.overlay.stats().batches;
    assert.equal(s.tapFramesWritten, 5);
    assert.equal(s.tapWriteCalls, 5);
    assert.equal(b.io.coalescedWriteCalls > 0, coalesce, 'vnet-header path taken exactly when coalescing');
    assert.equal(totalDrops(a) + totalDrops(b), 0);
    await a.overlay.stop(); await b.overlay.stop();
  }
});

test('a burst is batched: many frames per datagram, order kept', async () => {
  const { net, a, b } = await pair();
  const before = net.captured.length;
  for (let i = 0; i < 40; i++) {
    const p = Buffer.alloc(200, i);
    a.io.injectTap(frame(BROADCAST, POD_A, p));
  }
  await waitFor(() => b.io.tapOut.length === 40, 2000, '40 frames');
  b.io.tapOut.forEach((f, i) => assert.equal(f[20], i));
  const dataDatagrams = net.captured.slice(before).filter((d) => d.from === a.ip && (d.data[0]! & 0x0f) === 1);
  assert.ok(dataDatagrams.length <= 8, `expected batching, got ${dataDatagrams.length} datagrams`);
  await a.overlay.stop(); await b.overlay.stop();
});

test('inbound side learns the peer UDP address from the first authenticated datagram', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.0.1', { port: 7001 });
  const b = await makeNode(net, clock, B, '198.18.0.2', { port: 6783 });
  connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy');
  assert.equal(b.overlay.links()[0]!.udpAddress, '198.18.0.1:7001');
  await a.overlay.stop(); await b.overlay.stop();
});

test('replayed and tampered datagrams are dropped and counted', async () => {
  const { net, a, b } = await pair();
  a.io.injectTap(frame(BROADCAST, POD_A, 64));
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'frame');
  const dg = net.captured.filter((d) => d.from === a.ip && (d.data[0]! & 0x0f) === 1).at(-1)!.data;
  net.deliver('198.18.0.99', 5555, b.ip, 6783, dg);
  await waitFor(() => b.overlay.stats().drops.replay === 1, 2000, 'replay counted');
  const t = Buffer.from(dg);
  t.writeUInt32BE(t.readUInt32BE(16) + 1000, 16); // fresh counter: passes the window, fails auth
  net.deliver('198.18.0.99', 5555, b.ip, 6783, t);
  const t2 = Buffer.from(dg);
  t2[t2.length - 20]! ^= 0x40;
  t2.writeUInt32BE(t2.readUInt32BE(16) + 2000, 16);
  net.deliver('198.18.0.99', 5555, b.ip, 6783, t2);
  await waitFor(() => b.overlay.stats().drops.auth === 2, 2000, 'auth counted');
  assert.equal(b.io.tapOut.length, 1, 'nothing delivered');
  assert.equal(b.overlay.links()[0]!.udpAddress, '198.18.0.1:6783', 'forged datagrams do not move the address');
  await a.overlay.stop(); await b.overlay.stop();
});

test('fuzz: garbage, truncated and bit-flipped datagrams are counted, never thrown, never delivered', async () => {
  const { net, a, b } = await pair();
  a.io.injectTap(frame(BROADCAST, POD_A, 64));
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'frame');
  const real = net.captured.filter((d) => d.from === a.ip).at(-1)!.data;
  const before = totalDrops(b);
  let sent = 0;
  await fc.assert(fc.asyncProperty(
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((x) => Buffer.from(x)),
      fc.nat(real.length - 1).map((n) => real.subarray(0, n)),
      fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
        const c = Buffer.from(real);
        c[i]! ^= x;
        return c;
      }),
    ),
    async (dg) => {
      net.deliver('203.0.113.9', 1234, b.ip, 6783, dg);
      sent++;
      return true;
    }), { numRuns: 400 });
  await waitFor(() => totalDrops(b) - before === sent, 3000, `all ${sent} counted`);
  assert.equal(b.io.tapOut.length, 1);
  assert.equal(linkState(b, A), 'healthy');
  await a.overlay.stop(); await b.overlay.stop();
});

test('unencrypted mode: same framing without tags; a plain datagram to a sealed link is refused', async () => {
  const { net, a, b } = await pair(false);
  const payload = Buffer.from('visible-in-plain-mode');
  a.io.injectTap(frame(BROADCAST, POD_A, payload));
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'plain frame');
  const dg = net.captured.filter((d) => d.from === a.ip && (d.data[0]! & 0x0f) === 1).at(-1)!.data;
  assert.ok(dg.includes(payload), 'plain on the wire');
  assert.equal(dg[1], 0x01, 'PLAIN flag');
  const e = await pair(true);
  e.net.deliver(e.a.ip, 6783, e.b.ip, 6783, dg);
  await waitFor(() => e.b.overlay.stats().drops.auth + e.b.overlay.stats().drops.unknown_peer >= 1, 2000, 'refused');
  for (const n of [a, b, e.a, e.b]) await n.overlay.stop();
});

test('encrypted mode: the payload never appears on the wire', async () => {
  const { net, a, b } = await pair(true);
  const secret = Buffer.from('TOP-SECRET-PAYLOAD-0123456789');
  a.io.injectTap(frame(BROADCAST, POD_A, secret));
  await waitFor(() => b.io.tapOut.length === 1, 2000, 'frame');
  assert.ok(b.io.tapOut[0]!.includes(secret));
  assert.ok(net.captured.every((d) => !d.data.includes(secret)));
  await a.overlay.stop(); await b.overlay.stop();
});

test('mixed algorithms: each side seals with its own, the receiver opens either', async () => {
  const net = new FakeNet();
  const clock = new Clock();
  const a = await makeNode(net, clock, A, '198.18.0.1', { alg: 'aes-256-gcm' });
  const b = await makeNode(net, clock, B, '198.18.0.2', { alg: 'chacha20-poly1305' });
  connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy');
  a.io.injectTap(frame(BROADCAST, POD_A, 64));
  b.io.injectTap(frame(BROADCAST, POD_B, 64));
  await waitFor(() => a.io.tapOut.length === 1 && b.io.tapOut.length === 1, 2000, 'both ways');
  await a.overlay.stop(); await b.overlay.stop();
});

test('TAP write queue full: excess frames are counted as queue_full', async () => {
  const { a, b } = await pair();
  b.io.tapWriteLimit = 2;
  for (let i = 0; i < 10; i++) a.io.injectTap(frame(BROADCAST, POD_A, 100));
  await waitFor(() => b.overlay.stats().drops.queue_full >= 1, 2000, 'queue_full');
  assert.equal(b.io.tapOut.length + b.overlay.stats().drops.queue_full, 10);
  await a.overlay.stop(); await b.overlay.stop();
});

test('Prometheus metrics are read from the counters at scrape time', async () => {
  const { Registry } = await import('prom-client');
  const net = new FakeNet();
  const clock = new Clock();
  const registry = new Registry();
  const a = await makeNode(net, clock, A, '198.18.7.1', { registry });
  const b = await makeNode(net, clock, B, '198.18.7.2');
  connect(a, b);
  await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'healthy');
  for (let i = 0; i < 3; i++) a.io.injectTap(frame(BROADCAST, POD_A, 100));
  a.io.injectTap(Buffer.alloc(10)); // runt from the TAP: malformed
  await waitFor(() => b.io.tapOut.length === 3, 2000, 'frames');
  await sleep(10);
  const text = await registry.metrics();
  assert.match(text, new RegExp(`weft_sleeve_frames_total\\{peer="${B}",direction="out"\\} 3`));
  assert.match(text, new RegExp(`weft_sleeve_bytes_total\\{peer="${B}",direction="out"\\} 342`));
  assert.match(text, /weft_sleeve_drops_total\{reason="malformed"\} 1/);
  assert.match(text, /weft_sleeve_drops_total\{reason="replay"\} 0/);
  assert.match(text, new RegExp(`weft_sleeve_peer_mtu_bytes\\{peer="${B}"\\} 1408`));
  assert.match(text, /weft_sleeve_macs 1/);
  assert.match(text, /weft_sleeve_relayed_frames_total 0/);
  await a.overlay.stop(); await b.overlay.stop();
});

test('idle links: housekeeping slows to the idle tick once both links are healthy and quiet, and heartbeats keep them healthy', async () => {
  const net = new FakeNet();
  let calls = 0;
  const realClock = { t: 0, now: (): number => { calls++; return Date.now(); } } as unknown as Clock;
  const timing = { tickMs: 5, idleTickMs: 100, heartbeatMs: 1000, heartbeatTimeoutMs: 3000 };
  const a = await makeNode(net, realClock, A, '198.18.9.1', { timing });
  const b = await makeNode(net, realClock, B, '198.18.9.2', { timing });
  try {
    connect(a, b, true);
    await waitFor(() => linkState(a, B) === 'healthy' && linkState(b, A) === 'healthy', 3000, 'links healthy');
    // Fast ticks (5 ms) read the clock ≥ 100 times per 500 ms in the two nodes; idle ones (100 ms) about 20.
    let window = Infinity;
    for (let i = 0; i < 10 && window > 40; i++) {
      const before = calls;
      await sleep(500);
      window = calls - before;
    }
    assert.ok(window <= 40, `clock reads per 500 ms once idle: ${window}`);
    // Watch for longer than the heartbeat timeout: only heartbeats sent on the idle tick keep the links up.
    for (const end = Date.now() + 3500; Date.now() < end;) {
      assert.equal(linkState(a, B), 'healthy');
      assert.equal(linkState(b, A), 'healthy');
      await sleep(100);
    }
    a.io.injectTap(frame(BROADCAST, POD_A, 80));
    await waitFor(() => b.io.tapOut.length === 1, 3000, 'a frame after the idle period');
  } finally {
    await a.overlay.stop();
    await b.overlay.stop();
  }
});
