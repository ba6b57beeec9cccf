import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  WeftError, describeError, type Logger, type Startable,
  ACCEPT_BURST, ACCEPT_RATE_PER_S, MAX_PENDING_HANDSHAKES, HANDSHAKE_TIMEOUT_MS,
  MAX_PENDING_HANDSHAKES_PER_SOURCE, ACCEPT_BURST_PER_SOURCE, ACCEPT_RATE_PER_SOURCE_PER_S,
  ACCEPT_QUIET_BURST, ACCEPT_QUIET_RATE_PER_S, ACCEPT_MAX_SOURCES,
} from '../common/index.js';
import { HandshakeError, HandshakeReplayCache, type ClusterKeyring, type Identity } from '../crypto/index.js';
import type { MeshMetrics } from '../metrics/index.js';
import { ControlConnection, type ConnectionTiming } from './connection.js';
import { ConnectionMaker, type TargetStatus } from './connection-maker.js';
import { GossipHub } from './gossip-hub.js';
import type { GossipChannel, Gossiper, PeerEvents, PeerName } from './gossip-types.js';
import { Tag, type ControlMessage } from './messages.js';
import type { Overlay, OverlayConnection, OverlayHealth } from './overlay-types.js';
import { AcceptGate, acceptSourceKey, type AcceptLimits, type AcceptRefusal } from './accept-gate.js';
import { TopologyKeeper } from './topology-keeper.js';
import { BadInputLog } from './bad-input-log.js';
import { NatTraversal } from './nat-traversal.js';
import { preferRelays } from './nat-peers.js';
import { NAT_CHANNEL } from './nat-wire.js';
import type { DirectPaths } from './overlay-types.js';

export interface MeshRouterOptions {
  identity: Identity;
  /**
   * The cluster PSKs now (null: no secret). Read for each new connection, so a rotation (the
   * daemon swapping in a new keyring) applies to new handshakes only; established sessions keep
   * their keys. Must not switch between null and non-null while running.
   */
  keyring: () => ClusterKeyring | null;
  nickname: string;
  host: string;
  port: number;
  connLimit: number;
  timing: ConnectionTiming & { gossipIntervalMs: number; backoffScale: number };
  metrics: MeshMetrics;
  log: Logger;
  events?: PeerEvents;
  /** Handshake flood limits (default: the constants.ts values). */
  acceptLimits?: AcceptLimits;
  /** Volunteer as preferred relay for traffic between peers without a direct path (`--relay`). */
  preferredRelay?: boolean;
}

/** The daemon's handshake flood limits (constants.ts). */
export const DEFAULT_ACCEPT_LIMITS: Readonly<AcceptLimits> = Object.freeze({
  maxPending: MAX_PENDING_HANDSHAKES,
  burst: ACCEPT_BURST,
  ratePerS: ACCEPT_RATE_PER_S,
  maxPendingPerSource: MAX_PENDING_HANDSHAKES_PER_SOURCE,
  burstPerSource: ACCEPT_BURST_PER_SOURCE,
  ratePerSourcePerS: ACCEPT_RATE_PER_SOURCE_PER_S,
  quietBurst: ACCEPT_QUIET_BURST,
  quietRatePerS: ACCEPT_QUIET_RATE_PER_S,
  maxSources: ACCEPT_MAX_SOURCES,
});

/** A failed connection kept for status (bounded list). */
interface FailedConn { peer: string; address: string; outbound: boolean; reason: string; at: number }
const MAX_FAILED_KEPT = 16;

/**
 * The mesh router: accepts and dials control connections, registers authenticated ones
 * (one per peer, deterministic duplicate tie-break), runs gossip channels, keeps the topology
 * and routes, and hands connections to the data-plane overlay.
 *
 * Lifecycle: start() listens on host:port and starts the connection maker; stop() closes the
 * listener and every connection (telling peers why) and cancels every timer. Idempotent.
 */
export class MeshRouter implements Startable {
  readonly self: PeerName;
  readonly uid: bigint = randomBytes(8).readBigUInt64BE(0) || 1n;
  private server: Server | null = null;
  private readonly pending = new Set<ControlConnection>();
  private readonly conns = new Map<PeerName, ControlConnection>();
  private readonly failed: FailedConn[] = [];
  private readonly overlayConns = new Map<ControlConnection, OverlayConnection>();
  private readonly health = new Map<PeerName, OverlayHealth>();
  private readonly dialTargets = new Map<ControlConnection, string>();
  private readonly gate: AcceptGate<ControlConnection>;
  private readonly replayCache = new HandshakeReplayCache();
  private readonly hub: GossipHub;
  private readonly topo: TopologyKeeper;
  readonly maker: ConnectionMaker;
  private readonly badInput: BadInputLog;
  private gossipTimer: NodeJS.Timeout | null = null;
  private overlay: Overlay | null = null;
  private direct: DirectPaths | null = null;
  /** NAT traversal: punched direct paths to non-neighbours (src/mesh/nat-traversal.ts). */
  readonly nat: NatTraversal;
  private stopped = false;
  readonly collisions: string[] = [];
  private readonly natChannel: GossipChannel;

  constructor(private readonly opts: MeshRouterOptions) {
    this.self = opts.identity.name;
    this.gate = new AcceptGate(opts.acceptLimits ?? DEFAULT_ACCEPT_LIMITS);
    this.badInput = new BadInputLog(opts.log, opts.metrics);
    this.topo = new TopologyKeeper({
      self: this.self, nickname: opts.nickname, uid: this.uid, log: opts.log, metrics: opts.metrics,
      onRoutes: () => this.onRoutesChanged(),
      onPeerGone: (name) => { this.overlay?.peerGone(name); opts.events?.onPeerGone?.(name); },
      onSelfConflict: (what) => this.noteCollision(what),
      sendTo: (peer, payload) => {
        this.conns.get(peer)?.send({ tag: Tag.Gossip, channel: 'topology', payload });
        opts.metrics.gossip('topology', 'gossip', 'out', payload.length);
      },
      neighbours: () => new Set(this.conns.keys()),
    });
    this.hub = new GossipHub({
      self: this.self,
      neighbours: () => this.conns,
      nextHopAll: (dst) => this.topo.routes.unicastAll.get(dst),
      broadcastNextHops: (src) => this.topo.routes.broadcastNextHops(src),
      peerCount: () => this.topo.size,
    }, opts.metrics, opts.log);
    this.topo.attachHub(this.hub);
    this.nat = new NatTraversal({
      self: this.self, identity: opts.identity, keyring: opts.keyring, preferredRelay: opts.preferredRelay ?? false,
      log: opts.log.child({ component: 'nat' }),
      neighbours: () => new Map([...this.conns].map(([p, c]) => [p, c.remoteHello!.listenPort])),
      reachable: (p) => this.topo.routes.unicastAll.has(p),
      nextHop: (p) => this.dataRoutes().get(p),
      nickname: (p) => this.topo.topology.get(p)?.nickname ?? p,
      relaysChanged: () => { if (!this.stopped) this.onRoutesChanged(); },
    });
    this.natChannel = this.hub.register(NAT_CHANNEL, this.nat);
    this.maker = new ConnectionMaker({
      ourPort: opts.port,
      connLimit: opts.connLimit,
      backoffScale: opts.timing.backoffScale,
      dial: (t) => this.dial(t.address, t.host, t.port),
      isConnected: (peer) => this.conns.has(peer),
      // Inbound handshakes (maybe a flood) do not count against our own dials.
      connectionCount: () => this.conns.size + [...this.pending].filter((c) => c.outbound).length,
      log: opts.log,
    });
  }

  /** Register a gossip channel (before start()). */
  newGossip(name: string, gossiper: Gossiper): GossipChannel {
    return this.hub.register(name, gossiper);
  }

  /** Attach the data-plane overlay (before start()). */
  setOverlay(overlay: Overlay): void {
    this.overlay = overlay;
  }

  /** Attach the sleeve's punched paths (before start()); without them there is no NAT traversal. */
  setDirectPaths(direct: DirectPaths): void {
    this.direct = direct;
  }

  async start(): Promise<void> {
    const server = createServer((s) => this.onAccept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new WeftError('WEFT_ERR_HOST', `cannot listen on ${this.opts.host}:${this.opts.port}: ${e.code ?? e.message}`)));
      server.listen({ host: this.opts.host, port: this.opts.port }, () => resolve());
    });
    server.on('error', (e) => this.opts.log.error({ err: e.message }, 'control listener error'));
    this.topo.start();
    this.nat.attach(this.natChannel, this.direct);
    this.nat.start();
    this.opts.metrics.setPeers(this.topo.size);
    this.maker.start();
    this.gossipTimer = setInterval(() => {
      this.topo.gossipDigest();
      this.hub.gossipAll();
    }, this.opts.timing.gossipIntervalMs);
    this.opts.log.info({ name: this.self, port: this.opts.port, encrypted: this.opts.keyring() !== null }, 'mesh router listening');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.maker.stop();
    this.topo.stop();
    this.nat.stop();
    if (this.gossipTimer) clearInterval(this.gossipTimer);
    for (const c of [...this.pending, ...this.conns.values()]) c.close('peer is shutting down');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Operator targets (launch PEER..., weft connect). Returns entries that did not parse. */
  connect(peers: string[], replace = false): string[] {
    return this.maker.addDirect(peers, replace);
  }

  forget(peers: string[]): string[] {
    return this.maker.forget(peers);
  }

  /** Unicast next hops (dst → next hop) over established two-way connections. */
  get unicastRoutes(): ReadonlyMap<PeerName, PeerName> {
    return this.dataRoutes();
  }

  get topology() {
    return this.topo;
  }

  targets(): TargetStatus[] {
    return this.maker.status();
  }

  /** Dialable addresses ("ip:port") of the peers we have an established connection to. */
  connectedAddresses(): string[] {
    return [...this.conns.values()].filter((c) => c.remoteHello).map((c) => dialable(c.remoteAddress, c.remoteHello!.listenPort));
  }

  /** Local connections for status: established, handshaking and recently failed. */
  connectionStatus() {
    const encrypted = this.opts.keyring() !== null;
    const rows = [];
    for (const c of this.conns.values()) {
      const h = this.health.get(c.remoteName!);
      rows.push({
        peer: c.remoteName!, nickname: c.remoteHello?.nickname, address: c.remoteAddress, outbound: c.outbound,
        state: 'established' as const, encrypted: h?.encrypted ?? encrypted, since: new Date(c.establishedAt).toISOString(),
        reason: h && h.state === 'failed' ? h.reason : undefined, mtu: h?.mtu, mode: h?.mode, paths: h?.paths, path: 'direct' as const,
      });
    }
    for (const n of this.nat.status()) {
      rows.push({
        peer: n.peer, nickname: this.topo.topology.get(n.peer)?.nickname, address: n.endpoint ?? '-', outbound: n.initiator,
        state: n.path === 'punched' ? 'established' as const : n.path === 'punching' ? 'connecting' as const : 'relayed' as const,
        encrypted, since: new Date(n.since).toISOString(), reason: n.reason, path: n.path === 'punching' ? 'relayed' as const : n.path,
        ...(n.via ? { via: n.via } : {}), mode: 'sleeve',
      });
    }
    for (const c of this.pending) {
      rows.push({ peer: c.remoteName ?? '', address: c.remoteAddress, outbound: c.outbound, state: 'connecting' as const, encrypted, since: new Date(c.startedAt).toISOString() });
    }
    for (const f of this.failed) {
      rows.push({ peer: f.peer, address: f.address, outbound: f.outbound, state: 'failed' as const, encrypted, reason: f.reason, since: new Date(f.at).toISOString() });
    }
    return rows;
  }

  // ───────────── connection handling ─────────────

  private onAccept(socket: Socket): void {
    if (this.stopped) { socket.destroy(); return; }
    const verdict = this.gate.admit(acceptSourceKey(socket.remoteAddress), () => this.newConnection(socket, false));
    if (!verdict.ok) {
      this.opts.metrics.handshake('rate_limited');
      this.badInput.note('tcp', verdict.reason, `refused connection from ${socket.remoteAddress}: ${REFUSAL_TEXT[verdict.reason]}`);
      socket.destroy();
      return;
    }
    if (verdict.evict) verdict.evict.close('evicted: pending handshake limit reached', new WeftError('WEFT_ERR_RATE_LIMIT', 'pending handshake evicted for a less busy source'));
    this.trackPending(verdict.handle);
  }

  private dial(address: string, host: string, port: number): void {
    const socket = tcpConnect({ host, port, timeout: HANDSHAKE_TIMEOUT_MS });
    const onFail = (why: string) => {
      socket.destroy();
      this.maker.disconnected(address, why);
    };
    socket.once('timeout', () => onFail('connect timed out'));
    socket.once('error', (e: NodeJS.ErrnoException) => onFail(`connect failed: ${e.code ?? e.message}`));
    socket.once('connect', () => {
      socket.removeAllListeners('timeout');
      socket.removeAllListeners('error');
      socket.setTimeout(0);
      const conn = this.startConnection(socket, true);
      this.dialTargets.set(conn, address);
    });
  }

  private startConnection(socket: Socket, outbound: boolean): ControlConnection {
    const conn = this.newConnection(socket, outbound);
    this.trackPending(conn);
    return conn;
  }

  private trackPending(conn: ControlConnection): void {
    this.pending.add(conn);
    this.opts.metrics.setPendingHandshakes(this.pending.size);
    conn.start();
  }

  private newConnection(socket: Socket, outbound: boolean): ControlConnection {
    return new ControlConnection({
      socket, outbound, identity: this.opts.identity, keyring: this.opts.keyring(),
      hello: { uid: this.uid, nickname: this.opts.nickname, listenPort: this.opts.port },
      replayCache: this.replayCache,
      timing: this.opts.timing,
      log: this.opts.log,
      hooks: {
        onAuthenticated: (c) => this.register(c),
        onMessage: (c, m, bytes) => this.onMessage(c, m, bytes),
        onBadMessage: (c, err) => this.badInput.note('tcp', 'malformed_message', `from ${c.remoteName}: ${err.message}`),
        onClosed: (c, reason, err) => this.onClosed(c, reason, err),
      },
    });
  }

  /** Decide whether an authenticated connection is kept. Returns an error to refuse it. */
  private register(c: ControlConnection): WeftError | null {
    this.pending.delete(c);
    this.gate.release(c);
    this.opts.metrics.setPendingHandshakes(this.pending.size);
    const name = c.remoteName!;
    const hello = c.remoteHello!;
    if (name === this.self) {
      if (hello.uid === this.uid) {
        this.opts.metrics.handshake('self');
        return new WeftError('WEFT_ERR_SELF', 'connected to ourselves');
      }
      this.opts.metrics.handshake('collision');
      this.noteCollision(`peer at ${c.remoteAddress} uses our name ${name} (cloned data dir?)`);
      return new WeftError('WEFT_ERR_NAME_COLLISION', `peer name collision: ${name} is used by another live peer (same identity key; cloned data dir?)`);
    }
    const existing = this.conns.get(name);
    if (existing) {
      const ex = existing.remoteHello!;
      if (ex.uid !== hello.uid) {
        // Same name, different incarnation: a restart (old connection silent) or a clone.
        const silentFor = Date.now() - existing.lastReceiveAt;
        if (silentFor < this.opts.timing.heartbeatIntervalMs * 1.5) {
          this.opts.metrics.handshake('collision');
          this.noteCollision(`two live peers named ${name}: ${existing.remoteAddress} and ${c.remoteAddress}`);
          return new WeftError('WEFT_ERR_NAME_COLLISION', `peer name collision: another live peer already uses name ${name}`);
        }
        existing.close('replaced by a newer incarnation of the peer');
      } else {
        // Simultaneous dials: keep the connection initiated by the peer with the smaller name.
        const initiator = (x: ControlConnection) => (x.outbound ? this.self : name);
        const keepNew = initiator(c) < initiator(existing);
        if (!keepNew) {
          return new WeftError('WEFT_ERR_DUPLICATE_CONN', 'duplicate connection (the other one is kept)');
        }
        existing.close('duplicate connection (the other one is kept)');
      }
    }
    if (this.conns.size >= this.opts.connLimit && !this.dialTargets.has(c)) {
      return new WeftError('WEFT_ERR_CONN_LIMIT', `connection limit ${this.opts.connLimit} reached`);
    }
    c.registered = true;
    this.conns.set(name, c);
    this.opts.metrics.handshake('ok');
    const target = this.dialTargets.get(c);
    if (target) this.maker.connected(target, name);
    this.opts.log.info({ peer: name, nickname: hello.nickname, address: c.remoteAddress, outbound: c.outbound }, 'connection established');
    this.topo.localConnectionsChanged(this.localConnections());
    this.topo.sendFullTo(name);
    this.hub.sendAllTo(c);
    this.nat.neighbourUp(name);
    this.attachOverlay(c);
    this.updateConnMetrics();
    return null;
  }

  private attachOverlay(c: ControlConnection): void {
    if (!this.overlay || !c.session) return;
    const peer = c.remoteName!;
    try {
      const oc = this.overlay.prepareConnection({
        remotePeer: peer, remoteAddress: c.remoteAddress, localAddress: c.localAddress, outbound: c.outbound,
        dataKeys: c.session.dataKeys,
        sendControl: (msg) => c.send({ tag: Tag.Overlay, payload: msg }),
        onHealth: (h) => this.onOverlayHealth(peer, h),
      });
      this.overlayConns.set(c, oc);
      oc.confirm();
    } catch (e) {
      this.opts.log.error({ peer, err: describeError(e) }, 'overlay refused connection');
    }
  }

  private onOverlayHealth(peer: PeerName, h: OverlayHealth): void {
    const prev = this.health.get(peer);
    this.health.set(peer, h);
    if (h.state === 'failed' && h.reconnect && !prev?.reconnect) this.reconnectLater(peer, h.reason);
    if (prev?.state !== h.state) {
      this.opts.log.info({ peer, state: h.state, reason: h.reason, mtu: h.mtu, mode: h.mode }, 'data path state changed');
      // Only healthy data paths count as established: a failed one drops out of the data
      // plane's routes, so traffic to that peer is relayed through others where possible.
      if (!this.stopped) this.topo.localConnectionsChanged(this.localConnections());
    }
  }

  /** The overlay gave up on this connection: close it on the next turn (not inside its callback); the maker redials. */
  private reconnectLater(peer: PeerName, reason: string | undefined): void {
    const c = this.conns.get(peer);
    const why = `data path failed: ${reason ?? 'the overlay asked for a new handshake'}`;
    setImmediate(() => {
      if (this.stopped || !c || this.conns.get(peer) !== c) return;
      this.opts.log.warn({ peer, reason }, 'data path cannot recover on this connection; reconnecting');
      c.close(why, new WeftError('WEFT_ERR_TIMEOUT', why));
    });
  }

  private onMessage(c: ControlConnection, m: ControlMessage, bytes: number): void {
    if (!c.registered) return;
    if (m.tag === Tag.Overlay) {
      this.overlayConns.get(c)?.onControl(m.payload);
      return;
    }
    if (m.tag === Tag.Gossip && m.channel === 'topology') {
      this.topo.onGossip(c.remoteName!, m.payload, bytes);
      return;
    }
    this.hub.handle(c.remoteName!, m, bytes);
  }

  private onClosed(c: ControlConnection, reason: string, err: WeftError | null): void {
    const wasPending = this.pending.delete(c);
    this.gate.release(c);
    this.opts.metrics.setPendingHandshakes(this.pending.size);
    const target = this.dialTargets.get(c);
    this.dialTargets.delete(c);
    // A peer that refuses us right after the handshake says why in its close message.
    const refusedByPeer = !err && !c.registered && c.state === 'closed' && reason.startsWith('peer closed: ');
    const collision = err?.code === 'WEFT_ERR_NAME_COLLISION' || (refusedByPeer && reason.includes('peer name collision'));
    const neverRetry = err?.code === 'WEFT_ERR_SELF' || collision;
    const why = err ? (err.code === 'WEFT_ERR_DUPLICATE_CONN' ? null : reason) : (refusedByPeer && !reason.includes('duplicate connection') ? reason : null);
    if (target) this.maker.disconnected(target, why, neverRetry);
    if (collision && refusedByPeer) this.noteCollision(`peer ${c.remoteName} refused us: ${reason}`);
    if (wasPending && err) this.countHandshakeFailure(c, err);
    else if (wasPending && c.receivedBytes > 0) {
      this.opts.metrics.handshake('malformed');
      this.badInput.note('tcp', 'truncated_handshake', `${c.remoteAddress} hung up in the middle of the handshake`);
    }
    if (err && err.code !== 'WEFT_ERR_DUPLICATE_CONN' && err.code !== 'WEFT_ERR_SELF') {
      this.failed.push({ peer: c.remoteName ?? '', address: c.remoteAddress, outbound: c.outbound, reason, at: Date.now() });
      if (this.failed.length > MAX_FAILED_KEPT) this.failed.shift();
    }
    const oc = this.overlayConns.get(c);
    if (oc) { oc.stop(); this.overlayConns.delete(c); }
    if (c.registered && this.conns.get(c.remoteName!) === c) {
      this.conns.delete(c.remoteName!);
      this.health.delete(c.remoteName!);
      this.opts.metrics.connectionTerminated(err ? err.code.replace('WEFT_ERR_', '').toLowerCase() : 'closed');
      this.opts.log.info({ peer: c.remoteName, address: c.remoteAddress, reason }, 'connection closed');
      this.maker.peerDisconnected(c.remoteName!);
      this.nat.neighbourDown(c.remoteName!);
      if (!this.stopped) this.topo.localConnectionsChanged(this.localConnections());
    }
    this.updateConnMetrics();
  }

  private countHandshakeFailure(c: ControlConnection, err: WeftError): void {
    const m = this.opts.metrics;
    const who = c.remoteAddress;
    const reason = err instanceof HandshakeError ? err.reason : null;
    if (reason === 'bad_secret' || reason === 'auth' || reason === 'unanswered') {
      m.handshake('bad_secret');
      this.badInput.note('tcp', 'bad_secret', `handshake with ${who} failed: the peer does not know the cluster secret (or uses a different one)`);
      return;
    }
    switch (err.code) {
      case 'WEFT_ERR_RATE_LIMIT':
        m.handshake('rate_limited'); this.badInput.note('tcp', 'evicted', `pending handshake from ${who} evicted: ${err.message}`); return;
      case 'WEFT_ERR_TIMEOUT':
        m.handshake('timeout'); this.badInput.note('tcp', 'handshake_timeout', `handshake with ${who} timed out`); return;
      case 'WEFT_ERR_VERSION':
        m.handshake('version'); this.badInput.note('tcp', 'version', `handshake with ${who}: ${err.message}`); return;
      case 'WEFT_ERR_REPLAY':
        m.handshake('replay'); this.badInput.note('tcp', 'replayed_handshake', `from ${who}: ${err.message}`); return;
      case 'WEFT_ERR_CLOSED':
        return; // peer hung up mid-handshake: not bad input
      default:
        m.handshake('malformed');
        this.badInput.note('tcp', err.code === 'WEFT_ERR_TOO_BIG' ? 'too_big' : 'malformed_handshake', `from ${who}: ${err.message}`);
    }
  }

  private localConnections() {
    return [...this.conns.values()].map((c) => ({
      peer: c.remoteName!,
      // Dialable address of the remote: its IP and the port it listens on.
      address: dialable(c.remoteAddress, c.remoteHello!.listenPort),
      outbound: c.outbound,
      established: !this.overlay || this.health.get(c.remoteName!)?.state === 'healthy',
    }));
  }

  private onRoutesChanged(): void {
    this.maker.setDiscovered(this.topo.discoverableAddresses(new Set(this.conns.keys())));
    this.maker.tick();
    this.opts.metrics.setPeers(this.topo.size);
    if (this.overlay) {
      const r = this.topo.routes;
      this.overlay.setRoutes({ unicast: this.dataRoutes(), broadcastNextHops: (src) => r.broadcastNextHops(src) });
    }
    this.opts.events?.onPeersChanged?.(this.topo.routes.reachable);
  }

  /** The data plane's unicast routes: the topology's, moved onto preferred relays where one is as close. */
  private dataRoutes(): ReadonlyMap<PeerName, PeerName> {
    return preferRelays(this.topo.routes.unicast, this.topo.topology, this.self, this.nat.preferredRelays());
  }

  private noteCollision(what: string): void {
    this.collisions.push(`${new Date().toISOString()} ${what}`);
    if (this.collisions.length > 10) this.collisions.shift();
    this.opts.log.error({ detail: what }, 'peer name collision detected: two live peers share one identity (cloned data dir?) — give each host its own --data-dir');
  }

  private updateConnMetrics(): void {
    this.opts.metrics.setConnections({ established: this.conns.size, connecting: this.pending.size, failed: this.failed.length });
  }
}

const REFUSAL_TEXT: Record<AcceptRefusal, string> = {
  rate_limited: 'handshake rate limit',
  source_rate_limited: 'handshake rate limit of its address',
  pending_full: 'too many pending handshakes',
  source_pending_full: 'too many pending handshakes from its address',
  sources_full: 'too many addresses handshaking',
};

function dialable(remote: string, port: number): string {
  const i = remote.lastIndexOf(':');
  return `${remote.slice(0, i)}:${port}`;
}
