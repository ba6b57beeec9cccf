/**
 * weft-net plumbing real veths: the plugin runs inside a scratch "host" namespace (as a runtime
 * execs it there) against a stand-in daemon whose bridge lives in that namespace. Covers ADD in
 * every version, CHECK and its mismatches, DEL (twice, empty netns), rollback of a failed ADD,
 * /proc/PID/ns/net paths, delegated IPAM (reference host-local) and GC of stale veths — each
 * against the compiled front end and the Node plugin (the reference).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StandInDaemon } from '../support/cni/stand-in-daemon.js';
import { WEFT_NET_FRONT_ENDS, cniEnv, runPlugin, type PluginRun } from '../support/cni/run-plugin.js';
import { SUPPORTED_CNI_VERSIONS } from '../../src/cni/index.js';
import { run } from '../support/cni-run.js';
import { Lab, isRoot } from '../support/lab.js';
import { waitFor } from '../support/wait.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;
const lab = skip ? null : new Lab();
let daemon: StandInDaemon;
let hostNs = '';
let bridge = '';
const REFERENCE_PLUGINS = '/usr/lib/cni';

before(async () => {
  if (!lab) return;
  hostNs = lab.netns('h');
  bridge = lab.bridge(hostNs, 'br', 1376);
  daemon = new StandInDaemon({ socketPath: join(lab.dir, 'weft.sock'), hostNetns: `/run/netns/${hostNs}`, network: { bridge, mtu: 1376, range: '10.98.0.0/16', gateway: '10.98.0.1' } });
  await daemon.start();
});
after(async () => {
  await daemon?.stop();
  lab?.destroy();
});

const conf = (o: Record<string, unknown> = {}) => ({ cniVersion: '1.0.0', name: 'podnet', type: 'weft-net', socket: daemon.server.socketPath, ...o });
const hostLinks = (): string[] => JSON.parse(lab!.ip(hostNs, ['-j', 'link', 'show', 'type', 'veth']) || '[]').map((l: { ifname: string }) => l.ifname);
const podAddr = (ns: string, ifname: string) => JSON.parse(lab!.ip(ns, ['-j', 'addr', 'show', 'dev', ifname]))[0] as { mtu: number; address: string; addr_info: { local: string; prefixlen: number }[] };

function ok(r: PluginRun): Record<string, unknown> | undefined {
  assert.equal(r.code, 0, `plugin failed: ${r.stdout} ${r.stderr}`);
  return r.json;
}

function fails(r: PluginRun, code: number, msg: RegExp): void {
  assert.equal(r.code, 1, `expected failure, got ${r.stdout}`);
  assert.equal(r.json?.code, code, r.stdout);
  assert.match(String(r.json?.msg), msg);
}

for (const fe of WEFT_NET_FRONT_ENDS) {
  const plugin = (env: Record<string, string>, stdin: unknown): Promise<PluginRun> =>
    runPlugin('weft-net', env, stdin, { hostNetns: `/run/netns/${hostNs}`, frontEnd: fe });

  test(`[${fe}] ADD in every spec version: veth on the bridge, address, MTU, route, tx off, result shape; CHECK; DEL twice`, { skip, timeout: 120_000 }, async () => {
    const pod = lab!.netns(`p1${fe[0]}`);
    const netns = `/run/netns/${pod}`;
    for (const [i, v] of SUPPORTED_CNI_VERSIONS.entries()) {
      const ifname = `eth${i}`;
      const env = cniEnv('ADD', { containerId: 'c1', netns, ifname });
      const res = ok(await plugin(env, conf({ cniVersion: v, dns: { nameservers: ['10.98.0.1'], search: ['svc.local'] } })))!;
      assert.equal(res.cniVersion, v);
      const ifs = res.interfaces as { name: string; mac: string; sandbox?: string; mtu?: number }[];
      const ips = res.ips as { address: string; interface: number; gateway?: string; version?: string }[];
      assert.equal(ifs.length, 2);
      assert.equal(ifs[1]!.name, ifname);
      assert.equal(ifs[1]!.sandbox, netns);
      assert.equal(ifs[1]!.mtu, v === '1.1.0' ? 1376 : undefined);
      assert.equal(ifs[0]!.sandbox, undefined);
      assert.match(ifs[0]!.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      assert.equal(ips[0]!.interface, 1);
      assert.equal(ips[0]!.version, v.startsWith('0.') ? '4' : undefined);
      assert.equal(ips[0]!.gateway, '10.98.0.1');
      assert.deepEqual(res.routes, [{ dst: '10.98.0.0/16' }]);
      assert.deepEqual(res.dns, { nameservers: ['10.98.0.1'], search: ['svc.local'] });
      // The kernel agrees with the result.
      const a = podAddr(pod, ifname);
      assert.equal(a.mtu, 1376);
      assert.equal(a.address, ifs[1]!.mac);
      assert.equal(`${a.addr_info[0]!.local}/${a.addr_info[0]!.prefixlen}`, ips[0]!.address);
      const master = JSON.parse(lab!.ip(hostNs, ['-j', 'link', 'show', 'dev', ifs[0]!.name]))[0].master;
      assert.equal(master, bridge);
      assert.match(run('nsenter', [`--net=${netns}`, 'ethtool', '-k', ifname]), /tx-checksumming: off/);
      assert.match(lab!.ip(pod, ['route', 'show', 'dev', ifname]), /10\.98\.0\.0\/16/);
      assert.equal(daemon.allocations.get(`cni/podnet/c1/${ifname}`), ips[0]!.address.split('/')[0]);
      if (v !== '0.3.0' && v !== '0.3.1') ok(await plugin({ ...env, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: v, prevResult: res })));
      for (let k = 0; k < 2; k++) {
        const del = await plugin({ ...env, CNI_COMMAND: 'DEL' }, conf({ cniVersion: v, prevResult: res }));
        ok(del);
        assert.equal(del.stdout, '');
      }
      assert.ok(!hostLinks().includes(ifs[0]!.name), 'host veth deleted');
      assert.equal(lab!.ip(pod, ['link', 'show', 'dev', ifname], true), '', 'pod interface deleted');
      assert.equal(daemon.allocations.has(`cni/podnet/c1/${ifname}`), false, 'address released');
    }
  });

  test(`[${fe}] CHECK reports each difference: MTU, address, route, host veth, allocation`, { skip, timeout: 60_000 }, async () => {
    const pod = lab!.netns(`p2${fe[0]}`);
    const netns = `/run/netns/${pod}`;
    const env = cniEnv('ADD', { containerId: 'chk', netns });
    const res = ok(await plugin(env, conf({ defaultRoute: true })))!;
    assert.deepEqual((res.routes as unknown[]).at(-1), { dst: '0.0.0.0/0', gw: '10.98.0.1' });
    assert.match(lab!.ip(pod, ['route', 'show', 'default']), /via 10\.98\.0\.1 dev eth0/);
    const check = () => plugin({ ...env, CNI_COMMAND: 'CHECK' }, conf({ defaultRoute: true, prevResult: res }));
    ok(await check());
    lab!.ip(pod, ['link', 'set', 'dev', 'eth0', 'mtu', '1300']);
    fails(await check(), 999, /CHECK failed: interface eth0 has MTU 1300, expected 1376/);
    lab!.ip(pod, ['link', 'set', 'dev', 'eth0', 'mtu', '1376']);
    lab!.ip(pod, ['route', 'del', 'default']);
    fails(await check(), 999, /CHECK failed: route 0\.0\.0\.0\/0 via 10\.98\.0\.1 is missing on eth0/);
    lab!.ip(pod, ['route', 'add', 'default', 'via', '10.98.0.1', 'dev', 'eth0']);
    const owner = 'cni/podnet/chk/eth0';
    const addr = daemon.allocations.get(owner)!;
    daemon.allocations.delete(owner);
    fails(await check(), 999, new RegExp(`CHECK failed: the weft daemon holds no allocation of ${addr.replace(/\./g, '\\.')} for ${owner}`));
    daemon.allocations.set(owner, addr);
    const ip = (res.ips as { address: string }[])[0]!.address;
    lab!.ip(pod, ['addr', 'del', ip, 'dev', 'eth0']);
    fails(await check(), 999, new RegExp(`CHECK failed: address ${ip.replace(/\./g, '\\.')} is missing from eth0`));
    const hostVeth = (res.interfaces as { name: string }[])[0]!.name;
    lab!.ip(hostNs, ['link', 'set', 'dev', hostVeth, 'nomaster']);
    lab!.ip(pod, ['addr', 'add', ip, 'dev', 'eth0']);
    lab!.ip(pod, ['route', 'add', 'default', 'via', '10.98.0.1', 'dev', 'eth0']);
    fails(await check(), 999, new RegExp(`CHECK failed: host veth ${hostVeth} is attached to no bridge, not to ${bridge}`));
    lab!.ip(pod, ['link', 'del', 'dev', 'eth0']);
    fails(await check(), 999, /CHECK failed: interface eth0 does not exist in/);
    ok(await plugin({ ...env, CNI_COMMAND: 'DEL' }, conf({ prevResult: res })));
    assert.equal(daemon.allocations.has(owner), false);
  });

  test(`[${fe}] a failed ADD leaves no veth and no allocation (failure after allocation and after the veth)`, { skip, timeout: 60_000 }, async () => {
    const pod = lab!.netns(`p3${fe[0]}`);
    const netns = `/run/netns/${pod}`;
    const veths = hostLinks();
    // 1. The bridge is missing (renamed away): attaching fails after the address was allocated (before any veth exists).
    lab!.ip(hostNs, ['link', 'set', 'dev', bridge, 'down']);
    lab!.ip(hostNs, ['link', 'set', 'dev', bridge, 'name', `${lab!.prefix}nobr`]);
    try {
      fails(await plugin(cniEnv('ADD', { containerId: 'fail1', netns }), conf()), 999, new RegExp(`link ${bridge} .*does not exist`));
    } finally {
      lab!.ip(hostNs, ['link', 'set', 'dev', `${lab!.prefix}nobr`, 'name', bridge]);
      lab!.ip(hostNs, ['link', 'set', 'dev', bridge, 'up']);
    }
    // 2. The default route's gateway is off-link: fails after veth, address and overlay route.
    const realGw = daemon.network.gateway;
    daemon.network.gateway = '198.18.250.1';
    try {
      fails(await plugin(cniEnv('ADD', { containerId: 'fail2', netns }), conf({ defaultRoute: true })), 999, /adding route 0\.0\.0\.0\/0 via 198\.18\.250\.1 on eth0 in \/run\/netns\/.* failed: .*ENETUNREACH/);
    } finally {
      daemon.network.gateway = realGw;
    }
    assert.deepEqual(hostLinks(), veths, 'no veth left on the host');
    assert.equal(lab!.ip(pod, ['link', 'show', 'dev', 'eth0'], true), '', 'no interface left in the pod');
    assert.equal(daemon.allocations.has('cni/podnet/fail1/eth0'), false);
    assert.equal(daemon.allocations.has('cni/podnet/fail2/eth0'), false);
    // 3. The interface name is taken: refused before anything is allocated.
    lab!.ip(pod, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
    fails(await plugin(cniEnv('ADD', { containerId: 'fail3', netns }), conf()), 999, /interface eth0 already exists in/);
    assert.equal(daemon.allocations.has('cni/podnet/fail3/eth0'), false);
    assert.deepEqual(hostLinks(), veths);
  });

  test(`[${fe}] /proc/PID/ns/net paths; DEL with an empty CNI_NETNS after the namespace is gone`, { skip, timeout: 60_000 }, async () => {
    const pod = lab!.netns(`p4${fe[0]}`);
    const pid = await lab!.sleeper(pod);
    const netns = `/proc/${pid}/ns/net`;
    const env = cniEnv('ADD', { containerId: 'procns', netns });
    const res = ok(await plugin(env, conf()))!;
    assert.equal((res.interfaces as { sandbox?: string }[])[1]!.sandbox, netns);
    assert.match(lab!.ip(pod, ['addr', 'show', 'dev', 'eth0']), /10\.98\./);
    ok(await plugin({ ...env, CNI_COMMAND: 'CHECK' }, conf({ prevResult: res })));
    // containerd removes the namespace and then sends DEL with CNI_NETNS="".
    lab!.removeNetns(pod);
    run('kill', ['-9', String(pid)], { allowFail: true });
    await waitFor(() => !existsSync(`/proc/${pid}`), { timeoutMs: 10_000, what: `sleeper ${pid} gone` });
    for (let k = 0; k < 2; k++) ok(await plugin({ ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf({ prevResult: res })));
    assert.equal(daemon.allocations.has('cni/podnet/procns/eth0'), false);
    assert.ok(!hostLinks().includes((res.interfaces as { name: string }[])[0]!.name));
  });

  test(`[${fe}] delegated IPAM: weft-net with the reference host-local plugin`, { skip: skip || (!existsSync(join(REFERENCE_PLUGINS, 'host-local')) && 'reference CNI plugins not installed (bash scripts/setup-system.sh installs containernetworking-plugins)'), timeout: 60_000 }, async () => {
    const pod = lab!.netns(`p5${fe[0]}`);
    const netns = `/run/netns/${pod}`;
    const ipam = { type: 'host-local', dataDir: join(lab!.dir, 'host-local'), ranges: [[{ subnet: '10.98.200.0/24', gateway: '10.98.200.1' }]], routes: [{ dst: '10.97.0.0/16' }] };
    const env = cniEnv('ADD', { containerId: 'deleg', netns, path: REFERENCE_PLUGINS });
    const res = ok(await plugin(env, conf({ ipam })))!;
    const ip = (res.ips as { address: string; gateway?: string }[])[0]!;
    assert.match(ip.address, /^10\.98\.200\.\d+\/24$/);
    assert.equal(ip.gateway, '10.98.200.1');
    assert.deepEqual(res.routes, [{ dst: '10.98.0.0/16' }, { dst: '10.97.0.0/16' }]);
    assert.match(lab!.ip(pod, ['route', 'show']), /10\.97\.0\.0\/16 dev eth0/);
    assert.equal([...daemon.allocations.keys()].some((k) => k.includes('deleg')), false, 'the daemon allocated nothing');
    ok(await plugin({ ...env, CNI_COMMAND: 'CHECK' }, conf({ ipam, prevResult: res })));
    ok(await plugin({ ...env, CNI_COMMAND: 'DEL' }, conf({ ipam, prevResult: res })));
    assert.equal(existsSync(join(lab!.dir, 'host-local', 'podnet', ip.address.split('/')[0]!)), false, 'host-local lease released');
  });

  test(`[${fe}] GC: releases stale allocations of the network and deletes their veths; valid ones stay`, { skip, timeout: 60_000 }, async () => {
    const keepNs = lab!.netns(`p6${fe[0]}`);
    const staleNs = lab!.netns(`p7${fe[0]}`);
    const keep = ok(await plugin(cniEnv('ADD', { containerId: 'gckeep', netns: `/run/netns/${keepNs}` }), conf()))!;
    const stale = ok(await plugin(cniEnv('ADD', { containerId: 'gcstale', netns: `/run/netns/${staleNs}` }), conf()))!;
    const keepVeth = (keep.interfaces as { name: string }[])[0]!.name;
    const staleVeth = (stale.interfaces as { name: string }[])[0]!.name;
    ok(await plugin({ CNI_COMMAND: 'GC', CNI_PATH: REFERENCE_PLUGINS },
      conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'gckeep', ifname: 'eth0' }] })));
    assert.equal(daemon.allocations.has('cni/podnet/gcstale/eth0'), false);
    assert.equal(daemon.allocations.has('cni/podnet/gckeep/eth0'), true);
    const links = hostLinks();
    assert.ok(links.includes(keepVeth), 'valid attachment keeps its veth');
    assert.ok(!links.includes(staleVeth), 'stale veth deleted');
    ok(await plugin(cniEnv('DEL', { containerId: 'gckeep', netns: `/run/netns/${keepNs}` }), conf({ prevResult: keep })));
  });

  test(`[${fe}] DEL while the daemon is down: retried (11), nothing changes; the retry removes the veth and releases`, { skip, timeout: 60_000 }, async () => {
    const pod = lab!.netns(`p8${fe[0]}`);
    const env = cniEnv('ADD', { containerId: 'down', netns: `/run/netns/${pod}` });
    const res = ok(await plugin(env, conf()))!;
    const veth = (res.interfaces as { name: string }[])[0]!.name;
    const down = await plugin({ ...env, CNI_COMMAND: 'DEL' }, conf({ socket: join(lab!.dir, 'no-daemon.sock'), prevResult: res }));
    fails(down, 11, /weft daemon is not running/);
    assert.ok(hostLinks().includes(veth), 'the plugin touches no link itself: the veth waits for the daemon');
    assert.equal(daemon.allocations.has('cni/podnet/down/eth0'), true, 'not released yet');
    ok(await plugin({ ...env, CNI_COMMAND: 'DEL' }, conf({ prevResult: res })));
    assert.ok(!hostLinks().includes(veth), 'veth deleted by the retried DEL');
    assert.equal(daemon.allocations.has('cni/podnet/down/eth0'), false);
  });
}
