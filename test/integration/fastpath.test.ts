/**
 * Fast paths end to end: real daemons (weft launch / weft attach) in namespaces on one
 * underlay bridge, real tcpdump on the underlay and in the pods, iptables, iperf3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Lab, isRoot, sh, WEFT, type LabHost } from '../support/lab.js';
import { countPackets as count, startCapture as capture, waitFor } from '../support/wait.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v tcpdump && command -v iperf3 && command -v iptables && command -v nft'], { allowFail: true }).split('\n').filter(Boolean).length < 4
    ? 'tcpdump, iperf3, iptables and nft needed (scripts/setup-system.sh)' : false;
const MCAST = `${process.cwd()}/dist/test/support/mcast.js`;
const SECRET = 'fastpath-test-secret-0123456789';

interface Conn { peer: string; mode?: string; encrypted: boolean; mtu?: number; reason?: string; paths?: { path: string; state: string; reason?: string }[] }

const podIp = (i: number) => `10.32.0.${10 + i}`;
/** BPF: sleeve DATA datagrams (first payload byte: version 1, type 1) and VXLAN frames on the data VNI (not probes). */
const SLEEVE_DATA = 'udp port 6783 and udp[8] = 0x11';
const VXLAN_DATA = 'udp dst port 6784 and udp[12:4] = 0x57465400';

function attachPods(lab: Lab, hosts: LabHost[]): string[] {
  return hosts.map((h) => {
    const pod = `${lab.prefix}p${h.index}`;
    sh('ip', ['netns', 'add', pod]);
    lab.exec(h, process.execPath, [WEFT, 'attach', '--ip', `${podIp(h.index)}/12`, '--api-socket', h.socket, `/run/netns/${pod}`]);
    sh('ip', ['-n', pod, 'route', 'add', '224.0.0.0/4', 'dev', 'ethwe']);
    return pod;
  });
}

async function conns(lab: Lab, h: LabHost): Promise<Conn[]> {
  return (await lab.status(h)).connections.filter((c) => c.state === 'established') as Conn[];
}

/** Wait until every host has `n` established connections, all in `mode`. */
async function allIn(lab: Lab, hosts: LabHost[], mode: string, n: number, ms = 20_000): Promise<void> {
  await lab.until(`every connection in mode ${mode}`, ms, async () => {
    for (const h of hosts) {
      const c = await conns(lab, h);
      if (c.length < n || c.some((x) => x.mode !== mode)) return false;
    }
    return true;
  }).catch(async (e) => {
    for (const h of hosts) console.log(h.index, JSON.stringify(await conns(lab, h)));
    throw e;
  });
}

function launchAll(lab: Lab, hosts: LabHost[], args: (h: LabHost) => string[], password: string | null = null): void {
  for (const h of hosts) lab.launch(h, { peers: h.index === 1 ? [] : [hosts[h.index - 2]!.ip], password, extraArgs: args(h) });
}

function stopAll(lab: Lab, hosts: LabHost[]): void {
  for (const h of hosts) lab.stop(h);
}

/**
 * One ARP request for an unknown address and three multicast datagrams from pod 1: every pod
 * must see exactly what pod 1 sent (no loss, no duplicates), on whatever path is in use.
 */
async function broadcastExactlyOnce(lab: Lab, pods: string[], label: string): Promise<void> {
  const filter = 'arp[24:4] = 0x0a200063 or (udp and dst host 239.7.7.7)';
  const files = pods.map((p, i) => join(lab.dir, `${label}-bc${i}.pcap`));
  const caps = await Promise.all(pods.map((p, i) => capture({ ns: p, dev: 'ethwe', file: files[i]!, filter })));
  sh('ip', ['netns', 'exec', pods[0]!, 'ping', '-c', '1', '-W', '1', '10.32.0.99'], { allowFail: true });
  sh('ip', ['netns', 'exec', pods[0]!, process.execPath, MCAST, 'send', '239.7.7.7', '5007', 'fastpath-mc', podIp(1)], { timeoutMs: 10_000 });
  // Pod 1 keeps asking for 10.32.0.99 until its kernel gives up (neighbour FAILED, after
  // mcast_solicit probes): only then is the number of ARP requests it sent final.
  await waitFor(() => !/INCOMPLETE|PROBE/.test(sh('ip', ['-n', pods[0]!, 'neigh', 'show', '10.32.0.99'], { allowFail: true })),
    { timeoutMs: 15_000, intervalMs: 200, what: `${label}: pod 1 to give up resolving 10.32.0.99` });
  // Every pod has seen what pod 1 sent (a pod that never does fails the assertions below).
  const sent = caps[0]!.count('arp[24:4] = 0x0a200063');
  await waitFor(() => caps.every((c) => c.count('arp[24:4] = 0x0a200063') >= sent && c.count('udp and dst host 239.7.7.7') >= 3),
    { timeoutMs: 10_000, intervalMs: 200, what: `${label}: the broadcast and multicast in every pod` }).catch(() => undefined);
  await Promise.all(caps.map((c) => c.stop()));
  const arp = files.map((f) => count(f, 'arp[24:4] = 0x0a200063'));
  const mc = files.map((f) => count(f, 'udp and dst host 239.7.7.7'));
  assert.ok(arp[0]! >= 1 && mc[0] === 3, `${label}: pod 1 sent ${arp[0]} ARP requests and ${mc[0]} multicast datagrams`);
  assert.deepEqual(arp, pods.map(() => arp[0]), `${label}: ARP requests seen per pod (sender first): ${arp}`);
  assert.deepEqual(mc, pods.map(() => 3), `${label}: multicast datagrams seen per pod (sender first): ${mc}`);
}

/** The status's programmed fast-path entries (`dataplane.fastpath.kernel`). */
async function kernelState(lab: Lab, h: LabHost): Promise<{ forwards?: number; vxlanEntries?: number }> {
  const s = await lab.status(h) as { dataplane?: { fastpath?: { kernel?: { forwards?: number; vxlanEntries?: number } } } };
  return s.dataplane?.fastpath?.kernel ?? {};
}

/** Frames the bridge handed to the sleeve's TAP (its TX counter). */
function tapTxPackets(lab: Lab, h: LabHost): number {
  const j = JSON.parse(lab.exec(h, 'ip', ['-j', '-s', 'link', 'show', 'weft-tap'])) as { stats64: { tx: { packets: number } } }[];
  return j[0]!.stats64.tx.packets;
}

function ping(pod: string, ip: string): void {
  const out = sh('ip', ['netns', 'exec', pod, 'ping', '-c', '3', '-i', '0.2', '-W', '2', ip], { allowFail: true });
  assert.match(out, / 0% packet loss/, `${pod} → ${ip}: ${out}`);
}

/** True when something in `ns` listens on TCP `port`. */
function listening(ns: string, port: number): boolean {
  return sh('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`], { allowFail: true }).trim() !== '';
}

/** Bytes a pod has sent on its overlay interface. */
function podTxBytes(pod: string): number {
  const j = JSON.parse(sh('ip', ['-n', pod, '-j', '-s', 'link', 'show', 'ethwe'])) as { stats64: { tx: { bytes: number } } }[];
  return j[0]!.stats64.tx.bytes;
}

async function iperf(lab: Lab, server: string, client: string, ip: string, seconds: number): Promise<{ bytes: number; error?: string }> {
  const srv = spawn('ip', ['netns', 'exec', server, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
  try {
    await waitFor(() => listening(server, 5201), { timeoutMs: 10_000, what: `iperf3 server listening in ${server}` });
  } catch (e) {
    srv.kill();
    throw e;
  }
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', client, 'iperf3', '-c', ip, '-t', String(seconds), '-J'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d) => { out += String(d); });
    c.on('exit', () => {
      srv.kill();
      try {
        const j = JSON.parse(out) as { end?: { sum_received?: { bytes: number } }; error?: string };
        resolve({ bytes: j.end?.sum_received?.bytes ?? 0, ...(j.error ? { error: j.error } : {}) });
      } catch {
        resolve({ bytes: 0, error: `unparsable iperf3 output: ${out.slice(0, 200)}` });
      }
    });
  });
}

test('3 hosts without a secret: host-gw, VXLAN and sleeve as configured; underlay shows the path; broadcast and multicast exactly once on every path',
  { skip, timeout: 170_000 }, async () => {
    const lab = new Lab();
    let pods: string[] = [];
    try {
      const hosts = lab.addHosts(3);
      launchAll(lab, hosts, () => []);
      pods = attachPods(lab, hosts);
      const uplink = `${lab.prefix}u1`;

      // Default: host-gw carries IPv4 unicast, L2 (ARP, broadcast) rides VXLAN.
      await allIn(lab, hosts, 'hostgw', 2);
      const c1 = await conns(lab, hosts[0]!);
      assert.ok(c1.every((c) => !c.encrypted && c.mtu === 1500), JSON.stringify(c1));
      // The other hosts' pods are programmed promptly (gossip on change, not the 30 s round).
      await lab.until('every host forwards to the 2 remote pods', 5_000, async () => {
        for (const h of hosts) if ((await kernelState(lab, h)).forwards !== 2) return false;
        return true;
      });
      let pcap = join(lab.dir, 'hostgw.pcap');
      let cap = await capture({ ns: null, dev: uplink, file: pcap, filter: 'udp or net 10.32.0.0/12' });
      ping(pods[0]!, podIp(2));
      ping(pods[0]!, podIp(3));
      // Host 3 receives the stream at the underlay's ingress hook: none of it is routed onto its bridge.
      const brPcap = join(lab.dir, 'hostgw-bridge3.pcap');
      const brCap = await capture({ ns: hosts[2]!.ns, dev: 'weft', file: brPcap, filter: 'ip and src host 10.32.0.11' });
      const tapBefore1 = tapTxPackets(lab, hosts[0]!);
      const t1 = await iperf(lab, pods[2]!, pods[0]!, podIp(3), 2);
      await cap.stop();
      assert.ok(t1.bytes > 1e6 && !t1.error, `TCP over host-gw: ${JSON.stringify(t1)}`);
      const tap1 = tapTxPackets(lab, hosts[0]!) - tapBefore1;
      assert.ok(tap1 < 100, `frames into the sleeve TAP during the host-gw stream: ${tap1}`);
      await brCap.stop();
      assert.equal(count(brPcap, 'ip'), 0, 'host 3 routed none of the stream onto its bridge');
      const plain = count(pcap, 'ip and src net 10.32.0.0/12 and dst net 10.32.0.0/12');
      assert.ok(plain > 100, `plain pod packets on the underlay: ${plain}`);
      assert.equal(count(pcap, `${SLEEVE_DATA} and greater 200`), 0, 'no sleeve data on the underlay');
      assert.equal(count(pcap, `${VXLAN_DATA} and greater 200`), 0, 'no VXLAN data under host-gw (probes aside)');
      await broadcastExactlyOnce(lab, pods, 'hostgw');

      // --no-hostgw: everything rides VXLAN.
      stopAll(lab, hosts);
      launchAll(lab, hosts, () => ['--no-hostgw']);
      await allIn(lab, hosts, 'vxlan', 2);
      const c2 = await conns(lab, hosts[1]!);
      assert.ok(c2.every((c) => c.mtu === 1450 && c.paths?.find((p) => p.path === 'hostgw')?.reason === 'host-gw disabled (--no-hostgw)'), JSON.stringify(c2));
      pcap = join(lab.dir, 'vxlan.pcap');
      cap = await capture({ ns: null, dev: uplink, file: pcap, filter: 'udp or net 10.32.0.0/12' });
      ping(pods[0]!, podIp(2));
      await lab.until('host 1 has VXLAN entries for the 2 remote pods', 5_000, async () => ((await kernelState(lab, hosts[0]!)).vxlanEntries ?? 0) >= 2);
      const tapBefore = tapTxPackets(lab, hosts[0]!);
      const t2 = await iperf(lab, pods[1]!, pods[0]!, podIp(2), 2);
      await cap.stop();
      assert.ok(t2.bytes > 1e6 && !t2.error, `TCP over VXLAN: ${JSON.stringify(t2)}`);
      const tap2 = tapTxPackets(lab, hosts[0]!) - tapBefore;
      assert.ok(tap2 < 100, `frames into the sleeve TAP during the VXLAN stream: ${tap2}`);
      const vx = count(pcap, `${VXLAN_DATA} and greater 1000`);
      assert.ok(vx > 100, `full-size VXLAN packets on the underlay: ${vx}`);
      assert.equal(count(pcap, `${SLEEVE_DATA} and greater 200`), 0, 'no sleeve data on the underlay');
      assert.equal(count(pcap, 'icmp and src net 10.32.0.0/12'), 0, 'no plain pod packets under VXLAN');
      await broadcastExactlyOnce(lab, pods, 'vxlan');

      // Mixed: host 3 runs without fast paths; 1–2 keep VXLAN, every link to 3 is sleeve.
      stopAll(lab, hosts);
      launchAll(lab, hosts, (h) => (h.index === 3 ? ['--no-fastdp'] : ['--no-hostgw']));
      await allIn(lab, [hosts[2]!], 'sleeve', 2);
      await lab.until('1–2 on VXLAN, links to 3 on the sleeve', 20_000, async () => {
        const m = (await conns(lab, hosts[0]!)).map((c) => c.mode).sort().join();
        return m === 'sleeve,vxlan';
      });
      const c3 = await conns(lab, hosts[2]!);
      assert.ok(c3.every((c) => c.paths?.find((p) => p.path === 'vxlan')?.reason === 'fast path disabled (--no-fastdp)'), JSON.stringify(c3));
      ping(pods[0]!, podIp(2));
      ping(pods[0]!, podIp(3));
      ping(pods[2]!, podIp(2));
      await broadcastExactlyOnce(lab, pods, 'mixed');
    } finally {
      for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
      lab.destroy();
    }
  });

test('secret + trusted subnets: VXLAN in the clear; UDP 6784 dropped mid-transfer → sleeve within 2 s, TCP survives, VXLAN comes back; untrusted → encrypted sleeve',
  { skip, timeout: 150_000 }, async () => {
    const lab = new Lab();
    let pods: string[] = [];
    try {
      const hosts = lab.addHosts(2);
      const [h1, h2] = hosts as [LabHost, LabHost];
      const subnet = `${h1.ip.split('.').slice(0, 3).join('.')}.0/24`;
      launchAll(lab, hosts, () => ['--no-hostgw', '--trusted-subnets', subnet], SECRET);
      pods = attachPods(lab, hosts);
      await allIn(lab, hosts, 'vxlan', 1);
      assert.equal((await conns(lab, h1))[0]!.encrypted, false);

      // Drop the VXLAN port on host 2 while iperf3 runs.
      const transfer = iperf(lab, pods[1]!, pods[0]!, podIp(2), 12);
      const txStart = podTxBytes(pods[0]!);
      await waitFor(() => podTxBytes(pods[0]!) - txStart > 20e6, { timeoutMs: 10_000, what: 'the iperf3 stream running over VXLAN (20 MB sent)' });
      lab.exec(h2, 'iptables', ['-I', 'INPUT', '-p', 'udp', '--dport', '6784', '-j', 'DROP']);
      const dropped = Date.now();
      let fellBack = 0;
      await lab.until('h1 falls back to the sleeve', 10_000, async () => {
        const c = (await conns(lab, h1))[0];
        if (c?.mode !== 'sleeve') return false;
        fellBack = Date.now() - dropped;
        const vx = c.paths?.find((p) => p.path === 'vxlan');
        assert.match(vx?.reason ?? '', /^vxlan probe timed out at MTU 1450$/);
        assert.equal(c.encrypted, true, 'the sleeve is encrypted');
        return true;
      });
      console.log(`# fell back to the sleeve ${fellBack} ms after UDP 6784 was dropped`);
      assert.ok(fellBack <= 2500, `fallback took ${fellBack} ms`);
      const tapAtFallback = tapTxPackets(lab, h1);
      await waitFor(() => tapTxPackets(lab, h1) - tapAtFallback > 2000, { timeoutMs: 10_000, what: 'the stream moving over the sleeve (2000 frames into its TAP)' });
      lab.exec(h2, 'iptables', ['-D', 'INPUT', '-p', 'udp', '--dport', '6784', '-j', 'DROP']);
      const restored = Date.now();
      await allIn(lab, hosts, 'vxlan', 1, 30_000);
      console.log(`# back on VXLAN ${Date.now() - restored} ms after the rule was removed`);
      const t = await transfer;
      assert.ok(t.bytes > 1e6 && !t.error, `the TCP stream survived: ${JSON.stringify(t)}`);
      const log = lab.log(h1);
      assert.equal(log.split('\n').filter((l) => l.includes('vxlan → sleeve (vxlan probe timed out at MTU 1450)')).length, 1, 'fallback logged once');
      const metrics = (await h1.client.request('GET', '/metrics')) as { name: string; values: { value: number; labels: Record<string, string> }[] }[];
      const changes = metrics.find((m) => m.name === 'weft_dataplane_path_changes_total')?.values ?? [];
      assert.ok(changes.some((v) => v.labels.from === 'vxlan' && v.labels.to === 'sleeve' && v.labels.reason === 'probe_timeout' && v.value >= 1));

      // Same secret without trusted subnets: everything stays on the encrypted sleeve.
      stopAll(lab, hosts);
      launchAll(lab, hosts, () => [], SECRET);
      await allIn(lab, hosts, 'sleeve', 1);
      await lab.until('VXLAN refused on the untrusted subnet and the sleeve healthy on both hosts', 10_000, async () => {
        if ((await conns(lab, h1))[0]?.paths?.find((p) => p.path === 'vxlan')?.reason !== 'untrusted subnet, encryption required') return false;
        for (const h of hosts) if ((await conns(lab, h))[0]?.paths?.find((p) => p.path === 'sleeve')?.state !== 'healthy') return false;
        return true;
      });
      // The very first echo after the restart gets through: the sleeve floods our unknown
      // unicast (its MAC table is empty) to direct neighbours the mesh's broadcast tree does not
      // contain yet (it lost the first echo when it flooded along that tree alone).
      const first = sh('ip', ['netns', 'exec', pods[0]!, 'ping', '-c', '1', '-W', '1', podIp(2)], { allowFail: true });
      assert.match(first, / 0% packet loss/, `the first echo over the new sleeve: ${first}`);
      const c = (await conns(lab, h1))[0]!;
      assert.equal(c.encrypted, true);
      assert.equal(c.paths?.find((p) => p.path === 'vxlan')?.reason, 'untrusted subnet, encryption required');
      const pcap = join(lab.dir, 'untrusted.pcap');
      const cap = await capture({ ns: null, dev: `${lab.prefix}u1`, file: pcap, filter: 'udp or net 10.32.0.0/12' });
      ping(pods[0]!, podIp(2));
      await cap.stop();
      assert.ok(count(pcap, `${SLEEVE_DATA} and greater 100`) >= 6, 'pings ride the sleeve');
      assert.equal(count(pcap, 'udp port 6784 or udp port 6785'), 0, 'no VXLAN and no probes');
      assert.equal(count(pcap, 'icmp and src net 10.32.0.0/12'), 0, 'no plain pod packets');
    } finally {
      for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
      lab.destroy();
    }
  });
