import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger, isWeftError } from '../common/index.js';
import { HostPlumbing, resolveNetns, vethNames, IFNAME_MAX, type CommandRunner, type CommandResult } from './index.js';
import { checkCidr, endpointAlias, parseEndpointAlias } from './netns.js';
import { execRunner, firstLine } from './exec.js';

/** Scripted runner: answers by matching the joined command line; records every call. */
function fakeRunner(answers: [RegExp, Partial<CommandResult>][] = []): { run: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  const run: CommandRunner = async (cmd, args) => {
    const line = [cmd, ...args].join(' ');
    calls.push(line);
    const hit = answers.find(([re]) => re.test(line));
    return { code: 0, stdout: '', stderr: '', ...(hit ? hit[1] : {}) };
  };
  return { run, calls };
}

const missing = { code: 1, stderr: 'Device "x" does not exist.\n' };

test('netns references and derived names', () => {
  assert.equal(resolveNetns('pod1'), '/run/netns/pod1');
  assert.equal(resolveNetns('/run/netns/pod1'), '/run/netns/pod1');
  assert.equal(resolveNetns('/proc/123/ns/net'), '/proc/123/ns/net');
  for (const bad of ['', 'a/b/../c', '/x/../y', 'a b', '..']) {
    assert.throws(() => resolveNetns(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  }
  const n = vethNames('8:1234', 'ethwe');
  assert.ok(n.host.length <= IFNAME_MAX && n.temp.length <= IFNAME_MAX);
  assert.notEqual(n.host, vethNames('8:1235', 'ethwe').host);
  assert.notEqual(n.host, vethNames('8:1234', 'eth1').host);
  assert.deepEqual(parseEndpointAlias(endpointAlias('/proc/9/ns/net', 'ethwe')), { ifname: 'ethwe', netns: '/proc/9/ns/net' });
  assert.equal(parseEndpointAlias('something else'), null);
  assert.equal(checkCidr('10.32.0.5/12'), '10.32.0.5/12');
  assert.equal(checkCidr('fd00::1/64'), 'fd00::1/64');
  for (const bad of ['10.0.0.300/8', '10.0.0.1', '10.0.0.1/33', 'x/1']) {
    assert.throws(() => checkCidr(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  }
});

test('setupBridge creates a missing bridge, sets MTU, tx off; refuses a non-bridge of that name', async () => {
  const f = fakeRunner([[/^ip -j -d link show dev weft$/, missing]]);
  await new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: f.run }).setupBridge(1408);
  assert.ok(f.calls.includes('ip link add name weft type bridge'));
  assert.ok(f.calls.includes('ip link set dev weft mtu 1408 up'));
  assert.ok(f.calls.includes('ethtool -K weft tx off'));
  const g = fakeRunner([[/^ip -j -d link show dev weft$/, { stdout: '[{"ifname":"weft","linkinfo":{"info_kind":"veth"}}]' }]]);
  await assert.rejects(new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: g.run }).setupBridge(1408),
    (e) => isWeftError(e, 'WEFT_ERR_HOST') && /veth link with that name exists/.test((e as Error).message));
});

test('setupTap: persistent TAP on the bridge with txqueuelen 5000 and tx off', async () => {
  const f = fakeRunner([[/^ip -j -d link show dev wtap$/, missing]]);
  await new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: f.run }).setupTap('wtap', 1408);
  assert.deepEqual(f.calls.slice(1), [
    'ip tuntap add dev wtap mode tap',
    'ip link set dev wtap master weft mtu 1408 txqueuelen 5000 up',
    'ethtool -K wtap tx off',
  ]);
});

test('command failures become WEFT_ERR_HOST "<what> failed: <stderr first line>"', async () => {
  const f = fakeRunner([
    [/^ip -j -d link show/, missing],
    [/^ip link add name weft/, { code: 2, stderr: '\nRTNETLINK answers: Operation not permitted\nmore\n' }],
  ]);
  await assert.rejects(new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: f.run }).setupBridge(1400), (e) => {
    assert.ok(isWeftError(e, 'WEFT_ERR_HOST'));
    assert.equal((e as Error).message, 'creating bridge weft failed: RTNETLINK answers: Operation not permitted');
    return true;
  });
  assert.equal(firstLine('\n  \n x \n'), 'x');
});

test('attach: veth into the namespace, renamed, tx off, address, up; cleaned up on failure', async () => {
  const f = fakeRunner([
    [/^ip link show dev vwe/, missing],
    [/ip -j link show dev ethwe$/, { stdout: '[{"ifname":"ethwe","address":"aa:bb:cc:00:11:22"}]' }],
  ]);
  const h = new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: f.run });
  const ep = await h.attach({ netns: '/proc/self/ns/net', cidr: '10.32.0.7/12', mtu: 1408 });
  assert.equal(ep.ifname, 'ethwe');
  assert.equal(ep.mac, 'aa:bb:cc:00:11:22');
  assert.match(ep.hostIfname, /^vwe[0-9a-f]{10}$/);
  const ns = 'nsenter --net=/proc/self/ns/net';
  const temp = ep.hostIfname.replace('vwe', 'vwt');
  assert.deepEqual(f.calls.slice(1), [
    `ip link add ${ep.hostIfname} mtu 1408 type veth peer name ${temp} mtu 1408 netns /proc/self/ns/net`,
    `ip link set dev ${ep.hostIfname} master weft alias weft:ethwe:/proc/self/ns/net up`,
    `ethtool -K ${ep.hostIfname} tx off`,
    `${ns} ip link set dev ${temp} name ethwe`,
    `${ns} ethtool -K ethwe tx off`,
    `${ns} sysctl -q -w net.ipv4.conf.ethwe.arp_notify=1`,
    `${ns} ip addr add 10.32.0.7/12 dev ethwe`,
    `${ns} ip link set dev ethwe up`,
    `${ns} ip -j link show dev ethwe`,
  ]);
  const g = fakeRunner([[/^ip link show dev vwe/, missing], [/name ethwe$/, { code: 2, stderr: 'RTNETLINK answers: File exists' }]]);
  await assert.rejects(new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: g.run }).attach({ netns: '/proc/self/ns/net', mtu: 1400 }),
    (e) => isWeftError(e, 'WEFT_ERR_HOST') && /renaming .* failed: RTNETLINK answers: File exists/.test((e as Error).message));
  assert.match(g.calls.at(-1)!, /^ip link del dev vwe/, 'the half-made veth is removed');
  await assert.rejects(h.attach({ netns: '/run/netns/does-not-exist-xyz', mtu: 1400 }), (e) => isWeftError(e, 'WEFT_ERR_NOT_FOUND'));
});

test('listAttached reads weft endpoints from bridge ports and their namespaces', async () => {
  const f = fakeRunner([
    [/^ip -j link show master weft type veth$/, { stdout: JSON.stringify([
      { ifname: 'vwe0123456789', ifalias: 'weft:ethwe:/run/netns/p1' }, { ifname: 'other0', ifalias: 'not ours' }]) }],
    [/nsenter --net=\/run\/netns\/p1 ip -j addr show dev ethwe/, { stdout: JSON.stringify([{ ifname: 'ethwe', address: '02:00:00:00:00:01',
      addr_info: [{ family: 'inet', local: '10.32.0.2', prefixlen: 12 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] }]) }],
  ]);
  const list = await new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: f.run }).listAttached();
  assert.deepEqual(list, [{ netns: '/run/netns/p1', ifname: 'ethwe', hostIfname: 'vwe0123456789', mac: '02:00:00:00:00:01', addresses: ['10.32.0.2/12'] }]);
});

test('expose/hide are idempotent', async () => {
  const f = fakeRunner([
    [/^ip addr add/, { code: 2, stderr: 'Error: ipv4: Address already assigned.' }],
    [/^ip addr del/, { code: 2, stderr: 'Error: ipv4: Address not found.' }],
  ]);
  const h = new HostPlumbing({ bridge: 'weft', log: silentLogger(), run: f.run });
  await h.expose('10.32.0.1/12');
  assert.equal(await h.hide('10.32.0.1/12'), false);
  assert.throws(() => new HostPlumbing({ bridge: 'a/b', log: silentLogger(), run: f.run }), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
});

test('execRunner reports missing commands and exit codes without throwing', async () => {
  const run = execRunner(5000);
  const r = await run('definitely-not-a-command-weft', []);
  assert.equal(r.code, -1);
  assert.match(r.stderr, /command not found/);
  const s = await run('sh', ['-c', 'echo oops >&2; exit 3']);
  assert.equal(s.code, 3);
  assert.equal(s.stderr.trim(), 'oops');
});
