/**
 * Two OverlaySwitches back to back in one process: a fake sleeve, the real VXLAN and host-gw
 * edges over an in-memory kernel (test/support/fake-kernel.ts, checked against the real one by
 * test/integration/fake-kernel.test.ts) whose resulting state the test reads, and a fake UDP network that "decapsulates" VXLAN probes like the
 * kernel does and can drop the VXLAN port or everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FASTPATH_NFT_TABLE, FASTPATH_ROUTE_PROTO, FASTPATH_VXLAN_DEVICE, silentLogger } from '../../common/index.js';
import { HostGwEdge, VxlanEdge, underlayRoute } from '../../host/index.js';
import { FakeKernel } from '../../../test/support/fake-kernel.js';
import { vxlanEdgeSettings } from './edge-settings.js';
import type { GossipChannel, OverlayConnection, OverlayConnectionParams, OverlayHealth, OverlayRoutes } from '../../mesh/index.js';
import type { PollHandle } from '../native-types.js';
import { formatIpv4 } from '../../net/index.js';
import { OverlaySwitch, type SleeveLike, type SwitchEdges } from './overlay-switch.js';
import type { ProbeIo } from './probe-socket.js';

const NAMES = ['02:00:00:00:00:01', '02:00:00:00:00:02'] as const;
const IPS = ['198.18.0.1', '198.18.0.2'] as const;
const POD_MAC = ['aa:00:00:00:00:01', 'aa:00:00:00:00:02'] as const;
const BRIDGE_MAC = ['02:b0:00:00:00:01', '02:b0:00:00:00:02'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Net {
  dropVxlan = false;
  dropAll = false;
  readonly hosts: FakeIo[] = [];
}

class FakeIo implements ProbeIo {
  private cb: (() => void) | null = null;
  private readonly queue: { data: Buffer; from: string }[] = [];
  constructor(private readonly net: Net, readonly ip: string) { net.hosts.push(this); }
  udpOpen(): number { return 3; }
  close(): void { this.cb = null; }
  pollStart(_fd: number, cb: () => void): PollHandle { this.cb = cb; return {} as PollHandle; }
  pollStop(): void { this.cb = null; }
  pathMtu(): number { return 1500; }
  deliver(data: Buffer, from: string): void {
    this.queue.push({ data, from });
    setImmediate(() => this.cb?.());
  }
  udpRecvBatch(_fd: number, arena: Buffer, stride: number, lens: Uint32Array, addrs: Uint32Array, max: number): number {
    let n = 0;
    while (n < max && this.queue.length > 0) {
      const d = this.queue.shift()!;
      d.data.copy(arena, n * stride);
      lens[n] = d.data.length;
      addrs[2 * n] = 0;
      n++;
    }
    return n;
  }
  udpSendBatch(_fd: number, arena: Buffer, offs: Uint32Array, lens: Uint32Array, addrs: Uint32Array, count: number, errs?: Uint8Array): number {
    for (let i = 0; i < count; i++) {
      if (errs) errs[i] = 0;
      const to = this.net.hosts.find((h) => h.ip === formatIpv4(addrs[2 * i]!));
      const port = addrs[2 * i + 1]!;
      if (!to || this.net.dropAll || (port === 6784 && this.net.dropVxlan)) continue;
      const bytes = Buffer.from(arena.subarray(offs[i]!, offs[i]! + lens[i]!));
      // The kernel decapsulates VXLAN (22) and hands the inner UDP payload (after 28) to the socket.
      to.deliver(port === 6784 ? bytes.subarray(50) : bytes, this.ip);
    }
    return count;
  }
}

class FakeSleeve implements SleeveLike {
  readonly mtu = 1408;
  routes: OverlayRoutes | null = null;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  prepareConnection(p: OverlayConnectionParams): OverlayConnection {
    return { confirm: () => p.onHealth({ state: 'healthy', mtu: 1408, mode: 'sleeve' }), onControl: () => undefined, stop: () => undefined };
  }
  setRoutes(r: OverlayRoutes): void { this.routes = r; }
  peerGone(): void {}
}

/** One simulated host: bridge `weft` with the pod port `vweth` and the sleeve TAP, underlay `eth0`. */
interface FakeHost { kernel: FakeKernel; edges: SwitchEdges; routeTo: (ip: string) => Promise<{ dev: string; gateway: string | null }> }

async function fakeHost(i: number): Promise<FakeHost> {
  const kernel = new FakeKernel();
  const h = kernel.host;
  await h.addBridge('weft');
  const br = (await h.mustLink('weft')).index;
  await h.setLink('weft', { up: true });
  await h.addVeth('vweth', 'vpod', 1500);
  await h.setLink('vweth', { master: br, up: true });
  await kernel.createTap('weft-tap');
  await h.setLink('weft-tap', { master: br, up: true });
  await h.addVeth('eth0', 'eth0peer', 1500);
  await h.addAddress('eth0', `${IPS[i]!}/24`);
  await h.setLink('eth0', { up: true });
  await h.setLink('weft', { mac: BRIDGE_MAC[i]! });
  kernel.learn('vweth', POD_MAC[i]!);
  const log = silentLogger();
  return {
    kernel,
    edges: {
      vxlan: new VxlanEdge({ bridge: 'weft', log, ...vxlanEdgeSettings(NAMES[i]!, 6784), kernel }),
      hostgw: new HostGwEdge({ bridge: 'weft', log, kernel }),
    },
    routeTo: async (ip) => {
      const r = await underlayRoute(ip, kernel);
      return { dev: r.dev, gateway: r.gateway ?? null };
    },
  };
}

/** The fast-path state of a fake host's kernel, as sorted lines. */
async function kernelState(k: FakeKernel): Promise<{ fdb: string[]; routes: string[]; nft: string[]; neighbours: string[]; links: string[] }> {
  const links = await k.host.links();
  const name = (i?: number) => links.find((l) => l.index === i)?.name ?? String(i);
  const nft: string[] = [];
  for (const [t, table] of k.ruleset) {
    for (const [c, chain] of table.chains) nft.push(`${t} chain ${c} ${chain.hookDevice ?? '-'}`);
    for (const [n, set] of table.sets) for (const [key, v] of set.elements) nft.push(`${n} ${key}${v === null ? '' : ` : ${v}`}`);
  }
  return {
    fdb: (await k.host.fdb()).filter((f) => (f.state & 0x02) === 0)
      .map((f) => `${name(f.index)} ${f.mac ?? ''} ${(f.flags & 0x02) !== 0 ? `self ${f.dst ?? ''}` : 'master'}`).sort(),
    routes: (await k.host.routes()).filter((r) => r.protocol === FASTPATH_ROUTE_PROTO).map((r) => `${r.dst} ${r.gateway ?? name(r.oif)}`).sort(),
    nft: nft.sort(),
    neighbours: (await k.host.neighbours()).map((n) => `${name(n.index)} ${n.dst ?? ''} ${n.mac ?? ''}`).sort(),
    links: links.map((l) => l.name).sort(),
  };
}

const hex = (dev: string) => Buffer.from(dev).toString('hex');

test('two switches: host-gw + VXLAN after probes; VXLAN port dropped → L2 on the sleeve, host-gw stays; all dropped → sleeve; recovery', async () => {
  const net = new Net();
  const hosts = [await fakeHost(0), await fakeHost(1)];
  const k0 = hosts[0]!.kernel;
  const sleeves = [new FakeSleeve(), new FakeSleeve()];
  const sw = [0, 1].map((i) => new OverlaySwitch({
    localName: NAMES[i]!, sleeve: sleeves[i]!, bridge: 'weft', tapName: 'weft-tap', kernelPaths: true, hostGw: true,
    vxlanPort: 6784, trustedSubnets: [], log: silentLogger(), io: new FakeIo(net, IPS[i]!), edges: hosts[i]!.edges,
    listPods: async () => [{ mac: POD_MAC[i]!, addresses: [`10.32.0.${i + 1}/12`], hostIfname: 'vweth' }],
    timing: { probeIntervalMs: 20, failAfterMs: 200, confirmReplies: 3, reprobeInitialMs: 50, reprobeMaxMs: 200 },
    probeEsp: null, watcher: null, routeTo: hosts[i]!.routeTo,
  }));
  try {
    // Gossip: broadcasts go straight to the other directory.
    sw.forEach((s, i) => s.attachGossip({
      name: 'fastpath', unicast() {}, gossip() {},
      broadcast: (u: Buffer) => { setImmediate(() => sw[1 - i]!.directory.onGossipBroadcast(NAMES[i]!, u)); },
    } as GossipChannel));
    await Promise.all(sw.map((s) => s.start()));
    const health: OverlayHealth[][] = [[], []];
    const conns: OverlayConnection[] = [];
    for (const i of [0, 1]) {
      const j = 1 - i;
      conns[i] = sw[i]!.prepareConnection({
        remotePeer: NAMES[j]!, remoteAddress: `${IPS[j]}:6783`, localAddress: `${IPS[i]}:6783`, outbound: i === 0,
        dataKeys: { encrypted: false, keys: () => ({ send: Buffer.alloc(32), recv: Buffer.alloc(32) }) },
        sendControl: (m) => setImmediate(() => conns[j]?.onControl(m)),
        onHealth: (h) => health[i]!.push(h),
      });
    }
    conns.forEach((c) => c.confirm());
    for (const i of [0, 1]) sw[i]!.setRoutes({ unicast: new Map([[NAMES[1 - i]!, NAMES[1 - i]!]]), broadcastNextHops: () => [NAMES[1 - i]!] });
    const mode = (i: number) => sw[i]!.status().connections[0]?.mode;
    const waitFor = async (what: string, f: () => boolean) => {
      for (let k = 0; k < 200 && !f(); k++) await sleep(20);
      assert.ok(f(), what);
    };
    await waitFor('both on host-gw', () => mode(0) === 'hostgw' && mode(1) === 'hostgw');
    // Two VXLAN entries: the peer's pod and the peer's bridge (a host MAC, as the real FDB shows it).
    await waitFor('peer pods programmed', () => sw[0]!.status().kernel.forwards === 1 && sw[0]!.status().kernel.vxlanEntries === 2);
    await sw[0]!.settle();
    const st = sw[0]!.status();
    assert.equal(st.flood, 'kernel');
    assert.deepEqual(st.kernel.floodTo, ['198.18.0.2']);
    assert.equal(st.kernel.localPods, 1);
    assert.deepEqual(sleeves[0]!.routes!.broadcastNextHops(NAMES[0]), [], 'the sleeve floods nothing of ours');
    assert.deepEqual(sleeves[0]!.routes!.broadcastNextHops(NAMES[1]), [NAMES[1]], 'relays unchanged');
    const on = await kernelState(k0);
    const peerPod = `${POD_MAC[1]} . 10.32.0.2`;
    for (const line of [`${FASTPATH_VXLAN_DEVICE} ${POD_MAC[1]} self 198.18.0.2`, `${FASTPATH_VXLAN_DEVICE} ${POD_MAC[1]} master`,
      `${FASTPATH_VXLAN_DEVICE} ${BRIDGE_MAC[1]} self 198.18.0.2`, `${FASTPATH_VXLAN_DEVICE} 00:00:00:00:00:00 self 198.18.0.2`]) assert.ok(on.fdb.includes(line), `FDB has ${line}: ${on.fdb.join('; ')}`);
    assert.ok(on.routes.includes('10.32.0.2/32 198.18.0.2') && on.routes.includes('10.32.0.1/32 weft'), on.routes.join('; '));
    for (const line of [`remote ${peerPod} : 198.18.0.2`, `remote_dev ${peerPod} : eth0`, 'remote_src 10.32.0.2', 'local_dev 10.32.0.1 : vweth',
      `netdev ${FASTPATH_NFT_TABLE} chain port_${hex('vweth')} vweth`, `netdev ${FASTPATH_NFT_TABLE} chain up_${hex('eth0')} eth0`]) {
      assert.ok(on.nft.includes(line), `nft has ${line}: ${on.nft.join('; ')}`);
    }
    assert.ok(on.neighbours.includes(`weft 10.32.0.1 ${POD_MAC[0]}`) && on.neighbours.includes(`vweth 10.32.0.1 ${POD_MAC[0]}`), on.neighbours.join('; '));
    assert.ok(k0.nftLog.indexOf('hooking eth0 ingress') < k0.nftLog.findIndex((w) => w.startsWith('forwarding 10.32.0.2')), 'hooks before forwards');
    const last = health[0]!.at(-1)!;
    assert.equal(last.state, 'healthy');
    assert.equal(last.mode, 'hostgw');
    assert.equal(last.encrypted, false);
    assert.equal(last.mtu, 1500);

    net.dropVxlan = true;
    await waitFor('VXLAN failed on both sides', () => sw.every((s) => s.status().connections[0]!.paths.find((p) => p.path === 'vxlan')!.state === 'failed'));
    await sw[0]!.settle();
    const p0 = sw[0]!.status().connections[0]!.paths;
    assert.equal(p0.find((p) => p.path === 'vxlan')!.reason, 'vxlan probe timed out at MTU 1450');
    assert.equal(mode(0), 'hostgw', 'host-gw does not need the VXLAN port');
    assert.equal(sw[0]!.status().flood, 'sleeve');
    assert.equal(sw[0]!.status().kernel.vxlanEntries, 0);
    assert.deepEqual(sleeves[0]!.routes!.broadcastNextHops(NAMES[0]), [NAMES[1]], 'our broadcasts ride the sleeve again');

    net.dropAll = true;
    await waitFor('both on the sleeve', () => mode(0) === 'sleeve' && mode(1) === 'sleeve');
    await sw[0]!.settle();
    assert.equal(sw[0]!.status().kernel.forwards, 0);
    const off = await kernelState(k0);
    assert.ok(!off.nft.some((l) => l.startsWith('remote') || l.includes(' chain ')), `unhooked, no forwards: ${off.nft.join('; ')}`);
    assert.ok(!off.fdb.some((l) => l.includes(POD_MAC[1]!)), 'no VXLAN entry for the peer pod');
    assert.equal(sw[0]!.status().kernel.hostGwRoutes, 0);

    net.dropAll = false;
    net.dropVxlan = false;
    await waitFor('back on host-gw with VXLAN under it', () => mode(0) === 'hostgw' && sw[0]!.status().flood === 'kernel');
  } finally {
    await Promise.all(sw.map((s) => s.stop()));
  }
  const kept = await kernelState(k0);
  assert.ok(kept.links.includes(FASTPATH_VXLAN_DEVICE) && kept.nft.length > 0, 'a plain stop leaves the kernel fast paths in place');
  await sw[0]!.resetKernel();
  const gone = await kernelState(k0);
  assert.deepEqual(gone.nft, [], 'reset removes the nft table');
  assert.deepEqual(gone.routes, [], 'and the host-gw routes');
  assert.ok(!gone.links.includes(FASTPATH_VXLAN_DEVICE), 'and the VXLAN devices');
  assert.equal(k0.hostNs.links.get('weft-tap')?.isolated, false, 'and the TAP is no longer isolated');
});

test('--no-fastdp and untrusted peers: no probes, reasons in status, the sleeve carries everything', async () => {
  const net = new Net();
  const mk = (hosts: FakeHost[], i: number, o: { kernelPaths: boolean; trusted: string[] }) => new OverlaySwitch({
    localName: NAMES[i]!, sleeve: new FakeSleeve(), bridge: 'weft', tapName: 'weft-tap', kernelPaths: o.kernelPaths, hostGw: true,
    vxlanPort: 6784, trustedSubnets: o.trusted, log: silentLogger(), io: new FakeIo(net, IPS[i]!), edges: hosts[i]!.edges,
    listPods: async () => [], probeEsp: null, watcher: null, routeTo: hosts[i]!.routeTo,
  });
  for (const [a, b, keysEncrypted, want] of [
    [{ kernelPaths: false, trusted: [] }, { kernelPaths: true, trusted: [] }, false, ['fast path disabled (--no-fastdp)', 'fast path disabled on the peer']],
    [{ kernelPaths: true, trusted: [] }, { kernelPaths: true, trusted: [] }, true, ['untrusted subnet, encryption required', 'untrusted subnet, encryption required']],
    [{ kernelPaths: true, trusted: ['198.18.0.0/24'] }, { kernelPaths: true, trusted: [] }, true,
      ['the peer does not trust our subnet, encryption required', 'untrusted subnet, encryption required']],
  ] as const) {
    const hosts = [await fakeHost(0), await fakeHost(1)];
    const sw = [mk(hosts, 0, { ...a, trusted: [...a.trusted] }), mk(hosts, 1, { ...b, trusted: [...b.trusted] })];
    try {
      await Promise.all(sw.map((s) => s.start()));
      const conns: OverlayConnection[] = [];
      for (const i of [0, 1]) {
        const j = 1 - i;
        conns[i] = sw[i]!.prepareConnection({
          remotePeer: NAMES[j]!, remoteAddress: `${IPS[j]}:6783`, localAddress: `${IPS[i]}:6783`, outbound: i === 0,
          dataKeys: { encrypted: keysEncrypted, keys: () => ({ send: Buffer.alloc(32), recv: Buffer.alloc(32) }) },
          sendControl: (m) => setImmediate(() => conns[j]?.onControl(m)), onHealth: () => undefined,
        });
      }
      conns.forEach((c) => c.confirm());
      // Wait (bounded) until both sides decided; the assertions below say what they must have decided.
      const reason = (i: number) => sw[i]!.status().connections[0]?.paths.find((p) => p.path === 'vxlan')?.reason;
      for (let k = 0; k < 200 && !(reason(0) === want[0] && reason(1) === want[1]); k++) await sleep(10);
      for (const i of [0, 1]) {
        const c = sw[i]!.status().connections[0]!;
        assert.equal(c.mode, 'sleeve');
        assert.equal(c.encrypted, keysEncrypted);
        assert.equal(c.paths.find((p) => p.path === 'vxlan')!.reason, want[i], `side ${i}`);
        assert.equal(c.paths.find((p) => p.path === 'vxlan')!.state, 'off');
      }
    } finally {
      await Promise.all(sw.map((s) => s.stop()));
    }
  }
});
