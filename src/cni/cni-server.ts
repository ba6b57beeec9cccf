/**
 * The daemon's end of `POST /cni`: one forwarded plugin invocation (the CNI_* variables and the
 * exact stdin) run through the same protocol shell as a plugin process (runCniPlugin), so the
 * daemon parses and validates exactly as the Node plugin does, maps errors to CNI codes in one
 * place (cni-error.ts, by code) and answers with what the plugin must print and its exit code.
 */
import type { Logger } from '../common/index.js';
import type { CniPlugin } from './plugin-main.js';
import { runCniPlugin } from './plugin-main.js';

/** The CNI_* variables a front end forwards (the only ones the plugins read). */
export const FORWARDED_CNI_VARS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;

/** One forwarded invocation. */
export interface CniInvocation {
  env: Partial<Record<(typeof FORWARDED_CNI_VARS)[number], string>>;
  /** stdin as UTF-8 text (the network configuration). */
  stdin: string;
}

/** What the front end prints on stdout and the exit code it ends with. */
export interface CniAnswer {
  exitCode: number;
  output: string;
}

/** Run `plugin` for one forwarded invocation. Never throws (every failure is an error result). */
export async function answerCni(plugin: CniPlugin, inv: CniInvocation, log: Logger): Promise<CniAnswer> {
  let output = '';
  const env: Record<string, string | undefined> = {};
  for (const k of FORWARDED_CNI_VARS) if (inv.env[k] !== undefined) env[k] = inv.env[k];
  const exitCode = await runCniPlugin(plugin, {
    env,
    readStdin: () => Promise.resolve(Buffer.from(inv.stdin, 'utf8')),
    writeStdout: (t) => { output += t; },
    writeStderr: (t) => { log.debug({ text: t.trim() }, 'cni: plugin stderr'); },
    logger: log,
  });
  // Refusals and failures are answered to the runtime, and logged here with what was printed.
  if (exitCode !== 0) log.info({ cmd: env.CNI_COMMAND, containerId: env.CNI_CONTAINERID, result: output.trim().slice(0, 500) }, 'cni: invocation failed');
  return { exitCode, output };
}
