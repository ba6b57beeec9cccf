import { WeftError } from '../common/index.js';
import { formatHostPort, parseHostPort } from './host-port.js';
import type { ConnectRequest, ForgetRequest } from './types.js';

/** Most peers one connect/forget call may name. count */
const MAX_PEERS_PER_CALL = 1024;

/**
 * Validate peer addresses ("host", "host:port", "[v6]:port") and return them normalised
 * (IPv6 in brackets). Throws WEFT_ERR_BAD_ARGS naming the first bad entry. Pure.
 */
export function parsePeerList(peers: readonly string[]): string[] {
  if (peers.length > MAX_PEERS_PER_CALL) throw new WeftError('WEFT_ERR_BAD_ARGS', `too many peers (max ${MAX_PEERS_PER_CALL})`);
  return peers.map((p) => formatHostPort(parseHostPort(p, { what: 'peer' })));
}

function peersField(body: unknown): string[] {
  const peers = (body as { peers?: unknown } | null)?.peers;
  if (!Array.isArray(peers) || !peers.every((p): p is string => typeof p === 'string')) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', '"peers" must be an array of strings');
  }
  return parsePeerList(peers);
}

/** Validate a `POST /connect` body (for the daemon's handler). Throws WEFT_ERR_BAD_ARGS. */
export function parseConnectRequest(body: unknown): ConnectRequest {
  const replace = (body as { replace?: unknown } | null)?.replace ?? false;
  if (typeof replace !== 'boolean') throw new WeftError('WEFT_ERR_BAD_ARGS', '"replace" must be a boolean');
  return { peers: peersField(body), replace };
}

/** Validate a `POST /forget` body (for the daemon's handler). Throws WEFT_ERR_BAD_ARGS. */
export function parseForgetRequest(body: unknown): ForgetRequest {
  return { peers: peersField(body) };
}
