/**
 * Live traffic for the truth-table test: a long-lived TCP stream between two world pods (an echo
 * server from net-probe.js in the destination pod, `hold` in the source) and a loop of new TCP
 * connections (connect-loop.js) whose outcomes are timestamped, to see which connections a
 * policy change keeps and how fast it reaches new ones. Every process is tracked by the lab.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO, type Lab } from './lab.js';
import type { WorldPod } from './policy-world.js';
import { waitFor } from './wait.js';

const NET_PROBE = join(REPO, 'dist', 'test', 'support', 'net-probe.js');
const CONNECT_LOOP = join(REPO, 'dist', 'test', 'support', 'connect-loop.js');

/** A held TCP connection: `echo()` resolves true when a fresh line comes back within `ms`. */
export interface HeldStream {
  echo(ms?: number): Promise<boolean>;
  close(): void;
}

/** An echo server on `port` in `to`, and one TCP connection to it from `from`, kept open. */
export async function holdStream(lab: Lab, from: WorldPod, to: WorldPod, port: number): Promise<HeldStream> {
  const srv = lab.track(spawn('ip', ['netns', 'exec', to.netns, process.execPath, NET_PROBE, 'serve', `tcp:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let ready = '';
  srv.stdout!.on('data', (d: Buffer) => { ready += d.toString(); });
  await waitFor(() => ready.includes('ready'), { timeoutMs: 10_000, intervalMs: 20, what: `the echo server in ${to.key}` });
  const c = lab.track(spawn('ip', ['netns', 'exec', from.netns, process.execPath, NET_PROBE, 'hold', to.ip, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  let out = '';
  c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  await waitFor(() => out.startsWith('ok\n'), { timeoutMs: 5_000, intervalMs: 20, what: `the stream ${from.key} -> ${to.key}:${port}` });
  let n = 0;
  return {
    echo: async (ms = 3_000) => {
      const line = `line-${++n}-${Date.now()}`;
      c.stdin!.write(`${line}\n`);
      return waitFor(() => out.includes(`${line}\n`), { timeoutMs: ms, intervalMs: 10, what: `the echo of ${line}` }).then(() => true, () => false);
    },
    close: () => { c.stdin!.end(); srv.kill('SIGKILL'); },
  };
}

/** New TCP connections from `from` to `to`:`port` every `intervalMs`, each with its start time and outcome. */
export interface ConnectLoop {
  /** Outcomes of the attempts started at or after `t` (wall-clock ms), in start order. */
  since(t: number): { start: number; ok: boolean }[];
  /** ms from `t0` to the first of 3 consecutive attempts (started after t0) with outcome `want`. */
  until(t0: number, want: boolean, what: string): Promise<number>;
  stop(): void;
}

export function connectLoop(lab: Lab, from: WorldPod, to: WorldPod, port: number, intervalMs = 10): ConnectLoop {
  const p = lab.track(spawn('ip', ['netns', 'exec', from.netns, process.execPath, CONNECT_LOOP, to.ip, String(port), String(intervalMs), '300'], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const results: { start: number; ok: boolean }[] = [];
  let buf = '';
  p.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const [t, r] = l.split(' ');
      results.push({ start: Number(t), ok: r === 'ok' });
    }
  });
  const since = (t: number): { start: number; ok: boolean }[] => results.filter((r) => r.start >= t).sort((a, b) => a.start - b.start);
  return {
    since,
    until: async (t0, want, what) => {
      let at = 0;
      await waitFor(() => {
        const rs = since(t0);
        const i = rs.findIndex((_r, k) => rs.length >= k + 3 && rs.slice(k, k + 3).every((x) => x.ok === want));
        if (i < 0) return false;
        at = rs[i]!.start;
        return true;
      }, { timeoutMs: 20_000, intervalMs: 10, what });
      return at - t0;
    },
    stop: () => { p.stdin!.end(); p.kill('SIGKILL'); },
  };
}

/** The q-quantile of `xs` (nearest rank). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
