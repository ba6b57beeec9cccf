import { Counter, Gauge, type Registry } from 'prom-client';
import { WeftError } from '../common/index.js';
import { METRIC_PREFIX } from './registry.js';

/** Outcome of one handshake attempt (label `result` of weft_handshakes_total). */
export type HandshakeResult =
  | 'ok' | 'bad_secret' | 'replay' | 'timeout' | 'version' | 'malformed'
  | 'rate_limited' | 'collision' | 'self';
export const HANDSHAKE_RESULTS: readonly HandshakeResult[] = [
  'ok', 'bad_secret', 'replay', 'timeout', 'version', 'malformed', 'rate_limited', 'collision', 'self',
];
/** Where malformed input was seen (label `source` of weft_bad_input_total). */
export type BadInputSource = 'tcp' | 'udp' | 'gossip' | 'api' | 'status' | 'docker';
/** State of a local control connection, as in StatusReport.connections[].state. */
export type ConnectionState = 'established' | 'connecting' | 'failed';
export const CONNECTION_STATES: readonly ConnectionState[] = ['established', 'connecting', 'failed'];
/** Gossip message kinds (label `kind`). */
export type GossipKind = 'unicast' | 'broadcast' | 'gossip';
export type Direction = 'in' | 'out';

/**
 * The mesh's metrics behind a typed facade, so label names and values cannot be misspelled.
 * Created once per registry by {@link createMeshMetrics}; lives as long as the registry.
 * Methods never throw and do no I/O. Label values passed as free strings (`reason`,
 * `channel`) must come from a small fixed set chosen by the caller (never peer names or
 * addresses): every distinct value is a new time series.
 */
export interface MeshMetrics {
  /** weft_peers: peers currently known in the topology (including ourselves). */
  setPeers(count: number): void;
  /** weft_connections{state}: local control connections per state; missing states become 0. */
  setConnections(counts: Partial<Record<ConnectionState, number>>): void;
  /** weft_handshakes_total{result}. */
  handshake(result: HandshakeResult): void;
  /** weft_bad_input_total{source,reason}; `reason` is a short stable code, e.g. 'too_big'. */
  badInput(source: BadInputSource, reason: string): void;
  /** weft_gossip_messages_total and weft_gossip_bytes_total for one message. */
  gossip(channel: string, kind: GossipKind, direction: Direction, bytes: number): void;
  /** weft_connection_terminations_total{reason}; `reason` e.g. 'heartbeat_timeout'. */
  connectionTerminated(reason: string): void;
  /** weft_pending_handshakes: connections accepted but not yet authenticated. */
  setPendingHandshakes(count: number): void;
}

/**
 * Register the mesh's metrics in `registry` and return the facade. Throws
 * WEFT_ERR_INTERNAL if they are already registered there (one MeshMetrics per registry).
 */
export function createMeshMetrics(registry: Registry): MeshMetrics {
  const registers = [registry];
  const n = (s: string): string => METRIC_PREFIX + s;
  try {
    const peers = new Gauge({ name: n('peers'), help: 'Peers currently known in the topology, including this one.', registers });
    const connections = new Gauge({
      name: n('connections'), help: 'Local control connections by state (established, connecting, failed).',
      labelNames: ['state'] as const, registers,
    });
    const handshakes = new Counter({
      name: n('handshakes_total'), help: 'Control-connection handshakes by result.',
      labelNames: ['result'] as const, registers,
    });
    const badInput = new Counter({
      name: n('bad_input_total'), help: 'Malformed or out-of-bounds input dropped, by source and reason.',
      labelNames: ['source', 'reason'] as const, registers,
    });
    const gossipMessages = new Counter({
      name: n('gossip_messages_total'), help: 'Gossip messages by channel, kind (unicast, broadcast, gossip) and direction (in, out).',
      labelNames: ['channel', 'kind', 'direction'] as const, registers,
    });
    const gossipBytes = new Counter({
      name: n('gossip_bytes_total'), help: 'Gossip payload bytes by channel and direction (in, out).',
      labelNames: ['channel', 'direction'] as const, registers,
    });
    const terminations = new Counter({
      name: n('connection_terminations_total'), help: 'Control connections closed after being established, by reason.',
      labelNames: ['reason'] as const, registers,
    });
    const pending = new Gauge({ name: n('pending_handshakes'), help: 'Accepted connections not yet authenticated.', registers });

    for (const state of CONNECTION_STATES) connections.set({ state }, 0);
    for (const result of HANDSHAKE_RESULTS) handshakes.inc({ result }, 0);

    return {
      setPeers: (count) => peers.set(count),
      setConnections: (counts) => {
        for (const state of CONNECTION_STATES) connections.set({ state }, counts[state] ?? 0);
      },
      handshake: (result) => handshakes.inc({ result }),
      badInput: (source, reason) => badInput.inc({ source, reason }),
      gossip: (channel, kind, direction, bytes) => {
        gossipMessages.inc({ channel, kind, direction });
        gossipBytes.inc({ channel, direction }, bytes);
      },
      connectionTerminated: (reason) => terminations.inc({ reason }),
      setPendingHandshakes: (count) => pending.set(count),
    };
  } catch (e) {
    throw new WeftError('WEFT_ERR_INTERNAL', `cannot register mesh metrics: ${(e as Error).message}`, { cause: e });
  }
}
