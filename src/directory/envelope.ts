/**
 * The length-checked envelope gossip channels of this folder (and src/dns's) use: a small binary header
 * and one JSON document. Decoding checks the header, the declared length against the buffer and
 * the hard cap, and parses the JSON; the caller validates the document's shape (every decoded
 * object is checked again by object-check.ts, so a peer cannot inject a malformed object).
 *
 * Layout: u8 wire version (1) | u8 kind | u32 JSON length | JSON (UTF-8), nothing after.
 */
import { POLICY_GOSSIP_MAX_BYTES, WeftError } from '../common/index.js';

const WIRE_VERSION = 1;
const HEADER_BYTES = 6;

/** What an envelope carries. */
export const ENVELOPE_KIND = { workloads: 1, policy: 2, dns: 3 } as const;
export type EnvelopeKind = keyof typeof ENVELOPE_KIND;

/** Encode; WEFT_ERR_TOO_BIG when the JSON exceeds POLICY_GOSSIP_MAX_BYTES (callers keep under it). */
export function encodeEnvelope(kind: EnvelopeKind, doc: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(doc), 'utf8');
  if (json.length + HEADER_BYTES > POLICY_GOSSIP_MAX_BYTES) {
    throw new WeftError('WEFT_ERR_TOO_BIG', `${kind} gossip: message of ${json.length} bytes exceeds ${POLICY_GOSSIP_MAX_BYTES}`);
  }
  const head = Buffer.alloc(HEADER_BYTES);
  head[0] = WIRE_VERSION;
  head[1] = ENVELOPE_KIND[kind];
  head.writeUInt32BE(json.length, 2);
  return Buffer.concat([head, json]);
}

/** Bytes {@link encodeEnvelope} would produce for `doc` (for packing messages under the cap). */
export function envelopeSize(doc: unknown): number {
  return HEADER_BYTES + Buffer.byteLength(JSON.stringify(doc), 'utf8');
}

/** Decode to the JSON value; WEFT_ERR_DECODE naming the problem for anything malformed. */
export function decodeEnvelope(kind: EnvelopeKind, buf: Buffer): unknown {
  const bad = (what: string) => new WeftError('WEFT_ERR_DECODE', `${kind} gossip: ${what}`);
  if (buf.length < HEADER_BYTES) throw bad('truncated header');
  if (buf.length > POLICY_GOSSIP_MAX_BYTES) throw bad(`message of ${buf.length} bytes exceeds ${POLICY_GOSSIP_MAX_BYTES}`);
  if (buf[0] !== WIRE_VERSION) throw bad(`unknown wire version ${buf[0]}`);
  if (buf[1] !== ENVELOPE_KIND[kind]) throw bad(`wrong message kind ${buf[1]}`);
  const len = buf.readUInt32BE(2);
  if (len !== buf.length - HEADER_BYTES) throw bad(`declared length ${len} does not match the ${buf.length - HEADER_BYTES} bytes present`);
  const text = buf.subarray(HEADER_BYTES).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bad('body is not valid JSON');
  }
}
