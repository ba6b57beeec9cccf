import { createRequire } from 'node:module';
import type * as PinoModule from 'pino';
import type { Logger, LevelWithSilent } from 'pino';

/** pino is loaded on first use, so short-lived processes that never log (CNI plugins) skip it. */
const requireCjs = createRequire(import.meta.url);
function pinoLib(): typeof PinoModule {
  return requireCjs('pino') as typeof PinoModule;
}

export type { Logger };

/** Options for the root logger. One JSON line per event; pretty when stdout is a TTY. */
export interface LogOptions {
  level?: LevelWithSilent;
  /** Force pretty (human) output; default: when stderr is a TTY. */
  pretty?: boolean;
  /** Write to this fd instead of stderr (2). */
  fd?: number;
}

/**
 * Create the root logger. Components take children via `child({ component: 'mesh' })`.
 * Secrets never go into log fields: the redact list below is a second line of defence.
 */
export function createLogger(opts: LogOptions = {}): Logger {
  const fd = opts.fd ?? 2;
  const pretty = opts.pretty ?? (fd === 2 && process.stderr.isTTY === true);
  const base = {
    level: opts.level ?? 'info',
    redact: { paths: ['password', 'secret', '*.password', '*.secret', 'psk', '*.psk', 'key', '*.key'], censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (pretty) {
    return pinoLib().pino({ ...base, transport: { target: 'pino-pretty', options: { destination: fd, colorize: true } } });
  }
  return pinoLib().pino(base, pinoLib().destination({ fd, sync: true }));
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pinoLib().pino({ level: 'silent' });
}
