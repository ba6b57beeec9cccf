import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, readlink, stat } from 'node:fs/promises';
import {
  BENCH_EXEC_TIMEOUT_MS,
  BENCH_STOP_GRACE_MS,
  WeftError,
  describeError,
} from '../src/common/index.js';
import type { Daemon, ExecOptions, ExecResult, SpawnOptions } from './types.js';

/**
 * Process and namespace helpers for the harness: every command runs with a timeout, every
 * daemon under `timeout(1)` so that it ends by itself, and namespaces are entered with
 * `nsenter --net` (the command keeps its PID, so /proc accounting sees the real process).
 */

/** Output kept per command / daemon. bytes */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
const DAEMON_TAIL_BYTES = 4096;

/** PATH for every child: the caller's, plus the sbin directories (ip, ethtool, tincd live there). */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const CHILD_PATH = [...new Set([...(process.env['PATH'] ?? '').split(':').filter(Boolean), ...SYSTEM_DIRS])].join(':');
const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: CHILD_PATH,
  ...extra,
});

/** argv prefix that runs a command inside netns `ns` (null: unchanged). */
export function inNs(ns: string | null, argv: readonly string[]): string[] {
  return ns === null ? [...argv] : ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
}

/** First line of a command's stderr/stdout, trimmed, for one-line error messages. */
export function firstLine(text: string, max = 160): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Runs argv (inside `ns` when given) and collects its output. Throws WeftError: WEFT_ERR_TIMEOUT
 * when killed by the timeout, WEFT_ERR_CLOSED when `signal` aborted it, WEFT_ERR_HOST on a
 * non-zero exit (unless `allowFail`) or when the binary cannot be started.
 */
export function exec(
  ns: string | null,
  argv: readonly string[],
  opts: ExecOptions & { signal?: AbortSignal } = {},
): Promise<ExecResult> {
  const full = inNs(ns, argv);
  const timeoutMs = opts.timeoutMs ?? BENCH_EXEC_TIMEOUT_MS;
  const what = argv.slice(0, 3).join(' ');
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new WeftError('WEFT_ERR_CLOSED', `aborted before running ${what}`));
      return;
    }
    const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGKILL');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT_BYTES) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT_BYTES) stderr += d;
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const finish = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      finish();
      reject(new WeftError('WEFT_ERR_HOST', `cannot run ${what}: ${describeError(e)}`));
    });
    child.on('close', (code) => {
      finish();
      if (aborted) reject(new WeftError('WEFT_ERR_CLOSED', `aborted: ${what}`));
      else if (timedOut) reject(new WeftError('WEFT_ERR_TIMEOUT', `${what} timed out after ${timeoutMs} ms`));
      else if (code !== 0 && !opts.allowFail) {
        const why = firstLine(stderr) || firstLine(stdout) || `exit ${code}`;
        reject(new WeftError('WEFT_ERR_HOST', `${what} failed: ${why}`));
      } else resolve({ stdout, stderr, code });
    });
  });
}

/**
 * Starts argv inside netns `ns` under `timeout -k GRACE lifetimeS`, so the daemon dies by
 * itself when the harness is killed hard. Output goes to a small ring kept for error reasons.
 */
export function spawnDaemon(
  ns: string,
  label: string,
  argv: readonly string[],
  lifetimeS: number,
  opts: SpawnOptions = {},
): Daemon {
  const graceS = Math.ceil(BENCH_STOP_GRACE_MS / 1000);
  const full = ['timeout', '-k', `${graceS}`, `${Math.ceil(lifetimeS)}`, ...inNs(ns, argv)];
  const child = spawn(full[0]!, full.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(opts.env),
  });
  let tail = '';
  let running = true;
  const keep = (d: string): void => {
    tail = (tail + d).slice(-DAEMON_TAIL_BYTES);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.on('error', (e) => {
      keep(`\ncannot start ${label}: ${describeError(e)}`);
      running = false;
      resolve();
    });
    child.on('close', () => {
      running = false;
      resolve();
    });
  });
  let stopping: Promise<void> | null = null;
  return {
    label,
    get running() {
      return running;
    },
    outputTail: () => tail,
    stop(): Promise<void> {
      stopping ??= (async () => {
        if (!running) return;
        child.kill('SIGTERM'); // timeout(1) forwards it to the daemon
        const timer = new Promise<boolean>((r) => setTimeout(() => r(false), BENCH_STOP_GRACE_MS + 1000));
        const done = await Promise.race([exited.then(() => true), timer]);
        if (!done) {
          child.kill('SIGKILL'); // the daemon itself is reaped by namespace teardown
          await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
        }
      })();
      return stopping;
    },
  };
}

/** Inode of a named network namespace, or null when it does not exist. */
export async function netnsInode(ns: string): Promise<number | null> {
  try {
    return (await stat(`/run/netns/${ns}`)).ino;
  } catch {
    return null;
  }
}

/** PIDs of every process whose network namespace is one of `namespaces`. */
export async function pidsInNetns(namespaces: readonly string[]): Promise<Map<string, number[]>> {
  const inodes = new Map<number, string>();
  for (const ns of namespaces) {
    const ino = await netnsInode(ns);
    if (ino !== null) inodes.set(ino, ns);
  }
  const out = new Map<string, number[]>(namespaces.map((n) => [n, []]));
  if (inodes.size === 0) return out;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let link: string;
    try {
      link = await readlink(`/proc/${entry}/ns/net`);
    } catch {
      continue; // exited meanwhile, or a kernel thread
    }
    const m = /^net:\[(\d+)\]$/.exec(link);
    const ns = m ? inodes.get(Number(m[1])) : undefined;
    if (ns !== undefined) out.get(ns)!.push(Number(entry));
  }
  return out;
}

/** A veth pair with one end in each namespace, both up, with the given MTU. */
export async function createVethPair(
  a: { ns: string; dev: string },
  b: { ns: string; dev: string },
  mtu: number,
): Promise<void> {
  await exec(null, [
    'ip', 'link', 'add', a.dev, 'netns', a.ns, 'mtu', `${mtu}`,
    'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns, 'mtu', `${mtu}`,
  ]);
  await exec(null, ['ip', '-n', a.ns, 'link', 'set', a.dev, 'up']);
  await exec(null, ['ip', '-n', b.ns, 'link', 'set', b.dev, 'up']);
}

/** True when `cmd` is an executable file in one of the children's PATH directories. */
export async function haveCommand(cmd: string): Promise<boolean> {
  for (const d of CHILD_PATH.split(':')) {
    try {
      await access(`${d}/${cmd}`, constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Tools the harness itself runs for every scenario (namespaces, measurement, lifetimes). */
export const HARNESS_COMMANDS = ['ip', 'nsenter', 'timeout', 'iperf3', 'ping', 'ss', 'sysctl'] as const;

/**
 * Null when the harness's own tools and `cmds` all exist, else "missing a, b (run: …)" — the
 * one-line reason a Scenario.check returns.
 */
export async function missingCommands(cmds: readonly string[]): Promise<string | null> {
  const missing: string[] = [];
  for (const c of [...HARNESS_COMMANDS, ...cmds]) if (!(await haveCommand(c))) missing.push(c);
  return missing.length === 0
    ? null
    : `missing ${missing.join(', ')} (run: bash scripts/setup-system.sh bench)`;
}
