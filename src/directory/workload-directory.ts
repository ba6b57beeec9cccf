/**
 * WorkloadDirectory: which pods (namespace, name, labels, addresses, named ports) run on which
 * host, spread over the gossip channel WORKLOAD_GOSSIP_CHANNEL. Every host announces its own
 * pods as one record with a version (wall-clock ms at change, strictly increasing); the higher
 * version wins, as in the fast path's pod directory. Pure: no I/O; the daemon feeds it the
 * local pods and sends what it returns.
 *
 * Messages (in the envelope of envelope.ts, kind `workloads`):
 *   records: { "records": [ { "peer": NAME, "version": MS, "pods": [ {namespace, name, labels, ips, ports} ] } ] }
 *   digest:  { "from": NAME, "digest": [ [NAME, MS], ... ], "reply": true? }
 * Changes travel as records (broadcast by the host that changed). Anti-entropy (the periodic
 * gossip and a new connection) sends only the digest, a few bytes per host: the receiver
 * unicasts back the records the sender lacks and, when the digest shows it lacks some itself,
 * its own digest (`reply`, answered with records but never with another digest). An idle
 * round costs one small message per neighbour, not the whole directory re-sent and re-validated.
 */
import { POLICY_GOSSIP_MAX_BYTES, WORKLOAD_MAX_PODS_PER_HOST, WeftError } from '../common/index.js';
import type { Gossiper, PeerName } from '../mesh/index.js';
import { isPeerName } from '../net/index.js';
import type { PodIdentity } from '../policy/index.js';
import { decodeEnvelope, encodeEnvelope, envelopeSize } from './envelope.js';
import { canonicalJson, checkPod, type AnnouncedPod } from './object-check.js';

/** Most host records one message may carry. count */
const MAX_RECORDS = 16_384;

/** One host's announced pods. */
export interface WorkloadRecord {
  readonly version: number;
  readonly pods: readonly AnnouncedPod[];
}

const bad = (what: string) => new WeftError('WEFT_ERR_DECODE', `workloads gossip: ${what}`);

/** A decoded message: records, or a digest of versions. */
export type WorkloadMessage =
  | { readonly kind: 'records'; readonly records: Map<PeerName, WorkloadRecord> }
  | { readonly kind: 'digest'; readonly from: PeerName; readonly digest: Map<PeerName, number>; readonly reply: boolean };

/** Encode a digest: our view's versions per host. */
export function encodeDigest(from: PeerName, versions: ReadonlyMap<PeerName, number>, reply: boolean): Buffer {
  return encodeEnvelope('workloads', { from, digest: [...versions], ...(reply ? { reply: true } : {}) });
}

/** Decode records or a digest; WEFT_ERR_DECODE naming the first problem. */
export function decodeWorkloadMessage(buf: Buffer): WorkloadMessage {
  const doc = decodeEnvelope('workloads', buf);
  if (typeof doc === 'object' && doc !== null && 'digest' in doc) {
    const { from, digest, reply, ...rest } = doc as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw bad(`digest: unexpected field "${Object.keys(rest)[0]}"`);
    if (!isPeerName(from)) throw bad('digest: from is not a peer name');
    if (reply !== undefined && reply !== true) throw bad('digest: reply must be true when present');
    if (!Array.isArray(digest) || digest.length > MAX_RECORDS) throw bad(`digest must be a list of at most ${MAX_RECORDS} [peer, version] pairs`);
    const out = new Map<PeerName, number>();
    digest.forEach((e, i) => {
      if (!Array.isArray(e) || e.length !== 2 || !isPeerName(e[0]) || typeof e[1] !== 'number' || !Number.isFinite(e[1]) || e[1] < 0) {
        throw bad(`digest[${i}] must be [peer name, non-negative version]`);
      }
      if (out.has(e[0])) throw bad(`digest[${i}]: peer ${e[0]} appears twice`);
      out.set(e[0], e[1]);
    });
    return { kind: 'digest', from, digest: out, reply: reply === true };
  }
  return { kind: 'records', records: recordsOf(doc) };
}

/** Encode records (every one given; the caller keeps under the size cap). */
export function encodeWorkloads(records: ReadonlyMap<PeerName, WorkloadRecord>): Buffer {
  return encodeEnvelope('workloads', { records: [...records].map(([peer, r]) => ({ peer, version: r.version, pods: r.pods })) });
}

/** Decode and validate every record and pod; WEFT_ERR_DECODE naming the first problem. */
export function decodeWorkloads(buf: Buffer): Map<PeerName, WorkloadRecord> {
  return recordsOf(decodeEnvelope('workloads', buf));
}

function recordsOf(doc: unknown): Map<PeerName, WorkloadRecord> {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { records?: unknown }).records)) throw bad('body must be {"records": [...]}');
  const list = (doc as { records: unknown[] }).records;
  if (list.length > MAX_RECORDS) throw bad(`more than ${MAX_RECORDS} records`);
  const out = new Map<PeerName, WorkloadRecord>();
  list.forEach((r, i) => {
    if (typeof r !== 'object' || r === null) throw bad(`records[${i}] must be an object`);
    const { peer, version, pods, ...rest } = r as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw bad(`records[${i}]: unexpected field "${Object.keys(rest)[0]}"`);
    if (!isPeerName(peer)) throw bad(`records[${i}].peer is not a peer name`);
    if (typeof version !== 'number' || !Number.isFinite(version) || version < 0) throw bad(`records[${i}].version must be a non-negative number`);
    if (!Array.isArray(pods)) throw bad(`records[${i}].pods must be a list`);
    if (pods.length > WORKLOAD_MAX_PODS_PER_HOST) throw bad(`records[${i}] has more than ${WORKLOAD_MAX_PODS_PER_HOST} pods`);
    if (out.has(peer)) throw bad(`records[${i}]: peer ${peer} appears twice`);
    out.set(peer, { version, pods: pods.map((p, k) => checkPod(p, `workloads gossip: records[${i}].pods[${k}]`)) });
  });
  return out;
}

/**
 * Lifecycle: created with our peer name and a change callback; `setLocal` whenever the local
 * pods change (returns the update to broadcast, or null when nothing changed); the router drives
 * the Gossiper methods; `forget(peer)` when the mesh says a peer is gone for good. Guarantees:
 * records about us from others are never taken (a newer one from an earlier incarnation makes
 * us re-announce above it); `onChange` fires once per record that changed.
 */
export class WorkloadDirectory implements Gossiper {
  private readonly records = new Map<PeerName, WorkloadRecord>();
  private ownVersion = 0;
  private reannounce = false;
  private lastLocal = '';
  /** pods() until a record changes (the same objects each time, so the compiler's per-object memo hits). */
  private podsCache: PodIdentity[] | null = null;

  private send: ((dst: PeerName, msg: Buffer) => void) | null = null;

  constructor(readonly self: PeerName, private readonly onChange: (peer: PeerName) => void) {}

  /**
   * How to unicast to a peer (the gossip channel's unicast), for the answers to digests. Until
   * set, a digest is answered by nothing (convergence then rests on the broadcasts).
   */
  setSender(send: (dst: PeerName, msg: Buffer) => void): void {
    this.send = send;
  }

  /** Every known pod of every host (ours included), sorted by namespace/name then host. */
  pods(): PodIdentity[] {
    if (this.podsCache === null) {
      const out: PodIdentity[] = [];
      for (const [host, r] of this.records) for (const p of r.pods) out.push({ ...p, host });
      this.podsCache = out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.host, b.host));
    }
    return [...this.podsCache];
  }

  /** Hosts with a record. */
  hosts(): PeerName[] {
    return [...this.records.keys()];
  }

  /** A host's record (or undefined). */
  get(peer: PeerName): WorkloadRecord | undefined {
    return this.records.get(peer);
  }

  /**
   * Replace our own record with `pods` (validated: WEFT_ERR_DECODE for a bad one, so the local
   * feed follows the same rules as peers; at most WORKLOAD_MAX_PODS_PER_HOST are kept). Returns
   * the encoded update when it changed, else null.
   */
  setLocal(pods: readonly AnnouncedPod[], now: number): Buffer | null {
    const checked = pods.slice(0, WORKLOAD_MAX_PODS_PER_HOST).map((p, i) => checkPod(p, `local pod ${i}`))
      .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.ips.join(), b.ips.join()));
    const key = canonicalJson(checked);
    if (key === this.lastLocal && !this.reannounce && this.records.has(this.self)) return null;
    this.lastLocal = key;
    this.reannounce = false;
    this.ownVersion = Math.max(now, this.ownVersion + 1);
    const rec: WorkloadRecord = { version: this.ownVersion, pods: checked };
    this.records.set(this.self, rec);
    this.podsCache = null;
    this.onChange(this.self);
    return encodeWorkloads(new Map([[this.self, rec]]));
  }

  /** Other hosts' records, for the daemon to persist (our own comes from the attach records). */
  serialize(): Buffer {
    const others = new Map([...this.records].filter(([p]) => p !== this.self));
    return this.encodeCapped(others);
  }

  /**
   * Take a persisted view (what {@link serialize} wrote before a restart), so the first ruleset
   * after a restart already knows the other hosts' pods; newer gossip replaces it. Validated like
   * gossip (WEFT_ERR_DECODE). Returns how many records were taken.
   */
  load(buf: Buffer): number {
    return this.merge(decodeWorkloads(buf)).size;
  }

  /** Drop a gone peer's record. */
  forget(peer: PeerName): void {
    if (peer !== this.self && this.records.delete(peer)) {
      this.podsCache = null;
      this.onChange(peer);
    }
  }

  /** A digest or the records answering one (from `src`). */
  onGossipUnicast(_src: PeerName, msg: Buffer): void {
    const m = decodeWorkloadMessage(msg);
    if (m.kind === 'digest') this.answerDigest(m.from, m.digest, m.reply);
    else this.merge(m.records);
  }

  onGossipBroadcast(_src: PeerName, update: Buffer): Buffer | null {
    return this.merge(decodeWorkloads(update)).size > 0 ? update : null;
  }

  onGossip(update: Buffer): Buffer | null {
    const m = decodeWorkloadMessage(update);
    if (m.kind === 'digest') {
      this.answerDigest(m.from, m.digest, m.reply);
      return null;
    }
    const delta = this.merge(m.records);
    return delta.size > 0 ? this.encodeCapped(delta) : null;
  }

  /** The digest of our view (versions per host, ours included); null when empty. */
  gossip(): Buffer | null {
    return this.records.size > 0 ? encodeDigest(this.self, this.versions(), false) : null;
  }

  /** Our view's versions per host. */
  versions(): Map<PeerName, number> {
    return new Map([...this.records].map(([p, r]) => [p, r.version]));
  }

  /**
   * Unicast to `from` the records it lacks (capped; the rest in later rounds) and, unless this
   * digest is itself a reply, our digest when `from` knows something newer than we do.
   */
  private answerDigest(from: PeerName, digest: ReadonlyMap<PeerName, number>, reply: boolean): void {
    if (from === this.self) return;
    const mine = digest.get(this.self);
    if (mine !== undefined && mine >= this.ownVersion) {
      this.ownVersion = mine + 1;
      this.reannounce = true; // an earlier incarnation's record is out there: outbid() re-announces
    }
    const theyLack = new Map<PeerName, WorkloadRecord>();
    for (const [peer, r] of this.records) if ((digest.get(peer) ?? -1) < r.version && peer !== from) theyLack.set(peer, r);
    let weLack = false;
    for (const [peer, v] of digest) if (peer !== this.self && (this.records.get(peer)?.version ?? -1) < v) weLack = true;
    if (this.send === null) return;
    if (theyLack.size > 0) this.send(from, this.encodeCapped(theyLack));
    if (weLack && !reply) this.send(from, encodeDigest(this.self, this.versions(), true));
  }

  /**
   * When a newer record of ours from an earlier incarnation was seen (a restart with lost
   * state): our record again with a version above it, to broadcast; else null.
   */
  outbid(now: number): Buffer | null {
    const own = this.records.get(this.self);
    if (!this.reannounce || !own) return null;
    this.reannounce = false;
    this.ownVersion = Math.max(now, this.ownVersion + 1);
    const rec: WorkloadRecord = { version: this.ownVersion, pods: own.pods };
    this.records.set(this.self, rec);
    this.podsCache = null;
    return encodeWorkloads(new Map([[this.self, rec]]));
  }

  private encodeCapped(records: ReadonlyMap<PeerName, WorkloadRecord>): Buffer {
    const ordered = [...records].sort(([a], [b]) => (a === this.self ? -1 : b === this.self ? 1 : 0));
    const out = new Map<PeerName, WorkloadRecord>();
    let size = envelopeSize({ records: [] });
    for (const [peer, r] of ordered) {
      const one = envelopeSize({ peer, version: r.version, pods: r.pods }) + 1;
      if (size + one > POLICY_GOSSIP_MAX_BYTES) continue; // the rest travel in later rounds, via their own hosts
      out.set(peer, r);
      size += one;
    }
    return encodeWorkloads(out);
  }

  private merge(incoming: Map<PeerName, WorkloadRecord>): Map<PeerName, WorkloadRecord> {
    const delta = new Map<PeerName, WorkloadRecord>();
    for (const [peer, r] of incoming) {
      if (peer === this.self) {
        if (r.version >= this.ownVersion) {
          this.ownVersion = r.version + 1;
          this.reannounce = true;
        }
        continue;
      }
      const cur = this.records.get(peer);
      if (cur && cur.version >= r.version) continue;
      this.records.set(peer, r);
      this.podsCache = null;
      delta.set(peer, r);
      this.onChange(peer);
    }
    return delta;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
