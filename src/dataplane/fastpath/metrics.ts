/**
 * Fast-path metrics (prom-client, optional registry). Labels are fixed small sets.
 *   weft_dataplane_connections{mode}                      gauge, read at scrape time
 *   weft_dataplane_path_changes_total{from,to,reason}     counter
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Mode } from './kernel-state.js';

export const MODES: readonly Mode[] = ['hostgw', 'vxlan', 'sleeve'];

/** Why a connection changed mode (metric label). */
export type ChangeReason = 'probe_ok' | 'probe_timeout' | 'too_big' | 'disabled' | 'enabled';

export class FastpathMetrics {
  private changes: Counter<'from' | 'to' | 'reason'> | null = null;

  constructor(registry: Registry | undefined, modes: () => Record<Mode, number>) {
    if (!registry) return;
    const registers = [registry];
    new Gauge({
      name: 'weft_dataplane_connections', help: 'Connections by the data path their pod traffic uses (hostgw, vxlan, sleeve).',
      labelNames: ['mode'] as const, registers,
      collect() {
        const m = modes();
        for (const mode of MODES) this.set({ mode }, m[mode]);
      },
    });
    this.changes = new Counter({
      name: 'weft_dataplane_path_changes_total', help: 'Data path changes of connections, by old and new mode and reason.',
      labelNames: ['from', 'to', 'reason'] as const, registers,
    });
  }

  pathChange(from: Mode, to: Mode, reason: ChangeReason): void {
    this.changes?.inc({ from, to, reason });
  }
}
