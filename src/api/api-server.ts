import type { IncomingMessage, ServerResponse } from 'node:http';
import { chmod } from 'node:fs/promises';
import { WeftError, API_MAX_BODY_BYTES, type Logger, type Startable } from '../common/index.js';
import { Router, type HttpMethod, type RouteHandler } from './router.js';
import { asWeftError, readJsonObject, sendError, sendJson } from './http-json.js';
import { alreadyRunning, prepareSocketPath, socketError } from './socket-file.js';
import { HttpListener } from './listen.js';
import { validate, type RouteSpec, type ValidRequestOf, type ReplyOf } from './routes.js';

/** What a typed handler ({@link ApiServer.serve}) receives: the validated request. */
export interface ServedRequest<R extends RouteSpec> {
  /** The body (POST) or query parameters (GET), checked against the route's request schema. */
  input: ValidRequestOf<R>;
  /** Aborted when the client goes away before the reply is sent. */
  signal: AbortSignal;
}

/** Construction options of an ApiServer (fixed for its lifetime). */
export interface ApiServerOptions {
  /** Unix socket path (absolute); its parent directory is created 0700 when missing. */
  socketPath: string;
  /** Used as given: pass a child logger carrying the component name. */
  logger: Logger;
  /** Request body cap. bytes (default API_MAX_BODY_BYTES) */
  maxBodyBytes?: number;
}

/**
 * The daemon's control API: HTTP/1.1 with JSON bodies over a unix socket (mode 0600, so only
 * its owner — root — may call it). Every mutating operation of weft is reachable only here.
 * The server has no business logic: subsystems register handlers with {@link route}.
 *
 * Lifecycle: `route()` any time (normally before start) → `start()` once → `stop()`.
 * `start()` removes a stale socket file, and fails with WEFT_ERR_ALREADY_RUNNING when a live
 * daemon answers on the path. `stop()` is idempotent: it stops accepting, gives in-flight
 * replies API_SHUTDOWN_GRACE_MS, then drops every connection; the socket file is removed.
 *
 * Replies: the handler's value as JSON (200), `undefined` → 204, a thrown WeftError →
 * `{ error: { code, message } }` with 400/404/405/409/413/503/500 (see httpStatusForError).
 * A handler may trigger `stop()` (without awaiting it): its own reply is still delivered.
 */
export class ApiServer implements Startable {
  private readonly router = new Router();
  private readonly log: Logger;
  private readonly maxBodyBytes: number;
  private refused = 0;
  private readonly listener = new HttpListener('API server', (req, res) => void this.handle(req, res));

  constructor(private readonly opts: ApiServerOptions) {
    this.log = opts.logger;
    this.maxBodyBytes = opts.maxBodyBytes ?? API_MAX_BODY_BYTES;
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  /** Requests refused because their body or query did not match the route's schema. count */
  get badRequests(): number {
    return this.refused;
  }

  /**
   * Serve one route of the contract (src/api/routes.ts). The body (POST) or query (GET) is
   * validated against the route's request schema first: a mismatch is refused with
   * WEFT_ERR_BAD_ARGS and a one-line message naming the field, counted ({@link badRequests})
   * and logged; the handler only ever sees valid input, and must return the route's reply.
   */
  serve<R extends RouteSpec>(spec: R, handler: (req: ServedRequest<R>) => Promise<ReplyOf<R>> | ReplyOf<R>): this {
    return this.route(spec.method, spec.path, ({ body, query, signal }) => {
      const raw = spec.method === 'GET' ? Object.fromEntries(query) : body;
      const checked = validate(spec.request, raw);
      if (!checked.ok) {
        this.refused++;
        this.log.warn({ method: spec.method, path: spec.path, problem: checked.problem }, 'API request refused');
        throw new WeftError('WEFT_ERR_BAD_ARGS', `${spec.method} ${spec.path}: ${checked.problem}`);
      }
      return handler({ input: checked.value as ValidRequestOf<R>, signal });
    });
  }

  /** Register `handler` for `method path`; `path` may hold `:name` parameters (`/ip/:owner`). */
  route(method: HttpMethod, path: string, handler: RouteHandler): this {
    this.router.add(method, path, handler);
    return this;
  }

  start(): Promise<void> {
    const path = this.opts.socketPath;
    return this.listener.start(path, {
      before: () => prepareSocketPath(path),
      after: async () => {
        await chmod(path, 0o600).catch((e: NodeJS.ErrnoException) => { throw socketError(path, e); });
        this.log.info({ socket: path }, 'API listening');
      },
      toError: (e) => (e.code === 'EADDRINUSE' ? alreadyRunning(path) : socketError(path, e)),
    });
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const aborter = new AbortController();
    res.once('close', () => { if (!res.writableFinished) aborter.abort(); });
    const url = new URL(req.url ?? '/', 'http://weft.invalid');
    try {
      const match = this.router.match(req.method ?? '', url.pathname);
      if (match.kind === 'none') throw new WeftError('WEFT_ERR_NO_ENDPOINT', `no API endpoint ${url.pathname}`);
      if (match.kind === 'method') {
        const e = new WeftError('WEFT_ERR_BAD_METHOD', `method ${req.method} not allowed on ${url.pathname}`);
        sendError(res, e, 405, { allow: match.allowed.join(', ') });
      } else {
        const body = req.method === 'GET' ? {} : await readJsonObject(req, this.maxBodyBytes).catch((e: unknown) => {
          this.refused++;
          this.log.warn({ method: req.method, path: url.pathname, problem: (e as Error).message }, 'API request refused');
          throw e;
        });
        const result = await match.handler({ body, query: url.searchParams, params: match.params, signal: aborter.signal });
        sendJson(res, 200, result);
      }
    } catch (thrown) {
      const e = asWeftError(thrown);
      if (e.code === 'WEFT_ERR_INTERNAL') this.log.error({ err: thrown, method: req.method, path: url.pathname }, 'API handler failed');
      // An over-long body is left unread: close the connection instead of draining it.
      sendError(res, e, undefined, e.code === 'WEFT_ERR_TOO_BIG' ? { connection: 'close' } : {});
    }
    this.log.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started }, 'API request');
  }
}
