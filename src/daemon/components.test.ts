import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_VXLAN_PORT, FASTPATH_PROBE_PORT_OFFSET, isWeftError, silentLogger } from '../common/index.js';
import { createRegistry } from '../metrics/index.js';
import { VXLAN_DEVICE_MTU } from '../dataplane/index.js';
import { buildDataplane } from './components.js';
import type { DaemonConfig } from './config.js';

const BASE: DaemonConfig = {
  peers: [], nickname: 'n', port: 6783, host: '0.0.0.0', dataDir: '/nonexistent', apiSocket: '/nonexistent/weft.sock', statusAddr: '',
  connLimit: 100, logLevel: 'silent', heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000, gossipIntervalMs: 1000, backoffScale: 1,
  bridge: 'weft', ipallocRange: '10.32.0.0/12', ipallocInit: { consensus: 1 }, podTxOffload: true,
};
const SELF = '02:00:00:00:00:01';

test('buildDataplane hands the config to the parts it builds (constructs only: no device, socket or fd)', () => {
  const d = buildDataplane({ ...BASE, mtu: 1300, vxlanPort: 7000, trustedSubnets: ['10.1.0.0/16'] }, SELF, silentLogger(), createRegistry());
  assert.equal(d.plumbing.bridge, 'weft');
  assert.equal(d.sleeve.mtu, 1300);
  assert.equal(d.overlay.mtu, Math.min(1300, VXLAN_DEVICE_MTU));
  const s = d.overlay.status();
  assert.equal(s.vxlan.port, 7000);
  assert.equal(s.vxlan.probePort, 7000 + FASTPATH_PROBE_PORT_OFFSET);
  assert.deepEqual(s.trustedSubnets, ['10.1.0.0/16']);
  assert.equal(s.kernelPaths.enabled, true);
  assert.equal(s.espTransport.reason, 'not probed yet');
});

test('buildDataplane: --no-fastdp and --no-hostgw reach the switch, defaults fill what the config leaves out', () => {
  const off = buildDataplane({ ...BASE, fastdp: false }, SELF, silentLogger(), createRegistry()).overlay.status();
  assert.deepEqual(off.kernelPaths, { enabled: false, reason: 'fast path disabled (--no-fastdp)' });
  const noGw = buildDataplane({ ...BASE, hostGw: false }, SELF, silentLogger(), createRegistry()).overlay;
  assert.deepEqual(noGw.status().hostGw, { enabled: false, reason: 'host-gw disabled (--no-hostgw)' });
  assert.equal(noGw.status().vxlan.port, DEFAULT_VXLAN_PORT);
  assert.equal(noGw.mtu, Math.min(buildDataplane(BASE, SELF, silentLogger(), createRegistry()).sleeve.mtu, VXLAN_DEVICE_MTU));
});

test('buildDataplane refuses an invalid bridge name before anything exists', () => {
  assert.throws(() => buildDataplane({ ...BASE, bridge: 'no spaces allowed' }, SELF, silentLogger(), createRegistry()),
    (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
});
