import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isWeftError, silentLogger } from '../common/index.js';
import { ApiClient, ApiServer } from '../api/index.js';
import { launchInBackground } from './commands/launch-background.js';
import { lastErrorMessage } from './commands/launch-log.js';
import { parseLaunchArgs } from './index.js';
import { testContext } from '../../test/support/cli/test-context.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fakeWeft = fileURLToPath(new URL('../../test/support/cli/fake-weft.js', import.meta.url));

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wft-launch-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

function exec(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('bin/weft version works without a daemon', async () => {
  const r = await exec(join(repoRoot, 'bin/weft'), ['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^weft 0\.\d+\.\d+ \(protocol 2\.\.2, node v20\.\d+\.\d+\)\n$/);
  assert.equal(r.stderr, '');
});

test('bin/weft: bad input is one line on stderr, no stack trace', async () => {
  const r = await exec(join(repoRoot, 'bin/weft'), ['launch', '--password', 'hunter2']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'weft: --password is not accepted on the command line (it would show in ps); use --password-file or WEFT_PASSWORD\n');
});

test('background launch: detached daemon becomes ready, status answers, stop ends it', async () => {
  const sock = join(dir, 'ok', 'weft.sock');
  const dataDir = join(dir, 'ok-data');
  const args = ['launch', '--api-socket', sock, '--data-dir', dataDir, '--nickname', 'bg', '--status-addr', ''];
  const r = await exec(process.execPath, [fakeWeft, ...args]);
  try {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^weft: launched peer 02:00:00:00:00:01 \\(bg\\) pid \\d+; API at ${sock}\\n$`));
    assert.equal((await new ApiClient({ socketPath: sock }).status()).nickname, 'bg');
    const again = await exec(process.execPath, [fakeWeft, ...args]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `weft: a weft daemon is already running (API socket ${sock} answers)\n`);
  } finally {
    const stop = await exec(process.execPath, [fakeWeft, 'stop', '--api-socket', sock]);
    const pid = Number(/ pid (\d+);/.exec(r.stdout)?.[1]);
    if (stop.code !== 0 && pid > 0) process.kill(pid, 'SIGKILL'); // never leave the daemon behind
    assert.deepEqual([stop.code, stop.stdout], [0, 'weft: stopped\n'], stop.stderr);
  }
  assert.equal(existsSync(sock), false);
  assert.ok(existsSync(join(dataDir, 'weft.log')));
});

test('background launch: a daemon that dies reports the log\'s error in one line and its code', async () => {
  const dataDir = join(dir, 'fail-data');
  const r = await exec(process.execPath, [fakeWeft, 'launch', '--api-socket', join(dir, 'fail', 'weft.sock'), '--data-dir', dataDir], { FAKE_WEFT_MODE: 'fail' });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `weft: launch failed: cannot lock data dir ${dataDir} (log: ${join(dataDir, 'weft.log')})\n`);
  assert.match(await readFile(join(dataDir, 'weft.log'), 'utf8'), /\(WEFT_ERR_DATA_DIR\)$/m);
});

test('background launch: a daemon that never gets ready is killed after the timeout', async () => {
  const ctx = testContext({ env: { ...process.env, FAKE_WEFT_MODE: 'hang' }, cwd: dir, selfScript: fakeWeft });
  const args = ['--api-socket', join(dir, 'hang', 'weft.sock'), '--data-dir', join(dir, 'hang-data')];
  const { config } = parseLaunchArgs(args, ctx);
  const started = Date.now();
  await assert.rejects(launchInBackground(args, config, ctx, { readyTimeoutMs: 600 }),
    (e: unknown) => isWeftError(e, 'WEFT_ERR_TIMEOUT') && /^launch failed: daemon not ready within 1 s \(log: /.test(e.message));
  assert.ok(Date.now() - started < 10_000);
});

test('background launch: a status answer from another daemon (racing launch) is not taken for ours', async () => {
  const sock = join(dir, 'race', 'weft.sock');
  const other = new ApiServer({ socketPath: sock, logger: silentLogger() })
    .route('GET', '/status', () => ({ name: 'other', nickname: 'other', pid: process.pid }));
  await other.start();
  try {
    const ctx = testContext({ env: { ...process.env, FAKE_WEFT_MODE: 'fail' }, cwd: dir, selfScript: fakeWeft });
    const args = ['--api-socket', sock, '--data-dir', join(dir, 'race-data')];
    const { config } = parseLaunchArgs(args, ctx);
    // The child re-checks the socket, finds it live and fails with ALREADY_RUNNING.
    await assert.rejects(launchInBackground(args, config, ctx, { readyTimeoutMs: 10_000 }),
      (e: unknown) => isWeftError(e, 'WEFT_ERR_ALREADY_RUNNING') && /^launch failed: a weft daemon is already running/.test(e.message));
    assert.deepEqual(ctx.stdout, []);
  } finally {
    await other.stop();
  }
});

test('lastErrorMessage picks the most telling line of a daemon log', () => {
  assert.equal(lastErrorMessage(''), null);
  assert.equal(lastErrorMessage('{"level":30,"msg":"starting"}\n'), null);
  assert.equal(lastErrorMessage('weft: warning: loose file\n{"level":50,"msg":"bind failed","err":{"message":"EADDRINUSE 0.0.0.0:6783"}}\n{"level":30,"msg":"stopping"}\n'),
    'bind failed: EADDRINUSE 0.0.0.0:6783');
  assert.equal(lastErrorMessage('{"level":60,"msg":"fatal"}\nweft: cannot bind 0.0.0.0:6783 (WEFT_ERR_HOST)\n'), 'cannot bind 0.0.0.0:6783 (WEFT_ERR_HOST)');
  assert.equal(lastErrorMessage('file:///x.js:1\n  throw e\n  ^\n\nTypeError: boom\n    at f (x.js:1:1)\n\nNode.js v20.0.0\n'), 'TypeError: boom');
  assert.equal(lastErrorMessage(`weft: ${'x'.repeat(1000)}`)!.length, 300);
});
