/**
 * The sleeve through real daemons (weft launch / weft attach), as an operator runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { at } from '../../src/common/index.js';
import { Lab, isRoot, sh, WEFT, type LabHost } from '../support/lab.js';
import { waitFor } from '../support/wait.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;
const MCAST = `${process.cwd()}/dist/test/support/mcast.js`;

function attach(lab: Lab, h: LabHost, pod: string, cidr: string): void {
  sh('ip', ['netns', 'add', pod]);
  lab.exec(h, process.execPath, [WEFT, 'attach', '--ip', cidr, '--api-socket', h.socket, pod]);
  sh('ip', ['-n', pod, 'route', 'add', '224.0.0.0/4', 'dev', 'ethwe']);
}

function podExec(pod: string, cmd: string, args: string[], timeoutMs = 20_000): string {
  return sh('ip', ['netns', 'exec', pod, cmd, ...args], { timeoutMs, allowFail: true });
}

async function sleeveHealthy(lab: Lab, hosts: LabHost[], links: number): Promise<void> {
  await lab.until(`${links} healthy sleeve links per host`, 15_000, async () => {
    for (const h of hosts) {
      const s = await lab.status(h);
      if (s.connections.filter((c) => c.state === 'established' && c.mode === 'sleeve' && !c.reason).length < links) return false;
    }
    return true;
  });
}

test('3 hosts: pods ping each other, and a multicast UDP packet reaches every other pod', { skip, timeout: 90_000 }, async () => {
  const lab = new Lab();
  const pods: string[] = [];
  try {
    const hosts = lab.addHosts(3);
    lab.launch(hosts[0], { password: 'sleeve-daemon-test-secret-1234' });
    lab.launch(hosts[1], { peers: [hosts[0].ip], password: 'sleeve-daemon-test-secret-1234' });
    lab.launch(hosts[2], { peers: [hosts[1].ip], password: 'sleeve-daemon-test-secret-1234' });
    for (const h of hosts) {
      const pod = `${lab.prefix}p${h.index}`;
      pods.push(pod);
      attach(lab, h, pod, `10.40.0.${h.index}/16`);
    }
    await sleeveHealthy(lab, hosts, 2);
    for (const [a, b] of [[0, 1], [0, 2], [1, 2], [2, 0]] as const) {
      const out = podExec(at(pods, a, 'pod'), 'ping', ['-c', '2', '-i', '0.2', '-W', '2', `10.40.0.${b + 1}`]);
      assert.match(out, / 0% packet loss/, `pod ${a + 1} → pod ${b + 1}: ${out}`);
    }
    const ready: Promise<void>[] = [];
    const listeners = [1, 2].map((i) => new Promise<string>((resolve) => {
      const p = spawn('ip', ['netns', 'exec', at(pods, i, 'pod'), process.execPath, MCAST, 'listen', '239.7.7.7', '5007', '6000', `10.40.0.${i + 1}`]);
      let out = '';
      ready.push(new Promise<void>((r) => p.stderr.on('data', (d) => { if (String(d).includes('listening')) r(); })));
      p.stdout.on('data', (d) => { out += String(d); });
      p.on('close', () => resolve(out.trim()));
    }));
    await Promise.race([Promise.all(ready), Promise.all(listeners)]); // joined the group (or already gave up)
    podExec(at(pods, 0, 'pod'), process.execPath, [MCAST, 'send', '239.7.7.7', '5007', 'hello-multicast', '10.40.0.1']);
    const got = await Promise.all(listeners);
    assert.deepEqual(got, ['hello-multicast', 'hello-multicast']);
    // Every host's sleeve learned the MACs of remote pods from the ARP broadcasts and replies.
    const s1 = await lab.status(hosts[0]);
    const stats = (s1.dataplane as { stats: { macs: number } }).stats;
    assert.ok(stats.macs >= 3, `MACs learned: ${stats.macs}`);
  } finally {
    for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
    lab.destroy();
  }
});

test('key rotation under load: iperf3 sees no stall while the sleeve rotates keys every second', { skip, timeout: 90_000 }, async () => {
  const lab = new Lab();
  const pods: string[] = [];
  try {
    const hosts = lab.addHosts(2);
    const extraArgs = ['--rekey-interval', '1000'];
    lab.launch(hosts[0], { password: 'rotation-test-secret-abcdefgh', extraArgs });
    lab.launch(hosts[1], { peers: [hosts[0].ip], password: 'rotation-test-secret-abcdefgh', extraArgs });
    for (const h of hosts) {
      const pod = `${lab.prefix}p${h.index}`;
      pods.push(pod);
      attach(lab, h, pod, `10.41.0.${h.index}/16`);
    }
    await sleeveHealthy(lab, hosts, 1);
    const server = spawn('ip', ['netns', 'exec', at(pods, 1, 'pod'), 'iperf3', '-s', '-1'], { stdio: 'ignore' });
    try {
      await waitFor(() => podExec(at(pods, 1, 'pod'), 'ss', ['-Hltn', 'sport = :5201']).trim() !== '', { timeoutMs: 10_000, what: 'iperf3 server listening' });
      const out = podExec(at(pods, 0, 'pod'), 'iperf3', ['-c', '10.41.0.2', '-t', '8', '-i', '0.5', '-J'], 30_000);
      const j = JSON.parse(out) as { intervals: { sum: { bits_per_second: number } }[]; end: { sum_received: { bits_per_second: number } } };
      const rates = j.intervals.map((i) => i.sum.bits_per_second / 1e6);
      const worst = Math.min(...rates);
      console.log(`# iperf3 through rotation: ${(j.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s, worst 0.5 s interval ${worst.toFixed(0)} Mbit/s`);
      assert.ok(worst > 0, `a 0.5 s interval moved nothing: ${rates.map((r) => r.toFixed(0)).join(',')}`);
    } finally {
      server.kill();
    }
    const links = ((await lab.status(hosts[0])).dataplane as { links: { sendEpoch: number }[] }).links;
    const sendEpoch = links[0]?.sendEpoch ?? 0;
    assert.ok(sendEpoch >= 2, `epochs rotated: ${sendEpoch}`); // rotation waits for the peer's ack (sleeve heartbeat, 5 s)
    const drops = ((await lab.status(hosts[1])).dataplane as { stats: { drops: Record<string, number> } }).stats.drops;
    assert.equal(drops.auth ?? 0, 0, 'no datagram failed authentication across rotations');
    assert.equal(drops.replay ?? 0, 0, 'no false replay drops across rotations');
  } finally {
    for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
    lab.destroy();
  }
});
