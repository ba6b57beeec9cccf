/**
 * Metrics: the daemon's Prometheus registry and typed facades over each subsystem's metrics.
 * Every metric is documented in docs/metrics.md (name, type, labels, meaning); a metric added
 * here must be added there in the same commit.
 */
export { createRegistry, METRIC_PREFIX } from './registry.js';
export {
  createMeshMetrics, HANDSHAKE_RESULTS, CONNECTION_STATES,
  type MeshMetrics, type HandshakeResult, type BadInputSource, type ConnectionState,
  type GossipKind, type Direction,
} from './mesh-metrics.js';
export type { Registry } from 'prom-client';
