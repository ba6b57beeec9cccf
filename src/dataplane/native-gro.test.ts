/**
 * tapWriteCoalesced: which frames become GSO super-frames and what exactly is written (into a
 * regular file standing in for the TAP fd, no root), argument checks and fuzzing; then the
 * real thing (root): TCP transfers (IPv4 and IPv6) between two namespaces whose only link is
 * this process forwarding between two TAPs, the receiving one with a vnet header, so the
 * kernel must accept and deliver our super-frames or the transfer fails.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LEN_TRUNCATED, VirtioNet, loadRawBinding, tryLoadNative, type NativeDataplane } from './native.js';
import { foldedSum, inetSum, ip4, ipv4Header, mac, pack, until } from '../../test/support/dataplane/native-test-frames.js';

const dp = tryLoadNative();
const noAddon = dp === null ? 'native addon not built (run npm run install)' : false;
const noRoot = noAddon || (process.getuid?.() === 0 ? false : 'needs root (network namespaces, TAP devices)');
const PREFIX = `wft${randomBytes(2).toString('hex')}`;
const ETH = Buffer.concat([mac('02:00:00:00:00:02'), mac('02:00:00:00:00:01')]);
const V6SRC = Buffer.concat([Buffer.alloc(15), Buffer.from([1])]);
const V6DST = Buffer.concat([Buffer.alloc(15), Buffer.from([2])]);

interface Seg { v6?: boolean; seq: number; payload: Buffer; flags?: number; ack?: number; port?: number; badSum?: boolean; ts?: number }

/** Ethernet + IPv4/IPv6 + TCP (20 B + 12 B timestamp-like options) + payload, checksums valid. */
function seg(s: Seg): Buffer {
  const tcp = Buffer.alloc(32);
  tcp.writeUInt16BE(s.port ?? 40000, 0); tcp.writeUInt16BE(5201, 2); tcp.writeUInt32BE(s.seq >>> 0, 4);
  tcp.writeUInt32BE(s.ack ?? 7, 8); tcp[12] = 8 << 4; tcp[13] = s.flags ?? 0x10; tcp.writeUInt16BE(500, 14);
  tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10; tcp.writeUInt32BE(s.ts ?? 99, 24);
  const body = Buffer.concat([tcp, s.payload]);
  const pseudo = s.v6
    ? Buffer.concat([V6SRC, V6DST, Buffer.from([0, 0, body.length >> 8, body.length & 255, 0, 0, 0, 6])])
    : Buffer.concat([ip4('10.80.0.1'), ip4('10.80.0.2'), Buffer.from([0, 6, body.length >> 8, body.length & 255])]);
  body.writeUInt16BE(inetSum(pseudo, body) ^ (s.badSum ? 0x5a5a : 0), 16);
  const ip = s.v6
    ? Buffer.concat([Buffer.from([0x60, 0, 0, 0, body.length >> 8, body.length & 255, 6, 64]), V6SRC, V6DST])
    : ipv4Header(6, '10.80.0.1', '10.80.0.2', body.length, s.seq & 0xffff);
  return Buffer.concat([ETH, Buffer.from(s.v6 ? [0x86, 0xdd] : [8, 0]), ip, body]);
}

/** A run of MSS-sized segments starting at seq. */
function run(v6: boolean, seq: number, n: number, mss = 1000, extra: Partial<Seg> = {}): Buffer[] {
  return Array.from({ length: n }, (_, k) => seg({ v6, seq: seq + k * mss, payload: randomBytes(mss), ...extra }));
}

interface Written { vh: Buffer; frame: Buffer }

/** Write frames through tapWriteCoalesced into a file; returns what was written and stats. */
function writeThrough(n: NativeDataplane, frames: Buffer[], parse = true): { out: Written[]; written: number; stats: Uint32Array; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-gro-'));
  const path = join(dir, 'tap');
  const fd = openSync(path, 'a');
  const stats = new Uint32Array(3);
  try {
    const { arena, offs, lens } = pack(frames);
    const written = n.tapWriteCoalesced(fd, arena, offs, lens, frames.length, 10, stats);
    closeSync(fd);
    const bytes = readFileSync(path);
    const out: Written[] = [];
    for (let at = 0; parse && at < bytes.length;) {
      const vh = bytes.subarray(at, at + 10);
      const v6 = bytes.readUInt16BE(at + 10 + 12) === 0x86dd;
      const len = 14 + (v6 ? 40 + bytes.readUInt16BE(at + 10 + 18) : bytes.readUInt16BE(at + 10 + 16));
      out.push({ vh, frame: bytes.subarray(at + 10, at + 10 + len) });
      at += 10 + len;
    }
    return { out, written, stats, bytes: bytes.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Check a written super-frame against its input segments. */
function checkSuper(w: Written, segs: Buffer[], v6: boolean): void {
  const l4 = v6 ? 54 : 34, hdr = l4 + 32, mss = segs[0]!.length - hdr;
  assert.equal(w.vh[0], VirtioNet.F_NEEDS_CSUM);
  assert.equal(w.vh[1], v6 ? VirtioNet.GSO_TCPV6 : VirtioNet.GSO_TCPV4);
  const rd = (at: number) => (w.vh.readUInt16LE(at));
  assert.deepEqual([rd(2), rd(4), rd(6), rd(8)], [hdr, mss, l4, 16], 'hdr_len, gso_size, csum_start, csum_offset');
  const f = w.frame;
  assert.deepEqual(f.subarray(hdr), Buffer.concat(segs.map((s) => s.subarray(hdr))), 'payloads in order');
  const tcpLen = f.length - l4;
  let pseudo: Buffer;
  if (v6) {
    assert.equal(f.readUInt16BE(18), tcpLen);
    pseudo = Buffer.concat([f.subarray(22, 54), Buffer.from([0, 0, tcpLen >> 8, tcpLen & 255, 0, 0, 0, 6])]);
  } else {
    assert.equal(f.readUInt16BE(16), 20 + tcpLen);
    assert.equal(inetSum(f.subarray(14, 34)), 0, 'IPv4 header checksum');
    pseudo = Buffer.concat([f.subarray(26, 34), Buffer.from([0, 6, tcpLen >> 8, tcpLen & 255])]);
  }
  assert.equal(f.readUInt16BE(l4 + 16), foldedSum(pseudo), 'TCP check field holds the pseudo-header sum');
  assert.equal(f.readUInt32BE(l4 + 4), segs[0]!.readUInt32BE(l4 + 4), 'seq of the first segment');
  assert.equal(f[l4 + 13], 0x10 | (segs[segs.length - 1]![l4 + 13]! & 0x08), 'ACK, PSH from the last segment');
}

describe('tapWriteCoalesced: decisions and output (file as TAP)', { skip: noAddon }, () => {
  const n = dp as NativeDataplane;
  for (const v6 of [false, true]) {
    it(`joins an in-order IPv${v6 ? 6 : 4} run (short last segment with PSH) into one super-frame`, () => {
      const segs = [...run(v6, 0xfffff000, 9), seg({ v6, seq: 0xfffff000 + 9000, payload: randomBytes(300), flags: 0x18 })];
      const { out, written, stats } = writeThrough(n, segs);
      assert.equal(written, 10);
      assert.deepEqual([...stats], [1, 1, 10]);
      assert.equal(out.length, 1);
      checkSuper(out[0]!, segs, v6);
    });
  }

  it('splits runs at sequence gaps, PSH, changed ack/options and bad checksums; other frames pass behind a zero header', () => {
    const a = run(false, 1000, 3);
    const gap = run(false, 1000 + 3000 + 1, 2); // gap of one byte
    const psh = [seg({ seq: 1000 + 5001 + 0, payload: randomBytes(1000), flags: 0x18 }), seg({ seq: 1000 + 6001, payload: randomBytes(1000) })];
    const ack = seg({ seq: 1000 + 7001, payload: randomBytes(1000), ack: 8 });
    const ts = seg({ seq: 1000 + 8001, payload: randomBytes(1000), ack: 8, ts: 100 });
    const bad = seg({ seq: 1000 + 9001, payload: randomBytes(1000), ack: 8, ts: 100, badSum: true });
    const syn = seg({ seq: 5, payload: randomBytes(10), flags: 0x02, port: 1 });
    const frames = [...a, ...gap, ...psh, ack, ts, bad, syn];
    const { out, written, stats } = writeThrough(n, frames);
    assert.equal(written, frames.length);
    // supers: a (3), gap + the PSH segment that ends it (3); everything else single
    assert.deepEqual([...stats], [2 + 5, 2, 6]);
    checkSuper(out[0]!, a, false);
    checkSuper(out[1]!, [...gap, psh[0]!], false);
    for (const w of out.slice(2)) assert.ok(w.vh.equals(Buffer.alloc(10)), 'zero header');
    assert.deepEqual(out.slice(2).map((w) => w.frame), [psh[1], ack, ts, bad, syn]);
  });

  it('interleaved flows: each flow is coalesced, order inside a flow is kept', () => {
    const f1 = run(false, 100, 4, 1000, { port: 1111 });
    const f2 = run(false, 900, 4, 1000, { port: 2222 });
    const mixed = [f1[0]!, f2[0]!, f1[1]!, f2[1]!, f1[2]!, f2[2]!, f1[3]!, f2[3]!];
    const { out, stats } = writeThrough(n, mixed);
    assert.deepEqual([...stats], [2, 2, 8]);
    checkSuper(out[0]!, f1, false);
    checkSuper(out[1]!, f2, false);
    // A non-mergeable frame of flow 1 in the middle stops flow 1's run there (no reordering).
    const fin = seg({ seq: 100 + 2000, payload: randomBytes(1000), flags: 0x11, port: 1111 });
    const r = writeThrough(n, [f1[0]!, f1[1]!, fin, f1[3]!]);
    assert.deepEqual(r.out.map((w) => w.frame.length), [14 + 20 + 32 + 2000, fin.length, f1[3]!.length]);
  });

  it('caps a super-frame at 64 KiB of IP length', () => {
    const segs = run(false, 1, 60, 1400);
    const { out, stats } = writeThrough(n, segs);
    assert.equal(stats[2], 60);
    assert.ok(out.every((w) => w.frame.length - 14 <= 65535));
    assert.deepEqual(Buffer.concat(out.map((w) => w.frame.subarray(66))), Buffer.concat(segs.map((s) => s.subarray(66))));
  });

  it('C side rejects out-of-range arguments before writing anything', () => {
    const raw = loadRawBinding();
    const a = Buffer.alloc(100), offs = new Uint32Array([0, 90]), lens = new Uint32Array([10, 11]);
    assert.throws(() => raw.tapWriteCoalesced(1, a, offs, lens, 2, 10), RangeError);
    assert.throws(() => raw.tapWriteCoalesced(1, a, offs, lens, 3, 10), RangeError);
    assert.throws(() => raw.tapWriteCoalesced(1, a, offs, lens, 1, 11), RangeError);
    assert.throws(() => raw.tapWriteCoalesced(1, a, offs, lens, 1, 10, new Uint32Array(2)), RangeError);
    assert.throws(() => raw.tapWriteCoalesced(1, a, offs, 'x' as never, 1, 10), TypeError);
    assert.throws(() => n.tapWriteCoalesced(1, a, offs, lens, 1, 11 as never), /WEFT_ERR_BAD_ARGS|vnetHdrBytes/);
  });

  it('fuzz: mutated runs never crash, every frame is accounted, payload bytes are preserved', () => {
    const base = run(false, 77, 12, 600);
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(11), fc.nat(base[0]!.length - 1), fc.nat(255)), { maxLength: 10 }),
      fc.array(fc.nat(11), { minLength: 1, maxLength: 12 }),
      (edits, order) => {
        const frames = order.map((i) => Buffer.from(base[i]!));
        for (const [i, at, v] of edits) if (i < frames.length) frames[i]![at] = v;
        const { written, stats, bytes } = writeThrough(n, frames, false);
        const total = frames.reduce((t, f) => t + f.length, 0);
        assert.equal(written, frames.length);
        assert.ok(stats[0]! <= frames.length && stats[2]! <= frames.length && stats[1]! * 2 <= stats[2]!);
        assert.equal(stats[0]! + stats[2]! - stats[1]!, frames.length, 'each frame is in exactly one write');
        assert.ok(bytes <= total + 10 * frames.length);
        if (stats[1] === 0) assert.equal(bytes, total + 10 * frames.length);
      }), { numRuns: 300 });
  });
});

describe('tapWriteCoalesced: kernel accepts the super-frames (TAP-to-TAP forwarder, namespaces)', { skip: noRoot }, () => {
  const n = dp as NativeDataplane;
  const nsA = `${PREFIX}ra`, nsB = `${PREFIX}rb`, tapA = `${PREFIX}ra0`, tapB = `${PREFIX}rb0`;
  const fds: number[] = [];
  const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { timeout: 10_000, stdio: 'pipe' });
  before(() => {
    for (const ns of [nsA, nsB]) sh('ip', 'netns', 'add', ns);
  });
  after(() => {
    for (const fd of fds.splice(0)) try { n.close(fd); } catch { /* closed */ }
    for (const ns of [nsA, nsB]) try { sh('ip', 'netns', 'del', ns); } catch { /* gone */ }
  });

  it('4 MiB TCP transfers over IPv4 and IPv6 arrive intact while A → B is coalesced', async () => {
    const fdA = n.tapOpen(tapA); fds.push(fdA);
    const fdB = n.tapOpen(tapB, { vnetHdr: true }); fds.push(fdB);
    for (const [ns, tap, cidr, cidr6, hw] of [[nsA, tapA, '10.81.0.1/24', 'fd81::1/64', '02:00:00:00:00:01'],
      [nsB, tapB, '10.81.0.2/24', 'fd81::2/64', '02:00:00:00:00:02']] as const) {
      sh('ip', 'link', 'set', tap, 'netns', ns);
      sh('ip', '-n', ns, 'link', 'set', tap, 'address', hw);
      sh('ip', '-n', ns, 'addr', 'add', cidr, 'dev', tap);
      sh('ip', '-n', ns, 'addr', 'add', cidr6, 'dev', tap, 'nodad');
      sh('ip', '-n', ns, 'link', 'set', tap, 'up');
      sh('ip', 'netns', 'exec', ns, 'ethtool', '-K', tap, 'tx', 'off');
    }
    // A → B: plain frames, coalesced into B (vnet header).
    const inA = Buffer.alloc(64 * 2048), lensA = new Uint32Array(64), offsA = new Uint32Array(64).map((_, i) => i * 2048);
    const stats = new Uint32Array(3);
    let supers = 0, lost = 0;
    const hA = n.pollStart(fdA, () => {
      for (let r = 0; r < 8; r++) {
        const k = n.readBatch(fdA, inA, 2048, lensA, 64);
        let m = 0;
        for (let i = 0; i < k; i++) if (lensA[i] !== LEN_TRUNCATED) { offsA[m] = i * 2048; lensA[m++] = lensA[i]!; }
        lost += m - n.tapWriteCoalesced(fdB, inA, offsA, lensA, m, 10, stats);
        supers += stats[1]!;
        for (let i = 0; i < 64; i++) offsA[i] = i * 2048;
        if (k < 64) break;
      }
    });
    // B → A: strip B's vnet header (always "no offload" here: no TUNSETOFFLOAD).
    const inB = Buffer.alloc(64 * 2048), lensB = new Uint32Array(64), offsB = new Uint32Array(64), lensOutB = new Uint32Array(64);
    const hB = n.pollStart(fdB, () => {
      const k = n.readBatch(fdB, inB, 2048, lensB, 64);
      for (let i = 0; i < k; i++) { offsB[i] = i * 2048 + 10; lensOutB[i] = lensB[i]! - 10; }
      n.writeBatch(fdA, inB, offsB, lensOutB, k);
    });
    try {
      // Asynchronous ping (a synchronous one would block the poll callbacks that forward it).
      let pinged = false;
      for (const deadline = Date.now() + 5_000; !pinged && Date.now() < deadline;) {
        pinged = await new Promise<boolean>((res) => execFile('ip', ['netns', 'exec', nsA, 'ping', '-c1', '-W1', '10.81.0.2'],
          { timeout: 3_000 }, (err) => res(!err)));
      }
      assert.ok(pinged, 'ping over the forwarder');
      for (const [ip, bind] of [['10.81.0.2', '10.81.0.2'], ['fd81::2', 'fd81::2']] as const) {
        const runIn = (ns: string, code: string) => {
          const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
          let out = '';
          p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
          return { p, out: () => out, done: new Promise<number | null>((res) => p.on('exit', res)) };
        };
        const server = runIn(nsB, `const h = require('crypto').createHash('sha256'); let n = 0;
          require('net').createServer((s) => { s.on('data', (d) => { n += d.length; h.update(d); });
            s.on('end', () => { console.log(n + ' ' + h.digest('hex')); process.exit(0); }); })
            .listen(5201, '${bind}', () => console.log('listening'));`);
        assert.ok(await until(() => server.out().includes('listening'), 10_000), 'server listening');
        const data = randomBytes(4 << 20);
        const before = supers;
        const client = runIn(nsA, `const d = require('fs').readFileSync(0);
          const s = require('net').connect(5201, '${ip}', () => s.end(d));`);
        client.p.stdin!.end(data);
        const code = await server.done;
        await client.done;
        assert.equal(code, 0, `server (${ip}) exited normally`);
        const [bytes, digest] = server.out().trim().split('\n').pop()!.split(' ');
        assert.equal(Number(bytes), data.length);
        assert.equal(digest, createHash('sha256').update(data).digest('hex'));
        assert.ok(supers > before, `super-frames were written for ${ip}`);
      }
      assert.equal(lost, 0, 'no frame refused by the TAP');
    } finally {
      n.pollStop(hA);
      n.pollStop(hB);
    }
  });
});
