/**
 * udpSendBatch with `gso`: runs of equal-size datagrams to one address go as UDP GSO
 * messages, and the receiver sees exactly the datagrams it would without (loopback, no
 * root); udpRecvBatchGro on a UDP_GRO socket returns a GSO train as its datagrams; over a 1280-byte veth between namespaces (root): the veth carries fewer packets
 * than datagrams (GSO really used), and a run above the path MTU falls back to single sends
 * that report MSGSIZE each. Bounds checks of the new argument.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { UdpSendStatus, loadRawBinding, tryLoadNative, type NativeDataplane } from './native.js';
import { pack } from '../../test/support/dataplane/native-test-frames.js';

const dp = tryLoadNative();
const noAddon = dp === null ? 'native addon not built (run npm run install)' : false;
const noRoot = noAddon || (process.getuid?.() === 0 ? false : 'needs root (network namespaces)');
const PREFIX = `wft${randomBytes(2).toString('hex')}`;
const LOOPBACK = 0x7f000001;

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { timeout: 10_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('udpSendBatch with gso (loopback)', { skip: noAddon }, () => {
  const n = dp as NativeDataplane;

  it('mixed runs, sizes and destinations arrive as the same datagrams, in order per destination', () => {
    const a = n.udpOpen('127.0.0.1', 0), b = n.udpOpen('127.0.0.1', 0), c = n.udpOpen('127.0.0.1', 0);
    try {
      const pb = n.udpLocalPort(b), pc = n.udpLocalPort(c);
      const plan: [number, number][] = [
        ...Array.from({ length: 40 }, () => [pb, 1000] as [number, number]),
        [pb, 1000], [pb, 300], [pb, 1000], // short one ends a run; a new run starts
        ...Array.from({ length: 5 }, (_, i) => [i % 2 ? pb : pc, 700] as [number, number]), // alternating
        ...Array.from({ length: 20 }, () => [pc, 1200] as [number, number]), [pc, 500],
        [pb, 1], [pb, 1],
      ];
      const frames = plan.map(([, len]) => randomBytes(len));
      const { arena, offs, lens } = pack(frames);
      const addrs = new Uint32Array(plan.flatMap(([port]) => [LOOPBACK, port]));
      const errs = new Uint8Array(plan.length).fill(9);
      assert.equal(n.udpSendBatch(a, arena, offs, lens, addrs, plan.length, errs, true), plan.length);
      assert.ok(errs.every((e) => e === UdpSendStatus.OK));
      for (const [fd, port] of [[b, pb], [c, pc]] as const) {
        const want = frames.filter((_, i) => plan[i]![0] === port);
        const rx = Buffer.alloc(128 * 2048), rl = new Uint32Array(128), ra = new Uint32Array(256);
        const k = n.udpRecvBatch(fd, rx, 2048, rl, ra, 128);
        assert.equal(k, want.length);
        want.forEach((w, i) => assert.ok(rx.subarray(i * 2048, i * 2048 + rl[i]!).equals(w), `datagram ${i} to ${port}`));
      }
    } finally {
      for (const fd of [a, b, c]) n.close(fd);
    }
  });

  it('non-contiguous datagrams and a zero-length one are sent singly', () => {
    const a = n.udpOpen('127.0.0.1', 0), b = n.udpOpen('127.0.0.1', 0);
    try {
      const pb = n.udpLocalPort(b);
      const arena = randomBytes(10_000);
      const offs = new Uint32Array([0, 2000, 1000, 5000, 5000]), lens = new Uint32Array([1000, 1000, 1000, 0, 1000]);
      const addrs = new Uint32Array(10).map((_, k) => (k % 2 ? pb : LOOPBACK));
      const errs = new Uint8Array(5);
      assert.equal(n.udpSendBatch(a, arena, offs, lens, addrs, 5, errs, true), 5);
      const rx = Buffer.alloc(8 * 2048), rl = new Uint32Array(8), ra = new Uint32Array(16);
      assert.equal(n.udpRecvBatch(b, rx, 2048, rl, ra, 8), 5);
      for (let i = 0; i < 5; i++) assert.ok(rx.subarray(i * 2048, i * 2048 + rl[i]!).equals(arena.subarray(offs[i]!, offs[i]! + lens[i]!)));
    } finally {
      n.close(a);
      n.close(b);
    }
  });

  it('UDP GRO receive: a GSO train arrives as one buffer and comes back as its datagrams', () => {
    const a = n.udpOpen('127.0.0.1', 0), b = n.udpOpen('127.0.0.1', 0);
    try {
      n.udpSetGro(b, true);
      const pa = n.udpLocalPort(a), pb = n.udpLocalPort(b);
      const frames = [...Array.from({ length: 40 }, () => randomBytes(1000)), randomBytes(333), randomBytes(20), randomBytes(20)];
      const { arena, offs, lens } = pack(frames);
      const addrs = new Uint32Array(frames.length * 2).map((_, k) => (k % 2 ? pb : LOOPBACK));
      assert.equal(n.udpSendBatch(a, arena, offs, lens, addrs, frames.length, undefined, true), frames.length);
      const rx = Buffer.alloc(4 * 65536), ro = new Uint32Array(512), rl = new Uint32Array(512), ra = new Uint32Array(1024);
      let got = 0;
      for (let tries = 0; tries < 10 && got < frames.length; tries++) got += n.udpRecvBatchGro(b, rx, 65536, ro.subarray(got), rl.subarray(got), ra.subarray(2 * got), 512 - got);
      assert.equal(got, frames.length);
      frames.forEach((f, i) => {
        assert.ok(rx.subarray(ro[i]!, ro[i]! + rl[i]!).equals(f), `datagram ${i}`);
        assert.deepEqual([ra[2 * i], ra[2 * i + 1]], [LOOPBACK, pa]);
      });
      assert.equal(ro[1]! - ro[0]!, 1000, 'the first two datagrams share one GRO buffer');
      // Bounds: max smaller than one buffer's room still never writes past max entries.
      assert.equal(n.udpSendBatch(a, arena, offs, lens, addrs, 40, undefined, true), 40);
      const small = new Uint32Array(8), sl = new Uint32Array(8), sa = new Uint32Array(16);
      const k = n.udpRecvBatchGro(b, rx, 65536, small, sl, sa, 8);
      assert.ok(k >= 1 && k <= 8);
    } finally {
      n.close(a);
      n.close(b);
    }
  });

  it('argument checks: udpRecvBatchGro shapes are checked in C', () => {
    const raw = loadRawBinding();
    const arena = Buffer.alloc(1000), u = new Uint32Array(4), a2 = new Uint32Array(8);
    assert.throws(() => raw.udpRecvBatchGro(1, arena, 0, u, u, a2, 4), RangeError);
    assert.throws(() => raw.udpRecvBatchGro(1, arena, 100, u, u, a2, 5), RangeError);
    assert.throws(() => raw.udpRecvBatchGro(1, arena, 100, u, u, new Uint32Array(7), 4), RangeError);
    assert.throws(() => raw.udpRecvBatchGro(1, arena, 100, u, 'x' as never, a2, 4), TypeError);
    assert.throws(() => raw.udpSetGro(1, 'x' as never), TypeError);
  });

  it('fuzz: random runs with gso deliver exactly the datagrams sent, in order', () => {
    const a = n.udpOpen('127.0.0.1', 0), b = n.udpOpen('127.0.0.1', 0);
    try {
      const pb = n.udpLocalPort(b);
      const rx = Buffer.alloc(256 * 2048), rl = new Uint32Array(256), ra = new Uint32Array(512);
      fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 1400 }), fc.nat(3), fc.boolean()), { minLength: 1, maxLength: 100 }),
        (plan) => {
          // Each entry: length, repeat count (equal-size runs), contiguous with the previous or not.
          const frames: Buffer[] = [];
          for (const [len, rep] of plan) for (let r = 0; r <= rep; r++) frames.push(randomBytes(len));
          const arena = Buffer.alloc(frames.reduce((t, f) => t + f.length + 8, 0));
          const offs = new Uint32Array(frames.length), lens = new Uint32Array(frames.length);
          let at = 0;
          frames.forEach((f, i) => {
            if (plan[i % plan.length]![2]) at += 8; // a gap breaks contiguity
            offs[i] = at; lens[i] = f.length; f.copy(arena, at); at += f.length;
          });
          const addrs = new Uint32Array(frames.length * 2).map((_, k) => (k % 2 ? pb : LOOPBACK));
          const errs = new Uint8Array(frames.length);
          assert.equal(n.udpSendBatch(a, arena, offs, lens, addrs, frames.length, errs, true), frames.length);
          let got = 0;
          for (let tries = 0; tries < 20 && got < frames.length; tries++) {
            const k = n.udpRecvBatch(b, rx, 2048, rl, ra, 256);
            for (let i = 0; i < k; i++, got++) assert.ok(rx.subarray(i * 2048, i * 2048 + rl[i]!).equals(frames[got]!), `datagram ${got}`);
          }
          assert.equal(got, frames.length);
        }), { numRuns: 60 });
    } finally {
      n.close(a);
      n.close(b);
    }
  });

  it('argument checks: gso must be a boolean in both layers', () => {
    const raw = loadRawBinding();
    const { arena, offs, lens } = pack([Buffer.alloc(10)]);
    assert.throws(() => raw.udpSendBatch(1, arena, offs, lens, new Uint32Array(2), 1, null, 1 as never), TypeError);
    assert.throws(() => n.udpSendBatch(1, arena, offs, lens, new Uint32Array(2), 1, undefined, 'yes' as never), /gso/);
  });
});

describe('udpSendBatch with gso over a 1280-byte veth (namespaces)', { skip: noRoot }, () => {
  const nsA = `${PREFIX}ua`, nsB = `${PREFIX}ub`;
  before(() => {
    sh('ip', 'netns', 'add', nsA);
    sh('ip', 'netns', 'add', nsB);
    sh('ip', 'link', 'add', `${PREFIX}ua`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${PREFIX}ub`, 'netns', nsB);
    sh('ip', '-n', nsA, 'addr', 'add', '198.18.78.1/24', 'dev', `${PREFIX}ua`);
    sh('ip', '-n', nsB, 'addr', 'add', '198.18.78.2/24', 'dev', `${PREFIX}ub`);
    sh('ip', '-n', nsA, 'link', 'set', `${PREFIX}ua`, 'mtu', '1280', 'up');
    sh('ip', '-n', nsB, 'link', 'set', `${PREFIX}ub`, 'up');
    sh('ip', '-n', nsB, 'neigh', 'flush', 'all'); // (nothing yet; keeps the namespace warm)
  });
  after(() => {
    for (const ns of [nsA, nsB]) try { sh('ip', 'netns', 'del', ns); } catch { /* already gone */ }
  });

  it('40 datagrams take fewer veth packets; a run above the path MTU gets MSGSIZE per datagram', () => {
    const script = `
      const { loadNative } = await import(${JSON.stringify(new URL('./native.js', import.meta.url).href)});
      const { execFileSync } = await import('node:child_process');
      const n = loadNative();
      const fd = n.udpOpen('198.18.78.1', 0);
      const dst = (198 << 24 | 18 << 16 | 78 << 8 | 2) >>> 0;
      const txPackets = () => JSON.parse(execFileSync('ip', ['-s', '-j', 'link', 'show', '${PREFIX}ua'], { encoding: 'utf8' }))[0].stats64.tx.packets;
      const send = (count, len) => {
        const arena = Buffer.alloc(count * len, 0x61);
        const offs = new Uint32Array(count).map((_, i) => i * len), lens = new Uint32Array(count).fill(len);
        const addrs = new Uint32Array(2 * count).map((_, k) => (k % 2 ? 9 : dst));
        const errs = new Uint8Array(count);
        const sent = n.udpSendBatch(fd, arena, offs, lens, addrs, count, errs, true);
        return { sent, errs: [...new Set(errs)] };
      };
      send(1, 100); // resolve the neighbour first
      await new Promise((r) => setTimeout(r, 200));
      const before = txPackets();
      const ok = send(40, 1000);
      const packets = txPackets() - before;
      const big = send(3, 1400);
      console.log(JSON.stringify({ ok, packets, big, mtu: n.pathMtu('198.18.78.2') }));
      n.close(fd);`;
    const out = execFileSync('ip', ['netns', 'exec', nsA, process.execPath, '--input-type=module', '-e', script],
      { timeout: 15_000, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { ok: { sent: number; errs: number[] }; packets: number; big: { sent: number; errs: number[] }; mtu: number };
    assert.deepEqual(r.ok, { sent: 40, errs: [UdpSendStatus.OK] });
    assert.ok(r.packets >= 1 && r.packets < 40, `veth carried ${r.packets} packets for 40 datagrams`);
    assert.deepEqual(r.big, { sent: 0, errs: [UdpSendStatus.MSGSIZE] });
    assert.equal(r.mtu, 1280);
  });
});
