/**
 * The protocol shell shared by both plugins: environment and stdin in, one verb dispatched,
 * the result or the spec's error JSON out on stdout, exit code 0 or 1. Plugin logic only sees
 * a validated {@link PluginRequest}.
 */
import { CNI_MAX_STDIN_BYTES, createLogger, type Logger } from '../common/index.js';
import { CniError, toCniError } from './cni-error.js';
import { parseCniEnv, type CniEnv } from './cni-env.js';
import { formatResult, type CniResult } from './cni-result.js';
import { parseNetConf, type NetConf, type PluginKind } from './netconf.js';
import { LATEST_CNI_VERSION, SUPPORTED_CNI_VERSIONS, isSupportedVersion } from './versions.js';

/** One validated invocation, as a verb implementation receives it. */
export interface PluginRequest {
  env: CniEnv;
  conf: NetConf;
  /** stderr logger (level warn unless WEFT_CNI_LOG_LEVEL says otherwise), or the daemon's. */
  log: Logger;
  /** The invocation's environment as received (delegated plugins get its CNI_* variables). */
  rawEnv: Record<string, string | undefined>;
}

/**
 * A CNI plugin: one function per verb (VERSION is answered by the shell). Each throws a
 * CniError (or any error, reported as 999). `add` returns the internal result; the shell
 * converts it to the requested version. `del` must be idempotent.
 */
export interface CniPlugin {
  kind: PluginKind;
  add(req: PluginRequest): Promise<CniResult>;
  del(req: PluginRequest): Promise<void>;
  check(req: PluginRequest): Promise<void>;
  status(req: PluginRequest): Promise<void>;
  gc(req: PluginRequest): Promise<void>;
}

/** The process edges of one plugin run (tests pass their own). */
export interface PluginIo {
  env: Record<string, string | undefined>;
  readStdin(): Promise<Buffer>;
  writeStdout(text: string): void;
  writeStderr(text: string): void;
  /** Logger for the verbs (the daemon passes its own); default stderr, WEFT_CNI_LOG_LEVEL. */
  logger?: Logger;
}

/** The real process: env, stdin (bounded), stdout, stderr. */
export function processIo(): PluginIo {
  return {
    env: process.env,
    readStdin: () => readBounded(process.stdin, CNI_MAX_STDIN_BYTES),
    writeStdout: (t) => { process.stdout.write(t); },
    writeStderr: (t) => { process.stderr.write(t); },
  };
}

function readBounded(stream: NodeJS.ReadableStream & { isTTY?: boolean }, max: number): Promise<Buffer> {
  if (stream.isTTY) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new CniError(5, `network configuration on stdin is larger than ${max} bytes`));
        stream.removeAllListeners('data');
        stream.resume();
      } else {
        chunks.push(c);
      }
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', (e: Error) => reject(new CniError(5, `reading the network configuration from stdin failed: ${e.message}`)));
  });
}

/** The declared cniVersion of raw stdin if it is one we speak (for VERSION and error results). */
function declaredVersion(raw: Buffer): string | undefined {
  try {
    const v = (JSON.parse(raw.toString('utf8')) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** What a dispatcher hands back to the shell: the text for stdout and the exit code. */
export interface ShellAnswer {
  output: string;
  exitCode: number;
}

/**
 * Run `plugin` once. Returns the exit code (0 success, 1 error). Never throws: every failure
 * becomes `{ cniVersion, code, msg, details? }` on stdout.
 */
export function runCniPlugin(plugin: CniPlugin, io: PluginIo = processIo()): Promise<number> {
  return runCniShell(plugin.kind, io, async (req) => {
    switch (req.env.command) {
      case 'ADD': return { output: JSON.stringify(formatResult(await plugin.add(req), req.conf.cniVersion)) + '\n', exitCode: 0 };
      case 'DEL': await plugin.del(req); break;
      case 'CHECK': await plugin.check(req); break;
      case 'STATUS': await plugin.status(req); break;
      case 'GC': await plugin.gc(req); break;
      case 'VERSION': break; // answered by the shell
    }
    return { output: '', exitCode: 0 };
  });
}

/**
 * The protocol shell around `dispatch`: reads stdin, validates env and configuration (same
 * order and errors for every plugin and front end), answers VERSION itself, and prints what
 * `dispatch` returns or the error result of what it throws. Never throws.
 */
export async function runCniShell(kind: PluginKind, io: PluginIo, dispatch: (req: PluginRequest) => Promise<ShellAnswer>): Promise<number> {
  let raw: Buffer = Buffer.alloc(0);
  let version: string = LATEST_CNI_VERSION;
  try {
    raw = await io.readStdin();
    const declared = declaredVersion(raw);
    if (isSupportedVersion(declared)) version = declared;
    const env = parseCniEnv(io.env);
    if (env.command === 'VERSION') {
      io.writeStdout(JSON.stringify({ cniVersion: declared ?? LATEST_CNI_VERSION, supportedVersions: SUPPORTED_CNI_VERSIONS }) + '\n');
      return 0;
    }
    const conf = parseNetConf(raw, env.command, kind);
    const level = io.env.WEFT_CNI_LOG_LEVEL;
    const log = (io.logger ?? createLogger({ level: level === 'debug' || level === 'info' || level === 'error' ? level : 'warn', pretty: false, fd: 2 }))
      .child({ component: kind, cmd: env.command, containerId: env.containerId || undefined });
    const answer = await dispatch({ env, conf, log, rawEnv: io.env });
    io.writeStdout(answer.output);
    return answer.exitCode;
  } catch (e) {
    const err = toCniError(e);
    if (err.cniCode === 4 && !io.env.CNI_COMMAND) {
      io.writeStderr(`${kind}: a CNI plugin of weft (CNI spec ${SUPPORTED_CNI_VERSIONS.join(', ')}); a container runtime runs it with CNI_COMMAND and the network configuration on stdin\n`);
    }
    io.writeStdout(JSON.stringify(err.toResult(version)) + '\n');
    return 1;
  }
}
