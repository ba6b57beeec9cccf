import { WeftError } from '../../common/index.js';
import type { Daemon } from '../types.js';

/** Last non-empty output line of a daemon, for one-line failure reasons. */
export function lastLine(d: Daemon): string {
  const lines = d.outputTail().split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const line = lines[lines.length - 1] ?? '(no output)';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/**
 * Polls `probe` every 100 ms until it returns true. Fails fast with WEFT_ERR_HOST when one of
 * `daemons` exited meanwhile, and with WEFT_ERR_TIMEOUT after `timeoutMs`.
 */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  daemons: readonly Daemon[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    const dead = daemons.find((d) => !d.running);
    if (dead) throw new WeftError('WEFT_ERR_HOST', `${dead.label} exited: ${lastLine(dead)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new WeftError('WEFT_ERR_TIMEOUT', `${what} not ready after ${timeoutMs} ms`);
}
