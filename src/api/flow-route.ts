import type { ServerResponse } from 'node:http';
import type { FlowQuery, FlowQueryReply, FlowStreamLine } from './flow-schema.js';

/**
 * What serves flow queries (the daemon's flow service): both listeners call it after the
 * query parameters passed the route schema. Errors are WeftErrors (a bad filter value is
 * WEFT_ERR_BAD_ARGS, one line naming it).
 */
export interface FlowSource {
  /** Records matching `q`: this host's, and every reachable peer's unless `q.local`. */
  query(q: FlowQuery, signal: AbortSignal): Promise<FlowQueryReply>;
  /** Throws WEFT_ERR_BAD_ARGS (one line naming the parameter) when a filter value is bad. */
  check(q: FlowQuery): void;
  /**
   * Call `emit` for each new matching record, warning and heartbeat until `signal` aborts;
   * resolves then. `q` has passed {@link check}.
   */
  follow(q: FlowQuery, emit: (line: FlowStreamLine) => void, signal: AbortSignal): Promise<void>;
}

/** The content type of the flow stream: one JSON object per line. */
export const NDJSON = 'application/x-ndjson; charset=utf-8';

/**
 * Serve `GET /flows/stream`: headers go out before the first line (so a client sees the
 * stream open at once), each line is written as it comes; a slow reader whose socket buffer
 * is over `maxBufferedBytes` loses lines rather than growing the daemon's memory. Resolves
 * when the client goes away.
 */
export async function serveFlowStream(res: ServerResponse, source: FlowSource, q: FlowQuery, signal: AbortSignal,
  maxBufferedBytes = 4 << 20): Promise<void> {
  let opened = false;
  const open = (): void => {
    if (opened) return;
    opened = true;
    res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.flushHeaders();
  };
  const emit = (line: FlowStreamLine): void => {
    open();
    if (res.destroyed || res.writableLength > maxBufferedBytes) return;
    res.write(JSON.stringify(line) + '\n');
  };
  source.check(q); // a bad query throws before the headers are sent: an ordinary error reply
  open();
  try {
    await source.follow(q, emit, signal);
  } catch (e) {
    emit({ type: 'warning', message: `stream ended: ${e instanceof Error ? e.message.split('\n')[0]! : String(e)}`, peers: [] });
  }
  if (!res.destroyed) res.end();
}
