import { WeftError, describeError, isWeftError, type Logger, GOSSIP_FANOUT_FACTOR } from '../common/index.js';
import type { MeshMetrics } from '../metrics/index.js';
import type { Gossiper, GossipChannel, PeerName } from './gossip-types.js';
import { Tag, type ControlMessage } from './messages.js';

/** What the hub needs from the router: who our neighbours are and how to reach peers. */
export interface GossipTransport {
  readonly self: PeerName;
  /** Established, registered connections by peer name. */
  neighbours(): ReadonlyMap<PeerName, { send(m: ControlMessage): void }>;
  /** Next hop toward `dst` over all known connections (gossip relay), if any. */
  nextHopAll(dst: PeerName): PeerName | undefined;
  /** Neighbours to forward a broadcast from `src` to. */
  broadcastNextHops(src: PeerName): readonly PeerName[];
  /** How many peers are known (for fan-out). */
  peerCount(): number;
}

/**
 * Named gossip channels over the mesh (after weaveworks/mesh): unicast routed hop by hop,
 * broadcast along per-source spanning trees, and mergeable-state gossip to a bounded random
 * subset of neighbours (min(2·log2 N, neighbours)) with only new data forwarded.
 *
 * Messages for unknown channels are relayed (broadcast/unicast) but not interpreted. A gossiper
 * that throws on bad data gets the message counted and dropped; the connection is untouched.
 */
export class GossipHub {
  private readonly channels = new Map<string, Gossiper>();

  constructor(
    private readonly transport: GossipTransport,
    private readonly metrics: MeshMetrics,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** Register a channel. Throws WEFT_ERR_BAD_ARGS if the name is taken. */
  register(name: string, gossiper: Gossiper): GossipChannel {
    if (this.channels.has(name)) throw new WeftError('WEFT_ERR_BAD_ARGS', `gossip channel "${name}" already registered`);
    this.channels.set(name, gossiper);
    return {
      name,
      unicast: (dst, msg) => this.sendUnicast(name, this.transport.self, dst, msg),
      broadcast: (update) => this.relayBroadcast(name, this.transport.self, update, null),
      gossip: (update) => this.sendGossip(name, update, null),
    };
  }

  /** Send every channel's full state down one (new) connection. */
  sendAllTo(peer: { send(m: ControlMessage): void }): void {
    for (const [channel, g] of this.channels) {
      const data = this.safe(channel, () => g.gossip());
      if (data) {
        peer.send({ tag: Tag.Gossip, channel, payload: data });
        this.metrics.gossip(channel, 'gossip', 'out', data.length);
      }
    }
  }

  /** Periodic full-state gossip of every channel to a random neighbour subset. */
  gossipAll(): void {
    for (const [channel, g] of this.channels) {
      const data = this.safe(channel, () => g.gossip());
      if (data) this.sendGossip(channel, data, null);
    }
  }

  /** Send raw channel data to a random neighbour subset (for built-in channels like topology). */
  gossipRaw(channel: string, payload: Buffer, except: PeerName | null): void {
    this.sendGossip(channel, payload, except);
  }

  /** Handle a gossip-family message that arrived from neighbour `from`. */
  handle(from: PeerName, msg: ControlMessage, bytes: number): void {
    switch (msg.tag) {
      case Tag.Gossip: {
        this.metrics.gossip(msg.channel, 'gossip', 'in', bytes);
        const g = this.channels.get(msg.channel);
        if (!g) return; // unknown channel: mergeable state can't be relayed meaningfully
        const delta = this.safe(msg.channel, () => g.onGossip(msg.payload));
        if (delta) this.sendGossip(msg.channel, delta, from);
        return;
      }
      case Tag.Broadcast: {
        this.metrics.gossip(msg.channel, 'broadcast', 'in', bytes);
        if (msg.src === this.transport.self) return;
        const g = this.channels.get(msg.channel);
        const relay = g ? this.safe(msg.channel, () => g.onGossipBroadcast(msg.src, msg.payload)) : msg.payload;
        if (relay) this.relayBroadcast(msg.channel, msg.src, relay, from);
        return;
      }
      case Tag.Unicast: {
        this.metrics.gossip(msg.channel, 'unicast', 'in', bytes);
        if (msg.dst === this.transport.self) {
          const g = this.channels.get(msg.channel);
          if (g) this.safe(msg.channel, () => g.onGossipUnicast(msg.src, msg.payload));
          return;
        }
        try {
          this.sendUnicast(msg.channel, msg.src, msg.dst, msg.payload);
        } catch (e) {
          this.log.debug({ channel: msg.channel, dst: msg.dst, err: describeError(e) }, 'cannot relay unicast');
        }
        return;
      }
      default:
        return;
    }
  }

  private sendUnicast(channel: string, src: PeerName, dst: PeerName, payload: Buffer): void {
    const neighbours = this.transport.neighbours();
    const hop = neighbours.has(dst) ? dst : this.transport.nextHopAll(dst);
    const conn = hop ? neighbours.get(hop) : undefined;
    if (!conn) throw new WeftError('WEFT_ERR_NO_ROUTE', `no route to peer ${dst}`);
    conn.send({ tag: Tag.Unicast, channel, src, dst, payload });
    this.metrics.gossip(channel, 'unicast', 'out', payload.length);
  }

  /**
   * Along `src`'s broadcast tree. Our own broadcasts also go to every established neighbour:
   * in steady state the tree rooted here already contains them all, but right after a
   * connection comes up the routes may not include it yet, and an update sent then would
   * otherwise wait for the next periodic gossip (30 s).
   */
  private relayBroadcast(channel: string, src: PeerName, payload: Buffer, from: PeerName | null): void {
    const neighbours = this.transport.neighbours();
    const hops = new Set(this.transport.broadcastNextHops(src));
    if (src === this.transport.self) for (const n of neighbours.keys()) hops.add(n);
    for (const hop of hops) {
      if (hop === from) continue;
      const conn = neighbours.get(hop);
      if (!conn) continue;
      conn.send({ tag: Tag.Broadcast, channel, src, payload });
      this.metrics.gossip(channel, 'broadcast', 'out', payload.length);
    }
  }

  private sendGossip(channel: string, payload: Buffer, except: PeerName | null): void {
    for (const conn of this.randomNeighbours(except)) {
      conn.send({ tag: Tag.Gossip, channel, payload });
      this.metrics.gossip(channel, 'gossip', 'out', payload.length);
    }
  }

  /** min(2·log2(N), neighbours) distinct random neighbours, excluding `except`. */
  private randomNeighbours(except: PeerName | null): { send(m: ControlMessage): void }[] {
    const all = [...this.transport.neighbours()].filter(([n]) => n !== except).map(([, c]) => c);
    const n = Math.max(2, this.transport.peerCount());
    const k = Math.min(all.length, Math.ceil(GOSSIP_FANOUT_FACTOR * Math.log2(n)));
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const a = all[i];
      const b = all[j];
      if (a === undefined || b === undefined) break;
      all[i] = b;
      all[j] = a;
    }
    return all.slice(0, k);
  }

  private safe<T>(channel: string, f: () => T): T | null {
    try {
      return f();
    } catch (e) {
      const reason = isWeftError(e) ? e.code.replace('WEFT_ERR_', '').toLowerCase() : 'exception';
      this.metrics.badInput('gossip', reason);
      this.log.warn({ channel, err: describeError(e) }, 'gossip message dropped');
      return null;
    }
  }
}
