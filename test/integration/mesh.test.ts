/**
 * Mesh control plane, end to end: real daemons in network namespaces on one underlay bridge.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, isRoot, sh, type LabHost } from '../support/lab.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;

async function peerNames(lab: Lab, h: LabHost): Promise<string[]> {
  return (await lab.status(h)).peers.map((p) => p.name).sort();
}

async function metric(h: LabHost, name: string, labels: Record<string, string> = {}): Promise<number> {
  const all = (await h.client.request('GET', '/metrics')) as { name: string; values: { value: number; labels: Record<string, string> }[] }[];
  const m = all.find((x) => x.name === name);
  if (!m) return 0;
  return m.values
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((a, v) => a + v.value, 0);
}

test('5 hosts, each given one known peer, converge to a full view within 10 s', { skip, timeout: 60_000 }, async () => {
  const lab = new Lab();
  try {
    const hosts = lab.addHosts(5);
    const t0 = Date.now();
    hosts.forEach((h, i) => lab.launch(h, { peers: hosts.slice(Math.max(0, i - 1), i).map((o) => o.ip), password: 'correct horse battery staple 42' }));
    const names = (await Promise.all(hosts.map(async (h) => (await lab.status(h)).name))).sort();
    const took = await lab.until('every peer sees all 5', 10_000, async () => {
      for (const h of hosts) if ((await peerNames(lab, h)).join() !== names.join()) return false;
      return true;
    });
    const s = await lab.status(hosts[4]);
    assert.equal(s.encrypted, true);
    assert.ok(s.connections.some((c) => c.state === 'established' && c.encrypted));
    console.log(`# all 5 launched and converged ${Date.now() - t0} ms after the first launch (${took} ms after the last)`);
  } finally {
    lab.destroy();
  }
});

test('chain h1–h2–h3–h4–h5: relayed gossip, kill heals the view, restart rejoins with the same name', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  try {
    const hosts = lab.addHosts(5);
    // Only neighbours in the chain may talk TCP to each other.
    for (const h of hosts) {
      for (const o of hosts) {
        if (Math.abs(h.index - o.index) <= 1) continue;
        lab.exec(h, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '-s', o.ip, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
        lab.exec(h, 'iptables', ['-A', 'OUTPUT', '-p', 'tcp', '-d', o.ip, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
      }
    }
    hosts.forEach((h, i) => lab.launch(h, { peers: hosts.slice(Math.max(0, i - 1), i).map((o) => o.ip) }));
    const [h1, h2, h3, h4, h5] = hosts;
    const name = async (h: LabHost) => (await lab.status(h)).name;
    const n1 = await name(h1);
    const n5 = await name(h5);
    const n3 = await name(h3);
    await lab.until('h1 and h5 see each other', 15_000, async () =>
      (await peerNames(lab, h1)).includes(n5) && (await peerNames(lab, h5)).includes(n1));
    // h1 never holds a direct connection to h5: unicast goes over the relays.
    const s1 = await lab.status(h1);
    assert.ok(!s1.connections.some((c) => c.peer === n5 && c.state === 'established'));
    let pong = { rttMs: -1, nextHop: '' };
    await lab.until('h1 pings h5 over the relays', 10_000, async () => {
      pong = (await h1.client.request('POST', '/ping', { peer: n5 })) as { rttMs: number; nextHop: string };
      return true;
    });
    assert.equal(pong.nextHop, await name(h2));
    assert.ok(pong.rttMs >= 0);
    const back = (await h5.client.request('POST', '/ping', { peer: n1 })) as { nextHop: string };
    assert.equal(back.nextHop, await name(h4));

    // Kill h3: every survivor drops it from its view within bounded time.
    lab.kill(h3);
    await lab.until('h3 dropped from every view', 20_000, async () => {
      for (const h of [h1, h2, h4, h5]) if ((await peerNames(lab, h)).includes(n3)) return false;
      return true;
    }).catch(async (e) => {
      for (const h of [h1, h2, h4, h5]) {
        const s = await lab.status(h);
        console.log(h.index, JSON.stringify(s.peers.map((p) => [p.nickname, p.version, p.connections.map((c) => c.name.slice(0, 5))])));
        console.log(lab.log(h).split('\n').filter((l) => /removed|closed|established|topology/.test(l)).slice(-12).join('\n'));
      }
      throw e;
    });
    // Restart h3 with the same data dir: same name, and the chain is whole again.
    lab.launch(h3, { peers: [h2.ip, h4.ip] });
    assert.equal(await name(h3), n3);
    await lab.until('h1 sees h5 again through the restarted h3', 20_000, async () =>
      (await peerNames(lab, h1)).length === 5 && (await peerNames(lab, h5)).includes(n1));
    await lab.until('h1 pings h5 again', 10_000, async () => {
      await h1.client.request('POST', '/ping', { peer: n5 });
      return true;
    });
  } finally {
    lab.destroy();
  }
});

test('a daemon with the wrong secret is rejected on both sides and never joins the topology', { skip, timeout: 60_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, h2, bad] = lab.addHosts(3);
    lab.launch(h1, { password: 'the-right-secret-for-this-cluster' });
    lab.launch(h2, { peers: [h1.ip], password: 'the-right-secret-for-this-cluster' });
    lab.launch(bad, { peers: [h1.ip, h2.ip], password: 'a-completely-different-secret!!' });
    const badName = (await lab.status(bad)).name;
    await lab.until('h1 and h2 connected', 10_000, async () => (await peerNames(lab, h1)).length === 2);
    await lab.until('the bad peer has failed attempts', 10_000, async () =>
      (await lab.status(bad)).targets.some((t) => (t.lastError ?? '').includes('secret')));
    await lab.until('h1 counted a bad-secret handshake', 10_000, async () => (await metric(h1, 'weft_handshakes_total', { result: 'bad_secret' })) > 0);
    for (const h of [h1, h2]) assert.ok(!(await peerNames(lab, h)).includes(badName));
    assert.deepEqual(await peerNames(lab, bad), [badName]);
    assert.match(lab.log(h1), /does not know the cluster secret/);
    assert.match(lab.log(bad), /cluster secret/);
  } finally {
    lab.destroy();
  }
});

test('a cloned data dir (same identity key on two live hosts) is reported as a peer name collision, never merged', { skip, timeout: 60_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, h2, clone] = lab.addHosts(3);
    lab.launch(h1);
    lab.launch(h2, { peers: [h1.ip] });
    await lab.until('h1 and h2 connected', 10_000, async () => (await peerNames(lab, h1)).length === 2);
    // Clone h2's machine: its data dir (identity key) copied to another live host.
    sh('cp', ['-a', `${h2.dataDir}/identity.key`, `${lab.dir}/clone.key`]);
    sh('mkdir', ['-p', '-m', '0700', clone.dataDir]);
    sh('cp', ['-a', `${lab.dir}/clone.key`, `${clone.dataDir}/identity.key`]);
    lab.launch(clone, { peers: [h1.ip, h2.ip] });
    const name2 = (await lab.status(h2)).name;
    assert.equal((await lab.status(clone)).name, name2, 'same key, same name');
    await lab.until('the collision is reported', 15_000, async () => {
      const [s1, s2, sc] = await Promise.all([lab.status(h1), lab.status(h2), lab.status(clone)]);
      return [s1, s2, sc].some((s) => (s.collisions ?? []).length > 0);
    });
    // h1 still has exactly one peer of that name, connected to the original h2.
    await lab.until('h1 settled on one established connection to that name', 10_000, async () =>
      (await lab.status(h1)).connections.filter((c) => c.peer === name2 && c.state === 'established').length === 1);
    const s1 = await lab.status(h1);
    const conns = s1.connections.filter((c) => c.peer === name2 && c.state === 'established');
    assert.equal(conns.length, 1);
    assert.equal(conns[0]?.address.split(':')[0], h2.ip, 'the original keeps its connection');
    const logs = [h1, h2, clone].map((h) => lab.log(h)).join('\n');
    assert.match(logs, /peer name collision/);
    const targets = (await lab.status(clone)).targets;
    assert.ok(targets.some((t) => /collision/.test(t.lastError ?? '')), 'the clone is told why');
  } finally {
    lab.destroy();
  }
});

test('bad input on TCP 6783 is counted, logged once per reason, and never crashes or grows the daemon', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  try {
    const [h1, attacker] = lab.addHosts(2);
    lab.launch(h1, { password: 'secret-of-the-cluster-under-attack' });
    const pw = `${lab.dir}/pw-attacker`;
    sh('sh', ['-c', `printf 'secret-of-the-cluster-under-attack\\n' > ${pw}`]);
    const pid = Number(sh('ip', ['netns', 'pids', h1.ns]).trim().split(/\s+/)[0]);
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(sh('cat', [`/proc/${pid}/status`]))![1]);
    const bad = (mode: string, n: number) => JSON.parse(lab.exec(attacker, process.execPath,
      [`${process.cwd()}/dist/test/support/bad-peer.js`, h1.ip, '6783', mode, String(n), pw], { timeoutMs: 90_000 })) as { sent: number; closedByPeer: number };
    bad('random', 20); // warm-up
    const before = rss();
    for (const mode of ['random', 'magic', 'oversize', 'truncated']) {
      const r = bad(mode, 60);
      assert.equal(r.sent, 60);
    }
    const replay = bad('replay', 3);
    assert.equal(replay.sent, 3);
    const growthKb = rss() - before;
    const s = await lab.status(h1); // still answering
    assert.equal(s.peers.length, 1);
    for (const reason of ['malformed_handshake', 'too_big', 'truncated_handshake']) {
      assert.ok(await metric(h1, 'weft_bad_input_total', { source: 'tcp', reason }) > 0, `counted ${reason}`);
    }
    assert.ok(await metric(h1, 'weft_handshakes_total', { result: 'replay' }) >= 2, 'replays refused');
    const lines = lab.log(h1).split('\n').filter((l) => l.includes('bad input dropped'));
    assert.ok(lines.length <= 10, `logged once per reason, got ${lines.length} lines`);
    assert.ok(growthKb < 20_000, `RSS grew by ${growthKb} kB`);
    console.log(`# RSS growth after 240 bad connections: ${growthKb} kB; log lines: ${lines.length}`);
  } finally {
    lab.destroy();
  }
});

before(() => { /* nothing shared */ });
after(() => { /* each test destroys its own lab */ });
