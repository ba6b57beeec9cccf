/**
 * Kubernetes mode's policy input: the cluster's pods, namespaces and NetworkPolicies, kept up to
 * date from the API server by three informers, as the model's {@link PolicyInput}.
 */
import { CoreV1Api, NetworkingV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import {
  WeftError, describeError, KUBE_CHANGE_DEBOUNCE_MS, KUBE_LIST_PAGE_SIZE, KUBE_RETRY_MAX_MS, KUBE_RETRY_MIN_MS,
  type Logger,
} from '../common/index.js';
import {
  fromKubeObject, policyKey, type NamespaceIdentity, type NetworkPolicyObject, type PodIdentity, type PolicyInput,
  type PolicyInputSource,
} from '../policy/index.js';
import { podIdentityFromKube, type PodSkipReason } from './pods.js';
import { ResourceWatch, type KubeResource, type ListPage, type ResourceWatchStatus } from './resource-watch.js';


/** An object of the API server weft refused, and why. */
export interface RejectedObject {
  /** `NS/NAME` of a policy, `NAME` of a namespace. */
  readonly key: string;
  readonly reason: string;
}

/** What Kubernetes mode is doing, for `weft status` and logs. */
export interface KubeSourceStatus {
  /** The API server's URL. */
  readonly server: string;
  /** All three resources listed at least once: the input is a whole cluster, not part of one. */
  readonly synced: boolean;
  readonly resources: Readonly<Record<KubeResource, ResourceWatchStatus>>;
  /** Pods in the input, and pods left out by reason. */
  readonly pods: { readonly used: number; readonly skipped: Readonly<Record<PodSkipReason, number>> };
  /** Policies and namespaces the API server returned that weft refused (skipped; the rest is used). */
  readonly rejected: {
    /** Refusals since start (an object refused again after each change counts again). */
    readonly total: number;
    /** The objects refused as they are now. */
    readonly current: readonly RejectedObject[];
  };
}

export interface KubePolicySourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly log: Logger;
  /** Backoff of failed lists/watches (tests shorten it). Default KUBE_RETRY_MIN_MS..KUBE_RETRY_MAX_MS. */
  readonly retry?: { readonly minMs: number; readonly maxMs: number };
  /** Default KUBE_CHANGE_DEBOUNCE_MS. */
  readonly debounceMs?: number;
  /** Objects per list page. Default KUBE_LIST_PAGE_SIZE. */
  readonly pageSize?: number;
}

const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const byKey = <T>(m: ReadonlyMap<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/**
 * A {@link PolicyInputSource} fed by the Kubernetes API server: every pod of the cluster (as
 * {@link PodIdentity}, see `podIdentityFromKube` for what is left out), every namespace and
 * every NetworkPolicy (validated with `fromKubeObject`; an object weft refuses is logged with
 * its reason, counted in {@link KubeSourceStatus.rejected} and skipped, and the rest is used).
 *
 * Guarantees:
 * - **Whole world only.** Until all three resources have been listed once (`synced`),
 *   `onChange` is never called and `snapshot()` throws WEFT_ERR_KUBE: the caller keeps what it
 *   enforces now (the previous ruleset) rather than enforcing a half-listed cluster. The first
 *   `onChange` means "synced". After that, an outage of the API server leaves the last view in
 *   place (stale but whole) while the watches are retried.
 * - **Catch-up.** A dropped watch is reopened from its last resourceVersion (events missed in
 *   between are replayed by the server); an expired one (410 Gone) is answered with a relist,
 *   after which objects deleted during the gap are gone from the input.
 * - **Retries.** A failed list or watch (server unreachable, 5xx, 401/403) is retried with
 *   exponential backoff, each failure logged and shown in `status()`; `start()` never fails
 *   because the server is down.
 * - Changes are coalesced for `debounceMs` before `onChange` fires.
 * - `stop()` ends every request and timer (no open handles); the source may be started again.
 */
export class KubePolicySource implements PolicyInputSource {
  readonly kind = 'kube' as const;
  private readonly watches: Record<KubeResource, ResourceWatch>;
  private readonly pods = new Map<string, PodIdentity>();
  private readonly skippedPods = new Map<string, PodSkipReason>();
  private readonly namespaces = new Map<string, NamespaceIdentity>();
  private readonly policies = new Map<string, NetworkPolicyObject>();
  private readonly rejected = new Map<string, RejectedObject>();
  private rejectedTotal = 0;
  private readonly listeners: (() => void)[] = [];
  private debounce: NodeJS.Timeout | null = null;
  private cached: PolicyInput | null = null;
  private wasSynced = false;
  private readonly debounceMs: number;

  constructor(private readonly o: KubePolicySourceOptions) {
    const core = o.kubeConfig.makeApiClient(CoreV1Api);
    const net = o.kubeConfig.makeApiClient(NetworkingV1Api);
    const limit = o.pageSize ?? KUBE_LIST_PAGE_SIZE;
    const retry = o.retry ?? { minMs: KUBE_RETRY_MIN_MS, maxMs: KUBE_RETRY_MAX_MS };
    this.debounceMs = o.debounceMs ?? KUBE_CHANGE_DEBOUNCE_MS;
    const common = (resource: KubeResource) => ({
      resource, kubeConfig: o.kubeConfig, retry, log: o.log,
      onObject: (ev: 'set' | 'delete', obj: KubernetesObject) => this.onObject(resource, ev, obj),
      onListed: () => this.changed(),
    });
    this.watches = {
      pods: new ResourceWatch({
        ...common('pods'), path: '/api/v1/pods', model: 'V1Pod', apiVersion: 'v1', kind: 'Pod',
        list: (cont) => core.listPodForAllNamespaces({ limit, _continue: cont }) as Promise<ListPage>,
      }),
      namespaces: new ResourceWatch({
        ...common('namespaces'), path: '/api/v1/namespaces', model: 'V1Namespace', apiVersion: 'v1', kind: 'Namespace',
        list: (cont) => core.listNamespace({ limit, _continue: cont }) as Promise<ListPage>,
      }),
      networkpolicies: new ResourceWatch({
        ...common('networkpolicies'), path: '/apis/networking.k8s.io/v1/networkpolicies', model: 'V1NetworkPolicy',
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
        list: (cont) => net.listNetworkPolicyForAllNamespaces({ limit, _continue: cont }) as Promise<ListPage>,
      }),
    };
  }

  /** Starts the three informers and returns at once; see the class comment for what happens until synced. */
  start(): Promise<void> {
    this.o.log.info({ server: this.server }, 'Kubernetes mode: watching pods, namespaces and networkpolicies');
    for (const w of Object.values(this.watches)) w.start();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
    await Promise.all(Object.values(this.watches).map((w) => w.stop()));
  }

  /** True once pods, namespaces and policies have each been listed. */
  get synced(): boolean {
    return Object.values(this.watches).every((w) => w.status().listed);
  }

  /** Open watch requests to the API server (0 after stop). */
  get openWatches(): number {
    return Object.values(this.watches).reduce((n, w) => n + w.openWatches, 0);
  }

  /** The cluster as the model reads it; sorted by key. Throws WEFT_ERR_KUBE before `synced`. */
  snapshot(): PolicyInput {
    if (!this.synced) throw new WeftError('WEFT_ERR_KUBE', `Kubernetes mode has not listed pods, namespaces and networkpolicies from ${this.server} yet`);
    this.cached ??= { policies: byKey(this.policies), namespaces: byKey(this.namespaces), pods: byKey(this.pods) };
    return this.cached;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  status(): KubeSourceStatus {
    const skipped: Record<PodSkipReason, number> = { 'host-network': 0, 'no-address': 0, terminated: 0, malformed: 0 };
    for (const r of this.skippedPods.values()) skipped[r]++;
    return {
      server: this.server,
      synced: this.synced,
      resources: {
        pods: this.watches.pods.status(),
        namespaces: this.watches.namespaces.status(),
        networkpolicies: this.watches.networkpolicies.status(),
      },
      pods: { used: this.pods.size, skipped },
      rejected: { total: this.rejectedTotal, current: byKey(this.rejected) },
    };
  }

  private get server(): string {
    return this.o.kubeConfig.getCurrentCluster()?.server ?? '(no cluster)';
  }

  private onObject(resource: KubeResource, ev: 'set' | 'delete', obj: KubernetesObject): void {
    const key = keyOf(obj);
    if (resource === 'pods') {
      this.pods.delete(key);
      this.skippedPods.delete(key);
      if (ev === 'set') {
        const c = podIdentityFromKube(obj);
        if (c.ok) this.pods.set(key, c.pod);
        else this.skippedPods.set(key, c.reason);
      }
    } else {
      const kind = resource === 'namespaces' ? 'Namespace' : 'NetworkPolicy';
      const target = resource === 'namespaces' ? this.namespaces : this.policies;
      const rejectKey = `${kind}:${key}`;
      target.delete(key);
      this.rejected.delete(rejectKey);
      if (ev === 'set') {
        try {
          const v = fromKubeObject(kind, obj);
          (target as Map<string, typeof v>).set(key, v);
        } catch (e) {
          const name = resource === 'namespaces' ? obj.metadata?.name ?? '' : policyKey({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' });
          const reason = describeError(e).split('\n')[0] ?? '';
          this.rejectedTotal++;
          this.rejected.set(rejectKey, { key: `${kind} ${name}`, reason });
          this.o.log.warn({ kind, object: name, resourceVersion: obj.metadata?.resourceVersion, reason }, 'skipping an object weft cannot use');
        }
      }
    }
    this.changed();
  }

  private changed(): void {
    this.cached = null;
    if (!this.synced || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      if (!this.wasSynced) {
        this.wasSynced = true;
        const s = this.snapshot();
        this.o.log.info({ pods: s.pods.length, namespaces: s.namespaces.length, policies: s.policies.length, rejected: this.rejected.size }, 'Kubernetes mode synced');
      }
      for (const cb of this.listeners) {
        try { cb(); } catch (e) { this.o.log.warn({ err: describeError(e) }, 'policy input listener failed'); }
      }
    }, this.debounceMs);
  }
}
