import { isWeftError } from '../common/index.js';
import { COMMANDS } from './commands/index.js';
import { UsageError, processContext, type CliContext, type Command } from './command.js';

/** Exit codes of `weft`. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: weft COMMAND [ARGS...]',
    '',
    'weft: an encrypted mesh overlay network for containers.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "weft COMMAND --help" for a command\'s options.',
  ].join('\n');
}

function find(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** True when `--help`/`-h` appears before a `--` terminator. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Run one `weft` command line and return its exit code: 0 ok, 1 failure, 2 usage error.
 * Never throws and never prints a stack trace: every failure is one line `weft: <message>`
 * on stderr.
 */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    ctx.err(overview());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = args[0];
    if (topic === undefined) {
      ctx.out(overview());
      return EXIT_OK;
    }
    const cmd = find(topic);
    if (!cmd) return fail(ctx, new UsageError(`unknown command "${topic}" (see weft --help)`));
    ctx.out(cmd.help);
    return EXIT_OK;
  }
  const cmd = find(name === '--version' ? 'version' : name);
  if (!cmd) return fail(ctx, new UsageError(`unknown command "${name}" (see weft --help)`));
  if (wantsHelp(args)) {
    ctx.out(cmd.help);
    return EXIT_OK;
  }
  try {
    return await cmd.run(args, ctx);
  } catch (e) {
    return fail(ctx, e);
  }
}

function fail(ctx: CliContext, e: unknown): number {
  if (e instanceof UsageError) {
    ctx.err(`weft: ${e.message}`);
    return EXIT_USAGE;
  }
  const message = isWeftError(e) ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
  ctx.err(`weft: ${message.split('\n')[0]}`);
  return EXIT_FAILURE;
}
