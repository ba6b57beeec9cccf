/**
 * PolicyStore: the mesh's replicated set of NetworkPolicy and Namespace objects (mesh mode's
 * source of policy), spread over the gossip channel POLICY_GOSSIP_CHANNEL and persisted by the
 * daemon. A last-writer-wins register per object, in the shared {@link LwwTable} (lww-table.ts:
 * stamp = wall-clock ms, origin peer, canonical JSON; the higher wins; a delete writes a
 * tombstone kept POLICY_TOMBSTONE_TTL_MS; merge is a join, so any delivery order or duplication
 * converges). Pure: no I/O; time comes in as arguments.
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
import { LwwTable, type LwwSchema, type LwwStamp } from './lww-table.js';
import { canonicalJson, checkNamespace, checkPolicyObject } from './object-check.js';

/** When and where an entry was written (the apply or delete). */
export type PolicyStamp = LwwStamp;

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

/** The policy store's entries as the shared LWW table sees them. */
const POLICY_SCHEMA: LwwSchema<PolicyStoreEntry> = {
  envelope: 'policy',
  what: { gossip: 'policy gossip', file: 'policy store file', table: 'policy store' },
  maxEntries: POLICY_MAX_OBJECTS,
  tombstoneTtlMs: POLICY_TOMBSTONE_TTL_MS,
  maxBytes: POLICY_GOSSIP_MAX_BYTES,
  id,
  stamp: (e) => e.stamp,
  withStamp: (e, stamp) => ({ ...e, stamp }) as PolicyStoreEntry,
  canonical: (e) => (e.object === null ? null : canonicalJson(e.object)),
  toWire,
  fromWire,
};
const codec = new LwwTable(POLICY_SCHEMA);

/** Total order of versions of one key: the larger wins. */
export function compareEntries(a: PolicyStoreEntry, b: PolicyStoreEntry): number {
  return codec.compare(a, b);
}

/** Decode a gossip message; WEFT_ERR_DECODE naming the first problem. */
export function decodePolicyEntries(buf: Buffer): PolicyStoreEntry[] {
  return codec.decode(buf);
}

/** Encode entries for gossip (the caller keeps under the cap). */
export function encodePolicyEntries(entries: readonly PolicyStoreEntry[]): Buffer {
  return codec.encode(entries);
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
  private readonly table: LwwTable<PolicyStoreEntry>;

  constructor(onChange: () => void = () => undefined) {
    this.table = new LwwTable(POLICY_SCHEMA, onChange);
  }

  /** Gossiped entries refused because the store was full. count */
  get refused(): number {
    return this.table.refused;
  }

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
    return this.table.list();
  }

  /** The entry of a policy (`NS/NAME`) or namespace, live or tombstone. */
  get(kind: 'policy' | 'namespace', key: string): PolicyStoreEntry | undefined {
    return this.table.get(`${kind}:${key}`);
  }

  /** Write every object of one apply with one stamp (above any stamp of those keys); objects equal to the live ones are left alone. */
  applyDocuments(docs: PolicyDocuments, now: number, origin: PeerName): PolicyStoreChange {
    const stamp = { ms: 0, origin };
    return this.write([
      ...docs.policies.map((p): PolicyStoreEntry => ({ kind: 'policy', key: policyKey(p), stamp, object: p })),
      ...docs.namespaces.map((n): PolicyStoreEntry => ({ kind: 'namespace', key: n.name, stamp, object: n })),
    ], now, origin);
  }

  /** Tombstone the named policies (`NS/NAME`) and namespaces; names not live are reported unchanged. */
  delete(refs: { policies: readonly string[]; namespaces: readonly string[] }, now: number, origin: PeerName): PolicyStoreChange {
    const stamp = { ms: 0, origin };
    return this.write([
      ...refs.policies.map((key): PolicyStoreEntry => ({ kind: 'policy', key, stamp, object: null })),
      ...refs.namespaces.map((key): PolicyStoreEntry => ({ kind: 'namespace', key, stamp, object: null })),
    ], now, origin);
  }

  /** Forget tombstones older than POLICY_TOMBSTONE_TTL_MS; returns how many. */
  expire(now: number): number {
    return this.table.expire(now);
  }

  /** The persisted form (JSON text). */
  serialize(): string {
    return this.table.serialize();
  }

  /** Merge a persisted state (validated like gossip: WEFT_ERR_DECODE naming the problem; nothing merged then). */
  load(text: string): number {
    return this.table.load(text);
  }

  onGossipUnicast(): void {
    // not used
  }

  onGossipBroadcast(src: PeerName, update: Buffer): Buffer | null {
    return this.table.onGossipBroadcast(src, update);
  }

  onGossip(update: Buffer): Buffer | null {
    return this.table.onGossip(update);
  }

  gossip(): Buffer | null {
    return this.table.gossip();
  }

  private write(wanted: PolicyStoreEntry[], now: number, origin: PeerName): PolicyStoreChange {
    const r = this.table.write(wanted, now, origin);
    return {
      update: r.update,
      policies: r.written.filter((e) => e.kind === 'policy').map((e) => e.key),
      namespaces: r.written.filter((e) => e.kind === 'namespace').map((e) => e.key),
      unchanged: r.unchanged.map((e) => e.key),
    };
  }
}
