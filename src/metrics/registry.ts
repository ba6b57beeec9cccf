import { Registry, collectDefaultMetrics } from 'prom-client';

/** Prefix of every metric weft defines itself (process/runtime metrics keep their standard names). */
export const METRIC_PREFIX = 'weft_';

/**
 * A fresh Prometheus registry with the standard Node.js process and runtime metrics
 * (`process_*`, `nodejs_*`). One per daemon, created by the daemon and injected into every
 * subsystem that registers metrics; never the prom-client global registry, so tests and
 * multiple in-process daemons never collide.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
