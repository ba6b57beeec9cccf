import { Registry, collectDefaultMetrics } from 'prom-client';
import { METRICS_EVENT_LOOP_RESOLUTION_MS } from '../common/index.js';

/** Prefix of every metric weft defines itself (process/runtime metrics keep their standard names). */
export const METRIC_PREFIX = 'weft_';

/**
 * A fresh Prometheus registry with the standard Node.js process and runtime metrics
 * (`process_*`, `nodejs_*`). One per daemon, created by the daemon and injected into every
 * subsystem that registers metrics; never the prom-client global registry, so tests and
 * multiple in-process daemons never collide. The event-loop delay histogram samples every
 * METRICS_EVENT_LOOP_RESOLUTION_MS (prom-client's default, 10 ms, alone woke an idle daemon
 * 100 times a second).
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: METRICS_EVENT_LOOP_RESOLUTION_MS });
  return registry;
}
