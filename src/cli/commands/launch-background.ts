import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WeftError, CLI_POLL_INTERVAL_MS, LAUNCH_READY_TIMEOUT_MS, PASSWORD_ENV } from '../../common/index.js';
import { ApiClient } from '../../api/index.js';
import type { DaemonConfig } from '../../daemon/index.js';
import type { CliContext } from '../command.js';
import { lastErrorMessage } from './launch-log.js';

/** Most of the daemon log read back to explain a failed launch. bytes */
const LOG_TAIL_BYTES = 64 * 1024;
/** After SIGTERM, a daemon that failed to become ready gets this long before SIGKILL. ms */
const KILL_GRACE_MS = 2_000;

/** Overrides for tests. */
export interface BackgroundOptions {
  readyTimeoutMs?: number;
}

/** The descriptor the background daemon reads $WEFT_PASSWORD from (a pipe we write and close). */
const SECRET_FD = 3;

/**
 * Start the daemon as a detached `weft launch --foreground <args>` with stdout/stderr appended
 * to <data-dir>/weft.log, then poll its API socket. $WEFT_PASSWORD is not passed in the child's
 * environment (readable in /proc/PID/environ for its whole life): it goes down a pipe on fd 3
 * (`--password-fd 3`), which the daemon reads once and closes. Resolves with the exit code once
 * `GET /status` answers (prints "weft: launched peer …"); on child exit or timeout, kills the
 * child and throws a WeftError carrying the log's last error line.
 */
export async function launchInBackground(args: string[], config: DaemonConfig, ctx: CliContext, opts: BackgroundOptions = {}): Promise<number> {
  const logPath = join(config.dataDir, 'weft.log');
  let fd: number;
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    fd = openSync(logPath, 'a', 0o600);
  } catch (e) {
    throw new WeftError('WEFT_ERR_DATA_DIR', `cannot open log ${logPath}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const logStart = fstatSync(fd).size;
  const secret = config.passwordFile === undefined ? ctx.env[PASSWORD_ENV] : undefined;
  const env = { ...ctx.env };
  delete env[PASSWORD_ENV];
  const secretArgs = secret !== undefined ? ['--password-fd', String(SECRET_FD)] : [];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [ctx.selfScript, 'launch', '--foreground', ...secretArgs, ...args], {
      detached: true, stdio: ['ignore', fd, fd, secret !== undefined ? 'pipe' : 'ignore'], env, cwd: ctx.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const pipe = child.stdio[SECRET_FD];
  if (secret !== undefined && pipe && 'write' in pipe) {
    pipe.on('error', () => undefined); // the child died first: its exit is reported below
    pipe.end(secret);
  }
  let exit: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => { exit = signal ? `signal ${signal}` : `code ${code}`; resolve(); });
    child.once('error', (e) => { exit = `spawn error ${e.message}`; resolve(); });
  });
  child.unref();

  const client = new ApiClient({ socketPath: config.apiSocket, timeoutMs: 1_000 });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? LAUNCH_READY_TIMEOUT_MS);
  while (exit === null && Date.now() < deadline) {
    try {
      const st = await client.status();
      // Another launch racing us may own the socket: then our child fails, and we report that.
      if (st.pid === undefined || st.pid === child.pid) {
        ctx.out(`weft: launched peer ${st.name} (${st.nickname}) pid ${child.pid}; API at ${config.apiSocket}`);
        return 0;
      }
    } catch {
      // not up yet (no socket, or it answers with an error while starting)
    }
    await Promise.race([sleep(CLI_POLL_INTERVAL_MS), exited]);
  }
  const timedOut = exit === null;
  if (timedOut) await terminate(child, exited);
  const fromLog = lastErrorMessage(readFrom(logPath, logStart));
  const why = fromLog
    ?? (timedOut ? `daemon not ready within ${Math.round((opts.readyTimeoutMs ?? LAUNCH_READY_TIMEOUT_MS) / 1000)} s` : `daemon exited (${exit})`);
  // The foreground daemon's fatal line ends in its error code: keep the code, drop it from the text.
  const coded = /^(.*) \((WEFT_ERR_[A-Z_]+)\)$/.exec(why);
  const code = coded ? (coded[2] as WeftError['code']) : timedOut ? 'WEFT_ERR_TIMEOUT' : 'WEFT_ERR_INTERNAL';
  throw new WeftError(code, `launch failed: ${coded ? coded[1] : why} (log: ${logPath})`);
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const signalGroup = (sig: NodeJS.Signals): void => {
    try { process.kill(-child.pid!, sig); } catch { /* already gone */ }
  };
  signalGroup('SIGTERM');
  const timer = sleep(KILL_GRACE_MS, 'timeout');
  if ((await Promise.race([exited, timer])) === 'timeout') {
    signalGroup('SIGKILL');
    await Promise.race([exited, sleep(KILL_GRACE_MS)]);
  }
}

function readFrom(path: string, offset: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(offset, size - LOG_TAIL_BYTES);
    const buf = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
