/**
 * The probe socket: one DF UDP socket (native addon) on the probe port. host-gw probes are
 * sent to the peer's probe port directly; VXLAN probes are sent pre-encapsulated to the
 * peer's VXLAN port. Both kinds arrive here (VXLAN ones after the kernel decapsulated them on
 * the probe device). DF matters: a probe larger than the path must fail, not be fragmented.
 */
import { describeError, FASTPATH_PROBE_ADDR, FASTPATH_PROBE_PEER_ADDR, FASTPATH_PROBE_VNI, type Logger } from '../../common/index.js';
import type { NativeDataplane, PollHandle } from '../native-types.js';
import { LEN_TRUNCATED, UdpSendStatus } from '../native-types.js';
import { parseIpv4 } from '../../net/index.js';
import {
  probeMacOf, readProbe, writeHostGwProbe, writeVxlanProbe, type ProbeMessage,
} from './probe-wire.js';

/** The addon calls the probe socket uses. */
export type ProbeIo = Pick<NativeDataplane, 'udpOpen' | 'close' | 'pollStart' | 'pollStop' | 'udpRecvBatch' | 'udpSendBatch' | 'pathMtu'>;

const SLOT = 16_384;
const BATCH = 16;

export type SendOutcome = 'sent' | 'too_big' | 'error';

/** Where a probe goes: the peer's underlay address, ports and name. */
export interface ProbeTarget {
  ip: string;
  vxlanPort: number;
  probePort: number;
  peer: number;
}

/**
 * Lifecycle: `open()` binds and starts the readiness callback (throws WEFT_ERR_HOST when the
 * port is taken); `send*()`; `close()` (idempotent). `onProbe` never sees malformed input.
 */
export class ProbeSocket {
  private fd = -1;
  private poll: PollHandle | null = null;
  private readonly rx = Buffer.alloc(SLOT * BATCH);
  private readonly rxLens = new Uint32Array(BATCH);
  private readonly rxAddrs = new Uint32Array(BATCH * 2);
  private readonly tx = Buffer.alloc(SLOT);
  private readonly txOffs = new Uint32Array(1);
  private readonly txLens = new Uint32Array(1);
  private readonly txAddrs = new Uint32Array(2);
  private readonly txErrs = new Uint8Array(1);
  private errors = 0;

  constructor(private readonly io: ProbeIo, readonly port: number, private readonly self: number,
    private readonly log: Logger, private readonly onProbe: (m: ProbeMessage, fromIp: number) => void) {}

  open(): void {
    this.fd = this.io.udpOpen('0.0.0.0', this.port, { bufBytes: 256 * 1024 });
    this.poll = this.io.pollStart(this.fd, () => this.onReadable());
  }

  close(): void {
    if (this.poll) { try { this.io.pollStop(this.poll); } catch { /* stopped */ } }
    this.poll = null;
    if (this.fd >= 0) { try { this.io.close(this.fd); } catch { /* closed */ } }
    this.fd = -1;
  }

  /** Route MTU toward `ip` as the kernel knows it (IP_MTU of a connected socket). bytes */
  pathMtu(ip: string): number {
    return this.io.pathMtu(ip);
  }

  sendHostGw(t: ProbeTarget, m: ProbeMessage): SendOutcome {
    const len = writeHostGwProbe(this.tx, m);
    return this.send(t.ip, t.probePort, len);
  }

  sendVxlan(t: ProbeTarget, m: ProbeMessage): SendOutcome {
    const len = writeVxlanProbe(this.tx, m, {
      vni: FASTPATH_PROBE_VNI, dstMac: probeMacOf(t.peer), srcMac: probeMacOf(this.self),
      srcIp: parseIpv4(FASTPATH_PROBE_PEER_ADDR) ?? -1, dstIp: parseIpv4(FASTPATH_PROBE_ADDR) ?? -1,
      srcPort: this.port, dstPort: t.probePort,
    });
    return this.send(t.ip, t.vxlanPort, len);
  }

  private send(ip: string, port: number, len: number): SendOutcome {
    if (this.fd < 0) return 'error';
    this.txOffs[0] = 0;
    this.txLens[0] = len;
    this.txAddrs[0] = parseIpv4(ip) ?? -1;
    this.txAddrs[1] = port;
    this.txErrs[0] = 0;
    try {
      this.io.udpSendBatch(this.fd, this.tx, this.txOffs, this.txLens, this.txAddrs, 1, this.txErrs);
    } catch (e) {
      this.logError('probe send failed', e);
      return 'error';
    }
    const st = this.txErrs[0];
    if (st === UdpSendStatus.OK) return 'sent';
    return st === UdpSendStatus.MSGSIZE ? 'too_big' : 'error';
  }

  private onReadable(): void {
    if (this.fd < 0) return;
    try {
      for (let round = 0; round < 4; round++) {
        const n = this.io.udpRecvBatch(this.fd, this.rx, SLOT, this.rxLens, this.rxAddrs, BATCH);
        for (let i = 0; i < n; i++) {
          const len = this.rxLens[i]!;
          if (len === LEN_TRUNCATED || len > SLOT) continue;
          const m = readProbe(this.rx, i * SLOT, len);
          if (m && m.sender !== this.self) this.onProbe(m, this.rxAddrs[2 * i]!);
        }
        if (n < BATCH) break;
      }
    } catch (e) {
      this.logError('probe receive failed', e);
    }
  }

  private logError(what: string, e: unknown): void {
    if (this.errors++ < 10) this.log.warn({ err: describeError(e) }, `fastpath: ${what}`);
  }
}
