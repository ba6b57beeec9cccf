import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError, silentLogger } from '../../common/index.js';
import { desiredKernel, kernelFlood, type PeerPaths } from './kernel-state.js';
import { KernelSync, type KernelOps } from './kernel-sync.js';
import { PathMonitor } from './path-monitor.js';
import { PodDirectory, decodeRecords, encodeRecords } from './pod-directory.js';

const timing = { probeIntervalMs: 250, failAfterMs: 1200, confirmReplies: 3, reprobeInitialMs: 1000, reprobeMaxMs: 8000 };

test('path monitor: probing → active after 3 answered probes; silence → failed with the MTU in the reason; backoff; recovery', () => {
  const m = new PathMonitor('vxlan', timing);
  assert.equal(m.probeDue(0), -1, 'off sends nothing');
  assert.deepEqual(m.enable(1450, 0), { from: 'off', to: 'probing', cause: 'enabled' });
  assert.equal(m.probeDue(0), 1);
  assert.equal(m.probeDue(100), -1, 'one probe per interval');
  assert.equal(m.onReply(10), null);
  assert.equal(m.probeDue(250), 2);
  assert.equal(m.onReply(260), null);
  assert.deepEqual(m.onReply(510), { from: 'probing', to: 'active', cause: 'probe_ok' });
  assert.equal(m.reason, '');
  assert.equal(m.tick(1700), null, 'within FAIL_AFTER of the last reply');
  assert.deepEqual(m.tick(1711), { from: 'active', to: 'failed', cause: 'probe_timeout' });
  assert.equal(m.reason, 'vxlan probe timed out at MTU 1450');
  // failed: one probe per backoff step (1 s, then 2 s after a failed retry, …)
  assert.equal(m.probeDue(2000), -1);
  assert.ok(m.probeDue(2711) > 0);
  assert.equal(m.probeDue(2800), -1);
  assert.deepEqual(m.onReply(2720), { from: 'failed', to: 'probing', cause: 'probe_ok' });
  assert.equal(m.reason, 'vxlan probe timed out at MTU 1450', 'the last failure stays visible while re-probing');
  m.onReply(2980);
  assert.deepEqual(m.onReply(3230), { from: 'probing', to: 'active', cause: 'probe_ok' });
  assert.deepEqual(m.disable('fast path disabled (--no-fastdp)'), { from: 'active', to: 'off', cause: 'disabled' });
  assert.equal(m.probeDue(10_000), -1);
});

test('path monitor: a path that never answers backs off 1, 2, 4 … s up to the cap; a local EMSGSIZE fails at once', () => {
  const m = new PathMonitor('hostgw', timing);
  m.enable(1500, 0);
  let now = 0;
  const gaps: number[] = [];
  let last = -1;
  for (; now < 40_000; now += 50) {
    if (m.probeDue(now) >= 0 && m.state === 'failed') {
      if (last >= 0) gaps.push(now - last);
      last = now;
    }
    const t = m.tick(now);
    if (t && t.to === 'failed') last = now;
  }
  assert.equal(m.state, 'failed');
  assert.ok(gaps.length >= 3 && gaps.every((g) => g <= 8000 + 50), `gaps ${gaps}`);
  const n = new PathMonitor('vxlan', timing);
  n.enable(1450, 0);
  assert.deepEqual(n.onTooBig(10), { from: 'probing', to: 'failed', cause: 'too_big' });
  assert.equal(n.reason, 'vxlan probe of 1450 bytes exceeds the local route MTU');
});

test('pod directory: local changes produce updates, newer versions win, deltas only carry news', () => {
  const changed: string[] = [];
  const a = new PodDirectory('02:00:00:00:00:01', (p) => changed.push(p));
  const b = new PodDirectory('02:00:00:00:00:02', () => undefined);
  const up = a.setLocal(['AA:00:00:00:00:01', 'aa:00:00:00:00:02'], [{ ip: '10.32.0.1', mac: 'aa:00:00:00:00:01' }], 1000)!;
  assert.ok(up);
  assert.equal(a.setLocal(['aa:00:00:00:00:02', 'aa:00:00:00:00:01'], [{ ip: '10.32.0.1', mac: 'AA:00:00:00:00:01' }], 2000), null, 'unchanged');
  assert.equal(b.onGossipBroadcast('02:00:00:00:00:01', up), up);
  assert.equal(b.onGossipBroadcast('02:00:00:00:00:01', up), null, 'old news is not relayed');
  assert.deepEqual(b.get('02:00:00:00:00:01')?.ips, [{ ip: '10.32.0.1', mac: 'aa:00:00:00:00:01' }]);
  const up2 = a.setLocal(['aa:00:00:00:00:03'], [], 1500)!;
  assert.ok(decodeRecords(up2).get('02:00:00:00:00:01')!.version > 1000, 'versions strictly increase');
  const delta = b.onGossip(a.gossip()!);
  assert.deepEqual([...decodeRecords(delta!).keys()], ['02:00:00:00:00:01']);
  assert.deepEqual(b.get('02:00:00:00:00:01')?.macs, ['aa:00:00:00:00:03']);
  // A record about ourselves from an earlier incarnation is outvoted by our next announcement.
  const stale = encodeRecords(new Map([['02:00:00:00:00:02', { version: 9e12, macs: [], ips: [] }]]));
  b.onGossip(stale);
  const re = b.setLocal([], [], 3000);
  assert.ok(re && decodeRecords(re).get('02:00:00:00:00:02')!.version > 9e12);
  a.forget('02:00:00:00:00:01');
  assert.ok(a.get('02:00:00:00:00:01'), 'never forgets itself');
});

test('pod directory decoder: malformed input is a WEFT_ERR_DECODE, never a crash', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    try {
      decodeRecords(Buffer.from(bytes));
      return true;
    } catch (e) {
      return isWeftError(e, 'WEFT_ERR_DECODE');
    }
  }));
  const good = encodeRecords(new Map([['02:00:00:00:00:09', { version: 5, macs: ['aa:00:00:00:00:01'], ips: [{ ip: '10.0.0.1', mac: 'aa:00:00:00:00:01' }] }]]));
  for (let cut = 1; cut < good.length; cut++) assert.throws(() => decodeRecords(good.subarray(0, cut)), (e) => isWeftError(e, 'WEFT_ERR_DECODE'));
});

const peer = (name: string, l2: 'vxlan' | 'sleeve', hostGw = false, ip = `198.18.0.${name.slice(-1)}`): PeerPaths =>
  ({ peer: name, underlayIp: ip, vxlanPort: 6784, l2, hostGw, ...(hostGw ? { underlayDev: 'eth0' } : {}) });

test('kernel flood only when every reachable peer is a direct VXLAN peer', () => {
  const p2 = peer('02:00:00:00:00:02', 'vxlan');
  const p3 = peer('02:00:00:00:00:03', 'sleeve');
  assert.equal(kernelFlood(new Set(), [p2]), false);
  assert.equal(kernelFlood(new Set([p2.peer]), [p2]), true);
  assert.equal(kernelFlood(new Set([p2.peer, p3.peer]), [p2, p3]), false, 'a sleeve peer');
  assert.equal(kernelFlood(new Set([p2.peer, '02:00:00:00:00:04']), [p2]), false, 'a relayed peer');
});

test('desired kernel state: VXLAN entries and floods per L2 peer, host-gw routes, forwards and hooks, local pods; local MACs never pointed away', () => {
  const self = '02:00:00:00:00:01';
  const recs = new Map([
    [self, { version: 1, macs: ['aa:00:00:00:00:01'], ips: [{ ip: '10.32.0.1', mac: 'aa:00:00:00:00:01' }] }],
    ['02:00:00:00:00:02', { version: 1, macs: ['aa:00:00:00:00:02', 'aa:00:00:00:00:01'], ips: [{ ip: '10.32.0.2', mac: 'aa:00:00:00:00:02' }] }],
    ['02:00:00:00:00:03', { version: 1, macs: ['aa:00:00:00:00:03'], ips: [{ ip: '10.32.0.3', mac: 'aa:00:00:00:00:03' }] }],
  ]);
  const d = desiredKernel({
    self, peers: [peer('02:00:00:00:00:02', 'vxlan', true), peer('02:00:00:00:00:03', 'sleeve')],
    record: (p) => recs.get(p), flood: true, hostGwLocal: true,
    localPods: [{ ip: '10.32.0.1', mac: 'aa:00:00:00:00:01', port: 'vethwepl1' }],
  });
  assert.deepEqual([...d.unicast], [['aa:00:00:00:00:02', '198.18.0.2 6784']]);
  assert.deepEqual([...d.flood], ['198.18.0.2 6784']);
  assert.deepEqual([...d.routes], [['10.32.0.2', '198.18.0.2']]);
  assert.deepEqual([...d.forwards], [['aa:00:00:00:00:02 10.32.0.2', '198.18.0.2 eth0']]);
  assert.deepEqual([...d.underlays], ['eth0']);
  assert.deepEqual([...d.local], [['10.32.0.1', 'aa:00:00:00:00:01 vethwepl1']]);
  assert.deepEqual([...d.ports], ['vethwepl1']);
  // No host-gw peer: local pods stay routable, but nothing is hooked.
  const quiet = desiredKernel({
    self, peers: [peer('02:00:00:00:00:03', 'sleeve')], record: (p) => recs.get(p), flood: false, hostGwLocal: true,
    localPods: [{ ip: '10.32.0.1', mac: 'aa:00:00:00:00:01', port: 'vethwepl1' }],
  });
  assert.equal(quiet.local.size, 1);
  assert.equal(quiet.ports.size + quiet.underlays.size + quiet.forwards.size, 0);
  // A pod whose veth is unknown is routed only.
  const noPort = desiredKernel({ self, peers: [peer('02:00:00:00:00:02', 'vxlan', true)], record: (p) => recs.get(p), flood: false, hostGwLocal: true });
  assert.deepEqual([...noPort.local], [['10.32.0.1', 'aa:00:00:00:00:01 ']]);
  assert.equal(noPort.ports.size, 0);
});

test('kernel sync: diffs, takes traffic off fast paths before putting it on, coalesces, retries failures', async () => {
  const calls: string[] = [];
  let failPin = true;
  const op = (name: string) => async (...a: unknown[]) => {
    calls.push(`${name} ${a.join(' ')}`);
    if (name === 'pin' && failPin) throw new Error('boom');
  };
  const ops: KernelOps = {
    setUnicast: op('vx+'), deleteUnicast: op('vx-'), pinOnBridge: op('pin'), unpinFromBridge: op('unpin'),
    addFlood: op('flood+'), deleteFlood: op('flood-'), addRemote: op('route+'), deleteRemote: op('route-'),
    addForward: op('fwd+'), deleteForward: op('fwd-'), addLocal: op('local+'), deleteLocal: op('local-'),
    addPort: op('port+'), deletePort: op('port-'), addUnderlay: op('up+'), deleteUnderlay: op('up-'),
  };
  let want = desiredKernel({ self: 's', peers: [], record: () => undefined, flood: false, hostGwLocal: false });
  const sync = new KernelSync(ops, () => want, silentLogger());
  want = {
    unicast: new Map([['aa:00:00:00:00:02', '198.18.0.2 6784']]), flood: new Set(['198.18.0.2 6784']),
    routes: new Map([['10.32.0.2', '198.18.0.2']]), forwards: new Map([['aa:00:00:00:00:02 10.32.0.2', '198.18.0.2 eth0']]),
    underlays: new Set(['eth0']), local: new Map([['10.32.0.1', 'aa:00:00:00:00:01 vp1']]), ports: new Set(['vp1']),
  };
  await sync.schedule();
  assert.deepEqual(calls, [
    'port+ vp1', 'up+ eth0', 'local+ 10.32.0.1 aa:00:00:00:00:01 vp1',
    'vx+ aa:00:00:00:00:02 198.18.0.2 6784', 'pin aa:00:00:00:00:02',
    'flood+ 198.18.0.2 6784', 'route+ 10.32.0.2 198.18.0.2', 'fwd+ aa:00:00:00:00:02 10.32.0.2 198.18.0.2 eth0',
  ]);
  assert.match(sync.lastError, /boom/);
  calls.length = 0;
  failPin = false;
  await sync.schedule();
  assert.deepEqual(calls, ['vx+ aa:00:00:00:00:02 198.18.0.2 6784', 'pin aa:00:00:00:00:02'], 'only the failed entry is retried');
  calls.length = 0;
  want = desiredKernel({ self: 's', peers: [], record: () => undefined, flood: false, hostGwLocal: false });
  await Promise.all([sync.schedule(), sync.schedule(), sync.schedule()]);
  assert.deepEqual(calls, [
    'fwd- aa:00:00:00:00:02 10.32.0.2', 'route- 10.32.0.2', 'flood- 198.18.0.2', 'unpin aa:00:00:00:00:02', 'vx- aa:00:00:00:00:02',
    'local- 10.32.0.1 vp1', 'up- eth0', 'port- vp1',
  ]);
  assert.equal(sync.lastError, '');
});
