import { WeftError } from '../src/common/index.js';
import { exec } from './netns.js';
import type { Daemon } from './types.js';

/** Last non-empty output line of a daemon, for one-line failure reasons. */
export function lastLine(d: Daemon): string {
  const lines = d.outputTail().split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const line = lines[lines.length - 1] ?? '(no output)';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/**
 * Polls `probe` every `intervalMs` until it returns true. Fails fast with WEFT_ERR_HOST when
 * one of `daemons` exited meanwhile, with WEFT_ERR_CLOSED when `signal` aborts, and with
 * WEFT_ERR_TIMEOUT after `timeoutMs`.
 */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  opts: { daemons?: readonly Daemon[]; signal?: AbortSignal; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const daemons = opts.daemons ?? [];
  while (Date.now() < deadline) {
    if (opts.signal?.aborted) throw new WeftError('WEFT_ERR_CLOSED', `aborted while waiting for ${what}`);
    if (await probe()) return;
    const dead = daemons.find((d) => !d.running);
    if (dead) throw new WeftError('WEFT_ERR_HOST', `${dead.label} exited: ${lastLine(dead)}`);
    await new Promise((res) => setTimeout(res, opts.intervalMs ?? 100));
  }
  throw new WeftError('WEFT_ERR_TIMEOUT', `${what} not ready after ${timeoutMs / 1000} s`);
}

/** True when something in `ns` listens on `port` (TCP) or has bound it (UDP), per `ss`. */
export async function isListening(ns: string, proto: 'tcp' | 'udp', port: number, signal?: AbortSignal): Promise<boolean> {
  const r = await exec(ns, ['ss', '-Hln', proto === 'tcp' ? '-t' : '-u', `sport = :${port}`], { allowFail: true, signal });
  return r.code === 0 && r.stdout.trim().length > 0;
}
