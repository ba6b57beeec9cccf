import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exampleConflist, installCni } from './install.js';
import { main, processContext } from '../cli/index.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

test('installCni: executable wrappers that run this build, conflist written once then kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-setup-cni-'));
  try {
    const o = { binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), socket: '/run/x/weft.sock', network: 'podnet', appRoot: REPO };
    const first = await installCni(o);
    assert.deepEqual(first.actions, [
      `installed ${join(dir, 'bin', 'weft-net-node')}`,
      `installed ${join(dir, 'bin', 'weft-ipam')}`,
      `installed ${join(dir, 'bin', 'weft-net')} (compiled front end; runs weft-net-node when the daemon is down)`,
      `wrote ${join(dir, 'net.d', '10-weft.conflist')} (network "podnet", socket /run/x/weft.sock)`,
    ]);
    // weft-net is the compiled front end (an ELF executable), the Node plugin sits beside it.
    assert.deepEqual([...readFileSync(join(dir, 'bin', 'weft-net')).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    const version = execFileSync(join(dir, 'bin', 'weft-net'), { input: '{"cniVersion":"0.3.1"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    assert.equal(JSON.parse(version).cniVersion, '0.3.1');
    const wrapper = readFileSync(join(dir, 'bin', 'weft-net-node'), 'utf8');
    assert.equal(wrapper, `#!/bin/sh\n# Installed by weft setup-cni.\nexec /usr/bin/env node '${join(REPO, 'dist', 'cmd', 'weft-net.js')}' "$@"\n`);
    assert.equal(statSync(join(dir, 'bin', 'weft-ipam')).mode & 0o777, 0o755);
    const conf = JSON.parse(readFileSync(join(dir, 'net.d', '10-weft.conflist'), 'utf8'));
    assert.deepEqual(conf, { cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0'], name: 'podnet', plugins: [{ type: 'weft-net', socket: '/run/x/weft.sock' }] });
    // The installed wrapper really is a plugin.
    const out = execFileSync(join(dir, 'bin', 'weft-ipam'), { input: '{"cniVersion":"0.4.0"}', env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    assert.equal(JSON.parse(out).cniVersion, '0.4.0');
    writeFileSync(join(dir, 'net.d', '10-weft.conflist'), 'mine');
    const second = await installCni(o);
    assert.match(second.actions[3]!, /^kept existing .*10-weft\.conflist$/);
    assert.equal(readFileSync(join(dir, 'net.d', '10-weft.conflist'), 'utf8'), 'mine');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('installCni with --lib-dir/--host-root: runtime copied under the host root, wrappers point at host paths', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-setup-cni-'));
  try {
    const app = join(dir, 'app');
    mkdirSync(join(app, 'dist', 'cmd'), { recursive: true });
    mkdirSync(join(app, 'node_modules', 'pino'), { recursive: true });
    writeFileSync(join(app, 'dist', 'cmd', 'weft-net.js'), '');
    writeFileSync(join(app, 'node_modules', 'pino', 'index.js'), '');
    writeFileSync(join(app, 'package.json'), '{}');
    mkdirSync(join(app, 'build', 'Release'), { recursive: true });
    writeFileSync(join(app, 'build', 'Release', 'weft-net'), 'front end');
    writeFileSync(join(dir, 'fake-node'), '#!/bin/sh\n');
    const host = join(dir, 'host');
    const r = await installCni({ binDir: '/opt/cni/bin', confDir: '/etc/cni/net.d', socket: '/run/weft/weft.sock', network: 'weft',
      appRoot: app, libDir: '/opt/weft', hostRoot: host, nodeBinary: join(dir, 'fake-node') });
    assert.equal(r.actions[0], `copied node, dist/ and node_modules/ to ${host}/opt/weft`);
    for (const f of ['node', 'package.json', 'dist/cmd/weft-net.js', 'node_modules/pino/index.js']) assert.ok(existsSync(join(host, 'opt/weft', f)), f);
    assert.equal(statSync(join(host, 'opt/weft/node')).mode & 0o111, 0o111);
    assert.equal(readFileSync(join(host, 'opt/cni/bin/weft-net-node'), 'utf8'), "#!/bin/sh\n# Installed by weft setup-cni.\nexec '/opt/weft/node' '/opt/weft/dist/cmd/weft-net.js' \"$@\"\n");
    assert.equal(readFileSync(join(host, 'opt/cni/bin/weft-net'), 'utf8'), 'front end');
    assert.equal(statSync(join(host, 'opt/cni/bin/weft-net')).mode & 0o777, 0o755);
    assert.ok(existsSync(join(host, 'etc/cni/net.d/10-weft.conflist')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('examples/10-weft.conflist is what setup-cni writes by default', () => {
  assert.equal(readFileSync(join(REPO, 'examples', '10-weft.conflist'), 'utf8'), exampleConflist('weft', '/run/weft/weft.sock'));
});

test('weft setup-cni: prints what it did; bad flags are errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-setup-cni-'));
  const out: string[] = [];
  const ctx = { ...processContext(), out: (l: string) => { out.push(l); }, err: (l: string) => { out.push(l); } };
  try {
    const code = await main(['setup-cni', '--bin-dir', join(dir, 'b'), '--conf-dir', join(dir, 'c'), '--socket', '/run/w.sock', '--network', 'n1'], ctx);
    assert.equal(code, 0);
    assert.equal(out[0], `weft setup-cni: installed ${join(dir, 'b', 'weft-net-node')}`);
    assert.match(out[2]!, /installed .*\/b\/weft-net \(compiled front end/);
    assert.equal(out[3], `weft setup-cni: wrote ${join(dir, 'c', '10-weft.conflist')} (network "n1", socket /run/w.sock)`);
    assert.match(readFileSync(join(dir, 'b', 'weft-net-node'), 'utf8'), new RegExp(`'${REPO}dist/cmd/weft-net\\.js'`));
    assert.equal(await main(['setup-cni', '--network', 'bad/name', '--bin-dir', join(dir, 'b')], ctx), 1);
    assert.match(out.at(-1)!, /invalid --network "bad\/name"/);
    assert.equal(await main(['setup-cni', '--nope'], ctx), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
