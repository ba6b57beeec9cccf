/**
 * Sleeve counters. The hot path bumps plain numbers (a Float64Array for drops, fields on a
 * per-peer object); prom-client reads them only when scraped (collect callbacks), so no label
 * lookup ever happens per frame.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Why a frame or datagram was dropped (label `reason` of weft_sleeve_drops_total). */
export type DropReason =
  | 'no_route' | 'replay' | 'auth' | 'too_big' | 'queue_full' | 'malformed' | 'unknown_peer';
export const DROP_REASONS: readonly DropReason[] = [
  'no_route', 'replay', 'auth', 'too_big', 'queue_full', 'malformed', 'unknown_peer',
];
/** Index of each reason in {@link SleeveCounters.drops}. */
export const enum Drop { NoRoute = 0, Replay = 1, Auth = 2, TooBig = 3, QueueFull = 4, Malformed = 5, UnknownPeer = 6 }

/** Traffic with one neighbour peer (frames are Ethernet frames; bytes are frame bytes). */
export interface PeerCounters {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Current overlay (pod) MTU toward the peer, 0 when unknown. */
  mtu: number;
}

/** Snapshot returned by `SleeveOverlay.stats()`. */
export interface SleeveStats {
  drops: Record<DropReason, number>;
  relayedFrames: number;
  macMoves: number;
  macs: number;
  /** Links failed because the peer never acknowledged a key epoch (rotation stalled). */
  rekeyStalls: number;
  peers: Record<string, PeerCounters>;
  /** Batching efficiency: syscall batches and the frames/datagrams they carried. */
  batches: BatchCounters;
}

/** Counts of batched calls and items (items / calls = average batch size). */
export interface BatchCounters {
  tapReads: number;
  tapFramesRead: number;
  udpReads: number;
  udpDatagramsRead: number;
  udpSends: number;
  udpDatagramsSent: number;
  /** Frames written into the TAP, the write syscalls that took, and (vnet-header TAP only)
   *  the GSO super-frames among them and the frames they carried. */
  tapFramesWritten: number;
  tapWriteCalls: number;
  tapSuperFrames: number;
  tapFramesCoalesced: number;
}

/**
 * All counters of one engine. Lives as long as the engine; per-peer counters survive
 * reconnections (keyed by peer name) until the peer is gone for good.
 */
export class SleeveCounters {
  readonly drops = new Float64Array(DROP_REASONS.length);
  relayedFrames = 0;
  macMoves = 0;
  rekeyStalls = 0;
  /** Reads the number of learned MACs (set by the engine). */
  macCount: () => number = () => 0;
  readonly peers = new Map<string, PeerCounters>();
  readonly batches: BatchCounters = {
    tapReads: 0, tapFramesRead: 0, udpReads: 0, udpDatagramsRead: 0, udpSends: 0, udpDatagramsSent: 0,
    tapFramesWritten: 0, tapWriteCalls: 0, tapSuperFrames: 0, tapFramesCoalesced: 0,
  };

  /** Counters of `peer`, created on first use (not on the hot path: links hold the object). */
  peer(name: string): PeerCounters {
    let c = this.peers.get(name);
    if (!c) {
      c = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, mtu: 0 };
      this.peers.set(name, c);
    }
    return c;
  }

  /**
   * Called after every counted drop with its reason, count and (when known) the neighbour
   * peer's name: the flow recorder's feed. Must be cheap and must not throw (set by the daemon).
   */
  onDrop: ((reason: DropReason, n: number, peer?: string) => void) | null = null;

  drop(reason: Drop, n = 1, peer?: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + n;
    if (this.onDrop !== null) this.onDrop(DROP_REASONS[reason] ?? 'malformed', n, peer);
  }

  snapshot(): SleeveStats {
    const drops = {} as Record<DropReason, number>;
    DROP_REASONS.forEach((r, i) => { drops[r] = this.drops[i] ?? 0; });
    const peers: Record<string, PeerCounters> = {};
    for (const [k, v] of this.peers) peers[k] = { ...v };
    return { drops, relayedFrames: this.relayedFrames, macMoves: this.macMoves, macs: this.macCount(), rekeyStalls: this.rekeyStalls, peers, batches: { ...this.batches } };
  }

  /**
   * Expose the counters in `registry` (names under weft_sleeve_*). Call once per registry;
   * values are read at scrape time.
   */
  register(registry: Registry): void {
    const registers = [registry];
    const self = this; // prom-client binds `this` to the metric inside collect()
    new Counter({
      name: 'weft_sleeve_frames_total', help: 'Ethernet frames exchanged with each neighbour peer over the sleeve.',
      labelNames: ['peer', 'direction'] as const, registers,
      collect() {
        this.reset();
        for (const [peer, c] of self.peers) {
          this.inc({ peer, direction: 'in' }, c.framesIn);
          this.inc({ peer, direction: 'out' }, c.framesOut);
        }
      },
    });
    new Counter({
      name: 'weft_sleeve_bytes_total', help: 'Ethernet frame bytes exchanged with each neighbour peer over the sleeve.',
      labelNames: ['peer', 'direction'] as const, registers,
      collect() {
        this.reset();
        for (const [peer, c] of self.peers) {
          this.inc({ peer, direction: 'in' }, c.bytesIn);
          this.inc({ peer, direction: 'out' }, c.bytesOut);
        }
      },
    });
    new Counter({
      name: 'weft_sleeve_drops_total', help: 'Frames or datagrams dropped by the sleeve, by reason.',
      labelNames: ['reason'] as const, registers,
      collect() {
        this.reset();
        DROP_REASONS.forEach((reason, i) => this.inc({ reason }, self.drops[i] ?? 0));
      },
    });
    new Counter({
      name: 'weft_sleeve_relayed_frames_total', help: 'Frames relayed on behalf of other peers (multi-hop and broadcast trees).',
      registers,
      collect() {
        this.reset();
        this.inc(self.relayedFrames);
      },
    });
    new Counter({
      name: 'weft_sleeve_rekey_stalls_total',
      help: 'Sleeve links failed (and re-handshaken) because the peer did not acknowledge a key epoch in time.',
      registers,
      collect() {
        this.reset();
        this.inc(self.rekeyStalls);
      },
    });
    new Gauge({
      name: 'weft_sleeve_peer_mtu_bytes', help: 'Overlay MTU toward each neighbour peer after path-MTU discovery.',
      labelNames: ['peer'] as const, registers,
      collect() {
        this.reset();
        for (const [peer, c] of self.peers) if (c.mtu > 0) this.set({ peer }, c.mtu);
      },
    });
    new Gauge({
      name: 'weft_sleeve_macs', help: 'MAC addresses currently learned by the sleeve.', registers,
      collect() {
        this.set(self.macCount());
      },
    });
  }
}
