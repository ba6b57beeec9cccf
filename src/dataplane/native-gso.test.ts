/**
 * gsoSplit: synthetic TCP super-frames (IPv4/IPv6) and partial checksums, argument checks
 * and fuzzing (no root); then the real thing (root): a TCP transfer between two namespaces
 * whose only link is this process forwarding between two TAPs, one of them with TSO
 * offloads on, so the kernel hands us 64 KiB super-frames that gsoSplit must segment with
 * correct checksums or the transfer stalls.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { LEN_TRUNCATED, TunOffload, VirtioNet, loadRawBinding, tryLoadNative, type NativeDataplane } from './native.js';
import { foldedSum, inetSum, ip4, ipv4Header, mac, until, vnetHdr } from '../../test/support/dataplane/native-test-frames.js';

const dp = tryLoadNative();
const noAddon = dp === null ? 'native addon not built (run npm run install)' : false;
const noRoot = noAddon || (process.getuid?.() === 0 ? false : 'needs root (network namespaces, TAP devices)');
const PREFIX = `wft${randomBytes(2).toString('hex')}`;
const ETH = Buffer.concat([mac('02:00:00:00:00:02'), mac('02:00:00:00:00:01')]);

/** vnet header + Ethernet + IPv4/IPv6 + TCP (20 B + 12 B options) + payload, as a TSO super-frame. */
function tcpSuperFrame(v6: boolean, payload: Buffer, seq: number, flags: number, mss: number): Buffer {
  const tcp = Buffer.alloc(32);
  tcp.writeUInt16BE(40000, 0); tcp.writeUInt16BE(5201, 2); tcp.writeUInt32BE(seq, 4); tcp.writeUInt32BE(7, 8);
  tcp[12] = 8 << 4; tcp[13] = flags; tcp.writeUInt16BE(65535, 14);
  tcp.fill(1, 20, 32); // NOPs as options: exercises data offset > 5
  const ip = v6
    ? Buffer.concat([Buffer.from([0x60, 0, 0, 0, 0, 0, 6, 64]), Buffer.alloc(15), Buffer.from([1]), Buffer.alloc(15), Buffer.from([2])])
    : ipv4Header(6, '10.80.0.1', '10.80.0.2', 32 + payload.length, 0x1234);
  const l4 = 14 + ip.length;
  const vh = vnetHdr(VirtioNet.F_NEEDS_CSUM, v6 ? VirtioNet.GSO_TCPV6 : VirtioNet.GSO_TCPV4, l4 + 32, mss, l4, 16);
  return Buffer.concat([vh, ETH, Buffer.from(v6 ? [0x86, 0xdd] : [8, 0]), ip, tcp, payload]);
}

/** Split with the addon; returns the output frames. */
function split(n: NativeDataplane, frame: Buffer, max = 64, stride = 2048): Buffer[] {
  const out = Buffer.alloc(max * stride), lens = new Uint32Array(max);
  const k = n.gsoSplit(frame, 0, frame.length, 10, out, stride, lens, max);
  return Array.from({ length: k }, (_, i) => out.subarray(i * stride, i * stride + lens[i]!));
}

describe('gsoSplit: synthetic frames', { skip: noAddon }, () => {
  const n = dp as NativeDataplane;
  for (const v6 of [false, true]) {
    it(`splits an IPv${v6 ? 6 : 4} TCP super-frame into MSS segments with valid checksums, seq and flags`, () => {
      const payload = randomBytes(10_000), mss = 1448, seq = 0xfffff000; // seq wraps inside the burst
      const segs = split(n, tcpSuperFrame(v6, payload, seq, 0x80 | 0x18 | 0x01 /* CWR PSH ACK FIN */, mss));
      assert.equal(segs.length, Math.ceil(payload.length / mss));
      const l4 = v6 ? 54 : 34;
      segs.forEach((s, k) => {
        const chunk = Math.min(mss, payload.length - k * mss);
        assert.equal(s.length, l4 + 32 + chunk);
        let pseudo: Buffer;
        if (v6) {
          assert.equal(s.readUInt16BE(18), 32 + chunk, 'IPv6 payload length');
          pseudo = Buffer.concat([s.subarray(22, 54), Buffer.from([0, 0, (32 + chunk) >> 8, (32 + chunk) & 255, 0, 0, 0, 6])]);
        } else {
          assert.equal(s.readUInt16BE(16), 20 + 32 + chunk, 'IPv4 total length');
          assert.equal(s.readUInt16BE(18), 0x1234 + k, 'IPv4 id');
          assert.equal(inetSum(s.subarray(14, 34)), 0, 'IPv4 header checksum');
          pseudo = Buffer.concat([s.subarray(26, 34), Buffer.from([0, 6, (32 + chunk) >> 8, (32 + chunk) & 255])]);
        }
        assert.equal(inetSum(pseudo, s.subarray(l4)), 0, `TCP checksum of segment ${k}`);
        assert.equal(s.readUInt32BE(l4 + 4), (seq + k * mss) >>> 0);
        const last = k === segs.length - 1;
        assert.equal(s[l4 + 13], (k === 0 ? 0x80 : 0) | 0x10 | (last ? 0x09 : 0), `flags of segment ${k}`);
      });
      assert.deepEqual(Buffer.concat(segs.map((s) => s.subarray(l4 + 32))), payload);
    });
  }

  it('completes a partial UDP checksum on a non-GSO frame and copies other frames unchanged', () => {
    const data = randomBytes(333);
    const udp = Buffer.concat([Buffer.from([0x9c, 0x40, 0x00, 0x35, (8 + data.length) >> 8, (8 + data.length) & 255, 0, 0]), data]);
    const pseudo = Buffer.concat([ip4('10.80.0.1'), ip4('10.80.0.2'), Buffer.from([0, 17, udp.length >> 8, udp.length & 255])]);
    udp.writeUInt16BE(foldedSum(pseudo), 6); // what the kernel leaves for CHECKSUM_PARTIAL
    const eth = Buffer.concat([ETH, Buffer.from([8, 0]), ipv4Header(17, '10.80.0.1', '10.80.0.2', udp.length), udp]);
    const [out] = split(n, Buffer.concat([vnetHdr(VirtioNet.F_NEEDS_CSUM, 0, 0, 0, 34, 6), eth]));
    assert.ok(out);
    assert.equal(inetSum(pseudo, out.subarray(34)), 0, 'UDP checksum verifies');
    assert.deepEqual(split(n, Buffer.concat([Buffer.alloc(10), eth])), [eth]);
  });

  it('drops what it cannot segment: UDP GSO, bad headers, too few or too small slots', () => {
    const f = tcpSuperFrame(false, randomBytes(5000), 1, 0x10, 1000);
    assert.equal(split(n, f, 4).length, 0, '5 segments do not fit 4 slots');
    assert.equal(split(n, f, 64, 1000).length, 0, 'slot smaller than a segment');
    const udpGso = Buffer.from(f); udpGso[1] = VirtioNet.GSO_UDP;
    assert.equal(split(n, udpGso).length, 0);
    const v6Mismatch = Buffer.from(f); v6Mismatch[1] = VirtioNet.GSO_TCPV6;
    assert.equal(split(n, v6Mismatch).length, 0);
    assert.equal(split(n, f.subarray(0, 40)).length, 0, 'truncated headers');
    assert.equal(split(n, f.subarray(0, 5)).length, 0, 'shorter than the vnet header');
  });

  it('C side rejects out-of-range arguments', () => {
    const raw = loadRawBinding();
    const a = Buffer.alloc(100), out = Buffer.alloc(4096), lens = new Uint32Array(2);
    assert.throws(() => raw.gsoSplit(a, 90, 11, 10, out, 2048, lens, 2), RangeError);
    assert.throws(() => raw.gsoSplit(a, 0, 100, 11, out, 2048, lens, 2), RangeError);
    assert.throws(() => raw.gsoSplit(a, 0, 100, 10, out, 2049, lens, 2), RangeError);
    assert.throws(() => raw.gsoSplit(a, 0, 100, 10, out, 2048, lens, 3), RangeError);
    assert.throws(() => raw.gsoSplit(a, 0, 100, 10, out, 0, lens, 2), RangeError);
    assert.throws(() => raw.gsoSplit(a, 0, 100, 10, 'x' as never, 2048, lens, 2), TypeError);
  });

  it('fuzz: random headers and lengths never write outside the output slots', () => {
    const base = tcpSuperFrame(false, randomBytes(3000), 5, 0x18, 700);
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 12 }),
      fc.nat(base.length), fc.integer({ min: 1, max: 1600 }), fc.nat(8),
      (edits, cut, stride, max) => {
        const f = Buffer.from(base.subarray(0, cut));
        for (const [at, v] of edits) if (at < f.length) f[at] = v;
        const whole = Buffer.alloc(max * stride + 64, 0xaa);
        const out = whole.subarray(32, 32 + max * stride), lens = new Uint32Array(max);
        const k = n.gsoSplit(f, 0, f.length, 10, out, stride, lens, max);
        assert.ok(k <= max);
        for (let i = 0; i < k; i++) assert.ok(lens[i]! <= stride);
        assert.ok(whole.subarray(0, 32).every((b) => b === 0xaa) && whole.subarray(32 + max * stride).every((b) => b === 0xaa));
      }), { numRuns: 1000 });
  });
});

describe('gsoSplit: kernel TSO super-frames through a TAP-to-TAP forwarder (namespaces)', { skip: noRoot }, () => {
  const n = dp as NativeDataplane;
  const nsA = `${PREFIX}ga`, nsB = `${PREFIX}gb`, tapA = `${PREFIX}ga0`, tapB = `${PREFIX}gb0`;
  const fds: number[] = [];
  const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { timeout: 10_000, stdio: 'pipe' });
  before(() => {
    for (const ns of [nsA, nsB]) sh('ip', 'netns', 'add', ns);
  });
  after(() => {
    for (const fd of fds.splice(0)) try { n.close(fd); } catch { /* closed */ }
    for (const ns of [nsA, nsB]) try { sh('ip', 'netns', 'del', ns); } catch { /* gone */ }
  });

  it('a 4 MiB TCP transfer arrives intact while gsoSplit segments the super-frames', async () => {
    const fdA = n.tapOpen(tapA, { vnetHdr: true }); fds.push(fdA);
    const fdB = n.tapOpen(tapB); fds.push(fdB);
    n.tapSetOffload(fdA, TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6);
    for (const [ns, tap, cidr, hw] of [[nsA, tapA, '10.80.0.1/24', '02:00:00:00:00:01'], [nsB, tapB, '10.80.0.2/24', '02:00:00:00:00:02']] as const) {
      sh('ip', 'link', 'set', tap, 'netns', ns);
      sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${tap}.disable_ipv6=1`);
      sh('ip', '-n', ns, 'link', 'set', tap, 'address', hw);
      sh('ip', '-n', ns, 'addr', 'add', cidr, 'dev', tap);
      sh('ip', '-n', ns, 'link', 'set', tap, 'up');
    }
    // A → B: super-frames (with vnet header) are split into plain frames.
    const SA = 65536 + 256, inA = Buffer.alloc(16 * SA), lensA = new Uint32Array(16);
    const outB = Buffer.alloc(64 * 2048), outLens = new Uint32Array(64), outOffs = new Uint32Array(64).map((_, i) => i * 2048);
    let superFrames = 0, dropped = 0;
    const hA = n.pollStart(fdA, () => {
      const k = n.readBatch(fdA, inA, SA, lensA, 16);
      for (let i = 0; i < k; i++) {
        const segs = lensA[i] === LEN_TRUNCATED ? 0 : n.gsoSplit(inA, i * SA, lensA[i]!, 10, outB, 2048, outLens, 64);
        if (segs === 0) dropped++;
        if (segs > 1) superFrames++;
        n.writeBatch(fdB, outB, outOffs, outLens, segs);
      }
    });
    // B → A: plain frames get a zero vnet header ("no offload") in front.
    const inB = Buffer.alloc(64 * 2048), lensB = new Uint32Array(64);
    const outA = Buffer.alloc(64 * 2048), offsA = new Uint32Array(64).map((_, i) => i * 2048), lensOutA = new Uint32Array(64);
    const hB = n.pollStart(fdB, () => {
      const k = n.readBatch(fdB, inB, 2048, lensB, 64);
      for (let i = 0; i < k; i++) {
        outA.fill(0, i * 2048, i * 2048 + 10);
        inB.copy(outA, i * 2048 + 10, i * 2048, i * 2048 + Math.min(lensB[i]!, 2000));
        lensOutA[i] = 10 + Math.min(lensB[i]!, 2000);
      }
      n.writeBatch(fdA, outA, offsA, lensOutA, k);
    });
    try {
      const run = (ns: string, code: string) => {
        const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
        let out = '';
        p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        return { p, out: () => out, done: new Promise<number | null>((res) => p.on('exit', res)) };
      };
      const server = run(nsB, `const h = require('crypto').createHash('sha256'); let n = 0;
        require('net').createServer((s) => { s.on('data', (d) => { n += d.length; h.update(d); });
          s.on('end', () => { console.log(n + ' ' + h.digest('hex')); process.exit(0); }); })
          .listen(5201, '10.80.0.2', () => console.log('listening'));`);
      assert.ok(await until(() => server.out().includes('listening'), 10_000), 'server listening');
      const data = randomBytes(4 << 20);
      const client = run(nsA, `const d = require('fs').readFileSync(0);
        const s = require('net').connect(5201, '10.80.0.2', () => s.end(d));`);
      client.p.stdin!.end(data);
      const code = await server.done;
      await client.done;
      assert.equal(code, 0, 'server exited normally');
      const [bytes, digest] = server.out().trim().split('\n').pop()!.split(' ');
      assert.equal(Number(bytes), data.length);
      assert.equal(digest, createHash('sha256').update(data).digest('hex'));
      assert.ok(superFrames > 0, 'the kernel sent at least one TSO super-frame');
      assert.equal(dropped, 0);
    } finally {
      n.pollStop(hA);
      n.pollStop(hB);
    }
  });
});
