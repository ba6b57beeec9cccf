/**
 * Two OverlaySwitches back to back in one process: a fake sleeve, fake kernel edges that
 * record what they are told, and a fake UDP network that "decapsulates" VXLAN probes like the
 * kernel does and can drop the VXLAN port or everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/index.js';
import type { GossipChannel, OverlayConnection, OverlayConnectionParams, OverlayHealth, OverlayRoutes } from '../../mesh/index.js';
import type { PollHandle } from '../native-types.js';
import { formatIpv4 } from '../../net/index.js';
import { OverlaySwitch, type SleeveLike, type SwitchEdges } from './overlay-switch.js';
import type { ProbeIo } from './probe-socket.js';

const NAMES = ['02:00:00:00:00:01', '02:00:00:00:00:02'] as const;
const IPS = ['198.18.0.1', '198.18.0.2'] as const;
const POD_MAC = ['aa:00:00:00:00:01', 'aa:00:00:00:00:02'] as const;
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

function fakeEdges(i: number, calls: string[]): SwitchEdges {
  const rec = (name: string) => async (...a: unknown[]) => { calls.push([name, ...a].join(' ')); };
  return {
    vxlan: {
      setup: async () => { calls.push('setup'); return false; }, remove: rec('remove'),
      entries: async () => ({ unicast: new Map(), flood: new Set() }), isolatePort: rec('isolate'), unisolatePort: rec('unisolate'),
      localMacs: async () => [{ mac: POD_MAC[i]!, port: 'vweth' }],
      setUnicast: rec('vx+'), deleteUnicast: rec('vx-'), pinOnBridge: rec('pin'), unpinFromBridge: rec('unpin'),
      addFlood: rec('flood+'), deleteFlood: rec('flood-'),
    },
    hostgw: {
      setup: rec('gw-setup'), reset: rec('gw-reset'), bridgeTxOffload: rec('gw-txoffload'),
      entries: async () => ({ routes: new Map(), local: new Map(), forwards: new Map(), underlays: new Set(), ports: new Set() }),
      addRemote: rec('route+'), deleteRemote: rec('route-'), addForward: rec('fwd+'), deleteForward: rec('fwd-'),
      addLocal: rec('local+'), deleteLocal: rec('local-'), addPort: rec('port+'), deletePort: rec('port-'),
      addUnderlay: rec('up+'), deleteUnderlay: rec('up-'),
    },
  };
}

test('two switches: host-gw + VXLAN after probes; VXLAN port dropped → L2 on the sleeve, host-gw stays; all dropped → sleeve; recovery', async () => {
  const net = new Net();
  const calls: string[][] = [[], []];
  const sleeves = [new FakeSleeve(), new FakeSleeve()];
  const sw = [0, 1].map((i) => new OverlaySwitch({
    localName: NAMES[i]!, sleeve: sleeves[i]!, bridge: 'weft', tapName: 'weft-tap', kernelPaths: true, hostGw: true,
    vxlanPort: 6784, trustedSubnets: [], log: silentLogger(), io: new FakeIo(net, IPS[i]!), edges: fakeEdges(i, calls[i]!),
    listPods: async () => [{ mac: POD_MAC[i]!, addresses: [`10.32.0.${i + 1}/12`], hostIfname: 'vweth' }],
    timing: { probeIntervalMs: 20, failAfterMs: 200, confirmReplies: 3, reprobeInitialMs: 50, reprobeMaxMs: 200 },
    probeEsp: null, watcher: null, routeTo: async () => ({ dev: 'eth0', gateway: null }),
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
    await waitFor('peer pods programmed', () => sw[0]!.status().kernel.forwards === 1 && sw[0]!.status().kernel.vxlanEntries === 1);
    await sw[0]!.settle();
    const st = sw[0]!.status();
    assert.equal(st.flood, 'kernel');
    assert.deepEqual(st.kernel.floodTo, ['198.18.0.2']);
    assert.equal(st.kernel.localPods, 1);
    assert.deepEqual(sleeves[0]!.routes!.broadcastNextHops(NAMES[0]), [], 'the sleeve floods nothing of ours');
    assert.deepEqual(sleeves[0]!.routes!.broadcastNextHops(NAMES[1]), [NAMES[1]], 'relays unchanged');
    assert.ok(calls[0]!.includes('vx+ aa:00:00:00:00:02 198.18.0.2 6784') && calls[0]!.includes('pin aa:00:00:00:00:02'));
    assert.ok(calls[0]!.includes('route+ 10.32.0.2 198.18.0.2') && calls[0]!.includes('fwd+ aa:00:00:00:00:02 10.32.0.2 198.18.0.2 eth0'));
    assert.ok(calls[0]!.includes('port+ vweth') && calls[0]!.includes('up+ eth0') && calls[0]!.includes('local+ 10.32.0.1 aa:00:00:00:00:01 vweth'));
    assert.ok(calls[0]!.indexOf('up+ eth0') < calls[0]!.indexOf('fwd+ aa:00:00:00:00:02 10.32.0.2 198.18.0.2 eth0'), 'hooks before forwards');
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
    assert.ok(calls[0]!.includes('fwd- aa:00:00:00:00:02 10.32.0.2') && calls[0]!.includes('port- vweth') && calls[0]!.includes('up- eth0'), 'unhooked');
    assert.equal(sw[0]!.status().kernel.hostGwRoutes, 0);

    net.dropAll = false;
    net.dropVxlan = false;
    await waitFor('back on host-gw with VXLAN under it', () => mode(0) === 'hostgw' && sw[0]!.status().flood === 'kernel');
  } finally {
    await Promise.all(sw.map((s) => s.stop()));
  }
  assert.ok(!calls[0]!.includes('gw-reset') && !calls[0]!.includes('remove'), 'a plain stop leaves the kernel fast paths in place');
  await sw[0]!.resetKernel();
  assert.ok(calls[0]!.includes('gw-reset') && calls[0]!.includes('remove') && calls[0]!.includes('unisolate weft-tap'), 'reset cleans up');
});

test('--no-fastdp and untrusted peers: no probes, reasons in status, the sleeve carries everything', async () => {
  const net = new Net();
  const mk = (i: number, o: { kernelPaths: boolean; trusted: string[] }) => new OverlaySwitch({
    localName: NAMES[i]!, sleeve: new FakeSleeve(), bridge: 'weft', tapName: 'weft-tap', kernelPaths: o.kernelPaths, hostGw: true,
    vxlanPort: 6784, trustedSubnets: o.trusted, log: silentLogger(), io: new FakeIo(net, IPS[i]!), edges: fakeEdges(i, []),
    listPods: async () => [], probeEsp: null, watcher: null, routeTo: async () => ({ dev: 'eth0', gateway: null }),
  });
  for (const [a, b, keysEncrypted, want] of [
    [{ kernelPaths: false, trusted: [] }, { kernelPaths: true, trusted: [] }, false, ['fast path disabled (--no-fastdp)', 'fast path disabled on the peer']],
    [{ kernelPaths: true, trusted: [] }, { kernelPaths: true, trusted: [] }, true, ['untrusted subnet, encryption required', 'untrusted subnet, encryption required']],
    [{ kernelPaths: true, trusted: ['198.18.0.0/24'] }, { kernelPaths: true, trusted: [] }, true,
      ['the peer does not trust our subnet, encryption required', 'untrusted subnet, encryption required']],
  ] as const) {
    const sw = [mk(0, { ...a, trusted: [...a.trusted] }), mk(1, { ...b, trusted: [...b.trusted] })];
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
      await sleep(100);
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
