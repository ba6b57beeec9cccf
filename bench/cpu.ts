import { readFile } from 'node:fs/promises';

/**
 * CPU and memory accounting from /proc. The parse/arithmetic functions are pure (unit tested);
 * the readers return null for processes that exited. 100 % = one core busy for the window.
 */

/** Machine-wide CPU time from the first line of /proc/stat. ticks */
export interface MachineTicks {
  /** user + nice + system + irq + softirq + steal */
  busy: number;
  /** busy + idle + iowait */
  total: number;
}

/** A process's own and reaped children's CPU time, from /proc/PID/stat. ticks */
export interface ProcTicks {
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** Parses the aggregate "cpu" line of /proc/stat (guest time is already in user). */
export function parseProcStat(text: string): MachineTicks {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new RangeError('no aggregate cpu line in /proc/stat');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/**
 * Parses /proc/PID/stat. The command name (field 2) may contain spaces and parentheses, so
 * fields are counted from the last ')'. utime/stime/cutime/cstime are fields 14–17.
 */
export function parsePidStat(text: string): ProcTicks {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new RangeError('malformed /proc/PID/stat');
  const rest = text.slice(close + 2).trim().split(/\s+/); // rest[0] is field 3 (state)
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v)) throw new RangeError(`malformed /proc/PID/stat field ${n}`);
    return v;
  };
  return { utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) };
}

/** VmRSS from /proc/PID/status in KiB; null when absent (kernel threads, zombies). */
export function parseVmRssKb(text: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** CPU time as a percentage of one core over a wall-clock window. */
export function cpuPercent(ticks: number, wallMs: number, clkTck: number): number {
  if (wallMs <= 0) return 0;
  return (ticks / clkTck / (wallMs / 1000)) * 100;
}

/**
 * Foreign load: machine busy time not spent by our processes, as % of one core. Clamped at 0
 * (tick sampling of short processes can make "ours" exceed the machine delta slightly).
 */
export function foreignPercent(machineBusyTicks: number, ourTicks: number, wallMs: number, clkTck: number): number {
  return Math.max(0, cpuPercent(machineBusyTicks - ourTicks, wallMs, clkTck));
}

export async function readMachineTicks(): Promise<MachineTicks> {
  return parseProcStat(await readFile('/proc/stat', 'utf8'));
}

/** Own CPU ticks of a process (utime+stime), plus reaped children when `withChildren`. */
export async function readProcTicks(pid: number | 'self', withChildren = false): Promise<number | null> {
  try {
    const t = parsePidStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
    return t.utime + t.stime + (withChildren ? t.cutime + t.cstime : 0);
  } catch {
    return null;
  }
}

export async function readRssKb(pid: number): Promise<number | null> {
  try {
    return parseVmRssKb(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** Sums the ticks of `pids` that are still alive; returns per-pid values for deltas. */
export async function readTicksOf(pids: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const t = await readProcTicks(pid);
    if (t !== null) out.set(pid, t);
  }
  return out;
}

/** Sum of (after − before) over pids present in both samples. ticks */
export function tickDelta(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let sum = 0;
  for (const [pid, b] of before) {
    const a = after.get(pid);
    if (a !== undefined && a >= b) sum += a - b;
  }
  return sum;
}
