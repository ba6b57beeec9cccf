/**
 * PolicyService: feeds the model and the kernel. It takes the whole {@link PolicyInput} from a
 * {@link PolicyInputSource} (mesh: policy store + workload directory; Kubernetes mode: the API
 * server), the local pod addresses from the attach records, compiles this host's ruleset and
 * hands it to the kernel edge (src/host's PolicyEdge), after every change, debounced.
 */
import {
  POLICY_APPLY_RETRY_MS, POLICY_RECOMPILE_DEBOUNCE_MS, describeError, isWeftError, type Logger, type Startable,
} from '../common/index.js';
import type { PolicyStatus } from '../api/index.js';
import type { PolicyApplyResult, PolicyDropCounter } from '../host/index.js';
import { PolicyCompiler, policyInputDigest, type PolicyInput, type PolicyRuleset } from '../policy/index.js';
import type { Registry } from '../metrics/index.js';
import { PolicyMetrics } from './policy-metrics.js';
import type { PolicyInputSource } from './policy-source.js';

/** The kernel edge as the service uses it (src/host's PolicyEdge; a recorder in unit tests). */
export interface PolicyEnforcer extends Startable {
  apply(ruleset: PolicyRuleset): Promise<PolicyApplyResult>;
  counters(): Promise<PolicyDropCounter[]>;
}

/** Construction options of {@link PolicyService}. */
export interface PolicyServiceOptions {
  source: PolicyInputSource;
  /** What the source is (status): `mesh` (store + directory) or `kube` (the API server). */
  sourceKind: 'mesh' | 'kube';
  /** Kubernetes mode's own status (watches, sync, refused objects), shown in the policy section. */
  sourceStatus?: () => PolicyStatus['kube'];
  enforcer: PolicyEnforcer;
  /** Addresses of this host's pods (the attach records), read at each compile. */
  localIps(): ReadonlySet<string>;
  log: Logger;
  registry?: Registry;
  /** Coalescing window of input changes (default POLICY_RECOMPILE_DEBOUNCE_MS). ms */
  debounceMs?: number;
  now?: () => number;
}

/**
 * Lifecycle: `start()` starts the source and compiles once; the kernel edge is started by the
 * first input with a policy (it adopts a previous daemon's table: the old rules stay in force
 * until that first apply, so a restart leaves no unpoliced gap beyond the downtime); every change
 * (`source.onChange`, {@link localChanged}) schedules a compile after the debounce. `stop()`
 * ends timers and the source and waits for an apply in flight, but leaves the kernel's ruleset
 * in force (pods stay policed while no daemon runs, as the fast paths stay); {@link reset}
 * (after stop, `weft reset`) removes it. Guarantees: one compile+apply at a time, changes
 * during one coalesce into one more; a failed compile or apply is logged, counted, leaves the
 * previous ruleset in force and is retried after POLICY_APPLY_RETRY_MS or the next change.
 */
export class PolicyService implements Startable {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopped = false;
  private enforcing = false;
  private readonly metrics: PolicyMetrics;
  private readonly now: () => number;
  private last: PolicyRuleset | null = null;
  /** Recompiles only what a change touches (src/policy/incremental.ts). */
  private readonly compiler = new PolicyCompiler();
  private stats = { applies: 0, errors: 0 };
  private lastApply: PolicyStatus['lastApply'];
  private lastError: string | undefined;
  private waiters: { seq: number; resolve: () => void }[] = [];
  private changeSeq = 0;
  private appliedSeq = 0;
  /** policyInputDigest of the input last put in force (applied, or nothing to enforce). */
  private inForce: string | undefined;

  constructor(private readonly o: PolicyServiceOptions) {
    this.now = o.now ?? Date.now;
    this.metrics = new PolicyMetrics(o.registry, () => {
      const input = this.input();
      return { policy: input.policies.length, namespace: input.namespaces.length, pod: input.pods.length };
    }, () => (this.enforcing ? o.enforcer.counters() : Promise.resolve([])));
    o.source.onChange(() => this.localChanged());
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.o.source.start();
    this.changeSeq++; // the first compile is a change too: settled() and `pending` wait for it
    this.schedule(0);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.o.source.stop();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Remove the kernel's policy state (`weft reset`; after stop). */
  async reset(): Promise<void> {
    if (!this.enforcing) return;
    this.enforcing = false;
    await this.o.enforcer.stop();
  }

  /** Something the ruleset depends on changed (local attach/detach/label, or the source). */
  localChanged(): void {
    this.changeSeq++;
    this.schedule(this.o.debounceMs ?? POLICY_RECOMPILE_DEBOUNCE_MS);
  }

  /** Resolves once every change notified so far has been compiled and applied (or the service stopped). */
  settled(): Promise<void> {
    if (this.appliedSeq >= this.changeSeq || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq: this.changeSeq, resolve }));
  }

  /** The source's input, or an empty one while it is not synced. */
  private input(): PolicyInput {
    try {
      return this.o.source.snapshot();
    } catch {
      return { policies: [], namespaces: [], pods: [] };
    }
  }

  /** The `policy` section of /status. */
  status(): PolicyStatus {
    const input = this.input();
    return {
      source: this.o.sourceKind,
      policies: input.policies.length, namespaces: input.namespaces.length, pods: input.pods.length,
      localPods: this.last?.localPods.length ?? 0, rules: this.last?.rules.length ?? 0, isolations: this.last?.isolations.length ?? 0,
      applies: this.stats.applies, errors: this.stats.errors, enforcing: this.enforcing,
      pending: this.changeSeq > this.appliedSeq,
      ...(this.inForce ? { inputDigest: this.inForce } : {}),
      ...(this.lastApply ? { lastApply: this.lastApply } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.o.sourceStatus ? { kube: this.o.sourceStatus() } : {}),
    };
  }

  private settle(seq: number): void {
    this.appliedSeq = Math.max(this.appliedSeq, seq);
    this.waiters = this.waiters.filter((w) => (w.seq <= this.appliedSeq ? (w.resolve(), false) : true));
  }

  private schedule(ms: number): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.compileAndApply().finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.schedule(this.o.debounceMs ?? POLICY_RECOMPILE_DEBOUNCE_MS);
        }
      });
    }, ms);
  }

  private async compileAndApply(): Promise<void> {
    const seq = this.changeSeq;
    const t0 = process.hrtime.bigint();
    try {
      let input: PolicyInput;
      try {
        input = this.o.source.snapshot();
      } catch (e) {
        if (!isWeftError(e, 'WEFT_ERR_KUBE')) throw e;
        this.settle(seq); // not synced yet: the previous ruleset stays; the source's onChange brings the first
        return;
      }
      const ruleset = this.compiler.update(input, this.o.localIps());
      if (!this.enforcing) {
        // The edge (br_netfilter, the nft table) is started by the first policy: a host that never
        // had one keeps its bridge path untouched. A previous daemon's table is adopted here.
        if (input.policies.length === 0) {
          this.inForce = policyInputDigest(input);
          this.settle(seq);
          return;
        }
        await this.o.enforcer.start();
        this.enforcing = true;
      }
      const r = await this.o.enforcer.apply(ruleset);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      this.last = ruleset;
      this.inForce = policyInputDigest(input);
      this.stats.applies++;
      this.lastError = undefined;
      this.metrics.applied(seconds);
      this.lastApply = { atMs: this.now(), durationMs: seconds * 1000, ...r };
      if (r.changed) {
        this.o.log.info({
          policies: input.policies.length, pods: input.pods.length, localPods: ruleset.localPods.length, rules: ruleset.rules.length,
          elementsAdded: r.elementsAdded, elementsRemoved: r.elementsRemoved, rulesChanged: r.rulesChanged, ms: Math.round(seconds * 10_000) / 10,
          policiesRecompiled: this.compiler.stats().policiesRecompiled,
        }, 'policy: ruleset applied');
      }
      this.settle(seq);
    } catch (e) {
      this.stats.errors++;
      this.metrics.failed();
      this.lastError = describeError(e);
      this.o.log.error({ err: this.lastError }, 'policy: compile or apply failed; the previous ruleset stays in force');
      this.settle(seq); // callers waiting for this change see the error in the status, not a hang
      if (!this.stopped) {
        const t = setTimeout(() => this.schedule(0), POLICY_APPLY_RETRY_MS);
        t.unref();
      }
    }
  }
}
