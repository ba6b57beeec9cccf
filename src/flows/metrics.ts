/**
 * The flow counters in Prometheus (docs/metrics.md), read from the recorder and the ring at
 * scrape time (nothing per event but a Map bump).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FlowRecorder } from './recorder.js';
import type { FlowRing } from './ring.js';

/** Extra counters the daemon adds (kernel socket losses). */
export interface FlowSocketCounts {
  malformed: number;
  overruns: number;
}

export function registerFlowMetrics(registry: Registry, recorder: FlowRecorder, ring: FlowRing, sockets: () => FlowSocketCounts): void {
  const registers = [registry];
  new Counter({
    name: 'weft_flows_total', help: 'Flow events by verdict and drop reason (every event, also those whose records were rate-limited).',
    labelNames: ['verdict', 'reason'] as const, registers,
    collect() {
      this.reset();
      for (const [k, n] of recorder.counts.byVerdict) {
        const [verdict = '', reason = ''] = k.split('|');
        this.inc({ verdict, reason }, n);
      }
    },
  });
  new Counter({
    name: 'weft_flow_policy_drops_total', help: 'Policy drops (verdict dropped) and would-drops (audit) recorded from NFLOG, by policy and direction.',
    labelNames: ['policy', 'direction', 'verdict'] as const, registers,
    collect() {
      this.reset();
      for (const [k, n] of recorder.counts.byPolicy) {
        const [policy = '', direction = '', verdict = ''] = k.split('|');
        this.inc({ policy, direction, verdict }, n);
      }
    },
  });
  new Counter({
    name: 'weft_flow_bytes_total', help: 'Bytes (both directions) of ended connections through local pods (conntrack accounting).', registers,
    collect() { this.reset(); this.inc(recorder.counts.bytes); },
  });
  new Counter({
    name: 'weft_flow_records_suppressed_total', help: 'Flow records not stored because of the record rate limit (their events are counted).', registers,
    collect() { this.reset(); this.inc(recorder.counts.suppressed); },
  });
  new Counter({
    name: 'weft_flow_ring_overwritten_total', help: 'Flow records overwritten because the ring was full.', registers,
    collect() { this.reset(); this.inc(ring.stats().overwritten); },
  });
  new Gauge({
    name: 'weft_flow_ring_records', help: 'Flow records held in the ring (capacity: weft_flow_ring_capacity).', registers,
    collect() { this.set(ring.stats().stored); },
  });
  new Gauge({
    name: 'weft_flow_ring_capacity', help: 'Size of the flow ring (--flow-ring).', registers,
    collect() { this.set(ring.capacity); },
  });
  new Counter({
    name: 'weft_flow_kernel_events_lost_total', help: 'Times a conntrack or NFLOG socket reported that the kernel dropped events (ENOBUFS).', registers,
    collect() { this.reset(); this.inc(sockets().overruns); },
  });
  new Counter({
    name: 'weft_flow_kernel_events_malformed_total', help: 'Malformed conntrack or NFLOG messages skipped.', registers,
    collect() { this.reset(); this.inc(sockets().malformed); },
  });
}
