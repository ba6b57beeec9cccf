/**
 * PolicyStore: the mesh's replicated set of NetworkPolicy and Namespace objects (mesh mode's
 * source of policy), spread over the gossip channel POLICY_GOSSIP_CHANNEL and persisted by the
 * daemon. A last-writer-wins register per object: each entry carries a stamp (wall-clock ms,
 * then the origin peer's name as tie-break, then the object's canonical JSON) and the higher
 * stamp wins; a delete writes a tombstone (kept POLICY_TOMBSTONE_TTL_MS). Merge is a join
 * (commutative, associative, idempotent), so any delivery order or duplication converges.
 * Pure: no I/O; time comes in as arguments.
 *
 * Message (envelope kind `policy`) and persisted file body:
 *   { "entries": [ { "kind": "policy"|"namespace", "key", "ms", "origin", "object": {...}|null } ] }
 *
 * Limitation (as in every LWW store with expiring tombstones): a peer that was away for longer
 * than the TTL can bring a deleted object back.
 */
import {
  POLICY_GOSSIP_MAX_BYTES, POLICY_MAX_OBJECTS, POLICY_TOMBSTONE_TTL_MS, WeftError,
} from '../common/index.js';
import type { Gossiper, PeerName } from '../mesh/index.js';
import { isPeerName } from '../net/index.js';
import { policyKey, type NamespaceIdentity, type NetworkPolicyObject, type PolicyDocuments } from '../policy/index.js';
import { decodeEnvelope, encodeEnvelope, envelopeSize } from './envelope.js';
import { canonicalJson, checkNamespace, checkPolicyObject } from './object-check.js';

/** When and where an entry was written. */
export interface PolicyStamp {
  /** Wall-clock time of the apply or delete. ms */
  readonly ms: number;
  /** The peer the apply or delete was made on. */
  readonly origin: string;
}

/** One object of the store, live or deleted (`object` null: a tombstone). */
export type PolicyStoreEntry =
  | { readonly kind: 'policy'; readonly key: string; readonly stamp: PolicyStamp; readonly object: NetworkPolicyObject | null }
  | { readonly kind: 'namespace'; readonly key: string; readonly stamp: PolicyStamp; readonly object: NamespaceIdentity | null };

/** What {@link PolicyStore.applyDocuments} and {@link PolicyStore.delete} did. */
export interface PolicyStoreChange {
  /** The entries written, encoded for broadcast; null when nothing changed. */
  readonly update: Buffer | null;
  /** Keys (policies `NS/NAME`, namespaces `NAME`) now written (applied or deleted). */
  readonly policies: readonly string[];
  readonly namespaces: readonly string[];
  /** Keys that were already in that state (nothing written for them). */
  readonly unchanged: readonly string[];
}

const bad = (what: string) => new WeftError('WEFT_ERR_DECODE', what);
const id = (e: { kind: string; key: string }) => `${e.kind}:${e.key}`;

/** Total order of versions of one key: the larger wins. */
export function compareEntries(a: PolicyStoreEntry, b: PolicyStoreEntry): number {
  if (a.stamp.ms !== b.stamp.ms) return a.stamp.ms < b.stamp.ms ? -1 : 1;
  if (a.stamp.origin !== b.stamp.origin) return a.stamp.origin < b.stamp.origin ? -1 : 1;
  const ca = a.object === null ? '' : canonicalJson(a.object);
  const cb = b.object === null ? '' : canonicalJson(b.object);
  return ca < cb ? -1 : ca > cb ? 1 : 0;
}

function toWire(e: PolicyStoreEntry): unknown {
  return { kind: e.kind, key: e.key, ms: e.stamp.ms, origin: e.stamp.origin, object: e.object };
}

/** Validate one wire entry (`where` names it in errors). */
function fromWire(v: unknown, where: string): PolicyStoreEntry {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where}: must be an object`);
  const { kind, key, ms, origin, object, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw bad(`${where}: unexpected field "${Object.keys(rest)[0]}"`);
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw bad(`${where}: field "ms" must be a non-negative number`);
  if (!isPeerName(origin)) throw bad(`${where}: field "origin" is not a peer name`);
  if (typeof key !== 'string' || key.length === 0 || key.length > 320) throw bad(`${where}: field "key" must be a non-empty string`);
  const stamp: PolicyStamp = { ms, origin };
  if (kind === 'policy') {
    const obj = object === null ? null : checkPolicyObject(object, `${where}.object`);
    if (obj ? policyKey(obj) !== key : !/^[a-z0-9-]{1,63}\/[A-Za-z0-9_.-]{1,253}$/.test(key)) throw bad(`${where}: key "${key}" does not name the policy`);
    return { kind, key, stamp, object: obj };
  }
  if (kind === 'namespace') {
    const obj = object === null ? null : checkNamespace(object, `${where}.object`);
    if (obj ? obj.name !== key : !/^[a-z0-9-]{1,63}$/.test(key)) throw bad(`${where}: key "${key}" does not name the namespace`);
    return { kind, key, stamp, object: obj };
  }
  throw bad(`${where}: field "kind" must be "policy" or "namespace"`);
}

/** Decode a gossip message; WEFT_ERR_DECODE naming the first problem. */
export function decodePolicyEntries(buf: Buffer): PolicyStoreEntry[] {
  return entriesOf(decodeEnvelope('policy', buf), 'policy gossip');
}

function entriesOf(doc: unknown, what: string): PolicyStoreEntry[] {
  const list = (doc as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(list)) throw bad(`${what}: body must be {"entries": [...]}`);
  if (list.length > POLICY_MAX_OBJECTS) throw bad(`${what}: more than ${POLICY_MAX_OBJECTS} entries`);
  return list.map((e, i) => fromWire(e, `${what}: entries[${i}]`));
}

/** Encode entries for gossip (the caller keeps under the cap). */
export function encodePolicyEntries(entries: readonly PolicyStoreEntry[]): Buffer {
  return encodeEnvelope('policy', { entries: entries.map(toWire) });
}

/**
 * Lifecycle: created with a change callback; `load` the persisted state once; `applyDocuments`
 * / `delete` for local API calls (broadcast what they return); the router drives the Gossiper
 * methods; `expire(now)` now and then drops old tombstones. Guarantees: at most
 * POLICY_MAX_OBJECTS entries (new keys beyond it are refused: local calls with
 * WEFT_ERR_BAD_ARGS, gossip silently and counted in {@link refused}); `onChange` fires once per
 * call that changed the live view or a stamp.
 */
export class PolicyStore implements Gossiper {
  private readonly entries = new Map<string, PolicyStoreEntry>();
  /** Gossiped entries refused because the store was full. count */
  refused = 0;

  constructor(private readonly onChange: () => void = () => undefined) {}

  /** Live policies and namespaces, sorted by key. */
  snapshot(): PolicyDocuments {
    const policies: NetworkPolicyObject[] = [];
    const namespaces: NamespaceIdentity[] = [];
    for (const e of this.list()) {
      if (e.kind === 'policy' && e.object) policies.push(e.object);
      if (e.kind === 'namespace' && e.object) namespaces.push(e.object);
    }
    return { policies, namespaces };
  }

  /** Every entry (tombstones included), sorted by kind and key. */
  list(): PolicyStoreEntry[] {
    return [...this.entries.values()].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  }

  /** The entry of a policy (`NS/NAME`) or namespace, live or tombstone. */
  get(kind: 'policy' | 'namespace', key: string): PolicyStoreEntry | undefined {
    return this.entries.get(`${kind}:${key}`);
  }

  /** Write every object of one apply with one stamp (above any stamp of those keys); objects equal to the live ones are left alone. */
  applyDocuments(docs: PolicyDocuments, now: number, origin: PeerName): PolicyStoreChange {
    const wanted: PolicyStoreEntry[] = [
      ...docs.policies.map((p): PolicyStoreEntry => ({ kind: 'policy', key: policyKey(p), stamp: { ms: 0, origin }, object: p })),
      ...docs.namespaces.map((n): PolicyStoreEntry => ({ kind: 'namespace', key: n.name, stamp: { ms: 0, origin }, object: n })),
    ];
    return this.write(wanted, now, origin);
  }

  /** Tombstone the named policies (`NS/NAME`) and namespaces; names not live are reported unchanged. */
  delete(refs: { policies: readonly string[]; namespaces: readonly string[] }, now: number, origin: PeerName): PolicyStoreChange {
    const wanted: PolicyStoreEntry[] = [
      ...refs.policies.map((key): PolicyStoreEntry => ({ kind: 'policy', key, stamp: { ms: 0, origin }, object: null })),
      ...refs.namespaces.map((key): PolicyStoreEntry => ({ kind: 'namespace', key, stamp: { ms: 0, origin }, object: null })),
    ];
    return this.write(wanted, now, origin);
  }

  /** Forget tombstones older than POLICY_TOMBSTONE_TTL_MS; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.object === null && e.stamp.ms + POLICY_TOMBSTONE_TTL_MS < now) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }

  /** The persisted form (JSON text). */
  serialize(): string {
    return `${JSON.stringify({ entries: this.list().map(toWire) })}\n`;
  }

  /** Merge a persisted state (validated like gossip: WEFT_ERR_DECODE naming the problem; nothing merged then). */
  load(text: string): number {
    let doc: unknown;
    try {
      doc = JSON.parse(text) as unknown;
    } catch {
      throw bad('policy store file: not valid JSON');
    }
    return this.merge(entriesOf(doc, 'policy store file')).length;
  }

  onGossipUnicast(): void {
    // not used
  }

  onGossipBroadcast(_src: PeerName, update: Buffer): Buffer | null {
    return this.merge(decodePolicyEntries(update)).length > 0 ? update : null;
  }

  onGossip(update: Buffer): Buffer | null {
    const delta = this.merge(decodePolicyEntries(update));
    return delta.length > 0 ? this.encodeCapped(delta) : null;
  }

  gossip(): Buffer | null {
    return this.entries.size > 0 ? this.encodeCapped(this.list()) : null;
  }

  private write(wanted: PolicyStoreEntry[], now: number, origin: PeerName): PolicyStoreChange {
    const seen = new Set<string>();
    const changed: PolicyStoreEntry[] = [];
    const unchanged: string[] = [];
    let ms = Math.max(0, Math.floor(now));
    for (const w of wanted) {
      const k = id(w);
      if (seen.has(k)) throw new WeftError('WEFT_ERR_BAD_ARGS', `${w.kind} ${w.key} is named twice in one call`);
      seen.add(k);
      const cur = this.entries.get(k);
      const same = cur ? (cur.object === null ? w.object === null : w.object !== null && canonicalJson(cur.object) === canonicalJson(w.object))
        : w.object === null;
      if (same) {
        unchanged.push(w.key);
        continue;
      }
      if (cur) ms = Math.max(ms, cur.stamp.ms + 1);
      changed.push(w);
    }
    const fresh = changed.filter((w) => !this.entries.has(id(w))).length;
    if (this.entries.size + fresh > POLICY_MAX_OBJECTS) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `the policy store holds at most ${POLICY_MAX_OBJECTS} objects (tombstones included)`);
    }
    const stamped = changed.map((w) => ({ ...w, stamp: { ms, origin } }) as PolicyStoreEntry);
    for (const e of stamped) this.entries.set(id(e), e);
    if (stamped.length > 0) this.onChange();
    return {
      update: stamped.length > 0 ? this.encodeCapped(stamped) : null,
      policies: stamped.filter((e) => e.kind === 'policy').map((e) => e.key),
      namespaces: stamped.filter((e) => e.kind === 'namespace').map((e) => e.key),
      unchanged,
    };
  }

  /** Join `incoming` into the store; returns the entries that won (were new to us). */
  private merge(incoming: readonly PolicyStoreEntry[]): PolicyStoreEntry[] {
    const delta: PolicyStoreEntry[] = [];
    for (const e of incoming) {
      const k = id(e);
      const cur = this.entries.get(k);
      if (cur && compareEntries(cur, e) >= 0) continue;
      if (!cur && this.entries.size >= POLICY_MAX_OBJECTS) {
        this.refused++;
        continue;
      }
      this.entries.set(k, e);
      delta.push(e);
    }
    if (delta.length > 0) this.onChange();
    return delta;
  }

  private encodeCapped(entries: readonly PolicyStoreEntry[]): Buffer {
    const out: PolicyStoreEntry[] = [];
    let size = envelopeSize({ entries: [] });
    for (const e of entries) {
      const one = envelopeSize(toWire(e)) + 1;
      if (size + one > POLICY_GOSSIP_MAX_BYTES) continue; // too much for one message: later rounds carry the rest
      out.push(e);
      size += one;
    }
    return encodePolicyEntries(out);
  }
}
