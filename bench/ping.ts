import { BENCH_PING_COUNT, BENCH_PING_INTERVAL_S, WeftError } from '../src/common/index.js';
import { exec } from './netns.js';
import { waitUntil } from './wait.js';

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

/** Pings until a reply arrives or `timeoutMs` passes. Returns the time it took. ms */
export async function waitReachable(ns: string, ip: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const start = Date.now();
  await waitUntil(`route to ${ip} from the client pod`, timeoutMs, async () =>
    (await exec(ns, ['ping', '-q', '-n', '-c', '1', '-W', '1', ip], { allowFail: true, timeoutMs: 5_000, signal })).code === 0,
  { signal, intervalMs: 200 });
  return Date.now() - start;
}
