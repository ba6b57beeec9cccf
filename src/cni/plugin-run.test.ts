/**
 * The plugins run as a runtime runs them (fresh process, env + stdin), against an in-memory
 * stand-in daemon. Nothing here needs root: every case stops before plumbing a veth.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandInDaemon } from '../../test/support/cni/stand-in-daemon.js';
import { cniEnv, WEFT_NET_FRONT_ENDS, runPlugin as runPluginAs, type PluginName } from '../../test/support/cni/run-plugin.js';
import { envOf, podmanCalls } from '../../test/support/cni/podman-fixture.js';
import { SUPPORTED_CNI_VERSIONS } from './versions.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cni-'));
const socket = join(dir, 'weft.sock');
const deadSocket = join(dir, 'nobody.sock');
let daemon: StandInDaemon;
const calls = podmanCalls();

before(async () => {
  daemon = new StandInDaemon({ socketPath: socket, network: { bridge: `wftnobr${process.pid % 1000}`, range: '10.99.0.0/16', gateway: '10.99.0.1' } });
  await daemon.start();
});
after(async () => {
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

const netConf = (o: Record<string, unknown> = {}) => ({ cniVersion: '1.0.0', name: 'podnet', type: 'weft-net', socket, ...o });
const ipamConf = (o: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) =>
  ({ cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge: 'cni0', ipam: { type: 'weft-ipam', socket, ...ipam }, ...o });

function assertError(r: { code: number; json: Record<string, unknown> | undefined; stdout: string }, code: number, msg: RegExp, version = '1.0.0'): void {
  assert.equal(r.code, 1, `exit code 1 expected: ${r.stdout}`);
  assert.equal(r.json?.code, code, `CNI code ${code} expected: ${r.stdout}`);
  assert.match(String(r.json?.msg), msg);
  assert.equal(r.json?.cniVersion, version);
}

for (const fe of WEFT_NET_FRONT_ENDS) {
  /** weft-net as the compiled front end or the Node plugin (weft-ipam is always Node). */
  const runPlugin: typeof runPluginAs = (name, env, stdin, opts = {}) => runPluginAs(name, env, stdin, { ...opts, frontEnd: fe });

  test(`[${fe}] VERSION: answers the recorded podman calls per spec, for both plugins`, async () => {
    for (const c of calls.filter((x) => x.CNI_COMMAND === 'VERSION').slice(0, 2)) {
      for (const p of ['weft-net', 'weft-ipam'] as PluginName[]) {
        const r = await runPlugin(p, envOf(c), c.stdin);
        assert.equal(r.code, 0, r.stdout);
        assert.deepEqual(r.json, { cniVersion: '1.0.0', supportedVersions: [...SUPPORTED_CNI_VERSIONS] });
      }
    }
    const bare = await runPlugin('weft-net', { CNI_COMMAND: 'VERSION' }, '');
    assert.equal(bare.json?.cniVersion, '1.1.0');
  });

  test(`[${fe}] weft-ipam: ADD result in every version, CHECK, DEL twice, owner per attachment`, async () => {
    for (const [i, v] of SUPPORTED_CNI_VERSIONS.entries()) {
      const env = cniEnv('ADD', { containerId: `ipam${i}`, netns: '/run/netns/whatever' });
      const add = await runPlugin('weft-ipam', env, ipamConf({ cniVersion: v, dns: { nameservers: ['10.99.0.1'] } }));
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const ip = (add.json!.ips as Record<string, unknown>[])[0]!;
      assert.equal(add.json!.cniVersion, v);
      assert.equal(add.json!.interfaces, undefined, 'IPAM results have no interfaces');
      assert.equal(ip.interface, undefined);
      assert.equal(ip.version, v.startsWith('0.') ? '4' : undefined);
      assert.match(String(ip.address), /^10\.99\.\d+\.\d+\/16$/);
      assert.deepEqual(add.json!.dns, { nameservers: ['10.99.0.1'] });
      assert.equal(daemon.allocations.get(`cni/podnet/ipam${i}/eth0`), String(ip.address).split('/')[0]);
      if (v !== '0.3.0' && v !== '0.3.1') {
        const check = await runPlugin('weft-ipam', { ...env, CNI_COMMAND: 'CHECK' }, ipamConf({ cniVersion: v, prevResult: add.json }));
        assert.equal(check.code, 0, check.stdout);
        assert.equal(check.stdout, '');
      }
      for (let k = 0; k < 2; k++) {
        const del = await runPlugin('weft-ipam', { ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, ipamConf({ cniVersion: v, prevResult: add.json }));
        assert.equal(del.code, 0, del.stdout);
        assert.equal(del.stdout, '');
      }
      assert.equal(daemon.allocations.has(`cni/podnet/ipam${i}/eth0`), false);
    }
  });

  test(`[${fe}] weft-ipam: defaultRoute adds the gateway; CHECK after release names the missing allocation`, async () => {
    const env = cniEnv('ADD', { containerId: 'gw1', netns: '/run/netns/x' });
    const add = await runPlugin('weft-ipam', env, ipamConf({}, { defaultRoute: true }));
    assert.equal(add.code, 0, add.stdout);
    assert.equal((add.json!.ips as Record<string, unknown>[])[0]!.gateway, '10.99.0.1');
    assert.deepEqual(add.json!.routes, [{ dst: '0.0.0.0/0', gw: '10.99.0.1' }]);
    daemon.allocations.delete('cni/podnet/gw1/eth0');
    const check = await runPlugin('weft-ipam', { ...env, CNI_COMMAND: 'CHECK' }, ipamConf({ prevResult: add.json }));
    assertError(check, 999, /CHECK failed: the weft daemon holds no allocation for cni\/podnet\/gw1\/eth0/);
  });

  test(`[${fe}] weft-ipam: the recorded podman ADD stdin (host-local ranges) is refused as an unsupported field`, async () => {
    const c = calls.find((x) => x.CNI_COMMAND === 'ADD')!;
    const stdin = { ...c.stdin, ipam: { ...(c.stdin.ipam as object), type: 'weft-ipam', socket } };
    const r = await runPlugin('weft-ipam', envOf(c), stdin);
    assertError(r, 2, /unsupported field "ipam\.(dataDir|ranges)"/);
  });

  test(`[${fe}] STATUS: success without output, 51 with the IPAM reason, 50 when the daemon is down; below 1.1.0 refused`, async () => {
    const conf11 = netConf({ cniVersion: '1.1.0' });
    for (const p of ['weft-net', 'weft-ipam'] as PluginName[]) {
      const conf = p === 'weft-net' ? conf11 : ipamConf({ cniVersion: '1.1.0' });
      const ok = await runPlugin(p, { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' }, conf);
      assert.equal(ok.code, 0, ok.stdout);
      assert.equal(ok.stdout, '');
      daemon.ipam = { status: 'awaiting-consensus', reason: 'awaiting consensus: 1 of 3 expected peers known' };
      try {
        const notReady = await runPlugin(p, { CNI_COMMAND: 'STATUS' }, conf);
        assertError(notReady, 51, /weft IPAM is not ready \(awaiting-consensus\): awaiting consensus: 1 of 3/, '1.1.0');
      } finally {
        daemon.ipam = { status: 'ready' };
      }
      const deadConf = p === 'weft-net' ? netConf({ cniVersion: '1.1.0', socket: deadSocket }) : ipamConf({ cniVersion: '1.1.0' }, { socket: deadSocket });
      const down = await runPlugin(p, { CNI_COMMAND: 'STATUS' }, deadConf);
      assertError(down, 50, new RegExp(`weft daemon not available: weft daemon is not running \\(no API socket at ${deadSocket}\\)`), '1.1.0');
    }
    const old = await runPlugin('weft-net', { CNI_COMMAND: 'STATUS' }, netConf());
    assertError(old, 1, /STATUS needs cniVersion 1\.1\.0/);
  });

  test(`[${fe}] ADD while IPAM is not ready: 11 (try again later) with the reason`, async () => {
    daemon.ipam = { status: 'idle', reason: 'observer: waiting to receive a ring' };
    try {
      const r = await runPlugin('weft-ipam', cniEnv('ADD', { containerId: 'nr', netns: '/run/netns/x' }), ipamConf());
      assertError(r, 11, /allocating an address for cni\/podnet\/nr\/eth0: IPAM not ready: observer: waiting to receive a ring/);
    } finally {
      daemon.ipam = { status: 'ready' };
    }
  });

  test(`[${fe}] GC: releases every allocation of this network not listed, keeps the rest and other networks`, async () => {
    daemon.allocations.clear();
    daemon.allocations.set('cni/podnet/keep/eth0', '10.99.9.1');
    daemon.allocations.set('cni/podnet/stale/eth0', '10.99.9.2');
    daemon.allocations.set('cni/podnet/keep/net1', '10.99.9.3');
    daemon.allocations.set('cni/other/stale/eth0', '10.99.9.4');
    daemon.allocations.set('attach/x/ethwe', '10.99.9.5');
    const r = await runPlugin('weft-net', { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' },
      netConf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual([...daemon.allocations.keys()].sort(), ['attach/x/ethwe', 'cni/other/stale/eth0', 'cni/podnet/keep/eth0']);
    const ipam = await runPlugin('weft-ipam', { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, { ...ipamConf({ cniVersion: '1.1.0', name: 'other' }) });
    assert.equal(ipam.code, 0, ipam.stdout);
    assert.equal(daemon.allocations.has('cni/other/stale/eth0'), false);
    const old = await runPlugin('weft-net', { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, netConf());
    assertError(old, 1, /GC needs cniVersion 1\.1\.0/);
    daemon.allocations.clear();
  });

  test(`[${fe}] weft-net DEL: empty netns (containerd) and repeated DELs release and succeed; daemon down is 11`, async () => {
    daemon.allocations.set('cni/podnet/gone/eth0', '10.99.9.9');
    const env = cniEnv('DEL', { containerId: 'gone', netns: '' });
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'vwe0000000000', mac: '02:00:00:00:00:01' }, { name: 'eth0', sandbox: '/run/netns/gone' }], ips: [{ address: '10.99.9.9/16', interface: 1 }] };
    for (let k = 0; k < 3; k++) {
      const r = await runPlugin('weft-net', env, netConf({ prevResult }));
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
    }
    assert.equal(daemon.allocations.has('cni/podnet/gone/eth0'), false);
    const nsGone = await runPlugin('weft-net', { ...env, CNI_NETNS: '/run/netns/wft-never-existed' }, netConf());
    assert.equal(nsGone.code, 0, nsGone.stdout);
    const down = await runPlugin('weft-net', env, netConf({ socket: deadSocket }));
    assertError(down, 11, /weft daemon is not running/);
  });

  test(`[${fe}] weft-net ADD: a netns that is missing, not a netns, or the host's own is refused before anything is allocated`, async () => {
    const before = daemon.calls.length;
    const missing = await runPlugin('weft-net', cniEnv('ADD', { netns: '/run/netns/wft-does-not-exist' }), netConf());
    assertError(missing, 3, /network namespace \/run\/netns\/wft-does-not-exist \(CNI_NETNS\) does not exist/);
    const notNs = await runPlugin('weft-net', cniEnv('ADD', { netns: '/etc/hostname' }), netConf());
    assertError(notNs, 4, /CNI_NETNS \/etc\/hostname is not a network namespace/);
    const own = await runPlugin('weft-net', cniEnv('ADD', { netns: '/proc/self/ns/net' }), netConf());
    assertError(own, 4, /is the plugin's own \(host\) network namespace/);
    const check = await runPlugin('weft-net', cniEnv('CHECK', { netns: '/run/netns/wft-does-not-exist' }),
      netConf({ prevResult: { cniVersion: '1.0.0', ips: [] } }));
    assertError(check, 3, /does not exist/);
    assert.equal(daemon.calls.length, before, 'the daemon was not asked for anything');
  });

  test(`[${fe}] errors: env, decoding, version and config errors carry their codes`, async () => {
    const noCmd = await runPlugin('weft-net', {}, netConf());
    assertError(noCmd, 4, /CNI_COMMAND is not set/, '1.0.0');
    assert.match(noCmd.stderr, /a CNI plugin of weft/);
    assertError(await runPlugin('weft-net', { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0' }, netConf()), 4, /CNI_CONTAINERID, CNI_NETNS not set for ADD/);
    assertError(await runPlugin('weft-net', cniEnv('ADD', { netns: '/x' }), '{"cniVersion": "1.0.0", "name": '), 6, /not valid JSON/, '1.1.0');
    assertError(await runPlugin('weft-net', cniEnv('ADD', { netns: '/x' }), netConf({ cniVersion: '0.2.0' })), 1, /incompatible CNI version 0\.2\.0/, '1.1.0');
    assertError(await runPlugin('weft-net', cniEnv('ADD', { netns: '/x' }), netConf({ mtu: 'big' })), 7, /"mtu" must be an integer/);
    assertError(await runPlugin('weft-net', cniEnv('ADD', { netns: '/x' }), netConf({ ipMasq: true })), 2, /unsupported field "ipMasq"/);
    const check = await runPlugin('weft-net', cniEnv('CHECK', { netns: '/x' }), netConf({ cniVersion: '0.3.1', prevResult: { ips: [] } }));
    assertError(check, 1, /CHECK needs cniVersion 0\.4\.0 or later; the configuration says 0\.3\.1/, '0.3.1');
    const noPrev = await runPlugin('weft-net', cniEnv('CHECK', { netns: '/x' }), netConf());
    assertError(noPrev, 7, /CHECK needs "prevResult"/);
    const delegate = await runPlugin('weft-net', cniEnv('DEL', { netns: '', path: join(dir, 'no-plugins') }), netConf({ ipam: { type: 'wft-no-such-ipam' } }));
    assertError(delegate, 7, /IPAM plugin "wft-no-such-ipam" \(ipam\.type\) not found in CNI_PATH/);
  });

  test(`[${fe}] weft-net DEL with the recorded podman DEL inputs (prevResult, gone netns): releases, touches no foreign link`, async () => {
    for (const c of calls.filter((x) => x.CNI_COMMAND === 'DEL')) {
      const owner = `cni/${String(c.stdin.name)}/${c.CNI_CONTAINERID}/${c.CNI_IFNAME}`;
      daemon.allocations.set(owner, '10.99.7.7');
      const { ipam: _ipam, ...rest } = c.stdin;
      const r = await runPlugin('weft-net', envOf(c), { ...rest, type: 'weft-net', socket });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(daemon.allocations.has(owner), false);
    }
  });
}
