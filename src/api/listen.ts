import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WeftError, API_REQUEST_TIMEOUT_MS, API_SHUTDOWN_GRACE_MS } from '../common/index.js';

export type ListenTarget = string | { host: string; port: number };

export interface ListenSteps {
  /** Runs before binding (e.g. preparing the socket path). */
  before?(): Promise<void>;
  /** Runs once bound; if it throws, the server is closed again and start() rejects. */
  after?(): Promise<void>;
  /** Maps a listen() error (EADDRINUSE, EACCES, …) to a WeftError. */
  toError(e: NodeJS.ErrnoException): WeftError;
}

/**
 * The start-once / stop-once life of one node:http server, shared by the API and status
 * servers. `start()` binds (a second call returns the first call's promise; after `stop()` it
 * rejects with WEFT_ERR_CLOSED). `stop()` is idempotent, waits for a start in progress, stops
 * accepting, closes idle keep-alive connections, gives in-flight requests
 * API_SHUTDOWN_GRACE_MS and then destroys what is left. It never rejects.
 */
export class HttpListener {
  private server: Server | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly what: string, private readonly handler: RequestListener) {}

  start(target: ListenTarget, steps: ListenSteps): Promise<void> {
    if (this.stopping) return Promise.reject(new WeftError('WEFT_ERR_CLOSED', `${this.what} already stopped`));
    this.starting ??= this.bind(target, steps);
    return this.starting;
  }

  /** Bound TCP address (null for unix sockets, or when not listening). */
  address(): { host: string; port: number } | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: (a as AddressInfo).address, port: (a as AddressInfo).port } : null;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      await this.close();
    })();
    return this.stopping;
  }

  private async bind(target: ListenTarget, steps: ListenSteps): Promise<void> {
    await steps.before?.();
    const server = createServer(this.handler);
    server.requestTimeout = API_REQUEST_TIMEOUT_MS;
    server.headersTimeout = API_REQUEST_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => reject(steps.toError(e));
      server.once('error', onError);
      const onListening = (): void => { server.off('error', onError); resolve(); };
      if (typeof target === 'string') server.listen(target, onListening);
      else server.listen(target.port, target.host, onListening);
    });
    this.server = server;
    try {
      await steps.after?.();
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), API_SHUTDOWN_GRACE_MS);
      server.close(() => { clearTimeout(timer); resolve(); });
      server.closeIdleConnections();
    });
  }
}
