/**
 * Process helpers for the CNI tests (the namespaces come from the one Lab, ./lab.ts): run a
 * command synchronously or without blocking the event loop (an in-process stand-in daemon
 * keeps answering), with the runtime's warning lines left out of error messages.
 */
import { spawn, spawnSync } from 'node:child_process';

export function run(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env });
  if (r.status !== 0 && !opts.allowFail) {
    const lines = (r.stderr || r.stdout || '').trim().split('\n').filter((l) => !/level=warning/.test(l));
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${lines.slice(-3).join(' | ')}`);
  }
  return r.stdout ?? '';
}

/** Like run(), without blocking the event loop (an in-process stand-in daemon keeps answering). */
export function runAsync(cmd: string, args: string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => { stdout += c; });
    p.stderr!.on('data', (c: Buffer) => { stderr += c; });
    p.once('error', reject);
    p.once('close', (code, signal) => {
      if (code === 0 || opts.allowFail) return resolve(stdout);
      const lines = (stderr || stdout).trim().split('\n').filter((l) => !/level=warning/.test(l));
      reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${lines.slice(-3).join(' | ')}`));
    });
  });
}
