/**
 * The cluster-wide flow query: this host's ring plus every reachable peer's, asked over the
 * mesh (gossip channel `flows`, unicast, so encrypted like all control traffic) and merged
 * by time. Implements the API's FlowSource for both listeners and the peers' Gossiper.
 *
 * Lifecycle: `attach(channel)` before the router starts; `stop()` ends follows and pending
 * queries. Guarantees: a query answers within `timeoutMs` (+ merge time) whatever the peers
 * do — a peer that does not answer in time is listed with `answered: false` and named in the
 * one-line `warning`; a bad request from a peer is refused (WEFT_ERR_DECODE, counted by the
 * mesh), a bad reply is treated as no answer. At most MAX_PENDING queries wait at once.
 */
import { WeftError, type Logger } from '../common/index.js';
import type { FlowQuery, FlowQueryReply, FlowRecord, FlowSource, FlowStreamLine } from '../api/index.js';
import type { GossipChannel, Gossiper, PeerName } from '../mesh/index.js';
import { matchesFlow as matchesFilter, parseFlowQuery, type FlowFilter } from './filter.js';
import type { FlowRing } from './ring.js';
import { FLOW_KIND_REQUEST, decodeFlowMessage, encodeFlowMessage, encodeReplyBounded, type FlowReply, type FlowRequest } from './wire.js';

/** Name of the gossip channel. */
export const FLOW_CHANNEL = 'flows';
const MAX_PENDING = 256;

export interface FlowQueryServiceOptions {
  ring: FlowRing;
  log: Logger;
  self: { name: string; nickname: string };
  /** Reachable peers (not ourselves), with nicknames. */
  peers(): { name: PeerName; nickname: string }[];
  /** How long a peer may take to answer. ms (default 1500) */
  timeoutMs?: number;
  /** Poll interval of a follow's peers. ms (default 1000) */
  followPollMs?: number;
  /** Heartbeat interval of a follow stream. ms (default 5000) */
  heartbeatMs?: number;
  now?: () => number;
}

interface Pending { resolve(r: FlowReply | null): void; timer: NodeJS.Timeout }

export class FlowQueryService implements Gossiper, FlowSource {
  private channel: GossipChannel | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly stops = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly o: FlowQueryServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  attach(channel: GossipChannel): void {
    this.channel = channel;
  }

  stop(): void {
    for (const s of [...this.stops]) s();
    for (const [id, p] of this.pending) { clearTimeout(p.timer); p.resolve(null); this.pending.delete(id); }
  }

  check(q: FlowQuery): void {
    parseFlowQuery(q, this.now());
  }

  async query(q: FlowQuery, signal?: AbortSignal): Promise<FlowQueryReply> {
    const f = parseFlowQuery(q, this.now());
    const own = this.o.ring.query(f);
    const observers: FlowQueryReply['observers'] = [{ peer: this.o.self.name, nickname: this.o.self.nickname, answered: true, records: own.length }];
    let all: FlowRecord[] = own;
    if (!f.local) {
      const peers = this.o.peers();
      const req: FlowRequest = { q: stripLocal(q), ...(f.sinceMs !== undefined ? { sinceMs: Math.max(0, Math.floor(f.sinceMs)) } : {}) };
      const replies = await Promise.all(peers.map((p) => this.ask(p.name, req, signal)));
      peers.forEach((p, i) => {
        const r = replies[i];
        if (r && !r.error) {
          observers.push({ peer: p.name, nickname: p.nickname, answered: true, records: r.records.length });
          all = all.concat(r.records);
        } else {
          observers.push({ peer: p.name, nickname: p.nickname, answered: false, records: 0, error: r?.error ?? 'no answer in time' });
        }
      });
    }
    const flows = mergeByTime(all).slice(-f.last);
    const missing = observers.filter((x) => !x.answered);
    return {
      flows, observers,
      ...(missing.length > 0 ? { warning: `no flows from ${missing.map((m) => m.nickname || m.peer).join(', ')}: ${missing.length === 1 ? 'it' : 'they'} did not answer within ${this.timeoutMs()} ms` } : {}),
    };
  }

  async follow(q: FlowQuery, emit: (line: FlowStreamLine) => void, signal: AbortSignal): Promise<void> {
    const f = parseFlowQuery(q, this.now());
    // Only records from now on (a follow starts at the tail, like tail -f with no backlog).
    const unsubscribe = this.o.ring.subscribe((r) => { if (matches(r, f)) emit({ type: 'flow', flow: r }); });
    const cursors = new Map<PeerName, number>();
    let silent = new Set<string>();
    const poll = async (): Promise<void> => {
      if (f.local) return;
      const peers = this.o.peers();
      const replies = await Promise.all(peers.map((p) => this.ask(p.name, cursors.has(p.name)
        ? { q: stripLocal(q), after: cursors.get(p.name)! } : { q: stripLocal(q), head: true }, signal)));
      const batch: FlowRecord[] = [];
      const now = new Set<string>();
      peers.forEach((p, i) => {
        const r = replies[i];
        if (!r || r.error) { now.add(p.nickname || p.name); return; }
        if (cursors.has(p.name)) batch.push(...r.records);
        cursors.set(p.name, r.lastSeq);
      });
      if (signal.aborted) return;
      for (const r of mergeByTime(batch)) emit({ type: 'flow', flow: r });
      const changed = now.size !== silent.size || [...now].some((n) => !silent.has(n));
      if (changed && now.size > 0) emit({ type: 'warning', message: `no flows from ${[...now].join(', ')}: not answering`, peers: [...now] });
      else if (changed) emit({ type: 'warning', message: 'every host answers again', peers: [] });
      silent = now;
    };
    await new Promise<void>((resolve) => {
      let polling = false;
      const tick = setInterval(() => {
        if (polling) return;
        polling = true;
        poll().catch((e: unknown) => this.o.log.warn({ err: String(e) }, 'flows: follow poll failed')).finally(() => { polling = false; });
      }, this.o.followPollMs ?? 1000);
      const beat = setInterval(() => emit({ type: 'heartbeat', time: new Date(this.now()).toISOString() }), this.o.heartbeatMs ?? 5000);
      void poll();
      const end = (): void => {
        clearInterval(tick);
        clearInterval(beat);
        unsubscribe();
        this.stops.delete(end);
        resolve();
      };
      this.stops.add(end);
      if (signal.aborted) end();
      else signal.addEventListener('abort', end, { once: true });
    });
  }

  onGossipUnicast(src: PeerName, msg: Buffer): void {
    const m = decodeFlowMessage(msg); // throws WEFT_ERR_DECODE: the mesh counts and drops it
    if (m.kind === FLOW_KIND_REQUEST) {
      this.channel?.unicast(src, encodeReplyBounded(m.id, this.answer(m.request)));
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    p.resolve(m.reply);
  }

  /** What a peer asked of our ring. */
  answer(req: FlowRequest): FlowReply {
    const lastSeq = this.o.ring.stats().lastSeq;
    let f: FlowFilter;
    try {
      f = parseFlowQuery(req.q, this.now());
    } catch (e) {
      return { records: [], lastSeq, error: e instanceof Error ? e.message : String(e) };
    }
    if (req.sinceMs !== undefined) f.sinceMs = req.sinceMs;
    if (req.head) return { records: [], lastSeq };
    if (req.after !== undefined) f.last = Math.max(f.last, 10_000);
    return { records: this.o.ring.query(f, req.after ?? -1), lastSeq };
  }

  onGossipBroadcast(): Buffer | null { return null; }
  onGossip(): Buffer | null { return null; }
  gossip(): Buffer | null { return null; }

  private timeoutMs(): number {
    return this.o.timeoutMs ?? 1500;
  }

  /** One request to one peer: its reply, or null (unreachable, timeout, aborted, too busy). */
  private ask(peer: PeerName, req: FlowRequest, signal?: AbortSignal): Promise<FlowReply | null> {
    const ch = this.channel;
    if (!ch || signal?.aborted) return Promise.resolve(null);
    if (this.pending.size >= MAX_PENDING) return Promise.resolve({ records: [], lastSeq: -1, error: 'too many flow queries in flight' });
    const id = this.nextId = (this.nextId % 0xffffffff) + 1;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(id); resolve(null); }, this.timeoutMs());
      this.pending.set(id, { resolve, timer });
      try {
        ch.unicast(peer, encodeFlowMessage({ kind: FLOW_KIND_REQUEST, id, request: req }));
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({ records: [], lastSeq: -1, error: e instanceof WeftError ? e.message : 'unreachable' });
      }
    });
  }
}

function stripLocal(q: FlowQuery): FlowQuery {
  const { local: _drop, ...rest } = q;
  return rest;
}

function matches(r: FlowRecord, f: FlowFilter): boolean {
  return f.sinceMs === undefined || Date.parse(r.time) >= f.sinceMs ? matchesFilter(r, f) : false;
}

/** Records of several hosts in time order (ties: host, then seq). Stable. */
export function mergeByTime(records: readonly FlowRecord[]): FlowRecord[] {
  return [...records].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1
    : a.observed_on < b.observed_on ? -1 : a.observed_on > b.observed_on ? 1 : a.seq - b.seq));
}
