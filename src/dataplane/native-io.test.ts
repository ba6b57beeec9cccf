/**
 * Native addon I/O against the real kernel: UDP batches on loopback, EMSGSIZE and pathMtu
 * over a small-MTU veth between two namespaces, and a TAP moved into a namespace where the
 * kernel answers ARP and ICMP echo. Namespace tests need root and are skipped otherwise.
 * Every name carries a per-run prefix (wft + 4 hex); everything is removed in after().
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { LEN_TRUNCATED, TunOffload, UdpSendStatus, tryLoadNative, type NativeDataplane } from './native.js';
import { arpRequest, icmpEcho, inetSum, ip4, mac, pack, until } from '../../test/support/dataplane/native-test-frames.js';

const dp = tryLoadNative();
const isRoot = process.getuid?.() === 0;
const noAddon = dp === null ? 'native addon not built (run npm run install)' : false;
const noRoot = noAddon || (isRoot ? false : 'needs root (network namespaces, TAP devices)');
const PREFIX = `wft${randomBytes(2).toString('hex')}`;
const LOOPBACK = 0x7f000001;

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { timeout: 10_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('native addon: UDP on loopback', { skip: noAddon }, () => {
  const n = dp as NativeDataplane;

  it('64 datagrams go out in one udpSendBatch and come back via pollStart + udpRecvBatch', async () => {
    const a = n.udpOpen('127.0.0.1', 0), b = n.udpOpen('127.0.0.1', 0);
    try {
      const pa = n.udpLocalPort(a), pb = n.udpLocalPort(b);
      assert.ok(pa > 0 && pb > 0 && pa !== pb);
      const frames = Array.from({ length: 64 }, (_, i) => Buffer.alloc(1 + i * 23, i));
      const { arena, offs, lens } = pack(frames);
      const addrs = new Uint32Array(128).map((_, k) => (k % 2 ? pb : LOOPBACK));
      const errs = new Uint8Array(64).fill(9);
      assert.equal(n.udpSendBatch(a, arena, offs, lens, addrs, 64, errs), 64);
      assert.ok(errs.every((e) => e === UdpSendStatus.OK));
      const rx = Buffer.alloc(64 * 2048), rl = new Uint32Array(64), ra = new Uint32Array(128);
      const got: { len: number; fill: number; ip: number; port: number }[] = [];
      let calls = 0;
      const h = n.pollStart(b, () => {
        calls++;
        const k = n.udpRecvBatch(b, rx, 2048, rl, ra, 64);
        for (let i = 0; i < k; i++) got.push({ len: rl[i]!, fill: rx[i * 2048]!, ip: ra[2 * i]!, port: ra[2 * i + 1]! });
      });
      assert.ok(await until(() => got.length >= 64), `received ${got.length}/64`);
      n.pollStop(h);
      got.forEach((g, i) => assert.deepEqual(g, { len: 1 + i * 23, fill: i, ip: LOOPBACK, port: pa }));
      // No callback after pollStop, and nothing left queued.
      const before = calls;
      n.udpSendBatch(a, arena, offs, lens, addrs, 1);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(calls, before);
      assert.equal(n.udpRecvBatch(b, rx, 2048, rl, ra, 64), 1);
      assert.equal(n.udpRecvBatch(b, rx, 2048, rl, ra, 64), 0);
    } finally {
      n.close(a);
      n.close(b);
    }
  });

  it('marks truncated datagrams, reports per-datagram errors and keeps sending the rest', () => {
    const a = n.udpOpen('127.0.0.1', 0), b = n.udpOpen('127.0.0.1', 0);
    try {
      const pb = n.udpLocalPort(b);
      const { arena, offs, lens } = pack([Buffer.alloc(3000, 1), Buffer.alloc(10, 2), Buffer.alloc(20, 3)]);
      const addrs = new Uint32Array([LOOPBACK, pb, LOOPBACK, 0 /* port 0: EINVAL */, LOOPBACK, pb]);
      const errs = new Uint8Array(3);
      assert.equal(n.udpSendBatch(a, arena, offs, lens, addrs, 3, errs), 2);
      assert.deepEqual([...errs], [UdpSendStatus.OK, UdpSendStatus.ERROR, UdpSendStatus.OK]);
      const rx = Buffer.alloc(2 * 2048), rl = new Uint32Array(2), ra = new Uint32Array(4);
      assert.equal(n.udpRecvBatch(b, rx, 2048, rl, ra, 2), 2);
      assert.deepEqual([...rl], [LEN_TRUNCATED, 20]);
    } finally {
      n.close(a);
      n.close(b);
    }
  });

  it('a dual-stack "::" socket talks to IPv4 peers with v4 addresses both ways', () => {
    const v6 = n.udpOpen('::', 0), v4 = n.udpOpen('127.0.0.1', 0);
    try {
      const p6 = n.udpLocalPort(v6), p4 = n.udpLocalPort(v4);
      const { arena, offs, lens } = pack([Buffer.from('ping')]);
      assert.equal(n.udpSendBatch(v4, arena, offs, lens, new Uint32Array([LOOPBACK, p6]), 1), 1);
      const rx = Buffer.alloc(2048), rl = new Uint32Array(1), ra = new Uint32Array(2);
      assert.ok(n.udpRecvBatch(v6, rx, 2048, rl, ra, 1) === 1);
      assert.deepEqual([rl[0], ra[0], ra[1]], [4, LOOPBACK, p4]);
      assert.equal(n.udpSendBatch(v6, arena, offs, lens, new Uint32Array([LOOPBACK, p4]), 1), 1);
      assert.equal(n.udpRecvBatch(v4, rx, 2048, rl, ra, 1), 1);
      assert.deepEqual([rl[0], ra[0], ra[1]], [4, LOOPBACK, p6]);
    } finally {
      n.close(v6);
      n.close(v4);
    }
  });

  it('worker_threads: a worker terminated with an active poll and AEAD handle tears down cleanly', async () => {
    const url = new URL('./native.js', import.meta.url).href;
    const code = `(async () => {
      const { loadNative } = await import(${JSON.stringify(url)});
      const { parentPort } = require('node:worker_threads');
      const n = loadNative();
      const fd = n.udpOpen('127.0.0.1', 0);
      n.aeadCreate('aes-256-gcm', Buffer.alloc(32));
      n.pollStart(fd, () => {
        n.udpRecvBatch(fd, Buffer.alloc(2048), 2048, new Uint32Array(1), new Uint32Array(2), 1);
        parentPort.postMessage('polled');
      });
      parentPort.postMessage([fd, n.udpLocalPort(fd)]);
    })();`;
    const s = n.udpOpen('127.0.0.1', 0);
    try {
      for (let round = 0; round < 5; round++) {
        const w = new Worker(code, { eval: true });
        const [fd, port] = await new Promise<[number, number]>((res, rej) => { w.once('message', res); w.once('error', rej); });
        const polled = new Promise((res) => w.once('message', res));
        n.udpSendBatch(s, Buffer.from('x'), new Uint32Array([0]), new Uint32Array([1]), new Uint32Array([LOOPBACK, port]), 1);
        assert.equal(await polled, 'polled');
        await w.terminate();
        n.close(fd); // fds are process-wide: the worker's poll is gone, its socket is ours to close
      }
    } finally {
      n.close(s);
    }
  });

  it('close() stops an active poll; pollStop stays safe afterwards', () => {
    const a = n.udpOpen('127.0.0.1', 0);
    const h = n.pollStart(a, () => {});
    assert.throws(() => n.pollStart(a, () => {}), /already polled/);
    n.close(a);
    n.pollStop(h);
    n.pollStop(h);
  });
});

describe('native addon: EMSGSIZE and pathMtu over a 1280-byte veth (namespaces)', { skip: noRoot }, () => {
  const nsA = `${PREFIX}a`, nsB = `${PREFIX}b`;
  before(() => {
    sh('ip', 'netns', 'add', nsA);
    sh('ip', 'netns', 'add', nsB);
    sh('ip', 'link', 'add', `${PREFIX}va`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${PREFIX}vb`, 'netns', nsB);
    sh('ip', '-n', nsA, 'addr', 'add', '198.18.77.1/24', 'dev', `${PREFIX}va`);
    sh('ip', '-n', nsB, 'addr', 'add', '198.18.77.2/24', 'dev', `${PREFIX}vb`);
    sh('ip', '-n', nsA, 'link', 'set', `${PREFIX}va`, 'mtu', '1280', 'up');
    sh('ip', '-n', nsB, 'link', 'set', `${PREFIX}vb`, 'up');
  });
  after(() => {
    for (const ns of [nsA, nsB]) try { sh('ip', 'netns', 'del', ns); } catch { /* already gone */ }
  });

  it('an oversize DF datagram gets errs[i] = MSGSIZE, the others are sent, pathMtu is 1280', () => {
    // Sockets belong to the namespace they are created in: run the probe in a child there.
    const script = `
      const { loadNative } = await import(${JSON.stringify(new URL('./native.js', import.meta.url).href)});
      const n = loadNative();
      const fd = n.udpOpen('198.18.77.1', 0);
      const arena = Buffer.alloc(2000, 0x61);
      const errs = new Uint8Array(3);
      const dst = (198 << 24 | 18 << 16 | 77 << 8 | 2) >>> 0;
      const sent = n.udpSendBatch(fd, arena, new Uint32Array([0, 0, 0]), new Uint32Array([100, 1400, 1252]),
        new Uint32Array([dst, 9, dst, 9, dst, 9]), 3, errs);
      console.log(JSON.stringify({ sent, errs: [...errs], mtu: n.pathMtu('198.18.77.2') }));
      n.close(fd);`;
    const out = execFileSync('ip', ['netns', 'exec', nsA, process.execPath, '--input-type=module', '-e', script],
      { timeout: 15_000, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { sent: number; errs: number[]; mtu: number };
    assert.deepEqual(r, { sent: 2, errs: [UdpSendStatus.OK, UdpSendStatus.MSGSIZE, UdpSendStatus.OK], mtu: 1280 });
  });
});

describe('native addon: TAP moved into a namespace', { skip: noRoot }, () => {
  const n = dp as NativeDataplane;
  const ns = `${PREFIX}t`, tap = `${PREFIX}t0`, vtap = `${PREFIX}t1`;
  const fds: number[] = [];
  /** Move a TAP (fd stays valid) into ns, give it addr and a fixed MAC, bring it up. */
  function place(name: string, cidr: string, hw: string): void {
    sh('ip', 'link', 'set', name, 'netns', ns);
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${name}.disable_ipv6=1`);
    sh('ip', '-n', ns, 'link', 'set', name, 'address', hw);
    sh('ip', '-n', ns, 'addr', 'add', cidr, 'dev', name);
    sh('ip', '-n', ns, 'link', 'set', name, 'up');
  }
  /** Collect frames from fd via poll + readBatch until pred holds (bounded). */
  async function collect(fd: number, stride: number, pred: (f: Buffer[], lens: number[]) => boolean): Promise<{ frames: Buffer[]; lens: number[] }> {
    const arena = Buffer.alloc(64 * stride), lens = new Uint32Array(64);
    const frames: Buffer[] = [], all: number[] = [];
    const h = n.pollStart(fd, () => {
      const k = n.readBatch(fd, arena, stride, lens, 64);
      for (let i = 0; i < k; i++) {
        all.push(lens[i]!);
        if (lens[i] !== LEN_TRUNCATED) frames.push(Buffer.from(arena.subarray(i * stride, i * stride + lens[i]!)));
      }
    });
    try {
      await until(() => pred(frames, all));
    } finally {
      n.pollStop(h);
    }
    return { frames, lens: all };
  }
  before(() => {
    sh('ip', 'netns', 'add', ns);
  });
  after(() => {
    for (const fd of fds.splice(0)) try { n.close(fd); } catch { /* closed by the test */ }
    try { sh('ip', 'netns', 'del', ns); } catch { /* already gone */ }
    for (const l of [tap, vtap]) try { sh('ip', 'link', 'del', l); } catch { /* went with the fd/ns */ }
  });

  it('frames written with writeBatch reach the kernel, whose ARP and ICMP replies come back through readBatch', async () => {
    const fd = n.tapOpen(tap);
    fds.push(fd);
    place(tap, '10.77.0.1/24', '02:00:00:00:00:01');
    const payload = randomBytes(56);
    const { arena, offs, lens } = pack([
      arpRequest('02:00:00:00:00:02', '10.77.0.2', '10.77.0.1'),
      Buffer.alloc(5), // runt: the kernel refuses it (EINVAL); skipped, not counted
      icmpEcho('02:00:00:00:00:01', '02:00:00:00:00:02', '10.77.0.2', '10.77.0.1', 0x4242, payload),
    ]);
    assert.equal(n.writeBatch(fd, arena, offs, lens, 3), 2);
    const isArpReply = (f: Buffer) => f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2;
    const isEchoReply = (f: Buffer) => f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f[34] === 0 && f.readUInt16BE(38) === 0x4242;
    const { frames } = await collect(fd, 2048, (fs) => fs.some(isArpReply) && fs.some(isEchoReply));
    const arp = frames.find(isArpReply), echo = frames.find(isEchoReply);
    assert.ok(arp, 'ARP reply');
    assert.deepEqual(arp.subarray(22, 32), Buffer.concat([mac('02:00:00:00:00:01'), ip4('10.77.0.1')]));
    assert.ok(echo, 'ICMP echo reply');
    assert.deepEqual(echo.subarray(0, 6), mac('02:00:00:00:00:02'));
    assert.deepEqual(echo.subarray(42), payload);
    assert.equal(inetSum(echo.subarray(14, 34)), 0, 'IP header checksum');
    // Frames longer than the slot are reported as truncated.
    n.writeBatch(fd, arena, offs, lens, 1);
    const small = await collect(fd, 20, (_f, l) => l.length > 0);
    assert.ok(small.lens.length > 0 && small.lens.every((l) => l === LEN_TRUNCATED), JSON.stringify(small.lens));
    assert.equal(n.readBatch(fd, Buffer.alloc(2048), 2048, new Uint32Array(1), 1), 0, 'EAGAIN gives 0');
  });

  it('with vnetHdr every frame carries a 10-byte virtio_net_hdr, and offloads can be set', async () => {
    const fd = n.tapOpen(vtap, { vnetHdr: true });
    fds.push(fd);
    n.tapSetOffload(fd, TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6);
    n.tapSetOffload(fd, 0);
    place(vtap, '10.78.0.1/24', '02:00:00:00:01:01');
    const arp = Buffer.concat([Buffer.alloc(10), arpRequest('02:00:00:00:01:02', '10.78.0.2', '10.78.0.1')]);
    assert.equal(n.writeBatch(fd, arp, new Uint32Array([0]), new Uint32Array([arp.length]), 1), 1);
    const isArpReply = (f: Buffer) => f.length === 52 && f.readUInt16BE(22) === 0x0806 && f.readUInt16BE(30) === 2;
    const { frames } = await collect(fd, 2048, (fs) => fs.some(isArpReply));
    const reply = frames.find(isArpReply);
    assert.ok(reply, 'ARP reply with vnet header');
    assert.deepEqual(reply.subarray(0, 10), Buffer.alloc(10), 'no offload flags on a plain ARP frame');
  });
});
