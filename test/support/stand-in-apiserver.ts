/**
 * A stand-in Kubernetes API server for tests (this machine has no kube-apiserver): a real HTTPS
 * server on 127.0.0.1 speaking the list/watch protocol `@kubernetes/client-node` uses, for
 * pods, namespaces and networkpolicies across all namespaces:
 *
 * - `GET /api/v1/pods`, `/api/v1/namespaces`, `/apis/networking.k8s.io/v1/networkpolicies`:
 *   a `*List` with `metadata.resourceVersion`, `limit`/`continue` paging over one snapshot.
 * - the same with `?watch=true&resourceVersion=N`: a chunked stream of JSON lines
 *   `{type: ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, object}`, replaying every event after N from
 *   the history, then live; N older than the history's start gets 410 (an ERROR event with a
 *   `Status` of code 410 "Expired", or an HTTP 410 answer: `staleWatch`).
 * - a bearer token is required (401 otherwise), as with a service-account token.
 *
 * One resourceVersion counter for all objects, as etcd's revision. Objects start from the
 * fixtures in test/fixtures/kube/. Test controls: `add`, `modify`, `remove`, `expireWatches`
 * (ERROR 410 on every open watch and the history forgotten), `compact`, `dropConnections`
 * (sockets destroyed mid-stream), `setAvailable(false)` (every request answered 503),
 * `bookmark`. Not a general API server: no writes over HTTP, no selectors, no namespaced paths.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type StandInResource = 'pods' | 'namespaces' | 'networkpolicies';

/** The repository's test/fixtures/kube (this file runs from dist/test/support/). */
export const KUBE_FIXTURES = resolve(new URL('../../..', import.meta.url).pathname, 'test', 'fixtures', 'kube');

const PATHS: Record<string, StandInResource> = {
  '/api/v1/pods': 'pods',
  '/api/v1/namespaces': 'namespaces',
  '/apis/networking.k8s.io/v1/networkpolicies': 'networkpolicies',
};
const TYPES: Record<StandInResource, { apiVersion: string; kind: string }> = {
  pods: { apiVersion: 'v1', kind: 'Pod' },
  namespaces: { apiVersion: 'v1', kind: 'Namespace' },
  networkpolicies: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
};

/** A Kubernetes object as JSON (metadata at least). */
export interface KubeJson {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; creationTimestamp?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

interface HistoryEvent { rv: number; resource: StandInResource; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeJson }
interface Watcher { resource: StandInResource; res: ServerResponse; socket: Socket }

export interface StandInOptions {
  /** Load test/fixtures/kube/{pods,namespaces,networkpolicies}.json (default true). */
  fixtures?: boolean;
  /** Answer a watch from a forgotten resourceVersion with an ERROR event (default) or HTTP 410. */
  staleWatch?: 'event' | 'status';
  token?: string;
  /** Address to listen on (default 127.0.0.1). Any other address is reached with TLS server name `localhost` (the test certificate's name). */
  host?: string;
}

/** One request the server answered. */
export interface StandInRequest { resource: StandInResource | null; watch: boolean; resourceVersion: string | null; status: number }

const keyOf = (o: KubeJson): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export class StandInApiServer {
  readonly token: string;
  /** Every request answered, in order. */
  readonly requests: StandInRequest[] = [];
  private readonly server: Server;
  private readonly objects: Record<StandInResource, Map<string, KubeJson>> = { pods: new Map(), namespaces: new Map(), networkpolicies: new Map() };
  private history: HistoryEvent[] = [];
  /** The oldest resourceVersion a watch may start from. */
  private historyStart = 0;
  private rv = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly pages = new Map<string, { rv: number; items: KubeJson[] }>();
  private available = true;
  private port = 0;

  private constructor(private readonly opts: StandInOptions) {
    this.token = opts.token ?? `stand-in-${randomUUID()}`;
    this.server = createServer({
      cert: readFileSync(join(KUBE_FIXTURES, 'tls', 'server.crt')),
      key: readFileSync(join(KUBE_FIXTURES, 'tls', 'server.key')),
    }, (req, res) => this.handle(req, res));
    this.server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    if (opts.fixtures ?? true) {
      for (const r of Object.keys(TYPES) as StandInResource[]) {
        const list = JSON.parse(readFileSync(join(KUBE_FIXTURES, `${r}.json`), 'utf8')) as { items: KubeJson[] };
        for (const o of list.items) {
          this.objects[r].set(keyOf(o), o);
          this.rv = Math.max(this.rv, Number(o.metadata.resourceVersion ?? 0));
        }
      }
      this.rv = Math.max(this.rv, 48213);
    }
    this.historyStart = this.rv;
  }

  /** Listens on `opts.host` (default 127.0.0.1), a free port. */
  static async start(opts: StandInOptions = {}): Promise<StandInApiServer> {
    const s = new StandInApiServer(opts);
    await new Promise<void>((ok, fail) => {
      s.server.once('error', fail);
      s.server.listen(0, opts.host ?? '127.0.0.1', () => ok());
    });
    const addr = s.server.address();
    s.port = typeof addr === 'object' && addr ? addr.port : 0;
    return s;
  }

  get url(): string {
    return `https://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Watch streams open now. */
  get openWatches(): number {
    return this.watchers.size;
  }

  /** The current resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Writes a kubeconfig for this server (CA-verified HTTPS, bearer token) into `dir`; returns its path. */
  writeKubeconfig(dir: string, token = this.token): string {
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'preferences: {}',
      'clusters:', '- name: stand-in', '  cluster:', `    server: ${this.url}`, `    certificate-authority: ${join(KUBE_FIXTURES, 'tls', 'ca.crt')}`,
      ...(this.opts.host && this.opts.host !== '127.0.0.1' ? ['    tls-server-name: localhost'] : []),
      'users:', '- name: weft', '  user:', `    token: ${token}`,
      'contexts:', '- name: stand-in', '  context:', '    cluster: stand-in', '    user: weft',
      'current-context: stand-in', '',
    ].join('\n'));
    return file;
  }

  /** The object stored under `namespace/name` (namespaces: `''` namespace), or undefined. */
  get(resource: StandInResource, namespace: string, name: string): KubeJson | undefined {
    const o = this.objects[resource].get(`${namespace}/${name}`);
    return o ? clone(o) : undefined;
  }

  /** Creates an object (uid, creationTimestamp and resourceVersion filled in) and sends ADDED. */
  add(resource: StandInResource, obj: KubeJson): KubeJson {
    const o = clone(obj);
    const { apiVersion: _a, kind: _k, ...rest } = o;
    const stored = rest as KubeJson;
    stored.metadata.uid ??= randomUUID();
    stored.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (this.objects[resource].has(keyOf(stored))) throw new Error(`stand-in: ${resource} ${keyOf(stored)} exists`);
    return this.record(resource, 'ADDED', stored);
  }

  /** Changes an object in place (`change` edits a copy) and sends MODIFIED. */
  modify(resource: StandInResource, namespace: string, name: string, change: (o: KubeJson) => void): KubeJson {
    const cur = this.objects[resource].get(`${namespace}/${name}`);
    if (!cur) throw new Error(`stand-in: no ${resource} ${namespace}/${name}`);
    const next = clone(cur);
    change(next);
    return this.record(resource, 'MODIFIED', next);
  }

  /** Deletes an object and sends DELETED (with its last state and a new resourceVersion). */
  remove(resource: StandInResource, namespace: string, name: string): void {
    const cur = this.objects[resource].get(`${namespace}/${name}`);
    if (!cur) throw new Error(`stand-in: no ${resource} ${namespace}/${name}`);
    this.record(resource, 'DELETED', clone(cur));
  }

  /** Forgets the history: a watch from any resourceVersion before now gets 410. */
  compact(): void {
    this.history = [];
    this.historyStart = this.rv;
  }

  /** Ends every open watch with an ERROR event (Status 410 Expired), and forgets the history. */
  expireWatches(): void {
    this.compact();
    for (const w of [...this.watchers]) {
      this.send(w, 'ERROR', this.expired(this.rv));
      w.res.end();
      this.watchers.delete(w);
    }
  }

  /** Destroys every open watch connection mid-stream (no end of the chunked body). */
  dropConnections(): void {
    for (const w of [...this.watchers]) {
      w.socket.destroy();
      this.watchers.delete(w);
    }
  }

  /** While false, every request is answered 503 and open watches are dropped. */
  setAvailable(available: boolean): void {
    this.available = available;
    if (!available) this.dropConnections();
  }

  /** Sends a BOOKMARK with the current resourceVersion on every open watch. */
  bookmark(): void {
    for (const w of this.watchers) this.send(w, 'BOOKMARK', { ...TYPES[w.resource], metadata: { resourceVersion: String(this.rv) } });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.watchers.clear();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private record(resource: StandInResource, type: HistoryEvent['type'], obj: KubeJson): KubeJson {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    if (type === 'DELETED') this.objects[resource].delete(keyOf(obj));
    else this.objects[resource].set(keyOf(obj), obj);
    const ev: HistoryEvent = { rv: this.rv, resource, type, object: clone(obj) };
    this.history.push(ev);
    for (const w of this.watchers) if (w.resource === resource) this.send(w, type, this.withType(resource, ev.object));
    return clone(obj);
  }

  private withType(resource: StandInResource, o: KubeJson): Record<string, unknown> {
    return { ...TYPES[resource], ...o };
  }

  private expired(rv: number): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rv} (${this.historyStart + 1})`, reason: 'Expired', code: 410 };
  }

  private send(w: Watcher, type: string, object: unknown): void {
    w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const resource = PATHS[url.pathname] ?? null;
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const rvParam = url.searchParams.get('resourceVersion');
    const log = (status: number) => this.requests.push({ resource, watch, resourceVersion: rvParam, status });
    if (!this.available) { log(503); return this.status(res, 503, 'ServiceUnavailable', 'the stand-in API server is unavailable'); }
    if (req.headers.authorization !== `Bearer ${this.token}`) { log(401); return this.status(res, 401, 'Unauthorized', 'Unauthorized'); }
    if (req.method !== 'GET' || !resource) { log(404); return this.status(res, 404, 'NotFound', `the stand-in serves no ${req.method} ${url.pathname}`); }
    if (!watch) return this.list(resource, url, res, log);

    const from = rvParam === null || rvParam === '' || rvParam === '0' ? null : Number(rvParam);
    if (from !== null && (!Number.isInteger(from) || from < this.historyStart)) {
      if (this.opts.staleWatch === 'status') { log(410); return this.status(res, 410, 'Expired', `too old resource version: ${rvParam} (${this.historyStart + 1})`); }
      log(200);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ type: 'ERROR', object: this.expired(from ?? 0) }) + '\n');
      return;
    }
    log(200);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const w: Watcher = { resource, res, socket: req.socket };
    if (from === null) {
      for (const o of this.objects[resource].values()) this.send(w, 'ADDED', this.withType(resource, o));
    } else {
      for (const ev of this.history) if (ev.resource === resource && ev.rv > from) this.send(w, ev.type, this.withType(resource, ev.object));
    }
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }

  private list(resource: StandInResource, url: URL, res: ServerResponse, log: (s: number) => void): void {
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const cont = url.searchParams.get('continue');
    let snap: { rv: number; items: KubeJson[] };
    let offset = 0;
    if (cont) {
      const [id, off] = cont.split(':');
      const s = this.pages.get(id ?? '');
      if (!s) { log(410); return this.status(res, 410, 'Expired', 'the provided continue parameter is too old'); }
      snap = s;
      offset = Number(off);
    } else {
      snap = { rv: this.rv, items: [...this.objects[resource].values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b))).map(clone) };
    }
    const end = limit > 0 ? Math.min(snap.items.length, offset + limit) : snap.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      const id = randomUUID();
      this.pages.set(id, snap);
      metadata.continue = `${id}:${end}`;
      metadata.remainingItemCount = snap.items.length - end;
    }
    log(200);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: `${TYPES[resource].kind}List`, apiVersion: TYPES[resource].apiVersion, metadata, items: snap.items.slice(offset, end) }));
  }
}
