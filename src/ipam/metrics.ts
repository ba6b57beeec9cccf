import { Counter, Gauge, type Registry } from 'prom-client';
import { WeftError } from '../common/index.js';
import type { IpamStatus } from './types.js';

/**
 * The IPAM's Prometheus metrics. Gauges are computed from `status()` when scraped (no
 * bookkeeping on the hot path); the conflict counter is incremented as conflicts are resolved.
 * Label values of `kind` are the fixed conflict kinds (never peer names or addresses).
 */
export interface IpamMetrics {
  conflict(kind: string): void;
}

/**
 * Register the metrics in `registry`; `status` returns null while the IPAM is not running
 * (gauges read 0). Throws WEFT_ERR_INTERNAL if they already exist there.
 */
export function createIpamMetrics(registry: Registry, status: () => IpamStatus | null): IpamMetrics {
  const registers = [registry];
  let cached: { at: number; st: IpamStatus | null } | null = null;
  // one status() per scrape, shared by all gauges
  const st = (): IpamStatus | null => {
    const now = Date.now();
    if (!cached || now - cached.at > 100) cached = { at: now, st: status() };
    return cached.st;
  };
  const gauge = (name: string, help: string, value: (s: IpamStatus) => number): void => {
    new Gauge({ name, help, registers, collect() { const s = st(); this.set(s ? value(s) : 0); } });
  };
  try {
    gauge('weft_ipam_allocated', 'Addresses allocated on this peer.', (s) => s.allocated);
    gauge('weft_ipam_free', 'Usable addresses in ranges this peer owns that are not allocated.', (s) => s.free);
    gauge('weft_ipam_owned', 'Addresses in ranges this peer owns.', (s) => s.owned);
    gauge('weft_ipam_pending_allocations', 'Allocations waiting for space from another peer.', (s) => s.pending);
    gauge('weft_ipam_unreachable_owners', 'Peers that own part of the range but cannot be reached.', (s) => s.unreachable.length);
    const conflicts = new Counter({
      name: 'weft_ipam_conflicts_total', help: 'Conflicting IPAM updates received and resolved deterministically, by kind.',
      labelNames: ['kind'] as const, registers,
    });
    return { conflict: (kind) => conflicts.inc({ kind }) };
  } catch (e) {
    throw new WeftError('WEFT_ERR_INTERNAL', `cannot register IPAM metrics: ${(e as Error).message}`, { cause: e });
  }
}
