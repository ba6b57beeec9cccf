import { cpus, release, totalmem } from 'node:os';
import { exec, firstLine } from './netns.js';

/** Where a bench ran: recorded with every result so numbers stay comparable. */
export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memGb: number;
  kernel: string;
  node: string;
  /** Clock ticks per second of /proc times (getconf CLK_TCK). */
  clkTck: number;
  /** First version line of each measured tool ("n/a" when missing). */
  tools: Record<string, string>;
}

const VERSION_COMMANDS: Record<string, string[]> = {
  iperf3: ['iperf3', '--version'],
  'wireguard-go': ['wireguard-go', '--version'],
  wg: ['wg', '--version'],
  tincd: ['tincd', '--version'],
  nebula: ['nebula', '-version'],
  fastd: ['fastd', '--version'],
};

/** Clock ticks per second for /proc/*\/stat times; 100 when getconf is unavailable. */
export async function clockTicks(): Promise<number> {
  try {
    const v = Number((await exec(null, ['getconf', 'CLK_TCK'], { timeoutMs: 5_000 })).stdout.trim());
    return Number.isInteger(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
}

/** Collects machine facts and tool versions (best effort, bounded by per-command timeouts). */
export async function machineInfo(): Promise<MachineInfo> {
  const tools: Record<string, string> = {};
  for (const [name, argv] of Object.entries(VERSION_COMMANDS)) {
    try {
      const r = await exec(null, argv, { allowFail: true, timeoutMs: 5_000 });
      tools[name] = firstLine(r.stdout) || firstLine(r.stderr) || 'n/a';
    } catch {
      tools[name] = 'n/a';
    }
  }
  const c = cpus();
  return {
    cpuModel: c[0]?.model ?? 'unknown',
    cpus: c.length,
    memGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    clkTck: await clockTicks(),
    tools,
  };
}
