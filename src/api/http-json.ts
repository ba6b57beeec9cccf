import type { IncomingMessage, ServerResponse } from 'node:http';
import { WeftError, isWeftError, type WeftErrorCode } from '../common/index.js';
import type { ApiErrorBody } from './types.js';

/** HTTP status for an error code: the API's only place that decides it. */
export function httpStatusForError(code: WeftErrorCode): number {
  switch (code) {
    case 'WEFT_ERR_BAD_ARGS': return 400;
    case 'WEFT_ERR_NOT_FOUND': return 404;
    case 'WEFT_ERR_NETNS_NOT_FOUND': return 404;
    case 'WEFT_ERR_NETNS_INVALID': return 400;
    case 'WEFT_ERR_IF_EXISTS': return 409;
    case 'WEFT_ERR_NO_API_ROUTE': return 404;
    case 'WEFT_ERR_ALREADY_RUNNING': return 409;
    case 'WEFT_ERR_TOO_BIG': return 413;
    case 'WEFT_ERR_IPAM_NOT_READY': return 503;
    case 'WEFT_ERR_DNS_UNAVAILABLE': return 409;
    default: return 500;
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  if (value === undefined) {
    res.writeHead(status === 200 ? 204 : status, headers).end();
    return;
  }
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  }).end(body);
}

/** Reply `{ error: { code, message } }` with the status mapped from the code. */
export function sendError(res: ServerResponse, e: WeftError, status = httpStatusForError(e.code), headers: Record<string, string> = {}): void {
  const body: ApiErrorBody = { error: { code: e.code, message: e.message } };
  sendJson(res, status, body, headers);
}

/** Any thrown value as a WeftError (non-weft errors become WEFT_ERR_INTERNAL, one line). */
export function asWeftError(e: unknown): WeftError {
  if (isWeftError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new WeftError('WEFT_ERR_INTERNAL', `internal error: ${msg.split('\n')[0]}`, { cause: e });
}

/**
 * Read a request body of at most `maxBytes` and parse it as a JSON object. An empty body is
 * `{}`. Throws WEFT_ERR_TOO_BIG (over the cap, checked against Content-Length first and then
 * while streaming) or WEFT_ERR_BAD_ARGS (not JSON, or not an object).
 */
export async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const tooBig = (): WeftError => new WeftError('WEFT_ERR_TOO_BIG', `request body over ${maxBytes} bytes`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooBig();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooBig();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WeftError('WEFT_ERR_BAD_ARGS', 'request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
