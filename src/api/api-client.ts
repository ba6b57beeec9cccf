import { request, type IncomingMessage } from 'node:http';
import {
  WeftError, API_CLIENT_TIMEOUT_MS, API_MAX_RESPONSE_BYTES, type WeftErrorCode,
} from '../common/index.js';
import { probeSocket, socketError } from './socket-file.js';
import { API_ROUTES, type RouteName, type RouteRef } from './route-table.js';
import type { ReplyOf, RequestOf } from './routes.js';
import type { HttpMethod } from './router.js';

/** The request argument of {@link ApiClient.call}: optional when the route takes no fields. */
export type RequestArgs<K extends RouteName> = Record<string, never> extends RequestOf<K> ? [request?: RequestOf<K>] : [request: RequestOf<K>];

/** Where and how patiently an ApiClient talks to the daemon. */
export interface ApiClientOptions {
  socketPath: string;
  /** Per-request limit (connect + reply). ms (default API_CLIENT_TIMEOUT_MS) */
  timeoutMs?: number;
}

/**
 * Client of the daemon's API socket. Stateless: one connection per request, nothing to close.
 * Every failure is a WeftError: WEFT_ERR_NOT_RUNNING when no daemon listens on the socket,
 * WEFT_ERR_TIMEOUT when it does not answer in time, WEFT_ERR_CLOSED when the connection drops
 * before a reply, and the server's own code and message for error replies.
 */
export class ApiClient {
  readonly socketPath: string;
  private readonly timeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.socketPath = opts.socketPath;
    this.timeoutMs = opts.timeoutMs ?? API_CLIENT_TIMEOUT_MS;
  }

  /** True when something accepts connections on the socket (no request is made). */
  async isRunning(): Promise<boolean> {
    return (await probeSocket(this.socketPath, this.timeoutMs)) === 'live';
  }

  /**
   * Call route K (an entry of API_ROUTES or ROUTES): POST sends `request` as the JSON body,
   * GET sends its fields as query parameters. Resolves with the reply typed by the route's
   * schema (the daemon validates requests; replies are trusted as typed).
   */
  call<R extends RouteRef, K extends RouteName = R['name']>(route: R, ...args: RequestArgs<K>): Promise<ReplyOf<K>> {
    const request = (args[0] ?? {}) as Record<string, unknown>;
    if (route.method === 'GET') {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(request)) if (v !== undefined) query.set(k, String(v));
      const qs = query.toString();
      return this.request<ReplyOf<K>>('GET', qs ? `${route.path}?${qs}` : route.path);
    }
    return this.request<ReplyOf<K>>(route.method, route.path, request);
  }

  /**
   * Follow an NDJSON streaming route (`flowsStream`): `onLine` gets each parsed line until
   * `signal` aborts or the daemon ends the stream; resolves then. No overall timeout (the
   * stream is meant to last), but the first byte must come within the client's timeout.
   * An error reply before the stream opens rejects with its WeftError; a line that is not
   * JSON rejects with WEFT_ERR_DECODE.
   */
  stream<R extends RouteRef, K extends RouteName = R['name']>(route: R, query: RequestOf<K>, onLine: (line: ReplyOf<K>) => void,
    signal?: AbortSignal): Promise<void> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    const path = qs ? `${route.path}?${qs}` : route.path;
    return new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method: 'GET', path, agent: false, headers: { accept: 'application/x-ndjson' } });
      const timer = setTimeout(() => req.destroy(new WeftError('WEFT_ERR_TIMEOUT',
        `weft API at ${this.socketPath} did not open ${path} within ${this.timeoutMs} ms`)), this.timeoutMs);
      const onAbort = (): void => { req.destroy(); resolve(); };
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (fn: () => void): void => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); fn(); };
      req.once('error', (e: NodeJS.ErrnoException) => finish(() => (signal?.aborted ? resolve() : reject(this.connectError(e)))));
      req.once('response', (res) => {
        clearTimeout(timer);
        if ((res.statusCode ?? 0) !== 200) {
          readReply(res).then((text) => finish(() => { try { decodeReply(res.statusCode ?? 0, text); reject(new WeftError('WEFT_ERR_DECODE', 'weft API did not stream')); } catch (e) { reject(e); } }),
            (e: unknown) => finish(() => reject(e)));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          if (pending.length > API_MAX_RESPONSE_BYTES) { res.destroy(); finish(() => reject(new WeftError('WEFT_ERR_TOO_BIG', 'weft API stream line too long'))); return; }
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line === '') continue;
            let value: unknown;
            try { value = JSON.parse(line); } catch {
              res.destroy();
              finish(() => reject(new WeftError('WEFT_ERR_DECODE', 'weft API stream sent a line that is not JSON')));
              return;
            }
            onLine(value as ReplyOf<K>);
          }
        });
        res.once('end', () => finish(resolve));
        res.once('error', (e) => finish(() => (signal?.aborted ? resolve() : reject(e))));
      });
      req.end();
    });
  }

  status(): Promise<ReplyOf<'status'>> {
    return this.call(API_ROUTES.status);
  }

  stop(): Promise<ReplyOf<'stop'>> {
    return this.call(API_ROUTES.stop);
  }

  /**
   * One raw call (untyped; prefer {@link call}): `body` is sent as JSON (POST/DELETE).
   * Resolves with the parsed JSON reply, or undefined for 204. `path` may include a query.
   */
  request<T = unknown>(method: HttpMethod, path: string, body?: object): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath, method, path, agent: false,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      });
      const timer = setTimeout(() => req.destroy(new WeftError('WEFT_ERR_TIMEOUT',
        `weft API at ${this.socketPath} did not answer ${method} ${path} within ${this.timeoutMs} ms`)), this.timeoutMs);
      const finish = (fn: () => void): void => { clearTimeout(timer); fn(); };
      req.once('error', (e: NodeJS.ErrnoException) => finish(() => reject(this.connectError(e))));
      req.once('response', (res) => {
        readReply(res).then(
          (text) => finish(() => { try { resolve(decodeReply<T>(res.statusCode ?? 0, text)); } catch (e) { reject(e); } }),
          (e: unknown) => finish(() => reject(e instanceof WeftError ? e : this.connectError(e as NodeJS.ErrnoException))),
        );
      });
      req.end(payload);
    });
  }

  private connectError(e: NodeJS.ErrnoException): WeftError {
    if (e instanceof WeftError) return e;
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
      return new WeftError('WEFT_ERR_NOT_RUNNING', `weft is not running (no API socket at ${this.socketPath})`, { cause: e });
    }
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.message === 'socket hang up') {
      return new WeftError('WEFT_ERR_CLOSED', `weft API at ${this.socketPath} closed the connection before replying`, { cause: e });
    }
    return socketError(this.socketPath, e);
  }
}

function readReply(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > API_MAX_RESPONSE_BYTES) {
        res.destroy();
        reject(new WeftError('WEFT_ERR_TOO_BIG', `weft API reply over ${API_MAX_RESPONSE_BYTES} bytes`));
      } else {
        chunks.push(c);
      }
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

function decodeReply<T>(status: number, text: string): T {
  let value: unknown;
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      if (status >= 200 && status < 300) throw new WeftError('WEFT_ERR_DECODE', `weft API sent invalid JSON (HTTP ${status})`);
    }
  }
  if (status >= 200 && status < 300) return value as T;
  const err = (value as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (err && typeof err.code === 'string' && err.code.startsWith('WEFT_ERR_') && typeof err.message === 'string') {
    throw new WeftError(err.code as WeftErrorCode, err.message);
  }
  throw new WeftError('WEFT_ERR_INTERNAL', `weft API answered HTTP ${status}${text ? `: ${text.trim().slice(0, 200)}` : ''}`);
}
