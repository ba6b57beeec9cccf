/**
 * One resource of the API server (pods, namespaces or network policies) kept in memory by the
 * library's informer (`ListWatch`: list, then watch from the list's resourceVersion; a watch
 * that expires with 410 Gone is answered with a fresh list, whose differences arrive as
 * add/update/delete). What this adds: lists come back in the wire's JSON form (paginated), a
 * failed list or a dropped watch is retried with exponential backoff instead of ending the
 * informer, every relist and reconnect is logged and counted, and `stop()` ends every request.
 */
import { ListWatch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { WeftError, describeError, type Logger } from '../common/index.js';
import { KUBE_LIST_MAX_PAGES } from '../common/index.js';
import { toApiJson } from './api-json.js';
import { TrackedWatch } from './tracked-watch.js';

/** A list page as the generated client returns it. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

/** The resources Kubernetes mode watches. */
export type KubeResource = 'pods' | 'namespaces' | 'networkpolicies';

/** What one resource's watch is doing, for status. */
export interface ResourceWatchStatus {
  /** `listing` (a list under way), `watching`, `retrying` (waiting out a backoff after an error), `stopped`. */
  readonly state: 'idle' | 'listing' | 'watching' | 'retrying' | 'stopped';
  /** True once a first list has completed (stays true across later relists). */
  readonly listed: boolean;
  readonly objects: number;
  /** Lists completed (the first plus every relist after an expired watch). */
  readonly lists: number;
  /** Watch requests opened after the first (reconnects, normal server-side timeouts included). */
  readonly reconnects: number;
  /** Failed lists and watches that ended with an error. */
  readonly errors: number;
  /** The latest error, until the next successful list or watch event. */
  readonly lastError?: string;
}

export interface ResourceWatchOptions {
  readonly resource: KubeResource;
  readonly kubeConfig: KubeConfig;
  /** The watch path, e.g. `/api/v1/pods`. */
  readonly path: string;
  /** The library model type of the items (`V1Pod`, …), to put lists in wire form. */
  readonly model: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** One list page (`limit` + `continue`), through the generated client. */
  list(cont: string | undefined): Promise<ListPage>;
  readonly retry: { readonly minMs: number; readonly maxMs: number };
  readonly log: Logger;
  /** Called for each object added, changed (new resourceVersion) or deleted, in wire form. */
  onObject(event: 'set' | 'delete', obj: KubernetesObject): void;
  /** Called after every completed list (after its objects were reported). */
  onListed(): void;
}

/** A 403 is the one error whose fix is always the same: say it. */
function explain(e: unknown, resource: KubeResource): string {
  const code = (e as { code?: unknown; statusCode?: unknown }).code ?? (e as { statusCode?: unknown }).statusCode;
  const line = describeError(e).split('\n')[0] ?? '';
  if (code === 403) return `403 Forbidden: the service account may not list/watch ${resource} (grant get/list/watch, see examples/weft-daemonset.yaml)`;
  if (code === 401) return '401 Unauthorized: the API server refused the credentials';
  if (typeof code === 'number') return `HTTP ${code}: ${line}`;
  return line;
}

export class ResourceWatch {
  private readonly watch: TrackedWatch;
  private readonly informer: ListWatch<KubernetesObject>;
  private state: ResourceWatchStatus['state'] = 'idle';
  private listed = false;
  private lists = 0;
  private watchStarts = 0;
  private errors = 0;
  private failures = 0; // consecutive, for the backoff
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(private readonly o: ResourceWatchOptions) {
    this.watch = new TrackedWatch(o.kubeConfig, (phase) => this.onWatchEvent(phase));
    this.informer = new ListWatch<KubernetesObject>(o.path, this.watch, () => this.listAll(), false);
    this.informer.on('add', (obj) => o.onObject('set', obj));
    this.informer.on('update', (obj) => o.onObject('set', obj));
    this.informer.on('delete', (obj) => o.onObject('delete', obj));
    this.informer.on('connect', () => this.onConnect());
    this.informer.on('error', (err) => this.onError(err));
  }

  /** Starts listing and watching; returns at once (failures are retried, not thrown). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.watch.reopen();
    this.run();
  }

  /** Ends the watch and any pending retry. The objects seen so far are kept. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.watch.closeAll();
    await this.informer.stop();
  }

  /** Open watch requests (0 after stop). */
  get openWatches(): number {
    return this.watch.openCount;
  }

  status(): ResourceWatchStatus {
    const s = { state: this.state, listed: this.listed, objects: this.informer.list().length, lists: this.lists, reconnects: Math.max(0, this.watchStarts - 1), errors: this.errors };
    return this.lastError === undefined ? s : { ...s, lastError: this.lastError };
  }

  private run(): void {
    this.informer.start().catch((e: unknown) => this.onError(e));
  }

  /** Every page of the list, items in wire form (the informer keeps them as they are). */
  private async listAll(): Promise<{ apiVersion: string; kind: string; metadata: { resourceVersion: string }; items: KubernetesObject[] }> {
    this.state = 'listing';
    if (this.listed) this.o.log.info({ resource: this.o.resource }, 'relisting (the watch expired or its resourceVersion is too old)');
    const items: KubernetesObject[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    for (let page = 0; ; page++) {
      if (page >= KUBE_LIST_MAX_PAGES) throw new WeftError('WEFT_ERR_KUBE', `listing ${this.o.resource}: more than ${KUBE_LIST_MAX_PAGES} pages`);
      const p = await this.o.list(cont);
      for (const item of p.items) {
        const obj = toApiJson(item, this.o.model) as KubernetesObject & Record<string, unknown>;
        // List items carry no apiVersion/kind on the wire; watch events do. Keep one form.
        items.push({ apiVersion: this.o.apiVersion, kind: this.o.kind, ...obj });
      }
      resourceVersion = p.metadata?.resourceVersion ?? resourceVersion;
      cont = p.metadata?._continue || undefined;
      if (cont === undefined) break;
    }
    if (this.stopped) throw new WeftError('WEFT_ERR_CLOSED', `${this.o.resource}: stopped during a list`);
    this.lists++;
    this.failures = 0;
    this.lastError = undefined;
    this.o.log.debug({ resource: this.o.resource, objects: items.length, resourceVersion }, 'listed');
    this.state = 'watching';
    // The informer applies the list (deletes, then adds/updates) synchronously right after this
    // promise resolves, within the same turn; report after that turn.
    setImmediate(() => {
      if (this.stopped) return;
      this.listed = true;
      this.o.onListed();
    });
    return { apiVersion: this.o.apiVersion, kind: `${this.o.kind}List`, metadata: { resourceVersion }, items };
  }

  private onConnect(): void {
    if (this.stopped) return;
    this.watchStarts++;
    if (this.watchStarts > 1) {
      this.o.log.info({ resource: this.o.resource, resourceVersion: this.informer.latestResourceVersion() || '(relist)' }, 'watch reconnecting');
    }
  }

  private onWatchEvent(phase: string): void {
    this.state = 'watching';
    if (phase === 'ERROR') return;
    this.failures = 0;
    this.lastError = undefined;
  }

  private onError(err: unknown): void {
    if (this.stopped || this.retryTimer) return;
    this.errors++;
    this.failures++;
    this.lastError = explain(err, this.o.resource);
    const delay = Math.min(this.o.retry.maxMs, this.o.retry.minMs * 2 ** Math.min(this.failures - 1, 20));
    this.state = 'retrying';
    this.o.log.warn({ resource: this.o.resource, err: this.lastError, retryInMs: delay, failures: this.failures }, 'list/watch failed; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.run();
    }, delay);
  }
}
