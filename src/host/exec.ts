/**
 * Running host commands (ip, ethtool, sysctl, nsenter): short-lived child processes with a
 * timeout, never a shell. Namespace switching always happens in such a helper process
 * (`nsenter --net=PATH …`), never in the daemon's own thread.
 */
import { execFile } from 'node:child_process';
import { HOST_EXEC_TIMEOUT_MS, WeftError } from '../common/index.js';

/** Result of one command; `code` is -1 when it could not be started or timed out. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one command; never rejects (failures are in `code`/`stderr`). Injectable for tests. */
export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<CommandResult>;

/** The real runner: execFile with a timeout and a bounded output buffer. */
export function execRunner(timeoutMs = HOST_EXEC_TIMEOUT_MS): CommandRunner {
  return (cmd, args) => new Promise((resolve) => {
    execFile(cmd, args as string[], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      let msg = stderr;
      if (typeof e.code === 'string') msg = `${cmd}: ${e.code === 'ENOENT' ? 'command not found' : e.code}`;
      else if (e.killed) msg = `${cmd}: timed out after ${timeoutMs} ms`;
      resolve({ code: typeof e.code === 'number' ? e.code : -1, stdout: stdout ?? '', stderr: msg || e.message });
    });
  });
}

/** First non-empty line of a command's error output (for one-line error messages). */
export function firstLine(s: string): string {
  return s.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'unknown error';
}

/** Throw WEFT_ERR_HOST "<what> failed: <stderr first line>" unless the command succeeded. */
export function check(what: string, r: CommandResult): string {
  if (r.code !== 0) throw new WeftError('WEFT_ERR_HOST', `${what} failed: ${firstLine(r.stderr)}`);
  return r.stdout;
}

/** Parse `ip -j …` output; WEFT_ERR_HOST if it is not JSON. */
export function parseIpJson<T>(what: string, stdout: string): T[] {
  try {
    const v: unknown = JSON.parse(stdout.trim() || '[]');
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    throw new WeftError('WEFT_ERR_HOST', `${what} failed: unexpected output from ip -j`);
  }
}
