/**
 * PodIdentities: the policy identity (namespace, name, labels, named ports) and addresses of
 * every pod this daemon attached, by attachment owner, kept in `<data dir>/pods.json` (written
 * atomically after every change) so a restarted daemon knows its pods again. The kernel stays
 * the truth about which attachments exist: {@link PodIdentities.reconcile} drops records whose
 * interface is gone and refreshes addresses from what is listed.
 */
import { basename, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { WeftError, describeError, type Logger } from '../common/index.js';
import { DEFAULT_NAMESPACE, type PodPort } from '../policy/index.js';
import { checkPod, labelsProblem, namespaceNameProblem, podNameProblem, podPortsProblem, type AnnouncedPod } from '../directory/index.js';
import { writeFileAtomic } from './atomic-file.js';

/** File name inside the data dir. */
export const PODS_FILE = 'pods.json';

/** What `weft attach` / CNI ADD say about a pod (all optional: defaults apply). */
export interface PodIdentityInput {
  namespace?: string;
  name?: string;
  labels?: Readonly<Record<string, string>>;
  ports?: readonly PodPort[];
}

/** One attachment's identity and addresses. */
export interface PodRecord {
  /** IPAM owner of the attachment (`attach/NETNS/IF`, `cni/NET/ID/IF`): the record's key. */
  readonly owner: string;
  /** Resolved namespace path. */
  readonly netns: string;
  readonly ifname: string;
  readonly pod: AnnouncedPod;
}

/**
 * The identity `input` describes, with defaults (namespace `default`, name: the network
 * namespace's name), or WEFT_ERR_BAD_ARGS naming the bad field in one line.
 */
export function podIdentity(input: PodIdentityInput, netns: string): Omit<AnnouncedPod, 'ips'> {
  const namespace = input.namespace ?? DEFAULT_NAMESPACE;
  const name = input.name ?? defaultPodName(netns);
  const labels = { ...(input.labels ?? {}) };
  const ports = [...(input.ports ?? [])];
  const bad = (what: string, p: string) => new WeftError('WEFT_ERR_BAD_ARGS', `invalid ${what}: ${p}`);
  const np = namespaceNameProblem(namespace);
  if (np) throw bad(`namespace "${namespace}"`, np);
  const pp = podNameProblem(name);
  if (pp) throw bad(`pod name "${name}"`, pp);
  const lp = labelsProblem(labels);
  if (lp) throw bad('labels', lp);
  const portp = podPortsProblem(ports);
  if (portp) throw bad('ports', portp);
  return { namespace, name, labels, ports };
}

/** The network namespace's own name (`/run/netns/NAME` → NAME, `/proc/PID/ns/net` → `pid-PID`), made a valid pod name. */
function defaultPodName(netns: string): string {
  const proc = /^\/proc\/(\d+)\/ns\/net$/.exec(netns);
  const raw = proc ? `pid-${proc[1]}` : basename(netns);
  const cleaned = raw.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 253);
  return cleaned || 'pod';
}

/**
 * Lifecycle: `load()` once before the API serves; then `record` / `remove` / `relabel` from the
 * attach path and `reconcile` with the kernel's list; `close()` at shutdown (waits for the last
 * write). `onChange` fires after every change of the records. Writes are serialised; a failed
 * write is logged, never thrown.
 */
export class PodIdentities {
  private readonly records = new Map<string, PodRecord>();
  private readonly path: string;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(dataDir: string, private readonly log: Logger, private readonly onChange: () => void) {
    this.path = join(dataDir, PODS_FILE);
  }

  /** Read the records of the previous run (a missing file is none; a bad one is logged and ignored). */
  async load(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return 0;
    }
    try {
      const doc = JSON.parse(text) as { pods?: unknown };
      if (!Array.isArray(doc.pods)) throw new WeftError('WEFT_ERR_DECODE', 'no "pods" list');
      for (const [i, r] of doc.pods.entries()) {
        const { owner, netns, ifname, pod } = (r ?? {}) as Record<string, unknown>;
        if (typeof owner !== 'string' || typeof netns !== 'string' || typeof ifname !== 'string') throw new WeftError('WEFT_ERR_DECODE', `pods[${i}]: owner, netns and ifname must be strings`);
        this.records.set(owner, { owner, netns, ifname, pod: checkPod(pod, `pods[${i}].pod`) });
      }
    } catch (e) {
      this.records.clear();
      this.log.warn({ file: this.path, err: describeError(e) }, 'ignoring an unreadable pod identity file');
    }
    return this.records.size;
  }

  /** Every record, by owner. */
  list(): PodRecord[] {
    return [...this.records.values()].sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));
  }

  /** The record of an attachment by owner. */
  get(owner: string): PodRecord | undefined {
    return this.records.get(owner);
  }

  /** The record of an attachment by resolved namespace path and interface. */
  find(netns: string, ifname: string): PodRecord | undefined {
    for (const r of this.records.values()) if (r.netns === netns && r.ifname === ifname) return r;
    return undefined;
  }

  /** Every local pod address. */
  localIps(): Set<string> {
    return new Set(this.list().flatMap((r) => r.pod.ips));
  }

  /** The local pods as the workload directory announces them (one entry per attachment). */
  announced(): AnnouncedPod[] {
    return this.list().map((r) => r.pod);
  }

  /** An attachment succeeded: remember (or update) its identity; a re-attach keeps earlier addresses. */
  record(owner: string, netns: string, ifname: string, identity: Omit<AnnouncedPod, 'ips'>, ip: string): PodRecord {
    const prev = this.records.get(owner);
    const ips = [...new Set([...(prev?.pod.ips ?? []), ip])].sort();
    const rec: PodRecord = { owner, netns, ifname, pod: { ...identity, ips } };
    this.records.set(owner, rec);
    this.changed();
    return rec;
  }

  /** An attachment was removed. */
  remove(owner: string): void {
    if (this.records.delete(owner)) this.changed();
  }

  /** `weft label`: set and remove labels of an attached pod; WEFT_ERR_NOT_FOUND / WEFT_ERR_BAD_ARGS. */
  relabel(netns: string, ifname: string, set: Readonly<Record<string, string>>, remove: readonly string[]): PodRecord {
    const cur = this.find(netns, ifname);
    if (!cur) throw new WeftError('WEFT_ERR_NOT_FOUND', `no pod attached to ${netns} (interface ${ifname})`);
    const labels: Record<string, string> = { ...cur.pod.labels };
    for (const k of remove) delete labels[k];
    Object.assign(labels, set);
    const p = labelsProblem(labels);
    if (p) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid labels: ${p}`);
    const rec: PodRecord = { ...cur, pod: { ...cur.pod, labels } };
    this.records.set(cur.owner, rec);
    this.changed();
    return rec;
  }

  /**
   * Match the records with the attachments the kernel lists: drop those whose interface is gone,
   * take the listed addresses. Returns how many were dropped.
   */
  reconcile(listed: readonly { netns: string; ifname: string; addresses: readonly string[] }[]): number {
    const byKey = new Map(listed.map((l) => [`${l.netns}|${l.ifname}`, l]));
    let dropped = 0;
    let changed = false;
    for (const r of [...this.records.values()]) {
      const l = byKey.get(`${r.netns}|${r.ifname}`);
      if (!l) {
        this.records.delete(r.owner);
        dropped++;
        changed = true;
        continue;
      }
      const ips = [...new Set(l.addresses.map((a) => a.split('/')[0]!))].sort();
      if (ips.join() !== r.pod.ips.join()) {
        this.records.set(r.owner, { ...r, pod: { ...r.pod, ips } });
        changed = true;
      }
    }
    if (changed) this.changed();
    return dropped;
  }

  /** Stop writing; resolves when the last write is done. */
  close(): Promise<void> {
    this.closed = true;
    return this.writing;
  }

  private changed(): void {
    if (!this.closed) {
      const text = `${JSON.stringify({ pods: this.list() })}\n`;
      this.writing = this.writing.then(() => writeFileAtomic(this.path, text).catch((e: unknown) => {
        this.log.warn({ file: this.path, err: describeError(e) }, 'could not save the pod identities');
      }));
    }
    this.onChange();
  }
}
