import { BENCH_IPERF_PORT, WeftError } from '../src/common/index.js';
import { exec, firstLine } from './netns.js';
import { isListening, waitUntil } from './wait.js';

/** Throughput of one iperf3 TCP run, from its `-J` report. */
export interface IperfResult {
  /** Receiver-side goodput summed over streams. Mbit/s */
  mbps: number;
  /** Sender-side rate. Mbit/s */
  sentMbps: number;
  /** TCP retransmits summed over streams (sender side). count */
  retransmits: number;
  /** Measured length of the test. s */
  seconds: number;
  streams: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Parses `iperf3 -J` output of a TCP client run. Throws WEFT_ERR_DECODE on malformed JSON or
 * missing fields, WEFT_ERR_HOST when iperf3 itself reported an error (its message is kept).
 */
export function parseIperfJson(text: string): IperfResult {
  let root: Json | undefined;
  try {
    root = obj(JSON.parse(text));
  } catch {
    throw new WeftError('WEFT_ERR_DECODE', `iperf3 output is not JSON: ${firstLine(text, 80) || '(empty)'}`);
  }
  if (!root) throw new WeftError('WEFT_ERR_DECODE', 'iperf3 output is not a JSON object');
  if (typeof root['error'] === 'string') throw new WeftError('WEFT_ERR_HOST', `iperf3: ${root['error']}`);
  const end = obj(root['end']);
  const sent = obj(end?.['sum_sent']);
  const recv = obj(end?.['sum_received']);
  const recvBps = num(recv?.['bits_per_second']);
  const sentBps = num(sent?.['bits_per_second']);
  if (recvBps === undefined || sentBps === undefined) {
    throw new WeftError('WEFT_ERR_DECODE', 'iperf3 JSON lacks end.sum_sent/sum_received bits_per_second');
  }
  const streams = Array.isArray(end?.['streams']) ? (end['streams'] as unknown[]).length : 1;
  return {
    mbps: recvBps / 1e6,
    sentMbps: sentBps / 1e6,
    retransmits: num(sent?.['retransmits']) ?? 0,
    seconds: num(recv?.['seconds']) ?? num(sent?.['seconds']) ?? 0,
    streams: Math.max(1, streams),
  };
}

/** argv of the long-lived iperf3 server in the server pod (run via spawnDaemon). */
export function iperfServerArgv(serverIp: string): string[] {
  return ['iperf3', '-s', '-B', serverIp, '-p', `${BENCH_IPERF_PORT}`, '--idle-timeout', '60'];
}

/** Waits (bounded) until the iperf3 server listens in `ns`. Throws WEFT_ERR_TIMEOUT. */
export async function waitIperfListening(ns: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await waitUntil('iperf3 server', timeoutMs, () => isListening(ns, 'tcp', BENCH_IPERF_PORT, signal), { signal });
}

/**
 * Runs one iperf3 TCP client from `ns` to `serverIp` for `durationS` with `streams` parallel
 * streams. Bounded by a timeout of duration + 15 s; throws WeftError on any failure.
 */
export async function runIperfClient(
  ns: string,
  serverIp: string,
  durationS: number,
  streams: number,
  signal?: AbortSignal,
): Promise<IperfResult> {
  const argv = [
    'iperf3', '-c', serverIp, '-p', `${BENCH_IPERF_PORT}`, '-t', `${durationS}`, '-P', `${streams}`,
    '-J', '--connect-timeout', '3000',
  ];
  const r = await exec(ns, argv, { timeoutMs: (durationS + 15) * 1000, allowFail: true, signal });
  // iperf3 -J prints its error inside the JSON, also on non-zero exits.
  return parseIperfJson(r.stdout);
}
