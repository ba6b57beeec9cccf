/**
 * DockerPluginServer: Docker's plugin protocol over a unix socket (mode 0600, as Docker's own
 * plugins; dockerd runs as root). Every request is a POST with a JSON body checked against
 * its schema; replies are JSON with Docker's content type. An unknown path gets 404 (libnetwork
 * treats it as "not implemented"), a bad body 400, a failed operation 500, all with
 * `{"Err": "..."}`: one line a person can act on. Bad input is counted (`onBadInput`) and logged.
 */
import { chmod } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  WeftError, describeError, isWeftError, DOCKER_PLUGIN_CONTENT_TYPE, DOCKER_PLUGIN_MAX_BODY_BYTES, type Logger,
} from '../common/index.js';
import { HttpListener, loadDockerPluginProtocol, prepareSocketPath, type DockerPluginPath } from '../api/index.js';
import type { DockerPlugin } from './plugin.js';

type Protocol = { isDockerPluginPath(path: string): path is DockerPluginPath; checkDockerRequest(path: DockerPluginPath, body: unknown): void };

/** Why a request was refused, as counted. */
export type DockerBadInputReason = 'unknown_endpoint' | 'bad_method' | 'too_big' | 'bad_json' | 'bad_body' | 'bad_request';

/** Construction options of a {@link DockerPluginServer}. */
export interface DockerPluginServerOptions {
  socketPath: string;
  plugin: DockerPlugin;
  log: Logger;
  /** Counts refused requests (the daemon: weft_bad_input_total{source="docker"}). */
  onBadInput?: (reason: DockerBadInputReason) => void;
}

/**
 * Lifecycle: `start()` loads the protocol schemas, starts the plugin (its state) and binds the
 * socket (WEFT_ERR_ALREADY_RUNNING when another process answers there; a stale socket file is
 * replaced); `stop()` closes the socket, then stops the plugin. Idempotent.
 */
export class DockerPluginServer {
  private protocol: Protocol | null = null;
  private readonly listener = new HttpListener('Docker plugin server', (req, res) => void this.serve(req, res));

  constructor(private readonly o: DockerPluginServerOptions) {}

  async start(): Promise<void> {
    this.protocol = await loadDockerPluginProtocol();
    await this.o.plugin.start();
    const path = this.o.socketPath;
    await this.listener.start(path, {
      before: () => prepareSocketPath(path),
      after: () => chmod(path, 0o600),
      toError: (e) => new WeftError('WEFT_ERR_HOST', `Docker plugin socket ${path}: ${e.message}`, { cause: e }),
    });
    this.o.log.info({ socket: path }, 'docker: plugin listening (driver and IPAM driver "weft")');
  }

  async stop(): Promise<void> {
    await this.listener.stop();
    await this.o.plugin.stop();
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    const p = this.protocol!;
    if (!p.isDockerPluginPath(path)) {
      req.resume();
      return this.refuse(res, 404, 'unknown_endpoint', path,
        `unknown plugin endpoint ${path}: weft implements Plugin.Activate, NetworkDriver.* and IpamDriver.* (docs/docker.md)`);
    }
    if (req.method !== 'POST') {
      req.resume();
      return this.refuse(res, 405, 'bad_method', path, `${req.method ?? '?'} ${path}: plugin endpoints take POST`);
    }
    let body: unknown;
    try {
      const text = await readBody(req);
      body = text.trim() === '' ? null : JSON.parse(text);
    } catch (e) {
      if (isWeftError(e, 'WEFT_ERR_TOO_BIG')) return this.refuse(res, 413, 'too_big', path, e.message);
      return this.refuse(res, 400, 'bad_json', path, `bad request to ${path}: the body is not JSON`);
    }
    try {
      p.checkDockerRequest(path, body);
    } catch (e) {
      return this.refuse(res, 400, 'bad_body', path, (e as Error).message);
    }
    try {
      const reply = await this.o.plugin.handle(path, body as never);
      this.o.log.debug({ path }, 'docker: request served');
      send(res, 200, reply);
    } catch (e) {
      const message = e instanceof WeftError ? e.message : `internal error: ${describeError(e)}`;
      // A well-formed request weft cannot serve as asked (wrong subnet, IPv6, foreign pool…) is bad input too.
      if (isWeftError(e, 'WEFT_ERR_BAD_ARGS')) this.o.onBadInput?.('bad_request');
      this.o.log.warn({ path, err: describeError(e) }, 'docker: request failed');
      send(res, isWeftError(e, 'WEFT_ERR_BAD_ARGS') ? 400 : 500, { Err: `weft: ${path}: ${message}` });
    }
  }

  private refuse(res: ServerResponse, status: number, reason: DockerBadInputReason, path: string, message: string): void {
    this.o.onBadInput?.(reason);
    this.o.log.warn({ path: path.slice(0, 200), reason }, `docker: request refused: ${message.slice(0, 300)}`);
    send(res, status, { Err: `weft: ${message}` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': DOCKER_PLUGIN_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > DOCKER_PLUGIN_MAX_BODY_BYTES) {
        failed = true;
        reject(new WeftError('WEFT_ERR_TOO_BIG', `request body over ${DOCKER_PLUGIN_MAX_BODY_BYTES} bytes`));
        req.resume();
      } else chunks.push(c);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}
