import type { Server } from 'node:http';
import type { WeftError } from '../common/index.js';

/** `server.listen(...)` as a promise; listen errors are mapped by `toError`. */
export function listen(
  server: Server, target: string | { host: string; port: number }, toError: (e: NodeJS.ErrnoException) => WeftError,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => reject(toError(e));
    server.once('error', onError);
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (typeof target === 'string') server.listen(target, onListening);
    else server.listen(target.port, target.host, onListening);
  });
}

/**
 * Stop accepting, close idle keep-alive connections, give in-flight requests `graceMs` to
 * finish, then destroy what is left. Resolves once the server is fully closed; never throws.
 */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => { clearTimeout(timer); resolve(); });
    server.closeIdleConnections();
  });
}
