/**
 * Restart bookkeeping (pure): KernelSync adopting a previous daemon's state (nothing re-added,
 * leftovers kept through the grace, then removed), the read-back helpers, lingering peers, and
 * the path monitor's next deadline that drives the on-demand housekeeping timer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/index.js';
import { emptyKernel, type DesiredKernel } from './kernel-state.js';
import { KernelSync, type KernelOps } from './kernel-sync.js';
import { PathMonitor } from './path-monitor.js';
import { DeadlineTimer } from './deadline-timer.js';
import { Lingering, adoptedKernel, kernelSize, peersOf } from './restart.js';

function recordingOps(calls: string[]): KernelOps {
  const rec = (name: string) => async (...a: unknown[]) => { calls.push([name, ...a].join(' ')); };
  return {
    setUnicast: rec('vx+'), deleteUnicast: rec('vx-'), pinOnBridge: rec('pin'), unpinFromBridge: rec('unpin'),
    addFlood: rec('flood+'), deleteFlood: rec('flood-'), addRemote: rec('route+'), deleteRemote: rec('route-'),
    addForward: rec('fwd+'), deleteForward: rec('fwd-'), addLocal: rec('local+'), deleteLocal: rec('local-'),
    addPort: rec('port+'), deletePort: rec('port-'), addUnderlay: rec('up+'), deleteUnderlay: rec('up-'),
  };
}

test('KernelSync.adopt: adopted entries are not added again, unwanted ones stay until endGrace, changed ones are replaced', async () => {
  const adopted = adoptedKernel({
    vxlan: { unicast: new Map([['aa:00:00:00:00:02', '198.18.0.2 6784'], ['aa:00:00:00:00:03', '198.18.0.3 6784']]), flood: new Set(['198.18.0.2 6784']) },
    hostgw: { routes: new Map([['10.32.0.12', '198.18.0.2'], ['10.32.0.13', '198.18.0.3']]), local: new Map([['10.32.0.11', 'aa:00:00:00:00:01 vweth']]),
      forwards: new Map(), underlays: new Set(), ports: new Set() },
  });
  assert.equal(kernelSize(adopted), 6);
  assert.deepEqual([...peersOf(adopted)].sort(), ['198.18.0.2', '198.18.0.3']);
  let want: DesiredKernel = emptyKernel();
  const calls: string[] = [];
  const k = new KernelSync(recordingOps(calls), () => want, silentLogger());
  k.adopt(adopted);
  assert.equal(k.adopting, true);
  await k.schedule();
  assert.deepEqual(calls, [], 'nothing wanted yet: everything adopted stays');
  // Peer 2 is back with the same entries, and pod 11 is local as before: no change at all.
  want = emptyKernel();
  want.unicast.set('aa:00:00:00:00:02', '198.18.0.2 6784');
  want.flood.add('198.18.0.2 6784');
  want.routes.set('10.32.0.12', '198.18.0.2');
  want.local.set('10.32.0.11', 'aa:00:00:00:00:01 vweth');
  await k.schedule();
  assert.deepEqual(calls, []);
  // Peer 2's pod moved to another underlay address: replaced at once, even in the grace.
  want.unicast.set('aa:00:00:00:00:02', '198.18.0.9 6784');
  await k.schedule();
  assert.deepEqual(calls, ['unpin aa:00:00:00:00:02', 'vx- aa:00:00:00:00:02', 'vx+ aa:00:00:00:00:02 198.18.0.9 6784', 'pin aa:00:00:00:00:02']);
  calls.length = 0;
  await k.endGrace();
  assert.equal(k.adopting, false);
  assert.deepEqual(calls.sort(), ['route- 10.32.0.13', 'unpin aa:00:00:00:00:03', 'vx- aa:00:00:00:00:03'], 'peer 3 did not come back: its entries go');
  assert.equal(k.current.unicast.size, 1);
});

test('Lingering: kept until expiry; superseded while reachable over another peer and not connected', () => {
  const l = new Lingering();
  const paths = { peer: 'p2', underlayIp: '198.18.0.2', vxlanPort: 6784, l2: 'vxlan' as const, hostGw: false };
  l.keep(paths, { version: 1, macs: ['aa:00:00:00:00:02'], ips: [] }, 1000);
  assert.equal(l.record('p2')?.macs[0], 'aa:00:00:00:00:02');
  assert.equal(l.paths(() => false, () => false).length, 1, 'unreachable: keep programming it');
  assert.equal(l.paths(() => true, () => true).length, 1, 'reconnecting: keep until the new connection settles');
  assert.equal(l.paths(() => false, () => true).length, 0, 'reachable over another peer: the sleeve relays');
  assert.equal(l.nextExpiry(), 1000);
  assert.deepEqual(l.expire(999), []);
  assert.deepEqual(l.expire(1000), ['p2']);
  assert.equal(l.size, 0);
  assert.equal(l.nextExpiry(), Infinity);
});

test('PathMonitor.nextDue: Infinity while off; the next probe or timeout while probing/active; the retry while failed', () => {
  const t = { probeIntervalMs: 250, failAfterMs: 1200, confirmReplies: 3, reprobeInitialMs: 1000, reprobeMaxMs: 16000 };
  const m = new PathMonitor('vxlan', t);
  assert.equal(m.nextDue(), Infinity);
  m.enable(1450, 0);
  assert.equal(m.nextDue(), -Infinity, 'a probe is due at once');
  assert.ok(m.probeDue(0) >= 0);
  assert.equal(m.nextDue(), 250);
  for (const now of [10, 20, 30]) m.onReply(now);
  assert.equal(m.state, 'active');
  assert.equal(m.nextDue(), 250);
  m.probeDue(250);
  assert.equal(m.nextDue(), 500);
  assert.equal(m.tick(1231)?.to, 'failed');
  assert.equal(m.nextDue(), 1231 + 1000);
  m.disable('off');
  assert.equal(m.nextDue(), Infinity);
});

test('DeadlineTimer: no timer while nothing is due; fires at the deadline, at most once per interval, re-arms itself', async () => {
  let due = Infinity;
  const fired: number[] = [];
  const t = new DeadlineTimer(20, () => due, (now) => { fired.push(now); due = fired.length < 3 ? now : Infinity; });
  t.arm();
  assert.equal(t.armed, false, 'nothing due: no timer');
  const start = Date.now();
  due = start + 30;
  t.arm();
  assert.equal(t.armed, true);
  for (let i = 0; i < 100 && fired.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(fired.length, 3);
  assert.ok(fired[0]! >= start + 29, 'not before the deadline');
  assert.ok(fired[1]! - fired[0]! >= 19 && fired[2]! - fired[1]! >= 19, `at most once per interval: ${fired.map((f) => f - start)}`);
  assert.equal(t.armed, false, 'nothing due after the last run: the timer stops');
  due = Date.now();
  t.stop();
  t.arm();
  assert.equal(t.armed, false);
});
