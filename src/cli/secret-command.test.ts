import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftError, silentLogger } from '../common/index.js';
import { ApiServer } from '../api/index.js';
import { main, type RunDaemon } from './index.js';
import { testContext } from '../../test/support/cli/test-context.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wft-cli-secret-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });
let n = 0;
const sock = (): string => join(dir, `s${++n}`, 'weft.sock');

async function run(argv: string[], env: NodeJS.ProcessEnv = {}, extra = {}): Promise<{ code: number; out: string; err: string[] }> {
  const ctx = testContext({ env, cwd: dir, ...extra });
  const code = await main(argv, ctx);
  return { code, out: ctx.stdout.join('\n'), err: ctx.stderr };
}

test('weft secret rotate asks the daemon to reload (the path made absolute, never the secret) and says what it uses', async () => {
  const path = sock();
  const calls: unknown[] = [];
  const api = new ApiServer({ socketPath: path, logger: silentLogger() });
  api.route('POST', '/secret/rotate', ({ body }) => {
    calls.push(body);
    if ((body as { passwordFile?: string }).passwordFile?.endsWith('bad')) throw new WeftError('WEFT_ERR_SECRET', 'cluster secret from password file /x/bad: line 2 is empty');
    return { source: 'file', secrets: 2, kdf: ['argon2id', 'raw'], deriveMs: 95 };
  });
  await api.start();
  try {
    const env = { WEFT_API_SOCKET: path };
    assert.deepEqual(await run(['secret', 'rotate'], env),
      { code: 0, out: 'weft: secret rotated: initiating with line 1, accepting lines 1 and 2 (argon2id, raw, derived in 95 ms); established connections kept', err: [] });
    assert.equal((await run(['secret', 'rotate', '--password-file', 'next'], env)).code, 0);
    assert.deepEqual(await run(['secret', 'rotate', '--password-file', 'bad'], env),
      { code: 1, out: '', err: ['weft: cluster secret from password file /x/bad: line 2 is empty'] });
    assert.deepEqual(calls, [{}, { passwordFile: join(dir, 'next') }, { passwordFile: join(dir, 'bad') }]);
    assert.equal((await run(['secret'], env)).code, 2);
    assert.deepEqual(await run(['secret', 'show'], env), { code: 2, out: '', err: ['weft: unknown secret subcommand "show" (expected: rotate)'] });
    assert.equal((await run(['secret', 'rotate', '--password-file', ''], env)).code, 2);
  } finally {
    await api.stop();
  }
});

test('launch: --password-fd only with --foreground, not with --password-file or WEFT_PASSWORD; empty WEFT_PASSWORD refused', async () => {
  const seen: unknown[] = [];
  const loadDaemon = async (): Promise<RunDaemon> => async (config, hooks) => { seen.push(config.passwordFd); hooks.onReady(); };
  const launch = (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof run> => run(['launch', '--api-socket', sock(), ...args], env, { loadDaemon });
  assert.deepEqual(await launch(['--foreground', '--password-fd', '3']), { code: 0, out: '', err: [] });
  assert.deepEqual(seen, [3]);
  assert.deepEqual(await launch(['--password-fd', '3']),
    { code: 2, out: '', err: ['weft: --password-fd needs --foreground (in the background, weft launch hands WEFT_PASSWORD to the daemon this way itself)'] });
  assert.equal((await launch(['--foreground', '--password-fd', '3', '--password-file', 'x'])).code, 2);
  assert.equal((await launch(['--foreground', '--password-fd', '2'])).code, 1);
  assert.deepEqual(await launch(['--foreground', '--password-fd', '3'], { WEFT_PASSWORD: 'x' }),
    { code: 1, out: '', err: ['weft: both --password-fd and WEFT_PASSWORD are set; use one (WEFT_ERR_BAD_ARGS)'] });
  assert.deepEqual(await launch(['--foreground'], { WEFT_PASSWORD: '' }),
    { code: 1, out: '', err: ['weft: WEFT_PASSWORD is set but empty (WEFT_ERR_SECRET)'] });
});
