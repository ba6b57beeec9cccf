/**
 * One overlay connection to a neighbour peer: its UDP address, keys (LinkCrypto), heartbeats,
 * health and path-MTU search. The engine owns the datagram I/O; the link decides what to send
 * when, and what the mesh is told (onHealth). See DESIGN.md "Heartbeats and health", "PMTU".
 */
import type { Logger } from '../common/index.js';
import {
  AEAD_TAG_BYTES, SLEEVE_HEADER_BYTES, SLEEVE_RECORD_HEADER_BYTES, UDP_IPV4_OVERHEAD_BYTES, ETHERNET_HEADER_BYTES,
  SLEEVE_UDP_SLOT_BYTES, DEFAULT_UNDERLAY_MTU, describeError,
} from '../common/index.js';
import type { OverlayConnection, OverlayConnectionParams, OverlayHealth } from '../mesh/index.js';
import { LinkCrypto, type RecvEpoch } from './link-crypto.js';
import type { PeerCounters } from './metrics.js';
import { PmtuSearch } from './pmtu.js';
import { parseUnderlayAddress, type SleeveAeadAlg, type SleeveIo } from './sleeve-io.js';
import { formatIpv4 } from '../net/index.js';
import type { SleeveTiming } from './timing.js';
import {
  ControlKind, DatagramType, HB_HEARD_YOU, HEARTBEAT_BODY_BYTES, PROBE_BODY_MIN_BYTES,
  decodeControl, encodePmtuAck, maxDatagramBytes,
} from './wire-format.js';

/** Outcome of sending one special (heartbeat/probe) datagram. */
export const enum SendResult { Ok = 0, TooBig = 1, Failed = 2 }

/** What a link needs from the engine that owns it. */
export interface LinkHost {
  readonly io: SleeveIo;
  readonly log: Logger;
  readonly localPort: number;
  readonly alg: SleeveAeadAlg;
  readonly timing: SleeveTiming;
  now(): number;
  peerCounters(name: string): PeerCounters;
  /** Count a link failed by a stalled rotation (weft_sleeve_rekey_stalls_total). */
  rekeyStalled(): void;
  /** Seal and send a heartbeat/probe datagram with `body[0, bodyLen)` to the link's address. */
  sendSpecial(link: PeerLink, type: DatagramType, body: Buffer, bodyLen: number): SendResult;
  linkConfirmed(link: PeerLink): void;
  linkStopped(link: PeerLink): void;
}

/**
 * Lifecycle (the mesh drives it through {@link OverlayConnection}): created by
 * `prepareConnection` (passive: no datagrams sent, but the engine already accepts the
 * peer's datagrams for it) → `confirm()` (heartbeats start; the link carries traffic once it
 * has a UDP address) → `stop()` (idempotent: keys freed, link forgotten). Methods never throw.
 * Health: 'pending' until datagrams flow both ways, 'healthy' while they do, 'failed' after
 * `heartbeatTimeoutMs` without an authenticated datagram (or without the peer hearing us).
 * A key rotation blocked for `rekeyAckTimeoutMs` by a peer that does not acknowledge the current
 * epoch fails the link for good (no more frames on the old keys), reported with
 * `reconnect: true` so that the mesh re-handshakes the connection (fresh keys, new link).
 */
export class PeerLink implements OverlayConnection {
  readonly name: string;
  readonly counters: PeerCounters;
  readonly crypto: LinkCrypto | null;
  /** Index in the engine's link table (set by the engine). */
  slot = -1;
  addrIp = -1;
  addrPort = 0;
  /** Largest sealed body / frame per datagram on the current path MTU. bytes */
  maxBodyBytes = 0;
  maxFrameBytes = 0;
  pathMtu = DEFAULT_UNDERLAY_MTU;
  /** A punched path to a non-neighbour (NAT traversal), not a control connection's link. */
  direct = false;
  /** Punched path: an authenticated datagram arrived within NAT_DIRECT_DEAD_MS (kept by the engine's tick). */
  directUp = false;
  private addrLearned = false;
  private confirmed = false;
  private stopped = false;
  private confirmAt = 0;
  private lastRx = 0;
  private lastHeardYou = 0;
  private peerAckedEpoch = -1;
  private lastHbSent = -Infinity;
  private lastHbHeard = false;
  private state: OverlayHealth['state'] = 'pending';
  private reason = 'waiting for UDP heartbeats';
  private reportedMtu = -1;
  private fatal: string | null = null;
  /** Set when the link cannot recover on this connection: the mesh should re-handshake. */
  private reconnect = false;
  private pmtu: PmtuSearch | null = null;
  private pmtuNextCheck = 0;
  private probeIds = 1;
  private readonly hbBody = Buffer.alloc(HEARTBEAT_BODY_BYTES);

  constructor(
    readonly peer: number,
    private readonly host: LinkHost,
    private readonly params: OverlayConnectionParams,
  ) {
    this.name = params.remotePeer;
    this.counters = host.peerCounters(this.name);
    let crypto: LinkCrypto | null = null;
    try {
      crypto = new LinkCrypto({
        io: host.io, dataKeys: params.dataKeys, alg: host.alg, now: host.now(), timing: host.timing,
        onKeyError: (msg) => host.log.warn({ peer: this.name }, `sleeve: ${msg}`),
      });
    } catch (e) {
      this.fatal = `data-plane keys unusable: ${describeError(e)}`;
    }
    this.crypto = crypto;
    const a = parseUnderlayAddress(params.remoteAddress);
    if (!a) {
      this.fatal ??= `cannot use underlay address ${params.remoteAddress} (the sleeve supports IPv4 only)`;
    } else {
      // Outbound: the peer listens on the TCP port we dialled, and its UDP port is the same
      // number. Inbound: a guess (its address, our port) until its first datagram arrives.
      this.addrIp = a.ip;
      this.addrPort = params.outbound ? a.port : host.localPort;
      this.addrLearned = params.outbound;
      this.setPathMtu(this.kernelPathMtu());
    }
  }

  get encrypted(): boolean {
    return this.crypto?.encrypted ?? true;
  }

  /** May frames be sent to this link now? */
  usable(): boolean {
    return this.confirmed && !this.stopped && this.crypto !== null && this.addrIp >= 0 && this.fatal === null;
  }

  get isConfirmed(): boolean {
    return this.confirmed;
  }

  get healthState(): OverlayHealth['state'] {
    return this.state;
  }

  /** When the last authenticated datagram arrived (ms; 0 = never). */
  get lastHeardAt(): number {
    return this.lastRx;
  }

  /** The address is the source of the peer's authenticated datagrams (not a guess from TCP). */
  get addressLearned(): boolean {
    return this.addrLearned;
  }

  confirm(): void {
    if (this.confirmed || this.stopped) return;
    this.confirmed = true;
    this.confirmAt = this.host.now();
    this.host.linkConfirmed(this);
    if (this.fatal) {
      this.setState('failed', this.fatal);
      return;
    }
    this.report(true);
    this.sendHeartbeat(this.confirmAt);
  }

  onControl(msg: Buffer): void {
    if (this.stopped) return;
    const m = decodeControl(msg);
    if (m?.kind === ControlKind.PmtuAck && this.pmtu && this.pmtu.ack(m.probeId, m.size)) {
      this.advancePmtu(this.host.now());
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.crypto?.free();
    this.host.linkStopped(this);
  }

  /** An authenticated, non-replayed datagram arrived from ip:port (epoch state `ctx`). */
  onAuthenticated(ctx: RecvEpoch, ip: number, port: number, now: number): void {
    this.crypto?.promote(ctx, now);
    const wasHearing = this.lastRx > 0 && now - this.lastRx < this.host.timing.heartbeatTimeoutMs;
    this.lastRx = now;
    this.directUp = true;
    if (ip !== this.addrIp || port !== this.addrPort) {
      const old = this.addrIp >= 0 ? `${formatIpv4(this.addrIp)}:${this.addrPort}` : 'none';
      this.addrIp = ip;
      this.addrPort = port;
      if (this.addrLearned) this.host.log.info({ peer: this.name, old, new: `${formatIpv4(ip)}:${port}` }, 'sleeve: peer UDP address changed');
      this.addrLearned = true;
      this.setPathMtu(this.kernelPathMtu());
    } else {
      this.addrLearned = true;
    }
    // Tell a peer we just started hearing at once (once per transition), so it learns that
    // its datagrams arrive and leaves fast heartbeats.
    if (!wasHearing && this.confirmed && !this.lastHbHeard) this.sendHeartbeat(now);
    if (this.state !== 'healthy') this.updateHealth(now);
  }

  /** Body of an authenticated heartbeat. */
  onHeartbeat(buf: Buffer, off: number, len: number, now: number): void {
    if (len < HEARTBEAT_BODY_BYTES) return;
    if (buf[off]! & HB_HEARD_YOU) this.lastHeardYou = now;
    this.peerAckedEpoch = Math.max(this.peerAckedEpoch, buf.readUInt32BE(off + 1));
    if (this.state !== 'healthy') this.updateHealth(now);
  }

  /** An authenticated PMTU probe of `datagramLen` bytes (UDP payload) arrived: acknowledge it. */
  onProbe(buf: Buffer, off: number, len: number, datagramLen: number): void {
    if (len < PROBE_BODY_MIN_BYTES) return;
    try {
      this.params.sendControl(encodePmtuAck(buf.readUInt32BE(off), datagramLen + UDP_IPV4_OVERHEAD_BYTES));
    } catch (e) {
      this.host.log.debug({ peer: this.name, err: describeError(e) }, 'sleeve: cannot acknowledge PMTU probe');
    }
  }

  /** A data datagram to this link failed with EMSGSIZE: the kernel knows a smaller PMTU now. */
  onSendTooBig(now: number): void {
    const k = this.kernelPathMtu();
    if (k < this.pathMtu) this.setPathMtu(k);
    if (!this.pmtu) this.startPmtu(now);
  }

  /**
   * True while this link needs the sleeve's fast tick: confirmed but not yet healthy, a PMTU
   * search running, or not hearing the peer (fast heartbeats). A healthy, quiet link is served
   * by the idle tick.
   */
  needsFastTick(now: number): boolean {
    if (!this.confirmed || this.stopped || this.fatal || !this.crypto) return false;
    if (this.state !== 'healthy' || this.pmtu || this.direct) return true; // punched: fast keepalives
    return !(this.lastHeardYou > 0 && now - this.lastHeardYou < this.host.timing.heartbeatTimeoutMs);
  }

  /** Housekeeping: heartbeats, health, key rotation, PMTU probes. */
  tick(now: number): void {
    if (!this.confirmed || this.stopped || this.fatal || !this.crypto) return;
    this.crypto.tick(now);
    this.crypto.maybeRotate(now, this.peerAckedEpoch);
    if (this.crypto.rekeyStalled(now)) {
      this.failRekey();
      return;
    }
    const t = this.host.timing;
    const heard = this.lastHeardYou > 0 && now - this.lastHeardYou < t.heartbeatTimeoutMs;
    if (now - this.lastHbSent >= (heard ? t.heartbeatMs : t.heartbeatFastMs)) this.sendHeartbeat(now);
    this.updateHealth(now);
    if (this.state === 'healthy' && !this.pmtu && now >= this.pmtuNextCheck) this.startPmtu(now);
    if (this.pmtu) this.advancePmtu(now);
  }

  /** The peer never acknowledged our current epoch: stop using the keys, ask for a new handshake. */
  private failRekey(): void {
    const c = this.crypto!;
    const secs = Math.round(this.host.timing.rekeyAckTimeoutMs / 1000);
    this.fatal = `key rotation stalled: peer has not acknowledged data key epoch ${c.sendEpoch} for ${secs} s after the rotation was due; reconnecting`;
    this.reconnect = true;
    this.host.rekeyStalled();
    this.setState('failed', this.fatal);
  }

  private sendHeartbeat(now: number): void {
    if (this.addrIp < 0 || !this.crypto) return;
    const hearing = this.lastRx > 0 && now - this.lastRx < this.host.timing.heartbeatTimeoutMs;
    this.hbBody[0] = hearing ? HB_HEARD_YOU : 0;
    this.lastHbHeard = hearing;
    this.hbBody.writeUInt32BE(this.crypto.recvEpoch >>> 0, 1);
    this.lastHbSent = now;
    this.host.sendSpecial(this, DatagramType.Heartbeat, this.hbBody, HEARTBEAT_BODY_BYTES);
  }

  private startPmtu(now: number): void {
    const candidate = Math.min(this.kernelPathMtu(), SLEEVE_UDP_SLOT_BYTES + UDP_IPV4_OVERHEAD_BYTES);
    const t = this.host.timing;
    this.pmtu = new PmtuSearch(candidate, t.pmtuFloorBytes, t.pmtuMaxProbes, t.pmtuProbeTimeoutMs, this.probeIds);
    this.advancePmtu(now);
  }

  private advancePmtu(now: number): void {
    const s = this.pmtu;
    if (!s) return;
    for (let guard = 0; guard < 4 && !s.done; guard++) {
      const probe = s.poll(now);
      if (!probe) break;
      const bodyLen = probe.size - UDP_IPV4_OVERHEAD_BYTES - SLEEVE_HEADER_BYTES - (this.encrypted ? AEAD_TAG_BYTES : 0);
      if (bodyLen < PROBE_BODY_MIN_BYTES) {
        s.tooBig(probe.size);
        continue;
      }
      const body = Buffer.alloc(bodyLen);
      body.writeUInt32BE(probe.id >>> 0, 0);
      body.writeUInt16BE(probe.size, 4);
      if (this.host.sendSpecial(this, DatagramType.PmtuProbe, body, bodyLen) !== SendResult.TooBig) break;
      s.tooBig(probe.size);
    }
    this.probeIds = s.idCursor;
    if (s.limit !== this.pathMtu) this.setPathMtu(s.limit);
    if (s.done) {
      this.pmtu = null;
      this.pmtuNextCheck = now + this.host.timing.pmtuRecheckMs;
      this.host.log.info({ peer: this.name, pathMtu: s.limit, overlayMtu: this.counters.mtu },
        `sleeve: effective MTU ${s.limit} to peer ${this.name} (overlay MTU ${this.counters.mtu})`);
      this.report(false);
    }
  }

  private kernelPathMtu(): number {
    if (this.addrIp < 0) return DEFAULT_UNDERLAY_MTU;
    try {
      const m = this.host.io.pathMtu(formatIpv4(this.addrIp));
      return m > 0 ? m : DEFAULT_UNDERLAY_MTU;
    } catch {
      return DEFAULT_UNDERLAY_MTU;
    }
  }

  private setPathMtu(mtu: number): void {
    this.pathMtu = mtu;
    this.maxBodyBytes = Math.max(0, maxDatagramBytes(mtu) - SLEEVE_HEADER_BYTES - (this.encrypted ? AEAD_TAG_BYTES : 0));
    this.maxFrameBytes = Math.max(0, this.maxBodyBytes - SLEEVE_RECORD_HEADER_BYTES);
    this.counters.mtu = Math.max(0, this.maxFrameBytes - ETHERNET_HEADER_BYTES);
  }

  private updateHealth(now: number): void {
    if (this.fatal || !this.confirmed) return;
    const t = this.host.timing;
    const hearing = this.lastRx > 0 && now - this.lastRx < t.heartbeatTimeoutMs;
    const heard = this.lastHeardYou > 0 && now - this.lastHeardYou < t.heartbeatTimeoutMs;
    const secs = Math.round(t.heartbeatTimeoutMs / 1000);
    if (hearing && heard) this.setState('healthy', undefined);
    else if (!hearing && now - Math.max(this.confirmAt, this.lastRx) >= t.heartbeatTimeoutMs) {
      this.setState('failed', `no UDP heartbeat for ${secs} s`);
    } else if (!heard && now - Math.max(this.confirmAt, this.lastHeardYou) >= t.heartbeatTimeoutMs) {
      this.setState('failed', `peer has not received our UDP datagrams for ${secs} s`);
    } else if (this.state !== 'pending' || this.lastRx > 0) {
      this.setState('pending', hearing ? 'waiting for the peer to hear us' : 'waiting for UDP heartbeats');
    }
  }

  private setState(state: OverlayHealth['state'], reason: string | undefined): void {
    if (state === this.state && (reason ?? '') === this.reason) return; // unchanged: nothing to report (every tick)
    const prev = this.state;
    this.state = state;
    this.reason = reason ?? '';
    if (state !== prev) {
      const fields = { peer: this.name, state, reason, addr: this.addrIp >= 0 ? `${formatIpv4(this.addrIp)}:${this.addrPort}` : undefined };
      if (state === 'failed') this.host.log.warn(fields, 'sleeve: path to peer failed');
      else this.host.log.info(fields, `sleeve: path to peer ${state}`);
    }
    this.report(true);
  }

  private report(force: boolean): void {
    if (!force && this.reportedMtu === this.counters.mtu) return;
    this.reportedMtu = this.counters.mtu;
    const h: OverlayHealth = { state: this.state, mode: 'sleeve', mtu: this.counters.mtu };
    if (this.reason) h.reason = this.reason;
    if (this.reconnect) h.reconnect = true;
    try {
      this.params.onHealth(h);
    } catch (e) {
      this.host.log.warn({ peer: this.name, err: describeError(e) }, 'sleeve: onHealth callback threw');
    }
  }
}
