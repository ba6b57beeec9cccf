/**
 * The compiled weft-net front end prints exactly what the Node plugin (the reference) prints:
 * the same stdout, byte for byte, and the same exit code, for VERSION in all its corner cases,
 * bad environments and configurations, a daemon that is down, a daemon that refuses the
 * request, and the daemon's own answers (STATUS, DEL, GC, errors). Against the stand-in
 * daemon (its /cni is the daemon's real attach service); no case plumbs a veth.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandInDaemon } from './support/cni/stand-in-daemon.js';
import { COMPILED_FRONT_END, cniEnv, runPlugin } from './support/cni/run-plugin.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cni-front-'));
const socket = join(dir, 'weft.sock');
const dead = join(dir, 'nobody.sock');
let daemon: StandInDaemon;

before(async () => {
  daemon = new StandInDaemon({ socketPath: socket, network: { bridge: `wftnofe${process.pid % 1000}`, range: '10.99.0.0/16', gateway: '10.99.0.1' } });
  await daemon.start();
});
after(async () => {
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

const conf = (o: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'podnet', type: 'weft-net', socket, ...o });

/** Run both front ends on the same input; assert identical stdout and exit code; return the output. */
async function same(what: string, env: Record<string, string>, stdin: string): Promise<{ code: number; stdout: string }> {
  const c = await runPlugin('weft-net', env, stdin, { frontEnd: 'compiled' });
  const n = await runPlugin('weft-net', env, stdin, { frontEnd: 'node' });
  assert.equal(c.stdout, n.stdout, `${what}: stdout differs\n compiled: ${c.stdout}\n node:     ${n.stdout}`);
  assert.equal(c.code, n.code, `${what}: exit code differs`);
  return { code: c.code, stdout: c.stdout };
}

test('the compiled front end is built by npm ci', () => {
  assert.ok(existsSync(COMPILED_FRONT_END), `${COMPILED_FRONT_END} missing: npm ci builds it (binding.gyp target "weft-net")`);
});

test('VERSION: identical for plain, empty, invalid, unsupported, non-string, escaped, duplicated and deeply nested input', async () => {
  const inputs = ['{"cniVersion":"1.0.0"}', '', '   ', 'garbage', '{"cniVersion":"9.9.9"}', '{"cniVersion":5}', '{"cniVersion":"1.0.\\u0030"}',
    '[1,2]', '"1.0.0"', '{"cniVersion":"0.4.0","cniVersion":"1.1.0"}', '{"cni\\u0056ersion":"0.3.1"}', `${'['.repeat(300)}${']'.repeat(300)}`,
    `{"a":${'['.repeat(300)}${']'.repeat(300)},"cniVersion":"0.4.0"}`, '{"cniVersion":"1.0.0"} x', '{"cniVersion":"1.0.0",}', '{"cniVersion":"ü"}'];
  for (const stdin of inputs) {
    const r = await same(`VERSION ${JSON.stringify(stdin).slice(0, 40)}`, { CNI_COMMAND: 'VERSION' }, stdin);
    assert.equal(r.code, 0);
    assert.ok(JSON.parse(r.stdout).supportedVersions);
  }
});

test('bad environment and configuration: identical errors (validated by the Node plugin or by the daemon)', async () => {
  const add = cniEnv('ADD', { netns: '/run/netns/wft-fe-none' });
  const cases: [string, Record<string, string>, string][] = [
    ['no CNI_COMMAND', {}, conf()],
    ['unknown command', { CNI_COMMAND: 'FLY' }, conf()],
    ['missing variables', { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0' }, conf()],
    ['bad ifname', { ...add, CNI_IFNAME: 'a/b' }, conf()],
    ['relative netns', { ...add, CNI_NETNS: 'x' }, conf()],
    ['not JSON', add, '{"cniVersion": "1.0.0", "name": '],
    ['empty stdin', add, ''],
    ['old version', add, conf({ cniVersion: '0.2.0' })],
    ['no name', add, conf({ name: '' })],
    ['bad mtu', add, conf({ mtu: 'big' })],
    ['ipMasq', add, conf({ ipMasq: true })],
    ['relative socket', add, conf({ socket: 'weft.sock' })],
    ['socket not a string', add, conf({ socket: 7 })],
    ['escaped socket', add, conf().replace(socket, socket.replace('/', '\\/'))],
    ['CHECK without prevResult', cniEnv('CHECK', { netns: '/x' }), conf()],
    ['CHECK below 0.4.0', cniEnv('CHECK', { netns: '/x' }), conf({ cniVersion: '0.3.1', prevResult: { ips: [] } })],
    ['STATUS below 1.1.0', { CNI_COMMAND: 'STATUS' }, conf()],
  ];
  for (const [what, env, stdin] of cases) {
    const r = await same(what, env, stdin);
    assert.equal(r.code, 1, what);
    assert.ok(typeof JSON.parse(r.stdout).code === 'number', what);
  }
});

test('daemon down or refusing: identical (the front end runs the Node plugin)', async () => {
  const env = cniEnv('ADD', { netns: '/run/netns/wft-fe-none' });
  const down = await same('ADD, daemon down', env, conf({ socket: dead }));
  assert.equal(JSON.parse(down.stdout).code, 11);
  assert.match(JSON.parse(down.stdout).msg, /weft daemon is not running/);
  const st = await same('STATUS, daemon down', { CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.1.0', socket: dead }));
  assert.equal(JSON.parse(st.stdout).code, 50);
  await same('DEL, daemon down', cniEnv('DEL'), conf({ socket: dead }));
  // CNI_ARGS over the route's limit: the daemon answers 400 before running the verb.
  const big = await same('CNI_ARGS too long', { ...env, CNI_ARGS: 'K=' + 'v'.repeat(70_000) }, conf());
  assert.equal(JSON.parse(big.stdout).code, 999);
  assert.match(JSON.parse(big.stdout).msg, /CNI_ARGS/);
});

test('the daemon\'s answers: STATUS ready / not ready, ADD errors, DEL, GC, non-ASCII stdin', async () => {
  assert.equal((await same('STATUS ready', { CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.1.0' }))).stdout, '');
  daemon.ipam = { status: 'awaiting-consensus', reason: '1 of 3' };
  try {
    const r = await same('STATUS not ready', { CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.1.0' }));
    assert.equal(JSON.parse(r.stdout).code, 51);
  } finally {
    daemon.ipam = { status: 'ready' };
  }
  const missing = await same('ADD, netns missing', cniEnv('ADD', { netns: '/run/netns/wft-fe-none' }), conf());
  assert.equal(JSON.parse(missing.stdout).code, 3);
  const own = await same('ADD, a file that is no netns', cniEnv('ADD', { netns: '/etc/hostname' }), conf());
  assert.equal(JSON.parse(own.stdout).code, 4);
  const uni = await same('CHECK, non-ASCII and escapes in stdin', cniEnv('CHECK', { netns: '/run/netns/wft-fe-none' }),
    conf({ cniVersion: '1.1.0', note: 'héllo ☃ 😀 \u0001 "q" \\', prevResult: { cniVersion: '1.1.0', ips: [] } }));
  assert.equal(JSON.parse(uni.stdout).code, 3);
  daemon.allocations.set('cni/podnet/fe-del/eth0', '10.99.7.7');
  const del = await same('DEL, empty netns', cniEnv('DEL', { containerId: 'fe-del' }), conf());
  assert.deepEqual(del, { code: 0, stdout: '' });
  assert.equal(daemon.allocations.has('cni/podnet/fe-del/eth0'), false);
  const gc = await same('GC', { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }));
  assert.deepEqual(gc, { code: 0, stdout: '' });
});

test('VERSION on generated input (JSON, broken JSON, JSON-ish noise): the compiled scanner agrees with JSON.parse', { timeout: 240_000 }, async () => {
  const fc = (await import('fast-check')).default;
  const noise = fc.array(fc.constantFrom('{', '}', '[', ']', '"', ':', ',', ' ', '\\', 'u', '0', '1', '.', '-', 'e', 'n', 'l', 't', 'r', 'cniVersion', '"1.0.0"'), { maxLength: 40 }).map((a) => a.join(''));
  const withVersion = fc.tuple(fc.json(), fc.constantFrom('"0.4.0"', '"1.1.0"', '"9.9.9"', '5', 'null', '"\\u0031.0.0"')).map(([j, v]) => `{"x":${j},"cniVersion":${v}}`);
  const broken = fc.tuple(fc.json(), fc.nat(), fc.constantFrom('', '}', '"', ',', '\\')).map(([j, at, ins]) => j.slice(0, at % (j.length + 1)) + ins + j.slice(at % (j.length + 1)));
  await fc.assert(fc.asyncProperty(fc.oneof(fc.json(), withVersion, broken, noise), async (stdin) => {
    const r = await same(`VERSION ${JSON.stringify(stdin).slice(0, 60)}`, { CNI_COMMAND: 'VERSION' }, stdin);
    assert.equal(r.code, 0);
  }), { numRuns: 60 });
});
