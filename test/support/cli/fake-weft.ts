/**
 * Test fixture, not shipped behaviour: the real CLI `main()` with a stand-in daemon, so tests
 * can exercise `weft launch` (background and foreground), `status` and `stop` end to end
 * without root. FAKE_WEFT_MODE: unset = serve the API until POST /stop (at most 60 s); 'fail' = fatal
 * WeftError after 50 ms; 'hang' = never become ready (exits by itself after 30 s).
 */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { WeftError, silentLogger, PROTOCOL_MAX_VERSION, PROTOCOL_MIN_VERSION } from '../../../src/common/index.js';
import { ApiServer, type StatusReport } from '../../../src/api/index.js';
import { main, processContext, type RunDaemon } from '../../../src/cli/index.js';

/** A served fake daemon stops by itself after this long. ms */
const MAX_LIFETIME_MS = 60_000;

const fakeDaemon: RunDaemon = async (config, hooks) => {
  const mode = process.env.FAKE_WEFT_MODE;
  if (mode === 'fail') {
    await sleep(50);
    throw new WeftError('WEFT_ERR_DATA_DIR', `cannot lock data dir ${config.dataDir}`);
  }
  if (mode === 'hang') {
    await sleep(30_000);
    return;
  }
  const api = new ApiServer({ socketPath: config.apiSocket, logger: silentLogger() });
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => { stopped = resolve; });
  const status: StatusReport = {
    name: config.name ?? '02:00:00:00:00:01', nickname: config.nickname, version: 'fake',
    protocol: { min: PROTOCOL_MIN_VERSION, max: PROTOCOL_MAX_VERSION }, encrypted: config.passwordFile !== undefined,
    port: config.port, uid: '1', pid: process.pid, peers: [], connections: [], targets: [],
  };
  api.route('GET', '/status', () => status);
  api.route('GET', '/report', () => ({ config }));
  api.route('POST', '/stop', () => {
    setImmediate(() => void api.stop().then(stopped));
    return { stopping: true };
  });
  await api.start();
  hooks.onReady();
  // Bounded even if a test forgets to stop it.
  await Promise.race([done, sleep(MAX_LIFETIME_MS, undefined, { ref: false })]);
  await api.stop();
};

process.exitCode = await main(process.argv.slice(2), {
  ...processContext(),
  loadDaemon: async () => fakeDaemon,
  selfScript: fileURLToPath(import.meta.url),
});
