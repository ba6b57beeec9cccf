/**
 * One overlay connection under the switch: the sleeve connection (always there) plus the
 * host-gw and VXLAN path monitors, the hello exchange, probes and replies, and the health
 * the mesh sees. Which path carries what:
 *   L2 frames      → VXLAN while it is active, else the sleeve;
 *   IPv4 unicast   → host-gw while it is active, else the L2 path;
 *   reported mode  → hostgw | vxlan | sleeve (the best active one, in that order).
 */
import { randomBytes } from 'node:crypto';
import { describeError, VXLAN_OVERHEAD_BYTES, type Logger } from '../../common/index.js';
import type { OverlayConnection, OverlayConnectionParams, OverlayHealth, PeerName } from '../../mesh/index.js';
import { parseUnderlayAddress } from '../sleeve-io.js';
import { formatIpv4 } from '../../net/index.js';
import { peerNameToNumber } from '../../net/index.js';
import {
  CHANNEL_FASTPATH, CHANNEL_SLEEVE, decodeFastpathControl, encodeHello, unwrapControl, wrapControl, type FastpathHello,
} from './control-wire.js';
import type { Mode } from './kernel-state.js';
import type { ChangeReason } from './metrics.js';
import { PathMonitor, type PathTiming, type PathTransition } from './path-monitor.js';
import type { ProbeMessage, ProbePath } from './probe-wire.js';
import { PROBE_TOKEN_BYTES } from './probe-wire.js';
import type { ProbeTarget, SendOutcome } from './probe-socket.js';
import { inSubnets, type Subnet } from './trust.js';

/** Per-path detail shown in status. */
export interface PathStatus {
  path: Mode;
  state: 'off' | 'probing' | 'active' | 'failed' | 'pending' | 'healthy';
  mtu?: number;
  reason?: string;
}

/** What a connection needs from the switch. */
export interface ConnectionHost {
  readonly self: PeerName;
  readonly log: Logger;
  readonly timing: PathTiming;
  /** Null when the kernel paths can run here, else why not (one line). */
  kernelOff(): string | null;
  /** Null when host-gw can run here, else why not. */
  hostGwOff(): string | null;
  readonly vxlanPort: number;
  readonly probePort: number;
  readonly trusted: readonly Subnet[];
  /** The MTU pods use (the VXLAN path must carry it). bytes */
  readonly podMtu: number;
  pathMtu(ip: string): number;
  /** How `ip` is reached: our device, and the gateway (null when on-link). Rejects on lookup failure. */
  routeTo(ip: string): Promise<{ dev: string; gateway: string | null }>;
  sendProbe(path: ProbePath, t: ProbeTarget, m: ProbeMessage): SendOutcome;
  /** The connection's paths or mode changed (reprogram the kernel, recompute flooding). */
  changed(): void;
  /** Called once per mode change; `why` is one human line (logged), `reason` the metric label. */
  modeChanged(peer: PeerName, from: Mode, to: Mode, reason: ChangeReason, why: string): void;
}

export class FastConnection implements OverlayConnection {
  readonly peer: PeerName;
  readonly peerNum: number;
  readonly hostgw: PathMonitor;
  readonly vxlan: PathMonitor;
  /** Peer's underlay IPv4 (null for IPv6 or unparsable addresses). */
  readonly underlayIp: string | null;
  /** Our device toward the peer (known once host-gw was found eligible). */
  underlayDev: string | null = null;
  readonly token = randomBytes(PROBE_TOKEN_BYTES);
  hello: FastpathHello | null = null;
  confirmed = false;
  private sleeveHealth: OverlayHealth = { state: 'pending', mode: 'sleeve' };
  private sleeve: OverlayConnection | null = null;
  private lastMode: Mode = 'sleeve';
  private lastReported = '';
  private stopped = false;
  private helloDone = false;

  constructor(private readonly host: ConnectionHost, private readonly params: OverlayConnectionParams) {
    this.peer = params.remotePeer;
    this.peerNum = peerNameToNumber(params.remotePeer);
    this.hostgw = new PathMonitor('hostgw', host.timing);
    this.vxlan = new PathMonitor('vxlan', host.timing);
    const a = parseUnderlayAddress(params.remoteAddress);
    this.underlayIp = a ? formatIpv4(a.ip) : null;
  }

  /** Attach the sleeve connection (made with {@link sleeveParams}). */
  attachSleeve(c: OverlayConnection): void {
    this.sleeve = c;
  }

  /** Params for the sleeve's prepareConnection: control wrapped on channel 0, health to us. */
  sleeveParams(): OverlayConnectionParams {
    return {
      ...this.params,
      sendControl: (msg) => this.params.sendControl(wrapControl(CHANNEL_SLEEVE, msg)),
      onHealth: (h) => {
        this.sleeveHealth = h;
        this.report();
      },
    };
  }

  get encrypted(): boolean {
    return this.params.dataKeys.encrypted;
  }

  /** Path for L2 frames. */
  get l2(): 'vxlan' | 'sleeve' {
    return this.vxlan.state === 'active' ? 'vxlan' : 'sleeve';
  }

  get hostGwActive(): boolean {
    return this.hostgw.state === 'active';
  }

  get mode(): Mode {
    return this.hostGwActive ? 'hostgw' : this.l2;
  }

  confirm(): void {
    if (this.stopped || this.confirmed) return;
    this.confirmed = true;
    this.sleeve?.confirm();
    const off = this.host.kernelOff();
    const trusted = this.underlayIp !== null && inSubnets(this.underlayIp, this.host.trusted);
    this.sendFastpath(encodeHello({
      kernelPaths: off === null, hostGw: off === null && this.host.hostGwOff() === null, trustsYou: trusted,
      encrypted: this.encrypted, vxlanPort: this.host.vxlanPort, probePort: this.host.probePort, token: this.token,
    }));
    if (off !== null) this.disableAll(off);
    this.report();
  }

  onControl(msg: Buffer): void {
    if (this.stopped) return;
    const m = unwrapControl(msg);
    if (!m) return;
    if (m.channel === CHANNEL_SLEEVE) {
      this.sleeve?.onControl(m.body);
      return;
    }
    if (m.channel !== CHANNEL_FASTPATH) return;
    let hello: FastpathHello | null;
    try {
      hello = decodeFastpathControl(m.body);
    } catch (e) {
      this.host.log.warn({ peer: this.peer, err: describeError(e) }, 'fastpath: bad control message');
      return;
    }
    if (hello) void this.onHello(hello);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.sleeve?.stop();
    this.hostgw.disable('connection closed');
    this.vxlan.disable('connection closed');
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Per-tick work: due probes and timeouts. */
  tick(now: number): void {
    if (this.stopped || !this.hello || this.underlayIp === null) return;
    const target: ProbeTarget = { ip: this.underlayIp, vxlanPort: this.hello.vxlanPort, probePort: this.hello.probePort, peer: this.peerNum };
    for (const mon of [this.hostgw, this.vxlan]) {
      const seq = mon.probeDue(now);
      if (seq >= 0) {
        const out = this.host.sendProbe(mon.path, target, {
          path: mon.path, reply: false, sender: 0, token: this.hello.token, seq, size: mon.mtu,
        });
        if (out === 'too_big') this.apply(mon.onTooBig(now));
      }
      this.apply(mon.tick(now));
    }
  }

  /** When {@link tick} next has work (ms since the epoch); Infinity when nothing is pending. */
  nextDue(): number {
    if (this.stopped || !this.hello || this.underlayIp === null) return Infinity;
    return Math.min(this.hostgw.nextDue(), this.vxlan.nextDue());
  }

  /** A probe or reply from this peer (sender already matched). */
  onProbe(m: ProbeMessage, now: number): void {
    if (this.stopped || !this.hello || this.underlayIp === null) return;
    if (!m.token.equals(this.token)) return; // not made by someone who knows our token
    const mon = m.path === 'hostgw' ? this.hostgw : this.vxlan;
    if (m.reply) {
      if (m.size === mon.mtu) this.apply(mon.onReply(now));
      return;
    }
    // Answer at the same size along the same path, if we run that path at all.
    if (this.host.kernelOff() !== null || (m.path === 'hostgw' && this.host.hostGwOff() !== null)) return;
    this.host.sendProbe(m.path, { ip: this.underlayIp, vxlanPort: this.hello.vxlanPort, probePort: this.hello.probePort, peer: this.peerNum },
      { path: m.path, reply: true, sender: 0, token: this.hello.token, seq: m.seq, size: m.size });
  }

  /** Status of every path. */
  paths(): PathStatus[] {
    const fast = (p: PathMonitor): PathStatus => ({
      path: p.path, state: p.state, ...(p.mtu ? { mtu: p.mtu } : {}), ...(p.state !== 'active' && p.reason ? { reason: p.reason } : {}),
    });
    const s = this.sleeveHealth;
    return [fast(this.hostgw), fast(this.vxlan), {
      path: 'sleeve', state: s.state, ...(s.mtu ? { mtu: s.mtu } : {}),
      ...(s.reason ? { reason: s.reason } : this.mode !== 'sleeve' ? { reason: `standby under ${this.mode}` } : {}),
    }];
  }

  /** The health the mesh sees (state of the L2 path; mode, MTU and encryption of the active one). */
  health(): OverlayHealth & { encrypted: boolean; paths: PathStatus[] } {
    const mode = this.mode;
    const state = this.l2 === 'vxlan' ? 'healthy' : this.sleeveHealth.state;
    const mtu = mode === 'hostgw' ? this.hostgw.mtu : mode === 'vxlan' ? this.vxlan.mtu : this.sleeveHealth.mtu;
    return {
      state, mode, ...(mtu ? { mtu } : {}), ...(state === 'failed' && this.sleeveHealth.reason ? { reason: this.sleeveHealth.reason } : {}),
      encrypted: mode === 'sleeve' ? this.encrypted : false, paths: this.paths(),
      ...(this.sleeveHealth.reconnect ? { reconnect: true, reason: this.sleeveHealth.reason } : {}),
    };
  }

  /**
   * True once the peer's hello was handled and no path is still probing: what this connection
   * wants in the kernel is final for now (adopted entries toward it may be reconciled).
   */
  get settled(): boolean {
    return !this.stopped && this.helloDone && this.hostgw.state !== 'probing' && this.vxlan.state !== 'probing';
  }

  private async onHello(h: FastpathHello): Promise<void> {
    try {
      await this.handleHello(h);
    } finally {
      this.helloDone = true;
      this.host.changed();
    }
  }

  private async handleHello(h: FastpathHello): Promise<void> {
    this.hello = h;
    const now = Date.now();
    const off = this.host.kernelOff();
    if (off !== null) return this.disableAll(off);
    if (!h.kernelPaths) return this.disableAll('fast path disabled on the peer');
    if (this.underlayIp === null) return this.disableAll('IPv6 underlay: fast paths need an IPv4 underlay');
    if (this.encrypted || h.encrypted) {
      const weTrust = inSubnets(this.underlayIp, this.host.trusted);
      if (!weTrust) return this.disableAll('untrusted subnet, encryption required');
      if (!h.trustsYou) return this.disableAll('the peer does not trust our subnet, encryption required');
    }
    let underlay: number;
    try {
      underlay = this.host.pathMtu(this.underlayIp);
    } catch (e) {
      return this.disableAll(`cannot read the route MTU toward ${this.underlayIp}: ${describeError(e)}`);
    }
    const vxMtu = underlay - VXLAN_OVERHEAD_BYTES;
    if (vxMtu < this.host.podMtu) {
      this.apply(this.vxlan.disable(`underlay MTU ${underlay} leaves ${vxMtu} for VXLAN, below the pod MTU ${this.host.podMtu}`));
    } else {
      this.apply(this.vxlan.enable(vxMtu, now));
    }
    const gwOff = this.host.hostGwOff();
    if (gwOff !== null) return this.apply(this.hostgw.disable(gwOff));
    if (!h.hostGw) return this.apply(this.hostgw.disable('host-gw disabled on the peer'));
    try {
      const r = await this.host.routeTo(this.underlayIp);
      if (this.stopped) return;
      if (r.gateway !== null) return this.apply(this.hostgw.disable(`peer not on our L2 segment (routed via ${r.gateway})`));
      this.underlayDev = r.dev;
    } catch (e) {
      return this.apply(this.hostgw.disable(`route lookup toward the peer failed: ${describeError(e)}`));
    }
    this.apply(this.hostgw.enable(underlay, Date.now()));
  }

  private disableAll(reason: string): void {
    this.apply(this.hostgw.disable(reason));
    this.apply(this.vxlan.disable(reason));
  }

  private apply(t: PathTransition | null): void {
    if (t === null) return;
    const mode = this.mode;
    if (mode !== this.lastMode) {
      const from = this.lastMode;
      this.lastMode = mode;
      const rank = (m: Mode) => (m === 'hostgw' ? 2 : m === 'vxlan' ? 1 : 0);
      const why = rank(mode) > rank(from)
        ? `${mode} probes answered at MTU ${mode === 'hostgw' ? this.hostgw.mtu : this.vxlan.mtu}`
        : (from === 'hostgw' ? this.hostgw.reason : this.vxlan.reason) || t.cause;
      this.host.modeChanged(this.peer, from, mode, t.cause, why);
    }
    this.host.changed();
    this.report();
  }

  private report(): void {
    if (this.stopped) return;
    const h = this.health();
    const key = JSON.stringify(h);
    if (key === this.lastReported) return;
    this.lastReported = key;
    try { this.params.onHealth(h); } catch { /* the mesh's problem */ }
  }

  private sendFastpath(body: Buffer): void {
    try { this.params.sendControl(wrapControl(CHANNEL_FASTPATH, body)); } catch { /* connection closing */ }
  }
}
