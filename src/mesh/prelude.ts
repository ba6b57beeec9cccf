import {
  PROTOCOL_MAGIC, PROTOCOL_MIN_VERSION, PROTOCOL_MAX_VERSION, PRELUDE_BYTES, WeftError,
} from '../common/index.js';

/**
 * The 6-byte prelude each side sends first: "weft" + minVersion + maxVersion.
 *
 * Negotiation (rolling-upgrade rules): the connection uses v = min(ourMax, theirMax), provided
 * v >= max(ourMin, theirMin); otherwise both sides close with WEFT_ERR_VERSION. A release that
 * adds protocol version k+1 keeps speaking k (min stays ≤ k) for at least one release, so a
 * cluster can be upgraded one host at a time; only a later release raises its minimum. The
 * two preludes are the handshake prologue, so an attacker who rewrites them breaks the
 * handshake instead of forcing a downgrade.
 */
export function encodePrelude(min = PROTOCOL_MIN_VERSION, max = PROTOCOL_MAX_VERSION): Buffer {
  const b = Buffer.alloc(PRELUDE_BYTES);
  PROTOCOL_MAGIC.copy(b, 0);
  b[4] = min;
  b[5] = max;
  return b;
}

/** Validate the remote prelude and return the negotiated version. */
export function negotiateVersion(
  remote: Buffer, ourMin = PROTOCOL_MIN_VERSION, ourMax = PROTOCOL_MAX_VERSION,
): number {
  if (remote.length !== PRELUDE_BYTES || !remote.subarray(0, 4).equals(PROTOCOL_MAGIC)) {
    throw new WeftError('WEFT_ERR_DECODE', 'not a weft peer (bad protocol magic)');
  }
  const theirMin = remote.readUInt8(4);
  const theirMax = remote.readUInt8(5);
  if (theirMin > theirMax) {
    throw new WeftError('WEFT_ERR_DECODE', `bad version range ${theirMin}..${theirMax}`);
  }
  const v = Math.min(ourMax, theirMax);
  if (v < Math.max(ourMin, theirMin)) {
    throw new WeftError('WEFT_ERR_VERSION',
      `no common protocol version: ours ${ourMin}..${ourMax}, theirs ${theirMin}..${theirMax}`);
  }
  return v;
}
