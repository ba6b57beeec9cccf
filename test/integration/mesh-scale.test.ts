/**
 * Mesh at scale, end to end (issue 17): 10 real daemons in network namespaces on one underlay,
 * each launched with one known peer (a seeded random tree), a cluster secret. They converge to
 * a full view; 3 killed at once (SIGKILL: the kernel closes their sockets) are dropped by every
 * survivor; one host whose underlay goes silent (link down: no FIN, no RST) is dropped within the
 * bound that follows from its heartbeat settings (DESIGN.md "Failure detection"); the 4 then
 * rejoin with the same data dirs and keep their names. Times are printed, not asserted, except
 * the heartbeat bound (with slack for a loaded machine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Lab, isRoot, WEFT, FAST_TIMING, type LabHost } from '../support/lab.js';
import { prng } from '../support/ipam-sim.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;
const run = promisify(execFile);
const SECRET = 'mesh scale test secret 0123456789';
/** FAST_TIMING's heartbeat settings, and the GC / route-recalc defers after a connection closes. ms */
const HEARTBEAT_INTERVAL_MS = Number(FAST_TIMING[1]);
const HEARTBEAT_TIMEOUT_MS = Number(FAST_TIMING[3]);
const DEFERS_MS = 200 + 50 + 1_000;

async function view(h: LabHost): Promise<string> {
  try {
    return (await h.client.status()).peers.map((p) => p.name).sort().join(',');
  } catch {
    return '';
  }
}

test('10 daemons: converge, 3 killed dropped, a silent host dropped within its heartbeat bound, rejoin with the same names', { skip, timeout: 240_000 }, async () => {
  const lab = new Lab();
  const rnd = prng(17);
  const launch = async (h: LabHost, peers: string[]): Promise<void> => {
    await run('ip', ['netns', 'exec', h.ns, process.execPath, WEFT, ...lab.launchArgs(h, { peers, password: SECRET })], { timeout: 60_000 });
  };
  const allSee = (hosts: LabHost[], want: string[]) => async () => (await Promise.all(hosts.map(view))).every((v) => v === [...want].sort().join(','));
  try {
    const hosts = lab.addHosts(10) as LabHost[];
    // launched in two waves (each host's known peer is in an earlier wave), the waves in parallel
    const peerOf = hosts.map((_, i) => (i === 0 ? [] : [hosts[Math.floor(rnd() * Math.min(i, 5))]!.ip]));
    await launch(hosts[0]!, []);
    await Promise.all(hosts.slice(1, 5).map((h, k) => launch(h, peerOf[k + 1]!)));
    await Promise.all(hosts.slice(5).map((h, k) => launch(h, peerOf[k + 5]!)));
    const names = await Promise.all(hosts.map(async (h) => (await h.client.status()).name));
    const converged = await lab.until('all 10 see all 10', 60_000, allSee(hosts, names));
    console.log(`# 10 daemons converged ${converged} ms after the last launch returned`);

    const killed = hosts.slice(7);
    for (const h of killed) lab.kill(h);
    const alive = hosts.slice(0, 7);
    const dropped = await lab.until('3 killed dropped by every survivor', 30_000, allSee(alive, names.slice(0, 7)));
    console.log(`# 3 killed peers dropped by all 7 survivors after ${dropped} ms`);

    // host 7 goes silent: its connections die only by heartbeat timeout
    const silent = hosts[6]!;
    lab.exec(silent, 'ip', ['link', 'set', 'eth0', 'down']);
    const bound = HEARTBEAT_TIMEOUT_MS + HEARTBEAT_INTERVAL_MS + DEFERS_MS;
    const silentDropped = await lab.until('the silent host dropped', 30_000, allSee(hosts.slice(0, 6), names.slice(0, 6)));
    console.log(`# silent host dropped everywhere after ${silentDropped} ms (bound ${bound} ms from heartbeat ${HEARTBEAT_INTERVAL_MS}/${HEARTBEAT_TIMEOUT_MS} ms)`);
    assert.ok(silentDropped <= bound + 5_000, `silent host dropped after ${silentDropped} ms, bound ${bound} ms (+5 s slack)`);
    lab.kill(silent);
    lab.exec(silent, 'ip', ['link', 'set', 'eth0', 'up']);

    // the 4 come back with their data dirs: same names, full view again
    await Promise.all([silent, ...killed].map((h) => launch(h, [hosts[0]!.ip])));
    const again = await Promise.all(hosts.map(async (h) => (await h.client.status()).name));
    assert.deepEqual(again, names, 'rejoined with the same names');
    const rejoined = await lab.until('all 10 see all 10 again', 60_000, allSee(hosts, names));
    console.log(`# 4 restarted daemons rejoined, full view everywhere ${rejoined} ms after their launches returned`);
  } finally {
    for (const h of lab.hosts) lab.stop(h);
    lab.destroy();
  }
});
