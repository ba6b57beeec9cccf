import { randomBytes } from 'node:crypto';
import { WeftError } from '../common/index.js';
import type { Gossiper, GossipChannel, PeerName } from './gossip-types.js';

/** Name of the gossip channel carrying mesh pings. */
export const PING_CHANNEL = 'ping';
const KIND_REQUEST = 1;
const KIND_REPLY = 2;
/** Most pings in flight at once. count */
const MAX_IN_FLIGHT = 64;

/**
 * Control-plane reachability check (`weft ping PEER`): a unicast request routed hop by hop over
 * the mesh and a unicast reply. Proves that two peers can exchange gossip even without a
 * direct connection (relays). Message: [kind u8][id 8 B]. Lifecycle: lives as long as the
 * router; pending pings reject on timeout.
 */
export class PeerPing implements Gossiper {
  private channel: GossipChannel | null = null;
  private readonly pending = new Map<string, { resolve: (ms: number) => void; started: number }>();

  attach(channel: GossipChannel): void {
    this.channel = channel;
  }

  /** Ping `peer`; resolves with the round-trip time in ms. */
  ping(peer: PeerName, timeoutMs = 5000): Promise<number> {
    if (!this.channel) throw new WeftError('WEFT_ERR_CLOSED', 'mesh not started');
    if (this.pending.size >= MAX_IN_FLIGHT) throw new WeftError('WEFT_ERR_RATE_LIMIT', 'too many pings in flight');
    const id = randomBytes(8);
    const key = id.toString('hex');
    const msg = Buffer.concat([Buffer.from([KIND_REQUEST]), id]);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new WeftError('WEFT_ERR_TIMEOUT', `no reply from peer ${peer} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, { started: performance.now(), resolve: (ms) => { clearTimeout(timer); resolve(ms); } });
      try {
        this.channel!.unicast(peer, msg);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(key);
        reject(e);
      }
    });
  }

  onGossipUnicast(src: PeerName, msg: Buffer): void {
    if (msg.length !== 9) throw new WeftError('WEFT_ERR_DECODE', `ping message of ${msg.length} bytes (want 9)`);
    if (msg[0] === KIND_REQUEST) {
      const reply = Buffer.from(msg);
      reply[0] = KIND_REPLY;
      this.channel?.unicast(src, reply);
    } else if (msg[0] === KIND_REPLY) {
      const key = msg.subarray(1).toString('hex');
      const p = this.pending.get(key);
      if (!p) return;
      this.pending.delete(key);
      p.resolve(performance.now() - p.started);
    } else {
      throw new WeftError('WEFT_ERR_DECODE', `unknown ping kind ${msg[0]}`);
    }
  }

  onGossipBroadcast(): Buffer | null {
    return null;
  }

  onGossip(): Buffer | null {
    return null;
  }

  gossip(): Buffer | null {
    return null;
  }
}
