import { BENCH_PING_COUNT, BENCH_PING_INTERVAL_S, WeftError } from '../common/index.js';
import { exec } from './netns.js';

/** Round-trip times of one ping series. */
export interface PingResult {
  transmitted: number;
  received: number;
  /** ms */
  minMs: number;
  avgMs: number;
  maxMs: number;
}

/**
 * Parses the summary of iputils `ping -q`. Throws WEFT_ERR_DECODE when the counts are missing,
 * WEFT_ERR_HOST when no reply arrived (there is then no rtt line).
 */
export function parsePingSummary(text: string): PingResult {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  if (!counts) throw new WeftError('WEFT_ERR_DECODE', 'ping output lacks the packet counts');
  const transmitted = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/mdev)? = ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(text);
  if (received === 0 || !rtt) throw new WeftError('WEFT_ERR_HOST', `ping: 0 of ${transmitted} replies`);
  return { transmitted, received, minMs: Number(rtt[1]), avgMs: Number(rtt[2]), maxMs: Number(rtt[3]) };
}

/** Measures RTT from `ns` to `ip` (BENCH_PING_COUNT echoes, BENCH_PING_INTERVAL_S apart). */
export async function runPing(ns: string, ip: string, signal?: AbortSignal): Promise<PingResult> {
  const deadlineS = Math.ceil(BENCH_PING_COUNT * BENCH_PING_INTERVAL_S) + 3;
  const r = await exec(
    ns,
    ['ping', '-q', '-n', '-c', `${BENCH_PING_COUNT}`, '-i', `${BENCH_PING_INTERVAL_S}`, '-W', '1', '-w', `${deadlineS}`, ip],
    { allowFail: true, timeoutMs: (deadlineS + 5) * 1000, signal },
  );
  return parsePingSummary(r.stdout);
}

/** Pings once a second-ish until a reply arrives or `timeoutMs` passes. Throws WEFT_ERR_TIMEOUT. */
export async function waitReachable(ns: string, ip: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const r = await exec(ns, ['ping', '-q', '-n', '-c', '1', '-W', '1', ip], { allowFail: true, timeoutMs: 5_000, signal });
    if (r.code === 0) return Date.now() - start;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new WeftError('WEFT_ERR_TIMEOUT', `${ip} not reachable from the client pod within ${timeoutMs / 1000} s`);
}
