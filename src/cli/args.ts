import { parseArgs } from 'node:util';
import { isAbsolute, resolve } from 'node:path';
import { WeftError, API_SOCKET_ENV, DEFAULT_API_SOCKET } from '../common/index.js';
import { checkSocketPath } from '../api/index.js';
import { UsageError, type CliContext } from './command.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
type Values<O extends OptionSpec> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string
};

/** `--api-socket PATH`, accepted by every command that talks to the daemon. */
export const API_SOCKET_OPTION = { 'api-socket': { type: 'string' } } as const;

/**
 * util.parseArgs in strict mode with positionals allowed; its errors become one-line
 * UsageErrors that point at `weft <command> --help`.
 */
export function parseCommandArgs<O extends OptionSpec>(command: string, args: string[], options: O): { values: Values<O>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Values<O>, positionals };
  } catch (e) {
    throw new UsageError(`${describeParseError(e)} (see weft ${command} --help)`);
  }
}

function describeParseError(e: unknown): string {
  const msg = String((e as Error).message ?? e).split('\n')[0]!;
  const opt = /'(-[^' ]+)/.exec(msg)?.[1] ?? '';
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${opt}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (msg.includes('does not take an argument')) return `option ${opt} does not take a value`;
      if (msg.includes('ambiguous')) return `option ${opt} needs a value (write ${opt}=-X for one starting with "-")`;
      return `option ${opt} needs a value`;
    default: return msg;
  }
}

/** Throws a UsageError unless `min <= positionals.length <= max`. */
export function expectPositionals(command: string, positionals: string[], min: number, max: number, what: string): void {
  if (positionals.length < min) throw new UsageError(`missing ${what} (see weft ${command} --help)`);
  if (positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}" (see weft ${command} --help)`);
}

/** `invalid <flag> "<text>": <reason>` as a WEFT_ERR_BAD_ARGS (exit 1). */
export function invalid(flag: string, text: string, reason: string): WeftError {
  return new WeftError('WEFT_ERR_BAD_ARGS', `invalid ${flag} "${text}": ${reason}`);
}

/** A decimal integer in [min, max], or throws `invalid <flag>`. */
export function parseIntFlag(flag: string, text: string, min: number, max: number): number {
  const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw invalid(flag, text, `must be an integer ${min}-${max}`);
  return n;
}

/** A finite decimal number with min < n <= max, or throws `invalid <flag>`. */
export function parseNumberFlag(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!(n > min && n <= max)) throw invalid(flag, text, `must be a number > ${min} and <= ${max}`);
  return n;
}

/** A path made absolute against the CLI's working directory. */
export function absolutePath(ctx: CliContext, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.cwd, p);
}

/** API socket: `--api-socket`, else $WEFT_API_SOCKET, else DEFAULT_API_SOCKET (absolute, length-checked). */
export function apiSocketPath(ctx: CliContext, flag: string | undefined): string {
  const chosen = flag ?? (ctx.env[API_SOCKET_ENV] || undefined) ?? DEFAULT_API_SOCKET;
  if (chosen === '') throw invalid('--api-socket', chosen, 'must not be empty');
  const path = absolutePath(ctx, chosen);
  checkSocketPath(path);
  return path;
}
