/**
 * Handshake flood limits against a real daemon (src/mesh/accept-gate.ts, constants.ts):
 * the handshake timeout (5 s), the pending cap (64; 8 per address), the accept rate (10/s,
 * burst 20; 4/s, burst 8 per address), RSS under a flood of 1,000 idle connections plus bogus
 * handshakes, and a legitimate peer joining during the flood.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  ACCEPT_BURST, ACCEPT_BURST_PER_SOURCE, ACCEPT_QUIET_BURST, ACCEPT_QUIET_RATE_PER_S, ACCEPT_RATE_PER_S,
  ACCEPT_RATE_PER_SOURCE_PER_S, DEFAULT_PORT, HANDSHAKE_TIMEOUT_MS, MAX_PENDING_HANDSHAKES,
  MAX_PENDING_HANDSHAKES_PER_SOURCE,
} from '../../src/common/index.js';
import { Lab, REPO, isRoot, sh, type LabHost } from '../support/lab.js';
import type { FloodReport } from '../support/flood-peer.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;
const PASSWORD = 'secret-of-the-cluster-under-flood';
const FLOODER = join(REPO, 'dist', 'test', 'support', 'flood-peer.js');

async function metric(h: LabHost, name: string, labels: Record<string, string> = {}): Promise<number> {
  const all = (await h.client.request('GET', '/metrics')) as { name: string; values: { value: number; labels: Record<string, string> }[] }[];
  return (all.find((x) => x.name === name)?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((a, v) => a + v.value, 0);
}

/** Extra underlay addresses on a lab host (198.18.<net>.<first+k>), for a flood from many sources. */
function addSources(lab: Lab, h: LabHost, n: number, first = 200): string[] {
  const base = h.ip.split('.').slice(0, 3).join('.');
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const ip = `${base}.${first + k}`;
    lab.ip(h.ns, ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    out.push(ip);
  }
  return out;
}

/** Start the flooder in `from`'s namespace; resolves with its report when it is done. */
function flood(lab: Lab, from: LabHost, target: LabHost, mode: 'idle' | 'bogus', conns: number, durationMs: number, sources: string[]): Promise<FloodReport> {
  const p = lab.track(spawn('ip', ['netns', 'exec', from.ns, process.execPath, FLOODER, target.ip, String(DEFAULT_PORT), mode, String(conns), String(durationMs), sources.join(',')],
    { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  p.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  p.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  return new Promise((resolve, reject) => p.once('close', (code) => {
    if (code !== 0) reject(new Error(`flood-peer exited ${code}: ${err.trim()}`));
    else resolve(JSON.parse(out) as FloodReport);
  }));
}

function daemonRssKb(h: LabHost): number {
  const pid = Number(sh('ip', ['netns', 'pids', h.ns]).trim().split(/\s+/)[0]);
  return Number(/VmRSS:\s+(\d+)/.exec(sh('cat', [`/proc/${pid}/status`]))![1]);
}

/** Launch `h` (dialling `to`) and resolve with the ms until both list each other as peers. */
async function joinTime(lab: Lab, h: LabHost, to: LabHost): Promise<number> {
  const t0 = Date.now();
  lab.launch(h, { peers: [to.ip], password: PASSWORD });
  const [nh, nt] = [(await lab.status(h)).name, (await lab.status(to)).name];
  await lab.until(`${h.ns} and ${to.ns} see each other`, 20_000, async () =>
    (await lab.status(to)).peers.some((p) => p.name === nh) && (await lab.status(h)).peers.some((p) => p.name === nt));
  return Date.now() - t0;
}

test('handshake timeout: idle connections are closed 5 s after they were admitted, and the pending count returns to 0', { skip, timeout: 60_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, attacker] = lab.addHosts(2);
    lab.launch(h1, { password: PASSWORD });
    const sources = addSources(lab, attacker, 4);
    // 4 addresses × 3 sockets: under every per-address and global limit, so all are admitted at once.
    const r = await flood(lab, attacker, h1, 'idle', 12, 500, sources);
    assert.equal(r.accepted, 12, JSON.stringify(r));
    assert.equal(r.stillOpen, 0, 'every idle socket was closed by the daemon');
    const min = Math.min(...r.acceptedLifetimesMs);
    const max = Math.max(...r.acceptedLifetimesMs);
    assert.ok(min >= HANDSHAKE_TIMEOUT_MS - 50, `closed early: ${min} ms`);
    assert.ok(max <= HANDSHAKE_TIMEOUT_MS + 1_000, `closed late: ${max} ms`);
    await lab.until('pending handshakes back to 0', 5_000, async () => (await metric(h1, 'weft_pending_handshakes')) === 0);
    assert.equal(await metric(h1, 'weft_handshakes_total', { result: 'timeout' }), 12);
    console.log(`# idle sockets closed after ${min}–${max} ms (timeout ${HANDSHAKE_TIMEOUT_MS} ms)`);
  } finally {
    lab.destroy();
  }
});

test('accept rate: a burst of bogus handshakes from 8 addresses is admitted at most at the global and per-address rates', { skip, timeout: 60_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, attacker] = lab.addHosts(2);
    lab.launch(h1, { password: PASSWORD });
    const sources = addSources(lab, attacker, 8);
    const refusedBefore = await metric(h1, 'weft_handshakes_total', { result: 'rate_limited' });
    const durationMs = 3_000;
    const r = await flood(lab, attacker, h1, 'bogus', 200, durationMs, sources);
    const spanS = (Math.max(...r.acceptTimesMs) - Math.min(...r.acceptTimesMs)) / 1000;
    // Admissions over the flood: the burst plus the refill (and the small reserve for quiet addresses).
    const bound = ACCEPT_BURST + ACCEPT_QUIET_BURST + (ACCEPT_RATE_PER_S + ACCEPT_QUIET_RATE_PER_S) * spanS;
    assert.ok(r.accepted <= bound, `admitted ${r.accepted} in ${spanS} s, bound ${bound}`);
    assert.ok(r.accepted >= ACCEPT_BURST + ACCEPT_RATE_PER_S * (durationMs / 1000) * 0.6, `the flood saturated the limit (admitted ${r.accepted})`);
    assert.ok(r.refused > 10 * r.accepted, `most were refused (${r.refused} refused)`);
    for (const [src, n] of Object.entries(r.acceptedBySource)) {
      assert.ok(n <= ACCEPT_BURST_PER_SOURCE + ACCEPT_RATE_PER_SOURCE_PER_S * spanS + 1, `${src} admitted ${n}`);
    }
    // Once the burst is spent (1 s in), admissions follow the refill rate (+3 for timestamp jitter on the flooder).
    const first = Math.min(...r.acceptTimesMs);
    const last = Math.max(...r.acceptTimesMs);
    const sustained = r.acceptTimesMs.filter((t) => t >= first + 1000).length;
    const sustainedBound = (ACCEPT_RATE_PER_S + ACCEPT_QUIET_RATE_PER_S) * (last - first - 1000) / 1000 + 3;
    assert.ok(sustained <= sustainedBound, `${sustained} admissions after the first second, bound ${sustainedBound}`);
    // The daemon saw the same: every admitted bogus handshake failed, every refusal was counted.
    await lab.until('pending back to 0', 5_000, async () => (await metric(h1, 'weft_pending_handshakes')) === 0);
    const failed = (await Promise.all(['malformed', 'bad_secret', 'version'].map((result) => metric(h1, 'weft_handshakes_total', { result })))).reduce((a, b) => a + b, 0);
    assert.equal(failed, r.accepted);
    assert.equal(await metric(h1, 'weft_handshakes_total', { result: 'rate_limited' }) - refusedBefore, r.refused);
    assert.equal(await metric(h1, 'weft_handshakes_total', { result: 'ok' }), 0);
    console.log(`# bogus burst: ${r.opened} connections, ${r.accepted} admitted over ${spanS.toFixed(2)} s (${sustained} after the first second), ${r.refused} refused`);
  } finally {
    lab.destroy();
  }
});

test('pending cap under 1,000 idle connections from 16 addresses plus bogus handshakes: ≤ 64 pending, RSS bounded, a legitimate peer still joins', { skip, timeout: 60_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, attacker, quietPeer, joiner, bogusHost] = lab.addHosts(5);
    lab.launch(h1, { password: PASSWORD });
    const sources = addSources(lab, attacker, 16);
    const bogusSources = addSources(lab, bogusHost, 4, 240);
    const baselineJoinMs = await joinTime(lab, quietPeer, h1);
    const rssBefore = daemonRssKb(h1);

    const floodMs = 12_000;
    const idle = flood(lab, attacker, h1, 'idle', 1000, floodMs, sources);
    let bogus: Promise<FloodReport> | null = null;
    let maxPending = 0;
    let rssDuring = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxPending = Math.max(maxPending, await metric(h1, 'weft_pending_handshakes'));
        rssDuring = Math.max(rssDuring, daemonRssKb(h1));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await lab.until('the flood fills the pending cap', 10_000, async () => (await metric(h1, 'weft_pending_handshakes')) >= MAX_PENDING_HANDSHAKES - 2);
    bogus = flood(lab, bogusHost, h1, 'bogus', 100, 4_000, bogusSources);
    const floodJoinMs = await joinTime(lab, joiner, h1);
    const [ri, rb] = await Promise.all([idle, bogus]);
    sampling = false;
    await sampler;
    await lab.until('pending handshakes back to 0', 10_000, async () => (await metric(h1, 'weft_pending_handshakes')) === 0);
    const rssAfter = daemonRssKb(h1);

    console.log(`# flood: ${ri.opened} idle connections (${ri.accepted} admitted, ${ri.refused} refused) + ${rb.opened} bogus (${rb.accepted} admitted); ` +
      `max pending ${maxPending}, flooder saw ≤ ${ri.maxConcurrentAccepted}, per address ≤ ${MAX_PENDING_HANDSHAKES_PER_SOURCE}`);
    console.log(`# daemon RSS: before ${rssBefore} kB, peak during ${rssDuring} kB, after ${rssAfter} kB`);
    console.log(`# legitimate peer join: ${baselineJoinMs} ms without flood, ${floodJoinMs} ms during the flood`);
    assert.ok(maxPending <= MAX_PENDING_HANDSHAKES, `daemon held ${maxPending} pending handshakes`);
    assert.ok(ri.maxConcurrentAccepted <= MAX_PENDING_HANDSHAKES + 2, `flooder saw ${ri.maxConcurrentAccepted} admitted sockets open at once`);
    for (const [src, n] of Object.entries(ri.acceptedBySource)) assert.ok(n > 0, `${src} got some`);
    assert.ok(ri.refused > ri.accepted, JSON.stringify({ ...ri, acceptedLifetimesMs: undefined, acceptTimesMs: undefined }));
    assert.equal(ri.stillOpen, 0);
    assert.ok(rb.accepted > 0, 'some bogus handshakes were admitted and failed');
    assert.ok(rssDuring - rssBefore < 80_000, `RSS grew by ${rssDuring - rssBefore} kB under the flood`);
    assert.ok(rssAfter <= rssDuring + 5_000 && rssAfter - rssBefore < 80_000, `RSS stayed ${rssAfter - rssBefore} kB above the start`);
    assert.ok(floodJoinMs < Math.max(3 * baselineJoinMs, baselineJoinMs + 3_000), `joined in ${floodJoinMs} ms during the flood, ${baselineJoinMs} ms without`);
    const s = await lab.status(h1);
    assert.equal(s.peers.length, 3, 'only the two legitimate peers joined');
  } finally {
    lab.destroy();
  }
});
