/**
 * Sleeve integration test (root): three "hosts" as network namespaces on one underlay bridge,
 * each running test/support/sleeve-host.js (real SleeveOverlay + native addon + src/host),
 * pods attached with HostPlumbing.attach. Topology h1–h2–h3 (control links 1–2 and 2–3;
 * h1 and h3 cannot reach each other directly: blackhole routes), h3's underlay MTU is 1200.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tryLoadNative, type SleeveStats, type SleeveLinkInfo } from '../../src/dataplane/index.js';
import { SleeveLab, peerName, sh } from '../support/sleeve-lab.js';

const why = process.getuid?.() !== 0 ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : tryLoadNative() === null ? 'native addon not built (npm ci)'
  : sh('which', ['tcpdump'], { allowFail: true }).code !== 0 ? 'tcpdump missing (scripts/setup-system.sh)'
  : false;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dropsTotal = (s: SleeveStats): number => Object.values(s.drops).reduce((a, b) => a + b, 0);

/** Runs `body` while tcpdump writes the underlay's UDP 6783 traffic to `file` (started and stopped around it). */
async function withUnderlayCapture(lab: SleeveLab, file: string, body: () => Promise<void>): Promise<void> {
  const dump = spawn('ip', ['netns', 'exec', lab.underlay, 'tcpdump', '--immediate-mode', '-i', lab.underlayBridge, '-U', '-s', '0', '-w', file, 'udp', 'port', '6783'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise<void>((res, rej) => {
      dump.stderr!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) res(); });
      dump.once('exit', (c) => rej(new Error(`tcpdump exited ${c}`)));
    });
    await body();
  } finally {
    dump.kill('SIGINT');
    await new Promise((r) => dump.once('exit', r));
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out: ${what}${last ? ` (${String(last)})` : ''}`);
    await sleep(200);
  }
}

/** UDP payloads to port 6783 from a pcap file (Ethernet link type). */
function pcapUdp(file: string): { src: string; dst: string; payload: Buffer }[] {
  const b = readFileSync(file);
  const out: { src: string; dst: string; payload: Buffer }[] = [];
  let p = 24;
  while (p + 16 <= b.length) {
    const incl = b.readUInt32LE(p + 8);
    const f = b.subarray(p + 16, p + 16 + incl);
    p += 16 + incl;
    if (f.length < 42 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 17) continue;
    const ihl = (f[14]! & 0x0f) * 4;
    const udp = 14 + ihl;
    if (f.readUInt16BE(udp + 2) !== 6783) continue;
    out.push({ src: [...f.subarray(26, 30)].join('.'), dst: [...f.subarray(30, 34)].join('.'), payload: f.subarray(udp + 8, udp + f.readUInt16BE(udp + 4)) });
  }
  return out;
}

describe('sleeve over real namespaces', { skip: why, timeout: 180_000 }, () => {
  const lab = new SleeveLab();
  const macs: string[] = [];

  before(async () => {
    await lab.start({ hosts: 3, edges: [[1, 2], [2, 3]], underlayMtu: { 3: 1200 } });
    // h1 and h3 cannot reach each other directly; only the relay through h2 can work.
    lab.exec(lab.hostNs(1), 'ip', ['route', 'add', 'blackhole', `${lab.hostIp(3)}/32`]);
    lab.exec(lab.hostNs(3), 'ip', ['route', 'add', 'blackhole', `${lab.hostIp(1)}/32`]);
    for (let i = 1; i <= 3; i++) {
      const ep = await lab.host(i).call<{ mac: string; ifname: string }>('attach', { netns: lab.podNs(i), cidr: `${lab.podIp(i)}/24` });
      assert.equal(ep.ifname, 'ethwe');
      macs[i] = ep.mac;
    }
  });

  after(async () => {
    await lab.destroy();
  });

  it('links become healthy and the PMTU toward the small-MTU host is found by probes', async () => {
    const links = await until('healthy links and PMTU', async () => {
      const l1 = (await lab.host(1).call<{ links: SleeveLinkInfo[] }>('links')).links;
      const l2 = (await lab.host(2).call<{ links: SleeveLinkInfo[] }>('links')).links;
      const to3 = l2.find((l) => l.peer === peerName(3));
      return l1[0]?.state === 'healthy' && l2.length === 2 && l2.every((l) => l.state === 'healthy') && to3?.pathMtu === 1200 && l2;
    });
    assert.equal(links.find((l) => l.peer === peerName(1))!.pathMtu, 1500);
    assert.equal(links.find((l) => l.peer === peerName(3))!.overlayMtu, 1108);
  });

  it('ping between pods on different hosts', () => {
    const r = lab.exec(lab.podNs(1), 'ping', ['-c', '3', '-i', '0.2', '-W', '2', lab.podIp(2)], { allowFail: true });
    assert.equal(r.code, 0, r.out + r.err);
  });

  it('the ARP broadcast reached every host (h3 learned pod1 at h1)', async () => {
    const m = await lab.host(3).call<{ mac: string; peer: string }[]>('macs');
    assert.equal(m.find((e) => e.mac === macs[1])?.peer, peerName(1));
  });

  it('TCP transfer between pods is intact', async () => {
    const server = spawn('ip', ['netns', 'exec', lab.podNs(2), process.execPath, '-e', `
      const net = require('net'), c = require('crypto'); const h = c.createHash('sha256'); let n = 0;
      const s = net.createServer((k) => { k.on('data', (d) => { h.update(d); n += d.length; });
        k.on('end', () => { k.end(h.digest('hex') + ' ' + n); s.close(); }); });
      s.listen(5001, '${lab.podIp(2)}', () => console.log('listening'));
      setTimeout(() => process.exit(2), 30000).unref();`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res, rej) => {
        server.stdout!.once('data', () => res());
        server.once('exit', (c) => rej(new Error(`server exited ${c}`)));
      });
      const r = lab.exec(lab.podNs(1), process.execPath, ['-e', `
        const net = require('net'), c = require('crypto'); const data = c.randomBytes(6 * 1024 * 1024);
        const want = c.createHash('sha256').update(data).digest('hex') + ' ' + data.length;
        const k = net.connect(5001, '${lab.podIp(2)}', () => k.end(data)); let got = '';
        k.on('data', (d) => { got += d; }); k.on('end', () => { console.log(got === want ? 'OK' : 'MISMATCH ' + got + ' vs ' + want); });
        setTimeout(() => { console.log('TIMEOUT'); process.exit(1); }, 25000).unref();`], { allowFail: true, timeoutMs: 30_000 });
      assert.equal(r.out.trim(), 'OK', r.err);
    } finally {
      server.kill();
    }
  });

  it('h1 → h3 pod traffic is relayed by h2 (no direct path)', async () => {
    const before = await lab.host(2).call<SleeveStats>('stats');
    const r = lab.exec(lab.podNs(1), 'ping', ['-c', '3', '-i', '0.2', '-W', '2', lab.podIp(3)], { allowFail: true });
    assert.equal(r.code, 0, r.out + r.err);
    const after = await lab.host(2).call<SleeveStats>('stats');
    assert.ok(after.relayedFrames >= before.relayedFrames + 3, `relayed ${after.relayedFrames - before.relayedFrames}`);
  });

  it('a DF packet too big for the h2–h3 path gets "fragmentation needed" (also relayed back to h1)', () => {
    for (const i of [2, 1]) {
      const r = lab.exec(lab.podNs(i), 'ping', ['-M', 'do', '-s', '1300', '-c', '2', '-i', '0.3', '-W', '1', lab.podIp(3)], { allowFail: true });
      assert.match(r.out + r.err, /mtu\s*=\s*1108/i, `from pod${i}: ${r.out}${r.err}`);
      const ok = lab.exec(lab.podNs(i), 'ping', ['-M', 'do', '-s', '1000', '-c', '3', '-i', '0.2', '-W', '2', lab.podIp(3)], { allowFail: true });
      assert.equal(ok.code, 0, 'a packet that fits still passes');
    }
  });

  let capture = '';
  it('the underlay carries no plaintext of a known payload', async () => {
    capture = join(lab.dir, 'underlay.pcap');
    await withUnderlayCapture(lab, capture, async () => {
      const marker = `WEFT-PLAINTEXT-MARKER-${randomBytes(6).toString('hex')}`;
      lab.exec(lab.podNs(1), process.execPath, ['-e', `
        const s = require('dgram').createSocket('udp4'); let n = 0;
        const t = setInterval(() => { s.send('${marker}', 9, '${lab.podIp(2)}'); if (++n === 10) { clearInterval(t); s.close(); } }, 20);`]);
      lab.exec(lab.podNs(1), 'ping', ['-c', '2', '-i', '0.2', '-p', Buffer.from('WEFTWEFT').toString('hex'), lab.podIp(2)], { allowFail: true });
      // Everything sent is on file before tcpdump stops (the 10 marker datagrams from host 1 at least).
      await until('the sleeve datagrams in the capture', async () => pcapUdp(capture).filter((d) => d.src === lab.hostIp(1) && d.payload[0] === 0x11).length >= 10, 10_000);
    });
    const raw = readFileSync(capture);
    const dgs = pcapUdp(capture);
    assert.ok(dgs.filter((d) => d.src === lab.hostIp(1) && d.payload[0] === 0x11).length >= 10, `captured ${dgs.length} sleeve datagrams`);
    assert.equal(raw.includes('WEFT-PLAINTEXT-MARKER'), false, 'marker visible on the underlay');
    assert.equal(raw.includes('WEFTWEFTWEFT'), false, 'ping pattern visible on the underlay');
  });

  it('a replayed and a tampered datagram are dropped and counted', async () => {
    const data = pcapUdp(capture).filter((d) => d.src === lab.hostIp(1) && d.dst === lab.hostIp(2) && d.payload[0] === 0x11);
    const dg = data.at(-1)!.payload;
    const tampered = Buffer.from(dg);
    tampered.writeUInt32BE(tampered.readUInt32BE(16) + 100_000, 16); // fresh counter, so only the tag can reject it
    tampered[tampered.length - 30]! ^= 0x01;
    const before = await lab.host(2).call<SleeveStats>('stats');
    sendFromUnderlay(lab, lab.hostIp(2), [dg, tampered]);
    const after = await until('replay and auth counted', async () => {
      const s = await lab.host(2).call<SleeveStats>('stats');
      return s.drops.replay > before.drops.replay && s.drops.auth > before.drops.auth && s;
    }, 5000);
    assert.equal(after.drops.replay - before.drops.replay, 1);
    assert.equal(after.drops.auth - before.drops.auth, 1);
    const links = (await lab.host(2).call<{ links: SleeveLinkInfo[] }>('links')).links;
    assert.equal(links.find((l) => l.peer === peerName(1))!.udpAddress, `${lab.hostIp(1)}:6783`, 'address not hijacked');
  });

  it('random and truncated datagrams to the UDP port are counted and dropped', async () => {
    const real = pcapUdp(capture).find((d) => d.src === lab.hostIp(1) && d.payload[0] === 0x11)!.payload;
    const junk: Buffer[] = [];
    for (let i = 0; i < 20; i++) junk.push(randomBytes(1 + (i * 37) % 300));
    for (const n of [0, 1, 19, 20, 35, real.length - 1]) junk.push(real.subarray(0, n));
    junk.push(Buffer.concat([real.subarray(0, 20), randomBytes(100)])); // valid-looking header, garbage body
    const before = await lab.host(2).call<SleeveStats>('stats');
    sendFromUnderlay(lab, lab.hostIp(2), junk);
    const after = await until('all junk counted', async () => {
      const s = await lab.host(2).call<SleeveStats>('stats');
      return dropsTotal(s) - dropsTotal(before) >= junk.length && s;
    }, 5000);
    assert.equal(dropsTotal(after) - dropsTotal(before), junk.length);
    const r = lab.exec(lab.podNs(1), 'ping', ['-c', '1', '-W', '2', lab.podIp(2)], { allowFail: true });
    assert.equal(r.code, 0, 'still forwarding');
  });

  it('listAttached shows the pod endpoint (for weft ps)', async () => {
    const list = await lab.host(1).call<{ netns: string; mac: string; addresses: string[] }[]>('list');
    assert.equal(list.length, 1);
    assert.equal(list[0]!.mac, macs[1]);
    assert.deepEqual(list[0]!.addresses, [`${lab.podIp(1)}/24`]);
  });

  it('expose puts the host itself on the overlay; hide takes it off again', async () => {
    const cidr = '10.40.0.201/24';
    assert.deepEqual(await lab.host(1).call('expose', { cidr }), [cidr]);
    await lab.host(1).call('expose', { cidr }); // idempotent
    const r = lab.exec(lab.hostNs(1), 'ping', ['-c', '2', '-i', '0.2', '-W', '2', lab.podIp(2)], { allowFail: true });
    assert.equal(r.code, 0, `host → remote pod: ${r.out}${r.err}`);
    assert.equal(await lab.host(1).call('hide', { cidr }), true);
    assert.equal(await lab.host(1).call('hide', { cidr }), false);
    const gone = lab.exec(lab.hostNs(1), 'ping', ['-c', '1', '-W', '1', lab.podIp(2)], { allowFail: true });
    assert.notEqual(gone.code, 0);
  });

  it('detach removes the endpoint', async () => {
    assert.equal(await lab.host(1).call('detach', { netns: lab.podNs(1) }), true);
    assert.equal(await lab.host(1).call('detach', { netns: lab.podNs(1) }), false);
    assert.deepEqual(await lab.host(1).call('list'), []);
    assert.notEqual(lab.exec(lab.podNs(1), 'ip', ['link', 'show', 'ethwe'], { allowFail: true }).code, 0);
  });
});

/** Send raw UDP payloads to ip:6783 from the underlay namespace (198.18.0.254). */
function sendFromUnderlay(lab: SleeveLab, ip: string, payloads: Buffer[]): void {
  const file = join(lab.dir, `send-${randomBytes(3).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(payloads.map((p) => p.toString('hex'))));
  lab.exec(lab.underlay, process.execPath, ['-e', `
    const s = require('dgram').createSocket('udp4'); const list = JSON.parse(require('fs').readFileSync('${file}', 'utf8'));
    let i = 0; const next = () => { if (i === list.length) return s.close(); s.send(Buffer.from(list[i++], 'hex'), 6783, '${ip}', next); }; next();`]);
}

describe('sleeve between 2 hosts without a secret (plain mode)', { skip: why, timeout: 60_000 }, () => {
  const lab = new SleeveLab();

  before(async () => {
    await lab.start({ hosts: 2, edges: [[1, 2]], encrypted: false });
    for (let i = 1; i <= 2; i++) await lab.host(i).call('attach', { netns: lab.podNs(i), cidr: `${lab.podIp(i)}/24` });
  });

  after(async () => {
    await lab.destroy();
  });

  it('forwards with the plain overlay MTU, and the capture check does see plaintext', async () => {
    await until('healthy', async () => (await lab.host(1).call<{ links: SleeveLinkInfo[] }>('links')).links[0]?.state === 'healthy');
    const l = (await lab.host(1).call<{ links: SleeveLinkInfo[] }>('links')).links[0]!;
    assert.equal(l.encrypted, false);
    assert.equal(l.overlayMtu, 1424);
    const capture = join(lab.dir, 'plain.pcap');
    await withUnderlayCapture(lab, capture, async () => {
      const r = lab.exec(lab.podNs(1), 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-p', Buffer.from('WEFTWEFT').toString('hex'), lab.podIp(2)], { allowFail: true });
      assert.equal(r.code, 0, r.out + r.err);
      await until('the pings in the capture', async () => readFileSync(capture).includes('WEFTWEFTWEFT'), 10_000);
    });
    assert.equal(readFileSync(capture).includes('WEFTWEFTWEFT'), true, 'plain mode is visible on the wire');
  });
});
