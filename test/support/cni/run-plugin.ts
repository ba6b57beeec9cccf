/**
 * Test fixture: run a compiled plugin exactly as a runtime does (fresh process, CNI_* env,
 * config on stdin, result on stdout), asynchronously so an in-process stand-in daemon can
 * answer it. Optionally inside a host namespace (`nsenter --net=PATH`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type PluginName = 'weft-net' | 'weft-ipam';

/** Compiled entry of a plugin (dist/cmd/<name>.js). */
export function pluginScript(name: PluginName): string {
  return fileURLToPath(new URL(`../../../cmd/${name}.js`, import.meta.url));
}

/** How one plugin run ended. */
export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Parsed stdout, or undefined when it was empty / not JSON. */
  json: Record<string, unknown> | undefined;
  ms: number;
}

/** Run `name` with exactly `env` (plus PATH) and `stdin` (objects are JSON-encoded). */
export function runPlugin(name: PluginName, env: Record<string, string>, stdin: unknown,
  opts: { hostNetns?: string; timeoutMs?: number } = {}): Promise<PluginRun> {
  const input = typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  const [cmd, args] = opts.hostNetns
    ? ['nsenter', [`--net=${opts.hostNetns}`, process.execPath, pluginScript(name)]]
    : [process.execPath, [pluginScript(name)]];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args as string[], {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.once('error', reject);
    child.once('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try { json = stdout.trim() ? JSON.parse(stdout) as Record<string, unknown> : undefined; } catch { json = undefined; }
      resolve({ code: code ?? -1, stdout, stderr, json, ms: performance.now() - t0 });
    });
    child.stdin.on('error', () => { /* plugin may exit before reading */ });
    child.stdin.end(input);
  });
}

/** The CNI_* variables of an attachment verb. */
export function cniEnv(command: string, o: { containerId?: string; netns?: string; ifname?: string; path?: string; args?: string } = {}): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: o.containerId ?? 'f04ebfb294451a1b7b2cd4eaa70f3274c7b589662990cca845d846e679760c13',
    CNI_NETNS: o.netns ?? '',
    CNI_IFNAME: o.ifname ?? 'eth0',
    CNI_ARGS: o.args ?? 'IgnoreUnknown=1',
    CNI_PATH: o.path ?? '/usr/lib/cni',
  };
}
