import { WeftError } from '../common/index.js';
import { formatHostPort, parseHostPort } from './host-port.js';
import { MAX_PEERS_PER_CALL } from './route-limits.js';

/**
 * Validate peer addresses ("host", "host:port", "[v6]:port") and return them normalised
 * (IPv6 in brackets). Throws WEFT_ERR_BAD_ARGS naming the first bad entry. Pure. The shape
 * of connect/forget bodies is checked by their route schema; this checks the addresses.
 */
export function parsePeerList(peers: readonly string[]): string[] {
  if (peers.length > MAX_PEERS_PER_CALL) throw new WeftError('WEFT_ERR_BAD_ARGS', `too many peers (max ${MAX_PEERS_PER_CALL})`);
  return peers.map((p) => formatHostPort(parseHostPort(p, { what: 'peer' })));
}
