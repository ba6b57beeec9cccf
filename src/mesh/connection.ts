import type { Socket } from 'node:net';
import {
  WeftError, describeError, isWeftError, type Logger,
  MAX_HANDSHAKE_MESSAGE_BYTES, MAX_CONTROL_MESSAGE_BYTES, PRELUDE_BYTES,
} from '../common/index.js';
import { Handshake, HandshakeError, type ClusterKeyring, type Identity, type Session, type HandshakeReplayCache } from '../crypto/index.js';
import { FrameReader, lengthPrefixed } from './frame-reader.js';
import { encodePrelude, negotiateVersion } from './prelude.js';
import { decodeHello, decodeMessage, encodeHello, encodeMessage, Tag, type ControlMessage, type Hello } from './messages.js';
import type { PeerName } from './gossip-types.js';

export type ConnectionState = 'handshaking' | 'established' | 'closed';

/** Timing a connection runs with. ms */
export interface ConnectionTiming {
  handshakeTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

/** Callbacks into the router. Called on the event loop; must not throw. */
export interface ConnectionHooks {
  /** Handshake done. Return null to accept, or a WeftError to close with that reason. */
  onAuthenticated(conn: ControlConnection): WeftError | null;
  onMessage(conn: ControlConnection, msg: ControlMessage, bytes: number): void;
  /** A frame that authenticated but did not decode: counted, dropped, connection stays. */
  onBadMessage(conn: ControlConnection, err: WeftError): void;
  /** Called exactly once. `error` is set when the close was caused by a failure. */
  onClosed(conn: ControlConnection, reason: string, error: WeftError | null): void;
}

export interface ConnectionOptions {
  socket: Socket;
  outbound: boolean;
  identity: Identity;
  /** The cluster PSKs when this connection was made (null: no secret). Borrowed; must stay
   *  valid until the handshake is done (a rotation wipes a replaced keyring only later). */
  keyring: ClusterKeyring | null;
  hello: Hello;
  replayCache: HandshakeReplayCache;
  timing: ConnectionTiming;
  hooks: ConnectionHooks;
  log: Logger;
}

/**
 * One TCP control connection to one peer.
 *
 * Lifecycle: start() → prelude exchange → Noise handshake (outbound side initiates) →
 * hooks.onAuthenticated → established (messages, heartbeats) → close(reason) → hooks.onClosed.
 * Before authentication at most MAX_HANDSHAKE_MESSAGE_BYTES are buffered and the whole
 * exchange must finish within handshakeTimeoutMs. After it, every frame is sealed with the
 * session's per-direction CipherState; a frame that fails authentication closes the connection
 * (TCP is ordered, so that can only be tampering). `close()` is idempotent.
 */
export class ControlConnection {
  state: ConnectionState = 'handshaking';
  readonly outbound: boolean;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly startedAt = Date.now();
  establishedAt = 0;
  lastReceiveAt = Date.now();
  /** Raw bytes received so far (a pending connection that hung up after sending some was truncated). */
  receivedBytes = 0;
  remoteName: PeerName | null = null;
  remoteHello: Hello | null = null;
  session: Session | null = null;
  /** Set when the router registered this connection (won any duplicate tie-break). */
  registered = false;
  /** Close reason, once closed. */
  closeReason = '';
  private readonly reader = new FrameReader(MAX_HANDSHAKE_MESSAGE_BYTES);
  private handshake: Handshake | null = null;
  private ourPrelude = encodePrelude();
  private theirPrelude: Buffer | null = null;
  private hsStep = 0;
  private timers: NodeJS.Timeout[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ConnectionOptions) {
    this.outbound = opts.outbound;
    const s = opts.socket;
    this.remoteAddress = formatAddr(s.remoteAddress, s.remotePort);
    this.localAddress = formatAddr(s.localAddress, s.localPort);
  }

  start(): void {
    const s = this.opts.socket;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (e) => this.fail(new WeftError('WEFT_ERR_CLOSED', `socket error: ${e.message}`)));
    s.on('close', () => {
      if (this.state === 'handshaking' && this.outbound && this.handshake && this.hsStep === 0) {
        // A responder refusing message 1 sends nothing back (DESIGN.md): all we learn is the close.
        this.fail(new HandshakeError('unanswered', 'handshake failed: the peer closed the connection without answering our message 1 — '
          + 'it does not share our cluster secret (or has none), or our clocks differ by more than 120 s'));
        return;
      }
      this.close('connection closed by peer', null, false);
    });
    this.timers.push(setTimeout(() => {
      if (this.state === 'handshaking') {
        this.fail(new WeftError('WEFT_ERR_TIMEOUT', `handshake not completed within ${this.opts.timing.handshakeTimeoutMs} ms`));
      }
    }, this.opts.timing.handshakeTimeoutMs));
    s.write(this.ourPrelude);
  }

  /** Send a control message (no-op unless established). */
  send(msg: ControlMessage): void {
    if (this.state !== 'established' || !this.session) return;
    const frame = this.session.send.seal(encodeMessage(msg));
    this.opts.socket.write(lengthPrefixed(frame));
  }

  /** Close with a reason; tells the peer when established. Idempotent. */
  close(reason: string, error: WeftError | null = null, tellPeer = true): void {
    if (this.state === 'closed') return;
    if (tellPeer && this.state === 'established') {
      try { this.send({ tag: Tag.Close, reason }); } catch { /* socket may be gone */ }
    }
    this.state = 'closed';
    this.closeReason = reason;
    for (const t of this.timers) clearTimeout(t);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.opts.socket.end();
    setTimeout(() => this.opts.socket.destroy(), 1000).unref();
    this.opts.hooks.onClosed(this, reason, error);
  }

  /** (A method, so TypeScript does not narrow `state` across callbacks that may close us.) */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  private fail(err: WeftError): void {
    this.close(err.message, err);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastReceiveAt = Date.now();
    this.receivedBytes += chunk.length;
    try {
      if (!this.theirPrelude) {
        const got = this.takePrelude(chunk);
        if (!got) return;
        chunk = got;
      }
      // One frame at a time: the handshake's last frame raises the frame limit for the ones behind it.
      this.reader.append(chunk);
      for (let frame = this.reader.next(); frame !== null; frame = this.reader.next()) {
        if (this.isClosed()) return;
        if (this.state === 'handshaking') this.onHandshakeFrame(frame);
        else this.onSealedFrame(frame);
      }
    } catch (e) {
      this.fail(isWeftError(e) ? e : new WeftError('WEFT_ERR_INTERNAL', describeError(e)));
    }
  }

  /** Accumulate the fixed-size prelude; returns the bytes after it once complete. */
  private preludeBuf = Buffer.alloc(0);
  private takePrelude(chunk: Buffer): Buffer | null {
    this.preludeBuf = Buffer.concat([this.preludeBuf, chunk]);
    if (this.preludeBuf.length < PRELUDE_BYTES) return null;
    this.theirPrelude = this.preludeBuf.subarray(0, PRELUDE_BYTES);
    const rest = this.preludeBuf.subarray(PRELUDE_BYTES);
    this.beginHandshake(negotiateVersion(this.theirPrelude));
    return rest;
  }

  /** The negotiated protocol version picks the PSKs (their KDF parameters are per version). */
  private beginHandshake(version: number): void {
    const ours = this.ourPrelude;
    const theirs = this.theirPrelude!;
    const prologue = this.outbound ? Buffer.concat([ours, theirs]) : Buffer.concat([theirs, ours]);
    const keyring = this.opts.keyring;
    const accepted = keyring ? keyring.acceptPsks(version) : [];
    this.handshake = new Handshake({
      role: this.outbound ? 'initiator' : 'responder',
      identity: this.opts.identity,
      // Initiate with the keyring's first secret; as responder accept every secret in it.
      psk: keyring ? keyring.initiatePsk(version) : null,
      alsoAccept: accepted.slice(1),
      prologue,
      replayCache: this.opts.replayCache,
    });
    if (this.outbound) this.writeRaw(this.handshake.writeMessage());
  }

  private writeRaw(frame: Buffer): void {
    this.opts.socket.write(lengthPrefixed(frame));
  }

  /**
   * A failure here throws and closes the connection without writing anything: a peer that did
   * not prove the secret gets no byte after its message 1 (not even a reason).
   */
  private onHandshakeFrame(frame: Buffer): void {
    const hs = this.handshake!;
    this.hsStep++;
    const payload = hs.readMessage(frame);
    if (this.outbound) {
      // message 2 received (responder hello) → send message 3 with our hello, done.
      this.remoteHello = decodeHello(payload);
      this.writeRaw(hs.writeMessage(encodeHello(this.opts.hello)));
    } else if (this.hsStep === 1) {
      // message 1 received → answer with message 2 carrying our hello.
      this.writeRaw(hs.writeMessage(encodeHello(this.opts.hello)));
      return;
    } else {
      this.remoteHello = decodeHello(payload);
    }
    if (!hs.complete) throw new WeftError('WEFT_ERR_HANDSHAKE', 'handshake did not complete');
    this.session = hs.split();
    this.handshake = null;
    this.remoteName = this.session.remoteName;
    this.onAuthenticated();
  }

  private onAuthenticated(): void {
    this.reader.setMaxFrame(MAX_CONTROL_MESSAGE_BYTES + 64);
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.state = 'established';
    this.establishedAt = Date.now();
    const verdict = this.opts.hooks.onAuthenticated(this);
    if (verdict) {
      this.close(verdict.message, verdict);
      return;
    }
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.opts.timing;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastReceiveAt > heartbeatTimeoutMs) {
        this.fail(new WeftError('WEFT_ERR_TIMEOUT', `no message from peer for ${heartbeatTimeoutMs} ms (heartbeat timeout)`));
        return;
      }
      this.send({ tag: Tag.Heartbeat });
    }, heartbeatIntervalMs);
  }

  private onSealedFrame(frame: Buffer): void {
    let plain: Buffer;
    try {
      plain = this.session!.recv.open(frame);
    } catch {
      throw new WeftError('WEFT_ERR_AUTH', 'control message failed authentication (tampered stream)');
    }
    let msg: ControlMessage;
    try {
      msg = decodeMessage(plain);
    } catch (e) {
      this.opts.hooks.onBadMessage(this, isWeftError(e) ? e : new WeftError('WEFT_ERR_DECODE', describeError(e)));
      return;
    }
    if (msg.tag === Tag.Close) {
      this.close(`peer closed: ${msg.reason}`, null, false);
      return;
    }
    if (msg.tag === Tag.Heartbeat) return;
    this.opts.hooks.onMessage(this, msg, frame.length);
  }
}

function formatAddr(ip: string | undefined, port: number | undefined): string {
  if (!ip) return '';
  const host = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}
