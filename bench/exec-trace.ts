/**
 * Counting the programs a process tree starts, from `strace -f --seccomp-bpf -e trace=execve
 * -ttt -o FILE` output. With --seccomp-bpf only execve stops the tracees, so the trace costs
 * the traced daemon nothing measurable between execs. Pure parsing here; no I/O.
 */

/** One successful execve. */
export interface ExecEvent {
  pid: number;
  /** Seconds since the epoch (strace -ttt). s */
  t: number;
  /** The program (first argument of execve). */
  path: string;
}

const CALL = /^(\d+)\s+(\d+\.\d+)\s+execve(?:at)?\((?:AT_FDCWD, )?"([^"]*)"/;
const RESUMED = /^(\d+)\s+(\d+\.\d+)\s+<\.\.\. execve(?:at)? resumed>.*= (-?\d+)/;

/**
 * Successful execs in strace text. A call that ends in `= 0` on its line counts at once; an
 * `<unfinished ...>` call counts when its `resumed` line returns 0. Failed attempts (execvp's
 * PATH search: `= -1 ENOENT`) do not count.
 */
export function parseExecTrace(text: string): ExecEvent[] {
  const out: ExecEvent[] = [];
  const pending = new Map<number, ExecEvent>();
  for (const line of text.split('\n')) {
    const c = CALL.exec(line);
    if (c) {
      const ev = { pid: Number(c[1]), t: Number(c[2]), path: c[3]! };
      if (/\) = 0$/.test(line.trimEnd())) out.push(ev);
      else if (line.includes('<unfinished ...>')) pending.set(ev.pid, ev);
      continue;
    }
    const r = RESUMED.exec(line);
    if (r) {
      const ev = pending.get(Number(r[1]));
      pending.delete(Number(r[1]));
      if (ev && r[3] === '0') out.push(ev);
    }
  }
  return out;
}

/** Execs within [from, to] (seconds since the epoch). */
export function execsBetween(events: readonly ExecEvent[], from: number, to: number): ExecEvent[] {
  return events.filter((e) => e.t >= from && e.t <= to);
}

/** "ip ×12, nft ×3" — the programs by basename, most frequent first. */
export function summarizeExecs(events: readonly ExecEvent[]): string {
  const n = new Map<string, number>();
  for (const e of events) {
    const b = e.path.split('/').pop() ?? e.path;
    n.set(b, (n.get(b) ?? 0) + 1);
  }
  return [...n.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${v}`).join(', ');
}
