import { WeftError } from '../common/index.js';

/**
 * Splits a TCP byte stream into length-prefixed frames (4-byte big-endian length, then the
 * frame). Memory is bounded: at most one partial frame of `maxFrame` bytes plus one read chunk
 * is held. A length over `maxFrame` throws WEFT_ERR_TOO_BIG before anything is buffered, so a
 * hostile peer cannot make us allocate. The limit can be raised once (after authentication).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  constructor(private maxFrame: number) {}

  /** Raise or lower the per-frame limit (e.g. from handshake size to message size). */
  setMaxFrame(n: number): void {
    this.maxFrame = n;
  }

  /** Bytes currently held (for tests and memory accounting). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Feed a chunk; returns every complete frame now available (possibly none). Throws
   * WEFT_ERR_TOO_BIG on an oversized length prefix; the caller must then close the stream.
   * Every frame is checked against the limit in force when *it* is reached, but all are
   * split before the caller sees the first: a caller that changes the limit after a frame
   * (the handshake's last message) must use {@link append} and {@link next} instead.
   */
  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    const out: Buffer[] = [];
    for (let f = this.next(); f !== null; f = this.next()) out.push(f);
    return out;
  }

  /** Buffer a chunk without splitting it (see {@link next}). */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete frame, or null until more bytes arrive. The length prefix is checked
   * against the limit in force now, so a limit raised after one frame applies to the next one
   * even when both came in the same chunk (a peer that finished the handshake may send its
   * first large message right behind its last handshake message). Throws WEFT_ERR_TOO_BIG.
   */
  next(): Buffer | null {
    if (this.buffered < 4) return null;
    const len = this.peek(4).readUInt32BE(0);
    if (len > this.maxFrame) {
      throw new WeftError('WEFT_ERR_TOO_BIG', `frame length ${len} exceeds limit ${this.maxFrame}`);
    }
    if (this.buffered < 4 + len) return null;
    this.take(4);
    return this.take(len);
  }

  /** Take exactly `n` raw bytes if available (used for the fixed-size prelude), else null. */
  takeRaw(n: number): Buffer | null {
    if (this.buffered < n) return null;
    return this.take(n);
  }

  /** The first `n` buffered bytes (callers check `buffered >= n` first). */
  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    // merge once: otherwise every later push re-copies the whole partial frame (quadratic in
    // its size when a peer trickles it after a split length prefix)
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  /** Remove and return the first `n` buffered bytes (callers check `buffered >= n` first). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const all = Buffer.concat(this.chunks);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}

/** Prefix a frame with its 4-byte big-endian length. */
export function lengthPrefixed(frame: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeUInt32BE(frame.length, 0);
  frame.copy(out, 4);
  return out;
}
