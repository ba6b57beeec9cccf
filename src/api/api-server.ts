import type { IncomingMessage, ServerResponse } from 'node:http';
import { chmod } from 'node:fs/promises';
import { WeftError, isWeftError, API_MAX_BODY_BYTES, type Logger, type Startable } from '../common/index.js';
import { Router, type HttpMethod, type RouteHandler } from './router.js';
import { asWeftError, readJsonObject, sendError, sendJson } from './http-json.js';
import { alreadyRunning, prepareSocketPath, socketError } from './socket-file.js';
import { HttpListener } from './listen.js';
import { API_ROUTES as API_ROUTES_FLOWS, type RouteName, type RouteRef } from './route-table.js';
import type { ReplyOf, RequestOf } from './routes.js';
import { serveFlowStream, type FlowSource } from './flow-route.js';
import type { FlowQuery } from './flow-schema.js';

/** What a typed route handler receives: the validated request (body, or query for GET). */
export interface TypedRequest<K extends RouteName> {
  request: RequestOf<K>;
  /** Aborted when the client goes away before the reply is sent (long calls should stop). */
  signal: AbortSignal;
}

/** Handler of route K: returns its reply (or a promise of it), or throws a WeftError. */
export type TypedHandler<K extends RouteName> = (req: TypedRequest<K>) => ReplyOf<K> | Promise<ReplyOf<K>>;

/**
 * Short stable reasons of refused requests (label `reason` of weft_bad_input_total{source="api"}):
 * bad_request (fails its route's schema), bad_json, too_big, no_route, bad_method, bad_path.
 */
export type ApiBadInputReason = 'bad_request' | 'bad_json' | 'too_big' | 'no_route' | 'bad_method' | 'bad_path';

/** A handler's value meaning "the reply was streamed already". */
const STREAMED = Symbol('streamed');

type Validator = (name: RouteName, value: unknown) => void;

/** Construction options of an ApiServer (fixed for its lifetime). */
export interface ApiServerOptions {
  /** Unix socket path (absolute); its parent directory is created 0700 when missing. */
  socketPath: string;
  /** Used as given: pass a child logger carrying the component name. */
  logger: Logger;
  /** Request body cap. bytes (default API_MAX_BODY_BYTES) */
  maxBodyBytes?: number;
  /** Called once per refused request (the daemon counts them in weft_bad_input_total). */
  onBadInput?: (reason: ApiBadInputReason) => void;
}

/**
 * The daemon's control API: HTTP/1.1 with JSON bodies over a unix socket (mode 0600, so only
 * its owner — root — may call it). Every mutating operation of weft is reachable only here.
 * The server has no business logic: subsystems register handlers by route with {@link handle}.
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
  private readonly listener = new HttpListener('API server', (req, res) => void this.serve(req, res));

  constructor(private readonly opts: ApiServerOptions) {
    this.log = opts.logger;
    this.maxBodyBytes = opts.maxBodyBytes ?? API_MAX_BODY_BYTES;
  }

  get socketPath(): string {
    return this.opts.socketPath;
  }

  /**
   * Serve route K (one of API_ROUTES / ROUTES) with `handler`. Before the handler runs, the
   * request — the JSON body for POST, the query parameters for GET — is checked against the
   * route's schema; a bad one is refused with WEFT_ERR_BAD_ARGS naming the field (400),
   * counted and logged. The schemas (typebox) are loaded on start, not when this module is.
   */
  handle<R extends RouteRef, K extends RouteName = R['name']>(route: R, handler: TypedHandler<K>): this {
    const name = route.name as K;
    this.router.add(route.method, route.path, async ({ body, query, signal }) => {
      const request = route.method === 'GET' ? Object.fromEntries(query) : body;
      try {
        (await this.validator())(name, request);
      } catch (e) {
        this.refused('bad_request', e);
        throw e;
      }
      return handler({ request: request as RequestOf<K>, signal });
    });
    return this;
  }

  /**
   * Serve the flow routes (`GET /flows` and the NDJSON stream `GET /flows/stream`) from
   * `source`, the query checked against the route schema first.
   */
  handleFlows(source: FlowSource): this {
    this.handle(API_ROUTES_FLOWS.flows, ({ request, signal }) => source.query(request, signal));
    this.router.add('GET', API_ROUTES_FLOWS.flowsStream.path, async ({ query, signal, res }) => {
      const request = Object.fromEntries(query);
      try {
        (await this.validator())('flowsStream', request);
      } catch (e) {
        this.refused('bad_request', e);
        throw e;
      }
      await serveFlowStream(res!, source, request as FlowQuery, signal);
      return STREAMED;
    });
    return this;
  }

  /**
   * Register an untyped handler for `method path` (`:name` segments allowed). Only for test
   * doubles and routes outside the API contract: the daemon serves its API with {@link handle}.
   */
  route(method: HttpMethod, path: string, handler: RouteHandler): this {
    this.router.add(method, path, handler);
    return this;
  }

  private validation: Promise<Validator> | null = null;

  private validator(): Promise<Validator> {
    this.validation ??= import('./validate.js').then((m) => m.checkRequest);
    return this.validation;
  }

  private refused(reason: ApiBadInputReason, e: unknown): void {
    this.opts.onBadInput?.(reason);
    this.log.warn({ reason, err: e instanceof Error ? e.message : String(e) }, 'API request refused');
  }

  start(): Promise<void> {
    const path = this.opts.socketPath;
    return this.listener.start(path, {
      before: async () => { await this.validator(); await prepareSocketPath(path); },
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

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const aborter = new AbortController();
    res.once('close', () => { if (!res.writableFinished) aborter.abort(); });
    const url = new URL(req.url ?? '/', 'http://weft.invalid');
    try {
      let match: ReturnType<Router['match']>;
      try {
        match = this.router.match(req.method ?? '', url.pathname);
      } catch (e) {
        this.refused('bad_path', e);
        throw e;
      }
      if (match.kind === 'none') {
        const e = new WeftError('WEFT_ERR_NO_API_ROUTE', `no API route ${req.method} ${url.pathname}`);
        this.refused('no_route', e);
        throw e;
      }
      if (match.kind === 'method') {
        const e = new WeftError('WEFT_ERR_NO_API_ROUTE', `no API route ${req.method} ${url.pathname} (allowed: ${match.allowed.join(', ')})`);
        this.refused('bad_method', e);
        sendError(res, e, 405, { allow: match.allowed.join(', ') });
      } else {
        let body: Record<string, unknown> = {};
        if (req.method !== 'GET') {
          try {
            body = await readJsonObject(req, this.maxBodyBytes);
          } catch (e) {
            this.refused(isWeftError(e, 'WEFT_ERR_TOO_BIG') ? 'too_big' : 'bad_json', e);
            throw e;
          }
        }
        const result = await match.handler({ body, query: url.searchParams, params: match.params, signal: aborter.signal, res });
        if (result !== STREAMED) sendJson(res, 200, result);
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
