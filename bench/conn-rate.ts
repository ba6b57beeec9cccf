import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { WeftError } from '../src/common/index.js';
import { exec, firstLine } from './netns.js';
import { waitUntil } from './wait.js';

/**
 * New-connection rate between two pods: `bench/conn-loop.c` (compiled per sandbox into its temp
 * dir) accepts and closes in the server pod, and opens, waits for the server's FIN and closes in
 * the client pod, from several threads, for a few seconds.
 */

/** The probe's source in the checkout (dist/bench/… → bench/conn-loop.c). */
export const CONN_LOOP_SOURCE = fileURLToPath(new URL('../../bench/conn-loop.c', import.meta.url));
/** Client threads of one rate run. */
export const CONN_RATE_THREADS = 4;
/** Length of one rate run. s */
export const CONN_RATE_SECONDS = 3;
/** Port of the accept-and-close server in the server pod. */
export const CONN_RATE_PORT = 7001;

/** One rate run. */
export interface ConnRateResult {
  /** Completed connections (handshake and the server's FIN). count */
  connections: number;
  /** Failed or timed-out (1 s) attempts. count */
  errors: number;
  /** Measured length. s */
  seconds: number;
  /** connections / seconds. 1/s */
  perSecond: number;
  threads: number;
}

/** Parses the client's one line "connections errors seconds". Throws WEFT_ERR_DECODE. */
export function parseConnLoop(text: string, threads: number): ConnRateResult {
  const m = /^(\d+) (\d+) ([\d.]+)\s*$/.exec(text.trim());
  if (!m) throw new WeftError('WEFT_ERR_DECODE', `conn-loop output not understood: ${firstLine(text, 80) || '(empty)'}`);
  const connections = Number(m[1]);
  const errors = Number(m[2]);
  const seconds = Number(m[3]);
  if (!(seconds > 0)) throw new WeftError('WEFT_ERR_DECODE', 'conn-loop measured no time');
  return { connections, errors, seconds, perSecond: connections / seconds, threads };
}

/** Compiles the probe into `dir`; returns the binary's path. Throws WEFT_ERR_HOST (no cc, bad build). */
export async function buildConnLoop(dir: string, signal?: AbortSignal): Promise<string> {
  const bin = join(dir, 'conn-loop');
  await exec(null, ['cc', '-O2', '-pthread', '-o', bin, CONN_LOOP_SOURCE], { timeoutMs: 60_000, ...(signal ? { signal } : {}) });
  return bin;
}

/** argv of the accept-and-close server (run via spawnDaemon in the server pod). */
export function connServerArgv(bin: string, ip: string, port: number): string[] {
  return [bin, 'serve', ip, String(port)];
}

/** One rate run from `ns` (bounded: duration + 10 s). Throws WeftError. */
export async function runConnRate(
  ns: string, bin: string, ip: string, port: number,
  o: { seconds?: number; threads?: number; signal?: AbortSignal } = {},
): Promise<ConnRateResult> {
  const seconds = o.seconds ?? CONN_RATE_SECONDS;
  const threads = o.threads ?? CONN_RATE_THREADS;
  const r = await exec(ns, [bin, 'connect', ip, String(port), String(Math.round(seconds * 1000)), String(threads)], {
    timeoutMs: (seconds + 10) * 1000, ...(o.signal ? { signal: o.signal } : {}),
  });
  return parseConnLoop(r.stdout, threads);
}

/** Waits until a TCP connection from `ns` to ip:port completes (for pods that drop ICMP). */
export async function waitTcpReachable(ns: string, bin: string, ip: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await waitUntil(`TCP to ${ip}:${port} from the client pod`, timeoutMs, async () => {
    const r = await exec(ns, [bin, 'connect', ip, String(port), '200', '1'], { allowFail: true, timeoutMs: 5_000, ...(signal ? { signal } : {}) });
    return r.code === 0 && /^[1-9]\d* /.test(r.stdout.trim());
  }, { intervalMs: 200, ...(signal ? { signal } : {}) });
}
