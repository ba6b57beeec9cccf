import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftError, silentLogger } from '../common/index.js';
import { ApiServer, type StatusReport } from '../api/index.js';
import { main, type RunDaemon } from './index.js';
import { testContext } from '../../test/support/cli/test-context.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wft-cli-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });
let n = 0;
const sock = (): string => join(dir, `s${++n}`, 'weft.sock');

const report: StatusReport = {
  name: '02:00:00:00:00:01', nickname: 'alpha', version: '0.1.0', protocol: { min: 1, max: 1 }, encrypted: false,
  encryptionWarning: 'no password', port: 6783, uid: '1', peers: [], connections: [],
  targets: [{ address: '10.0.0.2:6783', state: 'waiting', attempts: 2, direct: true }],
};

/** An in-process stand-in daemon: records calls, serves a fixed report. */
async function fakeDaemon(socketPath: string): Promise<{ api: ApiServer; calls: unknown[] }> {
  const calls: unknown[] = [];
  const api = new ApiServer({ socketPath, logger: silentLogger() });
  api.route('GET', '/status', () => report);
  api.route('GET', '/report', () => ({ router: { name: report.name } }));
  api.route('POST', '/connect', ({ body }) => { calls.push(['connect', body]); return { ok: true }; });
  api.route('POST', '/forget', ({ body }) => { calls.push(['forget', body]); return undefined; });
  api.route('POST', '/stop', () => { calls.push(['stop']); setImmediate(() => void api.stop()); return { stopping: true }; });
  await api.start();
  return { api, calls };
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}, extra = {}): Promise<{ code: number; out: string; err: string[] }> {
  const ctx = testContext({ env, cwd: dir, ...extra });
  const code = await main(argv, ctx);
  return { code, out: ctx.stdout.join('\n'), err: ctx.stderr };
}

test('dispatcher: overview, per-command help, unknown command, exit codes', async () => {
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.err[0]!, /^Usage: weft COMMAND/);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  for (const c of ['launch', 'stop', 'status', 'report', 'connect', 'forget', 'version']) assert.match(help.out, new RegExp(`^  ${c} `, 'm'));
  for (const argv of [['launch', '--help'], ['help', 'launch'], ['launch', '-h', '--port', 'bad']]) {
    const r = await run(argv);
    assert.equal(r.code, 0, argv.join(' '));
    assert.match(r.out, /^Usage: weft launch/);
    assert.doesNotMatch(r.out, /heartbeat|gossip-interval|backoff/, 'timing flags are hidden');
  }
  for (const c of ['stop', 'status', 'report', 'connect', 'forget', 'version']) {
    assert.match((await run([c, '--help'])).out, new RegExp(`^Usage: weft ${c}`));
  }
  assert.deepEqual(await run(['frobnicate']), { code: 2, out: '', err: ['weft: unknown command "frobnicate" (see weft --help)'] });
  assert.deepEqual(await run(['status', 'bogus']), { code: 2, out: '', err: ['weft: unknown status view "bogus" (one of: peers, connections, targets, ipam)'] });
  assert.deepEqual(await run(['stop', 'extra']), { code: 2, out: '', err: ['weft: unexpected argument "extra" (see weft stop --help)'] });
  assert.deepEqual(await run(['forget']), { code: 2, out: '', err: ['weft: missing peer address (see weft forget --help)'] });
  assert.deepEqual(await run(['connect', 'a:b:c']), { code: 1, out: '', err: ['weft: invalid peer "a:b:c": too many ":"'] });
  const version = await run(['version']);
  assert.equal(version.code, 0);
  assert.match(version.out, /^weft \d+\.\d+\.\d+ \(protocol 2\.\.2, node v\d+/);
  assert.equal((await run(['--version'])).out, version.out);
});

test('without a daemon: one line "weft is not running", exit 1', async () => {
  const path = sock();
  for (const argv of [['status'], ['report'], ['stop'], ['connect', 'h'], ['forget', 'h']]) {
    assert.deepEqual(await run([...argv, '--api-socket', path]), {
      code: 1, out: '', err: [`weft: weft is not running (no API socket at ${path})`],
    }, argv.join(' '));
  }
});

test('status, report, connect, forget and stop talk to the daemon over the socket', async () => {
  const path = sock();
  const { api, calls } = await fakeDaemon(path);
  try {
    const env = { WEFT_API_SOCKET: path };
    const status = await run(['status'], env);
    assert.equal(status.code, 0);
    assert.match(status.out, /^ *Name: 02:00:00:00:00:01 \(alpha\)$/m);
    assert.match(status.out, /^ *Encryption: DISABLED \(no password\)$/m);
    assert.match((await run(['status', 'targets'], env)).out, /^10\.0\.0\.2:6783 +waiting +2 +direct/m);
    assert.equal((await run(['status', 'connections'], env)).out, '');
    assert.deepEqual(JSON.parse((await run(['status', '--json'], env)).out), report);
    assert.deepEqual(JSON.parse((await run(['status', 'targets', '--json'], env)).out), report.targets);
    assert.equal((await run(['report'], env)).out, JSON.stringify({ router: { name: report.name } }, null, 2));
    assert.equal((await run(['connect', '10.0.0.5', '[fd00::5]:7000'], env)).code, 0);
    assert.equal((await run(['connect', '--replace'], env)).code, 0);
    assert.equal((await run(['forget', 'node-9'], env)).code, 0);
    const stop = await run(['stop'], env);
    assert.deepEqual(stop, { code: 0, out: 'weft: stopped', err: [] });
    assert.deepEqual(calls, [
      ['connect', { peers: ['10.0.0.5', '[fd00::5]:7000'], replace: false }],
      ['connect', { peers: [], replace: true }],
      ['forget', { peers: ['node-9'] }],
      ['stop'],
    ]);
  } finally {
    await api.stop();
  }
});

test('daemon errors come back as one line with the daemon\'s message', async () => {
  const path = sock();
  const api = new ApiServer({ socketPath: path, logger: silentLogger() });
  api.route('POST', '/connect', () => { throw new WeftError('WEFT_ERR_CONN_LIMIT', 'connection limit 64 reached'); });
  await api.start();
  try {
    assert.deepEqual(await run(['connect', 'h', '--api-socket', path]), { code: 1, out: '', err: ['weft: connection limit 64 reached'] });
  } finally {
    await api.stop();
  }
});

test('launch --foreground runs the daemon in-process: 0 when it stops, 1 with one line on a fatal error', async () => {
  const seen: unknown[] = [];
  const ok: RunDaemon = async (config, hooks) => { seen.push(config.apiSocket, config.peers); hooks.onReady(); };
  const path = sock();
  const r = await run(['launch', '--foreground', '--api-socket', path, 'peer1'], {}, { loadDaemon: async () => ok });
  assert.deepEqual(r, { code: 0, out: '', err: [] });
  assert.deepEqual(seen, [path, ['peer1']]);

  const fatal: RunDaemon = async () => { throw new WeftError('WEFT_ERR_DATA_DIR', 'data dir /x is locked'); };
  assert.deepEqual(await run(['launch', '--foreground', '--api-socket', sock()], {}, { loadDaemon: async () => fatal }),
    { code: 1, out: '', err: ['weft: data dir /x is locked (WEFT_ERR_DATA_DIR)'] });
  const crash: RunDaemon = async () => { throw new TypeError('x is not a function\n    at stack'); };
  assert.deepEqual(await run(['launch', '--foreground', '--api-socket', sock()], {}, { loadDaemon: async () => crash }),
    { code: 1, out: '', err: ['weft: x is not a function'] });
});

test('launch refuses when a daemon already answers on the socket', async () => {
  const path = sock();
  const { api } = await fakeDaemon(path);
  try {
    const loadDaemon = async (): Promise<RunDaemon> => { throw new Error('must not start'); };
    const msg = `weft: a weft daemon is already running (API socket ${path} answers)`;
    assert.deepEqual(await run(['launch', '--api-socket', path], {}, { loadDaemon }), { code: 1, out: '', err: [msg] });
    // In the foreground (the daemon's own log) every fatal line also carries the error code.
    assert.deepEqual(await run(['launch', '--foreground', '--api-socket', path], {}, { loadDaemon }),
      { code: 1, out: '', err: [`${msg} (WEFT_ERR_ALREADY_RUNNING)`] });
  } finally {
    await api.stop();
  }
});

test('launch checks the password file and data dir before starting anything', async () => {
  const loadDaemon = async (): Promise<RunDaemon> => async () => undefined;
  const launch = (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof run> =>
    run(['launch', '--foreground', '--api-socket', sock(), ...args], env, { loadDaemon });
  const missing = join(dir, 'nope');
  assert.deepEqual(await launch(['--password-file', missing]), { code: 1, out: '', err: [`weft: cannot read --password-file "${missing}": no such file (WEFT_ERR_SECRET)`] });
  assert.deepEqual(await launch(['--password-file', dir]), { code: 1, out: '', err: [`weft: cannot read --password-file "${dir}": not a regular file (WEFT_ERR_SECRET)`] });
  const empty = join(dir, 'empty');
  await writeFile(empty, '', { mode: 0o600 });
  assert.deepEqual(await launch(['--password-file', empty]), { code: 1, out: '', err: [`weft: cannot read --password-file "${empty}": the file is empty (WEFT_ERR_SECRET)`] });
  const secret = join(dir, 'secret');
  await writeFile(secret, 'correct horse battery staple\n');
  await chmod(secret, 0o600);
  assert.deepEqual(await launch(['--password-file', secret]), { code: 0, out: '', err: [] });
  assert.deepEqual(await launch(['--password-file', secret], { WEFT_PASSWORD: 'x' }),
    { code: 1, out: '', err: ['weft: both --password-file and WEFT_PASSWORD are set; use one (WEFT_ERR_BAD_ARGS)'] });
  await chmod(secret, 0o644);
  const loose = await launch(['--password-file', 'secret']);
  assert.equal(loose.code, 0);
  assert.deepEqual(loose.err, [`weft: warning: --password-file "${secret}" is readable by group or others (mode 644); chmod 600 it`]);
  const notDir = join(dir, 'file-not-dir');
  await writeFile(notDir, 'x');
  assert.deepEqual(await launch(['--data-dir', notDir]), { code: 1, out: '', err: [`weft: invalid --data-dir "${notDir}": not a directory (WEFT_ERR_DATA_DIR)`] });
  await mkdir(join(dir, 'data'), { recursive: true });
  assert.equal((await launch(['--data-dir', 'data'])).code, 0);
});
