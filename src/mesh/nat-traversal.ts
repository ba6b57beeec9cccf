/**
 * NAT traversal (issue 16): direct (punched) sleeve paths between peers that are not
 * neighbours, typically two sites behind NATs that both reach a public peer.
 *
 * 1. Every peer announces to each neighbour where it sees its neighbours' sleeve datagrams come
 *    from (ANNOUNCE on the `nat` channel, every NAT_ANNOUNCE_INTERVAL_MS and on change).
 * 2. For a reachable non-neighbour with a known endpoint, the lower-named peer of the pair runs a
 *    Noise XXpsk0 key exchange with it over mesh unicast (HS1..HS3: cluster secret plus both
 *    identity keys, so an introducer relaying the messages learns no key and cannot substitute
 *    one), both ends then open the punched path at once: their keepalives are the simultaneous
 *    sends that open both NAT mappings.
 * 3. A path not healthy NAT_PUNCH_TIMEOUT_MS after opening fails with a reason (symmetric NAT
 *    detected, …) and is retried with backoff; relaying over the mesh's routes carries the
 *    traffic meanwhile. A punched path outlives its introducer; observations from any other
 *    shared peer keep the endpoints fresh.
 *
 * Lifecycle: built and started by the router; stop() closes every punched path. Never throws
 * for peer input: malformed messages throw WEFT_ERR_DECODE (the hub counts them), refused ones
 * are counted in `refused` with a logged reason.
 */
import {
  WeftError, describeError, type Logger, PROTOCOL_MAX_VERSION,
  NAT_ANNOUNCE_INTERVAL_MS, NAT_PUNCH_TIMEOUT_MS, NAT_HANDSHAKE_TIMEOUT_MS, NAT_PUNCH_RETRY_MS,
  NAT_PUNCH_RETRY_MAX_MS, NAT_MAX_ANNOUNCED, NAT_MAX_PEERS, NAT_HANDSHAKE_RETRY_MS,
} from '../common/index.js';
import { Handshake, HandshakeReplayCache, type ClusterKeyring, type Identity, type Session } from '../crypto/index.js';
import { peerNameToBytes } from '../net/index.js';
import type { Gossiper, GossipChannel, PeerName } from './gossip-types.js';
import type { DirectPaths, OverlayConnection, OverlayHealth } from './overlay-types.js';
import {
  NatKind, decodeNat, encodeAnnounce, encodeClose, encodeControl, encodeHs, encodeSelfEndpoints,
  decodeSelfEndpoints, type HsMessage, type Observation,
} from './nat-wire.js';
import { Observations, judgeNat, punchFailureReason } from './nat-peers.js';

/** What the router hands NAT traversal. */
export interface NatHost {
  self: PeerName;
  identity: Identity;
  keyring: () => ClusterKeyring | null;
  /** This host volunteers to relay (`weft launch --relay`): announced to neighbours. */
  preferredRelay: boolean;
  log: Logger;
  /** Peers we hold an authenticated control connection to, with the port each listens on. */
  neighbours(): ReadonlyMap<PeerName, number>;
  /** Reachable over the mesh (a gossip route exists). */
  reachable(peer: PeerName): boolean;
  /** Data-plane next hop for status ("relayed via …"). */
  nextHop(peer: PeerName): PeerName | undefined;
  nickname(peer: PeerName): string;
  /** The set of preferred relays changed (the router re-pushes routes). */
  relaysChanged(): void;
  now?: () => number;
}

/** One non-neighbour as `weft status connections` shows it. */
export interface NatPeerStatus {
  peer: PeerName;
  path: 'punched' | 'punching' | 'relayed';
  endpoint?: string;
  initiator: boolean;
  via?: PeerName;
  reason?: string;
  since: number;
}

type Phase = 'idle' | 'handshaking' | 'punching' | 'punched';

interface PeerState {
  phase: Phase;
  attempt: number;
  initiator: boolean;
  hs: Handshake | null;
  session: Session | null;
  conn: OverlayConnection | null;
  health: OverlayHealth | null;
  endpoint: string | null;
  /** Endpoints the peer said it is seen from (handshake payload). */
  selfReported: string[];
  phaseAt: number;
  failures: number;
  nextTryAt: number;
  reason: string | null;
  /** Why the last attempt failed (kept while retrying; cleared once punched). */
  lastFailure: string | null;
  /** Consecutive key exchanges that got no answer. */
  hsLosses: number;
}

const PROLOGUE = Buffer.from('weft nat punch v1', 'ascii');
const TICK_MS = 250;

export class NatTraversal implements Gossiper {
  private channel: GossipChannel | null = null;
  private direct: DirectPaths | null = null;
  private readonly obs = new Observations();
  private readonly peers = new Map<PeerName, PeerState>();
  private readonly relays = new Set<PeerName>();
  private readonly replayCache = new HandshakeReplayCache();
  private readonly announced = new Map<PeerName, string>();
  private timer: NodeJS.Timeout | null = null;
  private lastAnnounce = -Infinity;
  private readonly now: () => number;
  /** Refused messages by reason (status, tests). */
  readonly refused = new Map<string, number>();

  constructor(private readonly h: NatHost) {
    this.now = h.now ?? Date.now;
  }

  attach(channel: GossipChannel, direct: DirectPaths | null): void {
    this.channel = channel;
    this.direct = direct;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const p of this.peers.keys()) this.reset(p, null, false);
  }

  /** Preferred relays announced by our neighbours (and ourselves with --relay). */
  preferredRelays(): ReadonlySet<PeerName> {
    return this.relays;
  }

  /** A control connection to `peer` came up: it is a neighbour now, the punched path goes. */
  neighbourUp(peer: PeerName): void {
    if (this.peers.has(peer)) this.reset(peer, null, true);
    this.peers.delete(peer);
    this.announceSoon();
  }

  neighbourDown(peer: PeerName): void {
    if (this.relays.delete(peer)) this.h.relaysChanged();
    this.announceSoon();
  }

  status(): NatPeerStatus[] {
    const out: NatPeerStatus[] = [];
    const now = this.now();
    const nb = this.h.neighbours();
    const names = new Set([...this.peers.keys(), ...this.obs.subjects().filter((p) => p !== this.h.self)]);
    for (const peer of [...names].sort()) {
      if (nb.has(peer)) continue;
      const s = this.peers.get(peer);
      if (!s?.conn && !this.h.reachable(peer)) continue;
      // While a retry runs after a failure, the peer stays "relayed" with the last failure's reason.
      const path = s?.phase === 'punched' ? 'punched' : s && s.phase !== 'idle' && !s.lastFailure ? 'punching' : 'relayed';
      const endpoint = s?.endpoint ?? this.obs.endpoints(peer, now)[0];
      const via = path === 'punched' ? undefined : this.h.nextHop(peer);
      const retry = s?.lastFailure ? (s.phase !== 'idle' ? '; trying again now' : this.h.self < peer ? `; next try in ${Math.max(0, Math.round((s.nextTryAt - now) / 1000))} s` : '') : '';
      out.push({
        peer, path, initiator: this.h.self < peer, since: s?.phaseAt ?? now,
        ...(endpoint ? { endpoint } : {}), ...(via ? { via } : {}),
        ...(path !== 'punched' ? { reason: (s?.lastFailure ?? s?.reason ?? this.idleReason(peer, now)) + retry } : {}),
      });
    }
    return out;
  }

  // ───────── Gossiper ─────────

  onGossipUnicast(src: PeerName, msg: Buffer): void {
    const m = decodeNat(msg);
    if (src === this.h.self) return;
    switch (m.kind) {
      case NatKind.Announce: return this.onAnnounce(src, m.preferredRelay, m.entries);
      case NatKind.Hs1: case NatKind.Hs2: case NatKind.Hs3: return this.onHs(src, m);
      case NatKind.Control: {
        const s = this.peers.get(src);
        if (!s?.conn || s.attempt !== m.attempt) return this.refuse('stale_control', `control message from ${src} for attempt ${m.attempt} we do not hold`);
        s.conn.onControl(m.payload);
        return;
      }
      case NatKind.Close: {
        const s = this.peers.get(src);
        if (s && s.attempt === m.attempt) this.fail(src, s, s.phase === 'punching' ? this.punchReason(src, s, this.now()) : 'the peer closed the punched path', false);
      }
    }
  }

  onGossipBroadcast(): Buffer | null { return null; }
  onGossip(): Buffer | null { return null; }
  gossip(): Buffer | null { return null; }

  // ───────── announcements ─────────

  private onAnnounce(src: PeerName, relay: boolean, entries: readonly Observation[]): void {
    if (!this.h.neighbours().has(src)) return this.refuse('not_neighbour', `endpoint announcement from ${src}, which is not a neighbour`);
    if (relay !== this.relays.has(src)) {
      if (relay) this.relays.add(src); else this.relays.delete(src);
      this.h.relaysChanged();
    }
    const now = this.now();
    for (const e of entries) {
      if (e.peer === src) { this.refuse('self_announce', `${src} announced an endpoint for itself`); continue; }
      if (!this.obs.has(e.peer) && this.obs.size >= NAT_MAX_PEERS) { this.refuse('too_many_peers', `observation of ${e.peer} dropped: ${NAT_MAX_PEERS} peers tracked`); continue; }
      this.obs.note(e.peer, src, e.endpoint, e.listenPort, now);
    }
  }

  private announceSoon(): void {
    this.lastAnnounce = -Infinity;
  }

  private announce(now: number): void {
    const ch = this.channel;
    const dp = this.direct;
    if (!ch) return;
    const nb = this.h.neighbours();
    const seen: Observation[] = [];
    let changed = false;
    for (const [peer, listenPort] of nb) {
      const endpoint = dp?.observedEndpoint(peer) ?? null;
      if (endpoint && this.announced.get(peer) !== endpoint) changed = true;
      if (endpoint) this.announced.set(peer, endpoint); else this.announced.delete(peer);
      if (endpoint && seen.length < NAT_MAX_ANNOUNCED) seen.push({ peer, endpoint, listenPort });
    }
    if (!changed && now - this.lastAnnounce < NAT_ANNOUNCE_INTERVAL_MS) return;
    this.lastAnnounce = now;
    if (seen.length === 0 && !this.h.preferredRelay) return;
    const msg = encodeAnnounce(this.h.preferredRelay, seen);
    for (const peer of nb.keys()) {
      try { ch.unicast(peer, msg); } catch { /* connection just went */ }
    }
  }

  // ───────── the routed key exchange ─────────

  private start1(peer: PeerName, s: PeerState, now: number): void {
    const hs = this.newHandshake('initiator', this.h.self, peer);
    if (!hs) return;
    s.attempt = (s.attempt + 1) >>> 0 || 1;
    s.initiator = true;
    s.hs = hs;
    this.setPhase(s, 'handshaking', now, null);
    this.send(peer, encodeHs(NatKind.Hs1, s.attempt, hs.writeMessage()));
  }

  private onHs(src: PeerName, m: HsMessage): void {
    if (this.h.neighbours().has(src)) return this.refuse('neighbour', `punch request from ${src}, a neighbour (the control connection's path is used)`);
    const now = this.now();
    let s = this.peers.get(src);
    try {
      if (m.kind === NatKind.Hs1) {
        if (this.h.self < src) return this.refuse('wrong_role', `punch request from ${src}: the lower name (we) initiates`);
        if (!s && this.peers.size >= NAT_MAX_PEERS) return this.refuse('too_many_peers', `punch request from ${src}: ${NAT_MAX_PEERS} peers tracked`);
        const hs = this.newHandshake('responder', src, this.h.self);
        if (!hs) return;
        hs.readMessage(m.noise); // refuses a message 1 without the cluster secret, or a replay
        if (!s) this.peers.set(src, (s = blankState(now)));
        this.reset(src, null, false);
        s.attempt = m.attempt;
        s.initiator = false;
        s.hs = hs;
        this.setPhase(s, 'handshaking', now, null);
        this.send(src, encodeHs(NatKind.Hs2, m.attempt, hs.writeMessage(encodeSelfEndpoints(this.obs.endpoints(this.h.self, now)))));
        return;
      }
      if (!s || !s.hs || s.attempt !== m.attempt || s.phase !== 'handshaking') return this.refuse('unexpected_handshake', `punch handshake message ${m.kind - 1} from ${src} for no attempt of ours`);
      if (m.kind === NatKind.Hs2 && s.initiator) {
        s.selfReported = decodeSelfEndpoints(s.hs.readMessage(m.noise));
        this.send(src, encodeHs(NatKind.Hs3, s.attempt, s.hs.writeMessage(encodeSelfEndpoints(this.obs.endpoints(this.h.self, now)))));
        s.hsLosses = 0;
      } else if (m.kind === NatKind.Hs3 && !s.initiator) {
        s.selfReported = decodeSelfEndpoints(s.hs.readMessage(m.noise));
      } else {
        return this.refuse('unexpected_handshake', `punch handshake message ${m.kind - 1} from ${src} out of order`);
      }
      this.finishHandshake(src, s, now);
    } catch (e) {
      if (s && s.attempt === m.attempt && s.phase === 'handshaking') this.fail(src, s, `punch key exchange failed: ${describeError(e)}`, true);
      const code = e instanceof WeftError ? e.code : 'error';
      this.refuse(code === 'WEFT_ERR_REPLAY' ? 'replayed_handshake' : code === 'WEFT_ERR_DECODE' ? 'malformed_handshake' : 'bad_handshake', `punch handshake from ${src} refused: ${describeError(e)}`);
    }
  }

  private newHandshake(role: 'initiator' | 'responder', initiator: PeerName, responder: PeerName): Handshake | null {
    const keyring = this.h.keyring();
    const accepted = keyring ? keyring.acceptPsks(PROTOCOL_MAX_VERSION) : [];
    return new Handshake({
      role, identity: this.h.identity,
      psk: keyring ? keyring.initiatePsk(PROTOCOL_MAX_VERSION) : null,
      alsoAccept: accepted.slice(1),
      prologue: Buffer.concat([PROLOGUE, peerNameToBytes(initiator), peerNameToBytes(responder)]),
      replayCache: this.replayCache,
    });
  }

  private finishHandshake(peer: PeerName, s: PeerState, now: number): void {
    const hs = s.hs!;
    if (!hs.complete) throw new WeftError('WEFT_ERR_HANDSHAKE', 'handshake did not complete');
    const session = hs.split();
    s.hs = null;
    if (session.remoteName !== peer) {
      session.destroy();
      throw new WeftError('WEFT_ERR_HANDSHAKE', `the key exchange authenticated ${session.remoteName}, not ${peer}`);
    }
    const endpoint = this.obs.endpoints(peer, now)[0] ?? s.selfReported[0] ?? null;
    if (!endpoint || !this.direct) {
      session.destroy();
      this.fail(peer, s, endpoint ? 'no sleeve to punch with' : 'no endpoint known for the peer (no shared peer has seen its datagrams)', true);
      return;
    }
    s.session = session;
    s.endpoint = endpoint;
    const attempt = s.attempt;
    s.conn = this.direct.openDirect({
      remotePeer: peer, remoteAddress: endpoint, localAddress: '', outbound: true,
      dataKeys: session.dataKeys,
      sendControl: (msg) => this.send(peer, encodeControl(attempt, msg)),
      onHealth: (h) => this.onHealth(peer, attempt, h),
    });
    this.setPhase(s, 'punching', now, null);
    this.h.log.info({ peer, endpoint }, 'nat: punching a direct path');
    s.conn.confirm(); // the keepalives start now on both sides: the simultaneous sends
  }

  private onHealth(peer: PeerName, attempt: number, h: OverlayHealth): void {
    const s = this.peers.get(peer);
    if (!s || s.attempt !== attempt) return;
    s.health = h;
    if (h.state === 'healthy' && s.phase === 'punching') {
      s.failures = 0;
      s.lastFailure = null;
      const afterMs = this.now() - s.phaseAt;
      this.setPhase(s, 'punched', this.now(), null);
      this.h.log.info({ peer, endpoint: s.endpoint, afterMs }, 'nat: direct path punched');
    }
  }

  // ───────── housekeeping ─────────

  private tick(): void {
    const now = this.now();
    try {
      this.announce(now);
      this.obs.expire(now);
      const nb = this.h.neighbours();
      for (const peer of this.obs.subjects()) {
        if (peer === this.h.self || nb.has(peer) || this.h.self > peer || !this.h.reachable(peer)) continue;
        let s = this.peers.get(peer);
        if (!s) {
          if (this.peers.size >= NAT_MAX_PEERS) continue;
          this.peers.set(peer, (s = blankState(now)));
        }
        if (s.phase === 'idle' && now >= s.nextTryAt) this.start1(peer, s, now);
      }
      for (const [peer, s] of this.peers) this.check(peer, s, now);
    } catch (e) {
      this.h.log.error({ err: describeError(e) }, 'nat: housekeeping failed');
    }
  }

  private check(peer: PeerName, s: PeerState, now: number): void {
    if (s.phase === 'handshaking' && now - s.phaseAt > NAT_HANDSHAKE_TIMEOUT_MS) {
      // A lost message, not a NAT verdict: start again soon (backing off), keep the last NAT reason.
      s.hsLosses++;
      const keep = s.lastFailure;
      this.reset(peer, null, true);
      s.lastFailure = keep;
      s.reason = `punch key exchange timed out after ${NAT_HANDSHAKE_TIMEOUT_MS / 1000} s (no answer over the mesh)`;
      s.nextTryAt = now + Math.min(NAT_PUNCH_RETRY_MAX_MS, NAT_HANDSHAKE_RETRY_MS * 2 ** Math.min(10, s.hsLosses - 1));
    } else if (s.phase === 'punching' && now - s.phaseAt > NAT_PUNCH_TIMEOUT_MS) {
      this.fail(peer, s, this.punchReason(peer, s, now), true);
    } else if (s.phase === 'punched' && s.health?.state === 'failed') {
      this.fail(peer, s, `punched path failed: ${s.health.reason ?? 'no datagrams'}`, true);
    } else if (s.phase === 'idle' && !this.h.reachable(peer) && !this.obs.has(peer)) {
      this.peers.delete(peer);
    }
  }

  private punchReason(peer: PeerName, s: PeerState, now: number): string {
    const nick = (p: PeerName) => this.h.nickname(p);
    return punchFailureReason(judgeNat(this.obs.of(peer, now), nick), judgeNat(this.obs.of(this.h.self, now), nick), s.endpoint ?? '?', NAT_PUNCH_TIMEOUT_MS);
  }

  private fail(peer: PeerName, s: PeerState, reason: string, tell: boolean): void {
    s.failures++;
    s.lastFailure = reason;
    // A symmetric NAT will not change its mind soon: retry at the slowest pace.
    const wait = reason.startsWith('symmetric NAT') ? NAT_PUNCH_RETRY_MAX_MS : Math.min(NAT_PUNCH_RETRY_MAX_MS, NAT_PUNCH_RETRY_MS * 2 ** Math.min(8, s.failures - 1));
    s.nextTryAt = this.now() + wait * (0.75 + Math.random() * 0.5);
    this.h.log.warn({ peer, reason, retryInMs: Math.round(s.nextTryAt - this.now()) }, 'nat: no direct path; relaying');
    this.reset(peer, reason, tell);
  }

  /** Drop the attempt/path; `reason` null keeps the previous one. */
  private reset(peer: PeerName, reason: string | null, tell: boolean): void {
    const s = this.peers.get(peer);
    if (!s) return;
    if (tell && s.phase !== 'idle') this.send(peer, encodeClose(s.attempt));
    s.hs?.destroy();
    s.hs = null;
    s.conn?.stop();
    s.conn = null;
    s.session?.destroy();
    s.session = null;
    s.health = null;
    this.setPhase(s, 'idle', this.now(), reason ?? s.reason);
  }

  private setPhase(s: PeerState, phase: Phase, now: number, reason: string | null): void {
    s.phase = phase;
    s.phaseAt = now;
    s.reason = reason;
  }

  private idleReason(peer: PeerName, now: number): string {
    if (!this.direct) return 'no sleeve: punching disabled';
    if (!this.obs.has(peer) || this.obs.endpoints(peer, now).length === 0) return 'no shared peer has seen its datagrams yet';
    return this.h.self > peer ? 'waiting for the peer to start punching' : 'punching soon';
  }

  private send(peer: PeerName, msg: Buffer): void {
    try {
      this.channel?.unicast(peer, msg);
    } catch (e) {
      this.h.log.debug({ peer, err: describeError(e) }, 'nat: cannot reach peer over the mesh');
    }
  }

  private refuse(reason: string, detail: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    this.h.log.warn({ reason }, `nat: refused: ${detail}`);
  }
}

function blankState(now: number): PeerState {
  return {
    phase: 'idle', attempt: 0, initiator: false, hs: null, session: null, conn: null, health: null, endpoint: null,
    selfReported: [], phaseAt: now, failures: 0, nextTryAt: 0, reason: null, lastFailure: null, hsLosses: 0,
  };
}
