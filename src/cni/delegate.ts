/**
 * Delegation (spec section 4): run another plugin (an IPAM plugin) found in CNI_PATH with the
 * same environment and the same stdin, its stderr passed through to ours.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { CNI_DELEGATE_TIMEOUT_MS } from '../common/index.js';
import { CniError } from './cni-error.js';
import type { CniCommand } from './cni-env.js';

/** What a delegated plugin printed and how it exited. */
export interface DelegateOutcome {
  /** Parsed stdout (undefined when it printed nothing). */
  output: unknown;
}

/** First executable named `type` in the CNI_PATH directories; 4 when CNI_PATH is empty, 7 when not found. */
export async function findPlugin(type: string, path: string[]): Promise<string> {
  if (path.length === 0) throw new CniError(4, `CNI_PATH is not set, so the IPAM plugin "${type}" cannot be found`);
  for (const dir of path) {
    const file = join(dir, type);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch { /* next directory */ }
  }
  throw new CniError(7, `IPAM plugin "${type}" (ipam.type) not found in CNI_PATH ${path.join(':')}`);
}

/**
 * Run the delegated plugin `type` for `command`. Success: its parsed stdout. A CNI error
 * result is rethrown as a CniError with the plugin's own code and message (prefixed with its
 * name); a crash, timeout or garbage output is 999.
 */
export async function execDelegate(type: string, command: CniCommand, stdin: Buffer, path: string[],
  env: NodeJS.ProcessEnv = process.env): Promise<DelegateOutcome> {
  const file = await findPlugin(type, path);
  const { code, stdout, signal } = await new Promise<{ code: number | null; stdout: string; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const child = spawn(file, [], { env: { ...env, CNI_COMMAND: command }, stdio: ['pipe', 'pipe', 'inherit'], timeout: CNI_DELEGATE_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', (e) => reject(new CniError(999, `running IPAM plugin ${file} failed: ${e.message}`)));
    child.once('close', (c, s) => resolve({ code: c, stdout: Buffer.concat(chunks).toString('utf8'), signal: s }));
    child.stdin.on('error', () => { /* the plugin may exit without reading stdin */ });
    child.stdin.end(stdin);
  });
  let output: unknown;
  if (stdout.trim() !== '') {
    try {
      output = JSON.parse(stdout);
    } catch {
      if (code === 0) throw new CniError(999, `IPAM plugin ${type} printed something that is not JSON: ${stdout.trim().slice(0, 120)}`);
    }
  }
  if (code === 0) return { output };
  const err = output as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  if (err && typeof err.code === 'number' && typeof err.msg === 'string') {
    throw new CniError(err.code, `IPAM plugin ${type}: ${err.msg}`, typeof err.details === 'string' ? err.details : undefined);
  }
  const how = signal ? `was killed by ${signal}${signal === 'SIGTERM' ? ` (timeout ${CNI_DELEGATE_TIMEOUT_MS} ms?)` : ''}` : `exited with code ${code}`;
  throw new CniError(999, `IPAM plugin ${type} ${command} ${how}`);
}

/** A delegated plugin's environment: `base` (the daemon's PATH and the like) plus the invocation's CNI_* variables. */
export function delegateEnvOf(base: NodeJS.ProcessEnv, invocation: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const cni = Object.fromEntries(Object.entries(invocation).filter(([k]) => k.startsWith('CNI_')));
  return { ...base, ...cni };
}
