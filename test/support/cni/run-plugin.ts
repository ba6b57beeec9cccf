/**
 * Test fixture: run a compiled plugin exactly as a runtime does (fresh process, CNI_* env,
 * config on stdin, result on stdout), asynchronously so an in-process stand-in daemon can
 * answer it. Optionally inside a host namespace (`nsenter --net=PATH`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type PluginName = 'weft-net' | 'weft-ipam';

/**
 * How weft-net is run: the compiled front end (build/Release/weft-net, what setup-cni installs)
 * or the Node plugin (dist/cmd/weft-net.js, the reference). The CNI tests run their weft-net
 * cases against both.
 */
export type FrontEnd = 'compiled' | 'node';
export const WEFT_NET_FRONT_ENDS: readonly FrontEnd[] = ['compiled', 'node'];

/** The compiled front end built by `npm ci`. */
export const COMPILED_FRONT_END = fileURLToPath(new URL('../../../../build/Release/weft-net', import.meta.url));

let nodeWrapper: string | undefined;
/** An executable that runs the Node plugin (what the front end falls back to: weft-net-node). */
export function nodePluginWrapper(): string {
  if (nodeWrapper && existsSync(nodeWrapper)) return nodeWrapper;
  const dir = mkdtempSync(join(tmpdir(), 'weft-net-node-'));
  nodeWrapper = join(dir, 'weft-net-node');
  writeFileSync(nodeWrapper, `#!/bin/sh\nexec '${process.execPath}' '${pluginScript('weft-net')}' "$@"\n`, { mode: 0o755 });
  return nodeWrapper;
}

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

/**
 * Run `name` with exactly `env` (plus PATH) and `stdin` (objects are JSON-encoded). weft-net
 * runs as `frontEnd` (default the Node plugin); the compiled one also gets
 * WEFT_CNI_NODE_PLUGIN, the Node plugin it falls back to.
 */
export function runPlugin(name: PluginName, env: Record<string, string>, stdin: unknown,
  opts: { hostNetns?: string; timeoutMs?: number; frontEnd?: FrontEnd } = {}): Promise<PluginRun> {
  const input = typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  const compiled = name === 'weft-net' && opts.frontEnd === 'compiled';
  const argv = compiled ? [COMPILED_FRONT_END] : [process.execPath, pluginScript(name)];
  if (compiled) env = { ...env, WEFT_CNI_NODE_PLUGIN: nodePluginWrapper() };
  const [cmd, args] = opts.hostNetns
    ? ['nsenter', [`--net=${opts.hostNetns}`, ...argv]]
    : [argv[0]!, argv.slice(1)];
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
