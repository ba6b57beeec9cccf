import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError, type WeftErrorCode } from '../common/index.js';
import { CniError, toCniError } from './cni-error.js';
import { parseCniEnv } from './cni-env.js';
import { cidrNetwork, formatResult, parseResult, type CniResult } from './cni-result.js';
import { ownerId, parseNetConf } from './netconf.js';
import { SUPPORTED_CNI_VERSIONS, checkVerbAllowed, compareVersions, requireSupportedVersion } from './versions.js';

const cniCode = (fn: () => unknown): { code: number; msg: string } => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CniError, `expected a CniError, got ${String(e)}`);
    return { code: e.cniCode, msg: e.message };
  }
  assert.fail('expected an error');
};

const result: CniResult = {
  interfaces: [{ name: 'vwe0123456789', mac: 'aa:bb:cc:dd:ee:01' }, { name: 'eth0', mac: 'aa:bb:cc:dd:ee:02', mtu: 1376, sandbox: '/run/netns/x' }],
  ips: [{ address: '10.32.0.5/12', gateway: '10.32.0.1', interface: 1 }],
  routes: [{ dst: '10.32.0.0/12' }, { dst: '0.0.0.0/0', gw: '10.32.0.1' }],
  dns: { nameservers: ['10.32.0.1'] },
};

test('versions: comparison, support, verbs per version', () => {
  assert.ok(compareVersions('0.4.0', '0.3.1') > 0);
  assert.ok(compareVersions('1.0.0', '1.1.0') < 0);
  assert.equal(compareVersions('1.1.0', '1.1.0'), 0);
  for (const v of SUPPORTED_CNI_VERSIONS) assert.equal(requireSupportedVersion(v), v);
  assert.equal(cniCode(() => requireSupportedVersion('0.2.0')).code, 1);
  assert.equal(cniCode(() => requireSupportedVersion('9.9.9')).code, 1);
  assert.equal(cniCode(() => requireSupportedVersion(undefined)).code, 6);
  assert.equal(cniCode(() => requireSupportedVersion(1)).code, 6);
  assert.match(cniCode(() => checkVerbAllowed('CHECK', '0.3.1')).msg, /CHECK needs cniVersion 0\.4\.0/);
  assert.equal(cniCode(() => checkVerbAllowed('GC', '1.0.0')).code, 1);
  assert.equal(cniCode(() => checkVerbAllowed('STATUS', '0.4.0')).code, 1);
  checkVerbAllowed('CHECK', '0.4.0');
  checkVerbAllowed('GC', '1.1.0');
  checkVerbAllowed('DEL', '0.3.0');
});

test('result: each version gets its own shape', () => {
  const r11 = formatResult(result, '1.1.0') as { cniVersion: string; ips: Record<string, unknown>[]; interfaces: Record<string, unknown>[] };
  assert.equal(r11.cniVersion, '1.1.0');
  assert.deepEqual(r11.ips[0], { interface: 1, address: '10.32.0.5/12', gateway: '10.32.0.1' });
  assert.equal(r11.interfaces[1]!.mtu, 1376);
  const r10 = formatResult(result, '1.0.0') as { ips: Record<string, unknown>[]; interfaces: Record<string, unknown>[] };
  assert.equal(r10.interfaces[1]!.mtu, undefined, 'interface mtu is 1.1.0 only');
  assert.equal(r10.ips[0]!.version, undefined);
  for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    const r = formatResult(result, v) as { cniVersion: string; ips: Record<string, unknown>[]; routes: unknown[]; dns: unknown };
    assert.equal(r.cniVersion, v);
    assert.deepEqual(r.ips[0], { version: '4', interface: 1, address: '10.32.0.5/12', gateway: '10.32.0.1' });
    assert.deepEqual(r.routes, [{ dst: '10.32.0.0/12' }, { dst: '0.0.0.0/0', gw: '10.32.0.1' }]);
    assert.deepEqual(r.dns, { nameservers: ['10.32.0.1'] });
  }
  const v6 = formatResult({ ips: [{ address: 'fd00::5/64' }] }, '0.4.0') as { ips: Record<string, unknown>[]; dns: unknown };
  assert.equal(v6.ips[0]!.version, '6');
  assert.deepEqual(v6.dns, {}, 'IPAM results carry an empty dns when there is none');
});

test('result: parse round-trips every version and names bad fields', () => {
  for (const v of SUPPORTED_CNI_VERSIONS) {
    assert.deepEqual(parseResult(formatResult(result, v), 'prevResult').ips, result.ips);
  }
  assert.match(cniCode(() => parseResult({ ips: [{ address: '10.0.0.1' }] }, 'prevResult')).msg, /prevResult\.ips\[0\]: "address" must be an address in CIDR/);
  assert.match(cniCode(() => parseResult({ ips: [], routes: [{ dst: 'x' }] }, 'p')).msg, /p\.routes\[0\]/);
  assert.match(cniCode(() => parseResult({ ips: [], interfaces: [{}] }, 'p')).msg, /"name" is missing/);
  assert.equal(cniCode(() => parseResult('x', 'p')).code, 7);
});

test('cidrNetwork', () => {
  assert.equal(cidrNetwork('10.32.0.5/12'), '10.32.0.0/12');
  assert.equal(cidrNetwork('10.45.13.2/24'), '10.45.13.0/24');
  assert.equal(cidrNetwork('192.168.1.77/32'), '192.168.1.77/32');
  assert.equal(cidrNetwork('1.2.3.4/0'), '0.0.0.0/0');
});

test('env: every verb requires its variables and names the missing ones', () => {
  assert.match(cniCode(() => parseCniEnv({})).msg, /CNI_COMMAND is not set/);
  assert.equal(cniCode(() => parseCniEnv({ CNI_COMMAND: 'ADDX' })).code, 4);
  const add = cniCode(() => parseCniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc' }));
  assert.equal(add.code, 4);
  assert.match(add.msg, /CNI_NETNS, CNI_IFNAME not set for ADD/);
  assert.match(cniCode(() => parseCniEnv({ CNI_COMMAND: 'DEL', CNI_IFNAME: 'eth0' })).msg, /CNI_CONTAINERID not set for DEL/);
  assert.match(cniCode(() => parseCniEnv({ CNI_COMMAND: 'GC' })).msg, /CNI_PATH not set for GC/);
  assert.match(cniCode(() => parseCniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: '-bad', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' })).msg, /CNI_CONTAINERID "-bad" is invalid/);
  assert.match(cniCode(() => parseCniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a', CNI_NETNS: '/x', CNI_IFNAME: 'a-very-long-ifname' })).msg, /CNI_IFNAME/);
  assert.match(cniCode(() => parseCniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a', CNI_NETNS: 'x', CNI_IFNAME: 'eth0' })).msg, /CNI_NETNS "x" must be an absolute path/);
  const del = parseCniEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0', CNI_NETNS: '', CNI_PATH: '/a::/b' });
  assert.equal(del.netns, '');
  assert.deepEqual(del.path, ['/a', '/b']);
  assert.equal(parseCniEnv({ CNI_COMMAND: 'STATUS' }).command, 'STATUS');
  assert.equal(parseCniEnv({ CNI_COMMAND: 'VERSION', CNI_NETNS: 'dummy' }).command, 'VERSION');
});

const conf = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'weft', type: 'weft-net', ...o }));

test('netconf: defaults, known fields, unknown fields accepted', () => {
  const c = parseNetConf(conf({ whatever: { x: 1 }, mtu: 1400, defaultRoute: true, dns: { nameservers: ['10.0.0.1'], search: ['a'] } }), 'ADD', 'weft-net');
  assert.equal(c.socket, '/run/weft/weft.sock');
  assert.equal(c.mtu, 1400);
  assert.equal(c.defaultRoute, true);
  assert.deepEqual(c.dns, { nameservers: ['10.0.0.1'], search: ['a'] });
  assert.equal(c.ipamType, undefined);
  assert.equal(parseNetConf(conf({ ipam: { type: 'host-local' } }), 'ADD', 'weft-net').ipamType, 'host-local');
  const ipam = parseNetConf(conf({ type: 'bridge', socket: '/top.sock', ipam: { type: 'weft-ipam', socket: '/x/weft.sock', defaultRoute: true } }), 'ADD', 'weft-ipam');
  assert.equal(ipam.socket, '/x/weft.sock');
  assert.equal(ipam.defaultRoute, true);
  assert.equal(parseNetConf(conf({ ipam: { type: 'weft-ipam' }, socket: '/top.sock' }), 'ADD', 'weft-ipam').socket, '/top.sock');
  assert.equal(ownerId('weft', 'abc', 'eth0'), 'cni/weft/abc/eth0');
});

test('netconf: each bad input has its own code and names the field', () => {
  const err = (raw: Buffer | string, cmd: 'ADD' | 'CHECK' | 'GC' = 'ADD', kind: 'weft-net' | 'weft-ipam' = 'weft-net') =>
    cniCode(() => parseNetConf(Buffer.from(raw), cmd, kind));
  assert.deepEqual(err(''), { code: 6, msg: 'no network configuration on stdin (expected a JSON object)' });
  assert.equal(err('{"cniVersion":').code, 6);
  assert.equal(err('[1]').code, 6);
  assert.equal(err(JSON.stringify({ name: 'x' })).code, 6);
  assert.equal(err(conf({ cniVersion: '0.2.0' })).code, 1);
  assert.match(err(conf({ name: undefined })).msg, /"name" \(the network name\) is missing/);
  assert.equal(err(conf({ name: 'bad/name' })).code, 7);
  assert.match(err(conf({ mtu: '1400' })).msg, /"mtu" must be an integer 68-65535, got "1400"/);
  assert.match(err(conf({ mtu: 10 })).msg, /"mtu"/);
  assert.match(err(conf({ socket: 5 })).msg, /"socket" must be a string/);
  assert.match(err(conf({ socket: 'rel/path' })).msg, /"socket" must be an absolute path/);
  assert.match(err(conf({ defaultRoute: 'yes' })).msg, /"defaultRoute" must be true or false/);
  assert.match(err(conf({ ipam: 'host-local' })).msg, /"ipam" must be an object/);
  assert.match(err(conf({ dns: { nameservers: ['not-an-ip'] } })).msg, /nameserver "not-an-ip"/);
  assert.deepEqual(err(conf({ ipMasq: true })).code, 2);
  assert.match(err(conf({ ipMasq: true })).msg, /unsupported field "ipMasq"/);
  const foreign = err(conf({ ipam: { type: 'weft-ipam', ranges: [[{ subnet: '10.45.13.0/24' }]] } }), 'ADD', 'weft-ipam');
  assert.equal(foreign.code, 2);
  assert.match(foreign.msg, /unsupported field "ipam\.ranges": \[\[\{"subnet":"10\.45\.13\.0\/24"\}\]\]/);
  assert.match(err(conf({}), 'CHECK').msg, /CHECK needs "prevResult"/);
  assert.match(err(conf({ prevResult: { ips: [{ address: 'x' }] } })).msg, /"prevResult"\.ips\[0\]/);
  assert.equal(err(conf({}), 'GC').code, 1, 'GC needs 1.1.0');
  assert.match(err(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'a' }] }), 'GC').msg, /valid-attachments"\[0\]/);
});

test('netconf: GC valid attachments', () => {
  const c = parseNetConf(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }] }), 'GC', 'weft-net');
  assert.deepEqual(c.validAttachments, [{ containerID: 'a', ifname: 'eth0' }]);
  assert.deepEqual(parseNetConf(conf({ cniVersion: '1.1.0' }), 'GC', 'weft-net').validAttachments, []);
});

test('toCniError maps weft codes, never text: namespace missing 3, not a namespace 4, transient 11, others 999 with the code in details', () => {
  const cases: [WeftErrorCode, number][] = [
    ['WEFT_ERR_NETNS_NOT_FOUND', 3], ['WEFT_ERR_NETNS_INVALID', 4], ['WEFT_ERR_NOT_RUNNING', 11], ['WEFT_ERR_TIMEOUT', 11],
    ['WEFT_ERR_CLOSED', 11], ['WEFT_ERR_IPAM_NOT_READY', 11], ['WEFT_ERR_RATE_LIMIT', 11], ['WEFT_ERR_IF_EXISTS', 999],
    ['WEFT_ERR_IPAM_EXHAUSTED', 999], ['WEFT_ERR_HOST_NO_DEVICE', 999], ['WEFT_ERR_HOST_EXISTS', 999],
  ];
  for (const [code, cni] of cases) {
    // The same text under every code: only the code decides.
    const e = toCniError(new WeftError(code, 'network namespace /x does not exist'), 'ctx');
    assert.equal(e.cniCode, cni, code);
    assert.equal(e.details, code);
    assert.equal(e.message, 'ctx: network namespace /x does not exist');
  }
  const own = new CniError(7, 'kept');
  assert.equal(toCniError(own), own);
  assert.equal(toCniError(new Error('does not exist')).cniCode, 999);
});
