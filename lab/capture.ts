/**
 * tcpdump into a pcap file, started for real before the caller sends anything: `startCapture`
 * resolves only once tcpdump has printed "listening on" (its socket is bound and filtering).
 * `stop()` waits until the file has stopped growing (tcpdump writes every packet at once, -U),
 * then interrupts tcpdump and waits for it to exit. Lifecycle: start once, stop once (stop is
 * idempotent); the caller owns the file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { waitFor } from './wait.js';

/** A running capture. */
export interface Capture {
  readonly file: string;
  /** Packets in the file so far that match `filter` (a pcap-filter expression). */
  count(filter: string): number;
  /** Settle, SIGINT, wait for exit (bounded). Idempotent. */
  stop(): Promise<void>;
}

export interface CaptureOptions {
  /** Network namespace to capture in (null: the caller's). */
  ns: string | null;
  dev: string;
  file: string;
  /** pcap-filter expression. */
  filter: string;
  /** Bound on tcpdump's start-up (default 10 000). ms */
  startTimeoutMs?: number;
}

/** Packets in pcap `file` matching `filter`. */
export function countPackets(file: string, filter: string): number {
  const r = spawnSync('tcpdump', ['-r', file, '-n', filter], { encoding: 'utf8', timeout: 30_000 });
  return (r.stdout ?? '').split('\n').filter((l) => l.trim() !== '').length;
}

function fileSize(file: string): number {
  try { return statSync(file).size; } catch { return -1; }
}

export async function startCapture(o: CaptureOptions): Promise<Capture> {
  const argv = ['tcpdump', '--immediate-mode', '-U', '-n', '-s', '0', '-i', o.dev, '-w', o.file, o.filter];
  const full = o.ns ? ['ip', 'netns', 'exec', o.ns, ...argv] : argv;
  const p = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<void>((r) => p.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`tcpdump on ${o.dev} did not start within ${o.startTimeoutMs ?? 10_000} ms: ${stderr.trim()}`));
    }, o.startTimeoutMs ?? 10_000);
    p.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (/listening on /.test(stderr)) { clearTimeout(timer); resolve(); }
    });
    p.once('error', (e) => { clearTimeout(timer); reject(e); });
    p.once('close', (code) => { clearTimeout(timer); reject(new Error(`tcpdump on ${o.dev} exited (${code}): ${stderr.trim()}`)); });
  });
  let stopping: Promise<void> | null = null;
  return {
    file: o.file,
    count: (filter) => countPackets(o.file, filter),
    stop() {
      stopping ??= (async () => {
        let last = -2;
        // Settled when two reads 100 ms apart see the same size (bounded: 5 s).
        await waitFor(() => { const s = fileSize(o.file); const same = s === last; last = s; return same; },
          { timeoutMs: 5_000, intervalMs: 100, what: `${o.file} to stop growing` }).catch(() => undefined);
        p.kill('SIGINT');
        const killer = setTimeout(() => p.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}
