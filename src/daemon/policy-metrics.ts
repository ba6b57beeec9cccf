/**
 * Network-policy metrics (documented in docs/metrics.md):
 *   weft_policy_objects{kind}                          gauge, read at scrape time (policy, namespace, pod)
 *   weft_policy_apply_seconds                          histogram of compile + kernel apply
 *   weft_policy_apply_errors_total                     counter
 *   weft_policy_drops_total{policy,direction}          counter, from the kernel's counters at scrape time
 *   weft_policy_would_drop_total{policy,direction}     counter (audit-mode policies), likewise
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** One kernel drop counter as the policy edge reports it. */
export interface DropReading {
  policy: string;
  direction: string;
  audit: boolean;
  packets: number;
}

/** Facade the policy service writes to; every method is a no-op without a registry. */
export class PolicyMetrics {
  private readonly apply: Histogram | null = null;
  private readonly errors: Counter | null = null;
  /** Last kernel reading per counter, to turn absolute kernel values into increments. */
  private readonly last = new Map<string, number>();

  constructor(registry: Registry | undefined, objects: () => { policy: number; namespace: number; pod: number },
    readDrops: () => Promise<DropReading[]>) {
    if (!registry) return;
    const registers = [registry];
    new Gauge({
      name: 'weft_policy_objects', help: 'Policy inputs known to this host, by kind (policy, namespace, pod).',
      labelNames: ['kind'] as const, registers,
      collect() {
        const o = objects();
        this.set({ kind: 'policy' }, o.policy);
        this.set({ kind: 'namespace' }, o.namespace);
        this.set({ kind: 'pod' }, o.pod);
      },
    });
    this.apply = new Histogram({
      name: 'weft_policy_apply_seconds', help: 'Time from a policy input change being compiled to the kernel holding the new ruleset.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers,
    });
    this.errors = new Counter({ name: 'weft_policy_apply_errors_total', help: 'Failed policy compiles or kernel applies.', registers });
    const last = this.last;
    // Read the kernel once per scrape; both counters are brought up to date by the first collect.
    let pending: Promise<void> | null = null;
    const refresh = (): Promise<void> => {
      pending ??= (async () => {
        try {
          for (const r of await readDrops()) {
            const key = `${r.audit ? 'a' : 'e'}|${r.policy}|${r.direction}`;
            const prev = last.get(key) ?? 0;
            const delta = r.packets >= prev ? r.packets - prev : r.packets; // a lower value: the kernel counter was recreated
            last.set(key, r.packets);
            if (delta > 0) (r.audit ? wouldDrop : drops).inc({ policy: r.policy, direction: r.direction }, delta);
          }
        } catch {
          // the edge is not running: nothing to add
        }
      })().finally(() => setImmediate(() => (pending = null)));
      return pending;
    };
    const drops = new Counter({
      name: 'weft_policy_drops_total', help: 'Packets dropped by enforcing policies, by policy and direction.',
      labelNames: ['policy', 'direction'] as const, registers, collect: refresh,
    });
    const wouldDrop = new Counter({
      name: 'weft_policy_would_drop_total', help: 'Packets audit-mode policies would have dropped (they passed), by policy and direction.',
      labelNames: ['policy', 'direction'] as const, registers, collect: refresh,
    });
  }

  applied(seconds: number): void {
    this.apply?.observe(seconds);
  }

  failed(): void {
    this.errors?.inc();
  }
}
