/**
 * NAT traversal bookkeeping (issue 16), pure: what each introducer says it sees, which endpoint
 * to punch, why punching failed, and the preferred-relay route tweak. Time is passed in (ms).
 */
import { NAT_OBSERVATION_TTL_MS } from '../common/index.js';
import { parseEndpoint } from './nat-wire.js';
import type { PeerName } from './gossip-types.js';
import type { TopologyView } from './topology-types.js';

/** One introducer's view of one peer. */
export interface Seen { endpoint: string; listenPort: number; at: number }

/**
 * Observations: for each subject peer (ourselves included), what each introducer (a neighbour
 * of both) reports as the endpoint its sleeve datagrams come from. Bounded by the callers
 * (NAT_MAX_PEERS subjects, one entry per introducer).
 */
export class Observations {
  private readonly bySubject = new Map<PeerName, Map<PeerName, Seen>>();

  note(subject: PeerName, introducer: PeerName, endpoint: string, listenPort: number, now: number): boolean {
    let m = this.bySubject.get(subject);
    if (!m) this.bySubject.set(subject, (m = new Map()));
    const prev = m.get(introducer);
    m.set(introducer, { endpoint, listenPort, at: now });
    return prev?.endpoint !== endpoint;
  }

  get size(): number {
    return this.bySubject.size;
  }

  has(subject: PeerName): boolean {
    return this.bySubject.has(subject);
  }

  subjects(): PeerName[] {
    return [...this.bySubject.keys()];
  }

  /** Introducer → what it sees, for one subject (fresh entries only). */
  of(subject: PeerName, now: number): Map<PeerName, Seen> {
    const out = new Map<PeerName, Seen>();
    for (const [i, s] of this.bySubject.get(subject) ?? []) if (now - s.at < NAT_OBSERVATION_TTL_MS) out.set(i, s);
    return out;
  }

  /** Drop stale entries (an introducer that stopped announcing: gone, or no longer a neighbour of both). */
  expire(now: number): void {
    for (const [subject, m] of this.bySubject) {
      for (const [i, s] of m) if (now - s.at >= NAT_OBSERVATION_TTL_MS) m.delete(i);
      if (m.size === 0) this.bySubject.delete(subject);
    }
  }

  /** The endpoints a subject is seen from, most recent first, without repeats. */
  endpoints(subject: PeerName, now: number): string[] {
    const seen = [...this.of(subject, now).values()].sort((a, b) => b.at - a.at);
    return [...new Set(seen.map((s) => s.endpoint))];
  }
}

/** What the observations of one subject say about its NAT. */
export interface NatVerdict {
  /** Seen from different ports (or addresses) by different introducers: a symmetric NAT. */
  symmetric: boolean;
  /** Seen from a port other than the one it listens on: its NAT rewrites ports. */
  rewritesPorts: boolean;
  detail: string;
}

export function judgeNat(seen: ReadonlyMap<PeerName, Seen>, nick: (p: PeerName) => string): NatVerdict {
  const list = [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const distinct = new Set(list.map(([, s]) => s.endpoint));
  const rewrites = list.some(([, s]) => parseEndpoint(s.endpoint)?.port !== s.listenPort);
  const views = list.map(([i, s]) => `${nick(i)} sees ${s.endpoint}`).join(', ');
  if (distinct.size > 1) return { symmetric: true, rewritesPorts: rewrites, detail: views };
  const first = list[0]?.[1];
  const detail = first ? `listens on port ${first.listenPort}, ${views}` : 'no introducer has seen it';
  return { symmetric: false, rewritesPorts: rewrites, detail };
}

/**
 * Why a punch failed, for status: symmetric NAT (seen from different ports by different peers)
 * on either side first, then port-rewriting NATs, then a plain timeout.
 */
export function punchFailureReason(peerNat: NatVerdict, ourNat: NatVerdict, endpoint: string, timeoutMs: number): string {
  const secs = `${timeoutMs / 1000} s`;
  if (peerNat.symmetric && ourNat.symmetric) return `symmetric NAT detected on both sides: the peer is seen from different ports by different peers (${peerNat.detail}); so are we (${ourNat.detail})`;
  if (peerNat.symmetric) return `symmetric NAT detected: the peer is seen from different ports by different peers (${peerNat.detail})`;
  if (ourNat.symmetric) return `symmetric NAT detected here: we are seen from different ports by different peers (${ourNat.detail})`;
  if (peerNat.rewritesPorts && ourNat.rewritesPorts) {
    return `hole punching to ${endpoint} timed out after ${secs}: both NATs rewrite ports (peer ${peerNat.detail}; we ${ourNat.detail}), likely symmetric (random-port) NATs`;
  }
  if (peerNat.rewritesPorts) return `hole punching to ${endpoint} timed out after ${secs}: the peer's NAT rewrites ports (${peerNat.detail}), likely a symmetric (random-port) NAT`;
  if (ourNat.rewritesPorts) return `hole punching to ${endpoint} timed out after ${secs}: our NAT rewrites ports (${ourNat.detail}), likely a symmetric (random-port) NAT`;
  return `hole punching to ${endpoint} timed out after ${secs}: no datagram came back (a firewall, or a NAT that filters by port)`;
}

/**
 * Route relayed traffic through a preferred relay where one is as close: for every destination
 * two hops away whose next hop is not a preferred relay, use the lowest-named preferred relay
 * among our neighbours that has an established two-way connection to it. Pure; deterministic.
 */
export function preferRelays(
  unicast: ReadonlyMap<PeerName, PeerName>, view: TopologyView, self: PeerName, relays: ReadonlySet<PeerName>,
): ReadonlyMap<PeerName, PeerName> {
  if (relays.size === 0) return unicast;
  const linked = (a: PeerName, b: PeerName) => view.get(a)?.connections.get(b)?.established === true && view.get(b)?.connections.get(a)?.established === true;
  const candidates = [...relays].filter((r) => r !== self && unicast.get(r) === r && linked(self, r)).sort();
  if (candidates.length === 0) return unicast;
  let out: Map<PeerName, PeerName> | null = null;
  for (const [dst, hop] of unicast) {
    if (hop === dst || relays.has(hop) || !linked(hop, dst)) continue; // direct, already a relay, or not two hops
    const r = candidates.find((c) => c !== dst && linked(c, dst));
    if (r === undefined) continue;
    out ??= new Map(unicast);
    out.set(dst, r);
  }
  return out ?? unicast;
}
