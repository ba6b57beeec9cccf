import { connect } from 'node:net';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WeftError, UNIX_SOCKET_PATH_MAX_BYTES } from '../common/index.js';

/** What is at a unix socket path: a listener, a leftover file nobody listens on, or nothing. */
export type SocketProbe = 'live' | 'stale' | 'absent';

/** Connects refused with ECONNRESET (a listener closing meanwhile) are retried this often. */
const PROBE_RESET_RETRIES = 3;
/** Pause between those retries. ms */
const PROBE_RETRY_DELAY_MS = 50;

/**
 * Connect to the unix socket at `path` and hang up at once. 'live' when something accepts
 * (or when the connect neither succeeds nor fails within `timeoutMs`, or the backlog is full:
 * a busy or hung daemon still owns its socket), 'stale' when the file exists but nobody
 * listens (or a closing listener keeps resetting us), 'absent' when there is none. Other
 * errors (e.g. EACCES) are thrown as WeftError.
 */
export async function probeSocket(path: string, timeoutMs = 1_000): Promise<SocketProbe> {
  for (let attempt = 0; ; attempt++) {
    const result = await probeOnce(path, timeoutMs);
    if (result !== 'reset') return result;
    if (attempt >= PROBE_RESET_RETRIES) return 'stale';
    await new Promise((r) => setTimeout(r, PROBE_RETRY_DELAY_MS));
  }
}

function probeOnce(path: string, timeoutMs: number): Promise<SocketProbe | 'reset'> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    const timer = setTimeout(() => { sock.destroy(); resolve('live'); }, timeoutMs);
    sock.once('connect', () => { clearTimeout(timer); sock.destroy(); resolve('live'); });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      switch (e.code) {
        case 'ECONNREFUSED': resolve('stale'); break;
        case 'ENOENT': resolve('absent'); break;
        case 'ECONNRESET': resolve('reset'); break;
        case 'EAGAIN': resolve('live'); break;
        default: reject(socketError(path, e));
      }
    });
  });
}

/** WeftError for a failed connect/bind on the API socket. */
export function socketError(path: string, e: NodeJS.ErrnoException): WeftError {
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new WeftError('WEFT_ERR_HOST', `permission denied on API socket ${path} (run as root?)`, { cause: e });
  }
  return new WeftError('WEFT_ERR_HOST', `API socket ${path}: ${e.message}`, { cause: e });
}

/** Throws WEFT_ERR_BAD_ARGS when `path` cannot be a unix socket path. */
export function checkSocketPath(path: string): void {
  if (path === '') throw new WeftError('WEFT_ERR_BAD_ARGS', 'API socket path is empty');
  if (Buffer.byteLength(path) > UNIX_SOCKET_PATH_MAX_BYTES) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `API socket path is longer than ${UNIX_SOCKET_PATH_MAX_BYTES} bytes: ${path}`);
  }
}

/**
 * Make `path` ready for listen(): create its parent directory (mode 0700) if missing, remove
 * a stale socket file nobody answers on, and fail with WEFT_ERR_ALREADY_RUNNING if a live
 * daemon answers there. Never removes anything that is not a socket.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  checkSocketPath(path);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    throw new WeftError('WEFT_ERR_HOST', `cannot create directory for API socket ${path}: ${e.message}`, { cause: e });
  });
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw socketError(path, e);
  });
  if (!st) return;
  if (!st.isSocket()) throw new WeftError('WEFT_ERR_BAD_CONFIG', `API socket path ${path} exists and is not a socket`);
  const probe = await probeSocket(path);
  if (probe === 'live') throw alreadyRunning(path);
  if (probe === 'stale') {
    await unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw socketError(path, e);
    });
  }
}

export function alreadyRunning(path: string): WeftError {
  return new WeftError('WEFT_ERR_ALREADY_RUNNING', `a weft daemon is already running (API socket ${path} answers)`);
}
