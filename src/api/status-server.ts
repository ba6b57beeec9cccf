import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { WeftError, type Logger, type Startable } from '../common/index.js';
import { asWeftError, sendError } from './http-json.js';
import { parseHostPort } from './host-port.js';
import { HttpListener } from './listen.js';
import type { ApiErrorBody, Readiness } from './types.js';
import type { WorkloadsReply } from './cluster-schema.js';
import { loadUiAssets, UI_HEADERS, type UiAssets } from './ui-assets.js';
import { serveFlowStream, type FlowSource } from './flow-route.js';
import type { FlowQuery } from './flow-schema.js';

/** Construction options of a StatusServer; the callbacks are called per request and must be cheap. */
export interface StatusServerOptions {
  /** "host:port" to listen on ("[v6]:port" for IPv6; port 0 = ephemeral), or '' to disable. */
  addr: string;
  registry: Registry;
  /** Produces the `GET /status` JSON (normally a StatusReport). */
  status: () => unknown;
  /** Drives `/readyz`. */
  readiness: () => Readiness;
  /** Produces `GET /workloads` (every pod of the cluster this daemon knows); absent → 404. */
  workloads?: () => WorkloadsReply;
  /**
   * Directory of the web page served under `/ui/` (the package's `ui/`), read once at start.
   * Absent → no page. Unreadable → the listener still starts, logs why, and `/ui/` answers 503.
   */
  uiDir?: string;
  /** Used as given: pass a child logger carrying the component name. */
  logger: Logger;
  /** Serves `/flows` and `/flows/stream` (absent: 404). */
  flows?: FlowSource;
  /** Called once per refused flow query (counted like API bad input). */
  onBadQuery?: () => void;
}

type Reply = { status: number; type: string; body: string | Buffer; headers?: Readonly<Record<string, string>> };

/**
 * Read-only HTTP listener for monitoring: `GET /status` (JSON), `/metrics` (Prometheus text),
 * `/healthz` (200 "ok" while the process serves requests), `/readyz` (200 "ready", or 503 with
 * the reason), `/flows` (JSON) and `/flows/stream` (NDJSON) with the query of docs/flows.md,
 * `/workloads` (the cluster's pods, JSON) and the web page under `/ui/` (docs/ui.md).
 * Only GET and HEAD; other methods → 405, other paths → 404. It never changes anything, so it
 * may be exposed more widely than the API socket (default 127.0.0.1 only); nothing it serves
 * holds a secret or key.
 *
 * Lifecycle: `start()` once (a no-op when `addr` is ''); `stop()` idempotent. The address is
 * validated in the constructor (WEFT_ERR_BAD_ARGS); a busy port fails `start()` (WEFT_ERR_HOST).
 */
export class StatusServer implements Startable {
  private readonly log: Logger;
  private readonly target: { host: string; port: number } | null;
  private readonly listener = new HttpListener('status server', (req, res) => void this.handle(req, res));
  private ui: UiAssets | { error: string } | null = null;

  constructor(private readonly opts: StatusServerOptions) {
    this.log = opts.logger;
    if (opts.addr === '') {
      this.target = null;
    } else {
      const hp = parseHostPort(opts.addr, { what: 'status address', requirePort: true, allowPortZero: true });
      this.target = { host: hp.host, port: hp.port! };
    }
  }

  /** The bound address once started (useful with port 0), or null when disabled/stopped. */
  address(): { host: string; port: number } | null {
    return this.listener.address();
  }

  async start(): Promise<void> {
    if (!this.target) return;
    if (this.opts.uiDir !== undefined && this.ui === null) {
      const dir = this.opts.uiDir;
      this.ui = await loadUiAssets(dir).catch((e: unknown) => {
        const error = `web page files not readable: ${e instanceof Error ? e.message : String(e)}`;
        this.log.warn({ dir }, error);
        return { error };
      });
    }
    await this.listener.start(this.target, {
      toError: (e) => new WeftError('WEFT_ERR_HOST', `cannot listen on status address ${this.opts.addr}: ${e.code ?? e.message}`, { cause: e }),
      after: async () => { this.log.info({ addr: this.address() }, 'status listener up'); },
    });
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://weft.invalid');
    const path = url.pathname;
    const aborter = new AbortController();
    res.once('close', () => aborter.abort());
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, new WeftError('WEFT_ERR_NO_API_ROUTE', 'the status listener is read-only'), 405, { allow: 'GET, HEAD' });
        return;
      }
      if ((path === '/flows' || path === '/flows/stream') && this.opts.flows) {
        const q = await this.flowQuery(url.searchParams, path === '/flows' ? 'flows' : 'flowsStream');
        if (path === '/flows/stream') {
          await serveFlowStream(res, this.opts.flows, q, aborter.signal);
          return;
        }
        const body = JSON.stringify(await this.opts.flows.query(q, aborter.signal)) + '\n';
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
        return;
      }
      const reply = await this.reply(path);
      if (!reply) throw new WeftError('WEFT_ERR_NO_API_ROUTE', `no status endpoint ${path}`);
      res.writeHead(reply.status, { ...reply.headers, 'content-type': reply.type, 'content-length': String(Buffer.byteLength(reply.body)) });
      res.end(req.method === 'HEAD' ? undefined : reply.body);
    } catch (thrown) {
      const e = asWeftError(thrown);
      if (e.code === 'WEFT_ERR_INTERNAL') this.log.error({ err: thrown, path }, 'status request failed');
      sendError(res, e);
    }
  }

  /** The query parameters checked against the route schema (and each flag once). */
  private async flowQuery(params: URLSearchParams, route: 'flows' | 'flowsStream'): Promise<FlowQuery> {
    try {
      const keys = [...params.keys()];
      const twice = keys.find((k, i) => keys.indexOf(k) !== i);
      if (twice !== undefined) throw new WeftError('WEFT_ERR_BAD_ARGS', `query parameter "${twice.slice(0, 64)}" given twice`);
      const q = Object.fromEntries(params);
      (await import('./validate.js')).checkRequest(route, q);
      this.opts.flows!.check(q as FlowQuery);
      return q as FlowQuery;
    } catch (e) {
      this.opts.onBadQuery?.();
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'flow query refused');
      throw e;
    }
  }

  private async reply(path: string): Promise<Reply | null> {
    const text = (status: number, body: string): Reply => ({ status, type: 'text/plain; charset=utf-8', body: body + '\n' });
    if (path === '/ui' || path.startsWith('/ui/')) return this.page(path);
    switch (path) {
      case '/status':
        return json(await this.opts.status());
      case '/metrics':
        return { status: 200, type: this.opts.registry.contentType, body: await this.opts.registry.metrics() };
      case '/healthz':
        return text(200, 'ok');
      case '/readyz': {
        const r = this.opts.readiness();
        return r.ready ? text(200, 'ready') : text(503, `not ready: ${r.reason ?? 'starting'}`);
      }
      case '/workloads':
        return this.opts.workloads ? json(this.opts.workloads()) : null;
      default:
        return null;
    }
  }

  /** `/ui` → `/ui/` (relative links), `/ui/NAME` → one of the page's files. */
  private page(path: string): Reply | null {
    const ui = this.ui;
    if (ui === null) return null;
    if (path === '/ui') return { status: 308, type: 'text/plain; charset=utf-8', body: 'see /ui/\n', headers: { location: '/ui/' } };
    if ('error' in ui) {
      const body: ApiErrorBody = { error: { code: 'WEFT_ERR_NOT_FOUND', message: ui.error } };
      return { ...json(body), status: 503 };
    }
    const file = ui.get(path.slice('/ui/'.length));
    if (!file) return null;
    return { status: 200, type: file.type, body: file.body, headers: UI_HEADERS };
  }
}

function json(value: unknown): Reply {
  return { status: 200, type: 'application/json; charset=utf-8', body: JSON.stringify(value) + '\n' };
}

