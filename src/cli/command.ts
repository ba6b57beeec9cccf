import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../common/index.js';
import type { DaemonConfig } from '../daemon/index.js';

/** The daemon's entry point: resolves when the daemon has stopped, rejects on a fatal error. */
export type RunDaemon = (config: DaemonConfig, hooks: { onReady(): void }) => Promise<void>;

/**
 * Everything a command touches outside its arguments, so commands are testable in-process.
 * `processContext()` is the real one; tests pass their own (captured output, fake daemon).
 */
export interface CliContext {
  /** Write one line (newline added) to stdout. */
  out(line: string): void;
  /** Write one line (newline added) to stderr. */
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  hostname: string;
  /** Loads the daemon entry point; lazy, so commands other than `launch` stay light. */
  loadDaemon(): Promise<RunDaemon>;
  /** Compiled CLI entry (dist/cmd/weft.js), re-run as `launch --foreground` by a background launch. */
  selfScript: string;
  /** All of standard input as text (`weft policy apply -f -`); default: the process's stdin. */
  readStdin?: () => Promise<string>;
}

/**
 * One `weft` subcommand. Commands are listed in one table (commands/index.ts); adding one is
 * a new file plus one line there. `run` returns the exit code or throws: UsageError → exit 2,
 * any other error → exit 1, each printed as one line `weft: <message>`. `--help`/`-h` is
 * handled by the dispatcher (prints `help`, exit 0).
 */
export interface Command {
  name: string;
  /** One line for `weft --help`. */
  summary: string;
  /** Full text for `weft <name> --help` (starts with the usage line). */
  help: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}

/** The command line itself is wrong (unknown command/option, missing argument): exit 2. */
export class UsageError extends WeftError {
  constructor(message: string) {
    super('WEFT_ERR_BAD_ARGS', message);
    this.name = 'UsageError';
  }
}

/** The context of a real `weft` process. */
export function processContext(): CliContext {
  return {
    out: (line) => { process.stdout.write(line + '\n'); },
    err: (line) => { process.stderr.write(line + '\n'); },
    env: process.env,
    cwd: process.cwd(),
    hostname: hostname(),
    loadDaemon: loadRealDaemon,
    selfScript: fileURLToPath(new URL('../../cmd/weft.js', import.meta.url)),
  };
}

async function loadRealDaemon(): Promise<RunDaemon> {
  // A computed specifier keeps the daemon (and its native deps) out of every other command's
  // startup; the module's shape is checked at run time instead.
  const specifier = new URL('../daemon/index.js', import.meta.url).href;
  let mod: { runDaemon?: unknown };
  try {
    mod = (await import(specifier)) as { runDaemon?: unknown };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('daemon/index.js')) {
      throw new WeftError('WEFT_ERR_INTERNAL', 'the daemon is not built (dist/src/daemon/index.js missing); run "npm run build"');
    }
    throw e;
  }
  if (typeof mod.runDaemon !== 'function') throw new WeftError('WEFT_ERR_INTERNAL', 'daemon module has no runDaemon()');
  return mod.runDaemon as RunDaemon;
}
