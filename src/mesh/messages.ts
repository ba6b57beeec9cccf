import { WeftError, PEER_NAME_BYTES } from '../common/index.js';
import type { PeerName } from './gossip-types.js';
import { peerNameFromBytes, peerNameToBytes } from '../net/index.js';

/**
 * Post-handshake control messages: each decrypted frame is `[tag u8][body]`.
 * Bodies are bounds-checked on decode; any violation is WEFT_ERR_DECODE (the router counts it
 * and drops the message; the connection stays up unless the frame failed authentication).
 */
export const enum Tag {
  Heartbeat = 0,
  Close = 1,
  Gossip = 2,
  Broadcast = 3,
  Unicast = 4,
  Overlay = 5,
}
export const TAG_NAMES = ['heartbeat', 'close', 'gossip', 'broadcast', 'unicast', 'overlay'];

/** Longest gossip channel name. bytes */
export const MAX_CHANNEL_NAME = 32;

export type ControlMessage =
  | { tag: Tag.Heartbeat }
  | { tag: Tag.Close; reason: string }
  | { tag: Tag.Gossip; channel: string; payload: Buffer }
  | { tag: Tag.Broadcast; channel: string; src: PeerName; payload: Buffer }
  | { tag: Tag.Unicast; channel: string; src: PeerName; dst: PeerName; payload: Buffer }
  | { tag: Tag.Overlay; payload: Buffer };

function channelBytes(channel: string): Buffer {
  const c = Buffer.from(channel, 'utf8');
  if (c.length === 0 || c.length > MAX_CHANNEL_NAME) {
    throw new WeftError('WEFT_ERR_BAD_ARGS', `bad gossip channel name "${channel}"`);
  }
  return c;
}

/** Encode a control message into its plaintext frame. */
export function encodeMessage(m: ControlMessage): Buffer {
  switch (m.tag) {
    case Tag.Heartbeat:
      return Buffer.from([Tag.Heartbeat]);
    case Tag.Close:
      return Buffer.concat([Buffer.from([Tag.Close]), Buffer.from(m.reason.slice(0, 200), 'utf8')]);
    case Tag.Overlay:
      return Buffer.concat([Buffer.from([Tag.Overlay]), m.payload]);
    case Tag.Gossip: {
      const c = channelBytes(m.channel);
      return Buffer.concat([Buffer.from([Tag.Gossip, c.length]), c, m.payload]);
    }
    case Tag.Broadcast: {
      const c = channelBytes(m.channel);
      const head = Buffer.alloc(2 + c.length + PEER_NAME_BYTES);
      head[0] = Tag.Broadcast;
      head[1] = c.length;
      c.copy(head, 2);
      peerNameToBytes(m.src, head, 2 + c.length);
      return Buffer.concat([head, m.payload]);
    }
    case Tag.Unicast: {
      const c = channelBytes(m.channel);
      const head = Buffer.alloc(2 + c.length + 2 * PEER_NAME_BYTES);
      head[0] = Tag.Unicast;
      head[1] = c.length;
      c.copy(head, 2);
      peerNameToBytes(m.src, head, 2 + c.length);
      peerNameToBytes(m.dst, head, 2 + c.length + PEER_NAME_BYTES);
      return Buffer.concat([head, m.payload]);
    }
  }
}

function need(b: Buffer, n: number, what: string): void {
  if (b.length < n) {
    throw new WeftError('WEFT_ERR_DECODE', `${what}: needed ${n} bytes, have ${b.length}`);
  }
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

function readChannel(b: Buffer): { channel: string; at: number } {
  need(b, 2, 'channel name length');
  const len = b.readUInt8(1);
  if (len === 0 || len > MAX_CHANNEL_NAME) {
    throw new WeftError('WEFT_ERR_DECODE', `bad channel name length ${len}`);
  }
  need(b, 2 + len, 'channel name');
  // Strict UTF-8: a lenient decode turns bad bytes into U+FFFD (3 bytes each), giving a name
  // the encoder refuses (over 32 bytes), so relaying the message would throw.
  let channel: string;
  try {
    channel = utf8Fatal.decode(b.subarray(2, 2 + len));
  } catch {
    throw new WeftError('WEFT_ERR_DECODE', 'channel name is not valid UTF-8');
  }
  return { channel, at: 2 + len };
}

/** Decode a plaintext frame. Throws WEFT_ERR_DECODE on any malformation. */
export function decodeMessage(b: Buffer): ControlMessage {
  need(b, 1, 'message tag');
  switch (b[0]) {
    case Tag.Heartbeat:
      return { tag: Tag.Heartbeat };
    case Tag.Close:
      return { tag: Tag.Close, reason: b.toString('utf8', 1, Math.min(b.length, 201)) };
    case Tag.Overlay:
      return { tag: Tag.Overlay, payload: b.subarray(1) };
    case Tag.Gossip: {
      const { channel, at } = readChannel(b);
      return { tag: Tag.Gossip, channel, payload: b.subarray(at) };
    }
    case Tag.Broadcast: {
      const { channel, at } = readChannel(b);
      need(b, at + PEER_NAME_BYTES, 'broadcast source');
      return { tag: Tag.Broadcast, channel, src: peerNameFromBytes(b, at), payload: b.subarray(at + PEER_NAME_BYTES) };
    }
    case Tag.Unicast: {
      const { channel, at } = readChannel(b);
      need(b, at + 2 * PEER_NAME_BYTES, 'unicast addresses');
      return {
        tag: Tag.Unicast, channel, src: peerNameFromBytes(b, at),
        dst: peerNameFromBytes(b, at + PEER_NAME_BYTES), payload: b.subarray(at + 2 * PEER_NAME_BYTES),
      };
    }
    default:
      throw new WeftError('WEFT_ERR_DECODE', `unknown message tag ${b[0]}`);
  }
}

/** What each side tells the other inside the handshake (encrypted): its incarnation and port. */
export interface Hello {
  uid: bigint;
  nickname: string;
  /** TCP port this peer listens on (so others can dial it when it connected inbound). */
  listenPort: number;
}

const HELLO_VERSION = 1;

export function encodeHello(h: Hello): Buffer {
  const nick = Buffer.from(h.nickname.slice(0, 64), 'utf8');
  const b = Buffer.alloc(1 + 8 + 2 + 1 + nick.length);
  b[0] = HELLO_VERSION;
  b.writeBigUInt64BE(h.uid, 1);
  b.writeUInt16BE(h.listenPort, 9);
  b[11] = nick.length;
  nick.copy(b, 12);
  return b;
}

export function decodeHello(b: Buffer): Hello {
  need(b, 12, 'hello');
  if (b[0] !== HELLO_VERSION) throw new WeftError('WEFT_ERR_DECODE', `unknown hello version ${b[0]}`);
  const len = b.readUInt8(11);
  need(b, 12 + len, 'hello nickname');
  return { uid: b.readBigUInt64BE(1), listenPort: b.readUInt16BE(9), nickname: b.toString('utf8', 12, 12 + len) };
}
