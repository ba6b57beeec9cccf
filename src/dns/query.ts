/**
 * The query path of the per-host DNS server, as pure functions over `dns-packet` (no packet
 * code of our own): decide what one incoming message gets — an answer from the name table for
 * the weft domain (A/AAAA, several addresses, TTL DNS_TTL_S, NXDOMAIN for unknown names), a
 * forward to the upstream resolvers for every other name, or a refusal of a malformed message
 * (FORMERR when its header is readable, silence when it is not or when it is a response). No I/O:
 * the daemon's DnsServer does the sockets and counts the outcomes.
 */
import dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';
import { DNS_MAX_ANSWERS, DNS_MAX_MESSAGE_BYTES, DNS_TTL_S, DNS_UDP_MIN_PAYLOAD } from '../common/index.js';
import { classifyQueryName } from './names.js';
import type { NameAddresses } from './name-table.js';

/** DNS header length. bytes */
const HEADER_BYTES = 12;
/** Largest UDP payload we advertise and honour from a client's EDNS option. bytes */
const MAX_UDP_PAYLOAD = 1232;
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODE;

/** Why a message was refused (a metric label: stable, few values). */
export type RefusalReason = 'short' | 'oversized' | 'undecodable' | 'trailing-bytes' | 'not-a-query' | 'question-count' | 'opcode' | 'bad-name';

/**
 * Why a decoded question name cannot be echoed back safely, or null. dns-packet decodes label
 * bytes as UTF-8 (a 0xff byte becomes a 3-byte replacement character) and keeps dots inside a
 * label, so a name is taken only when it is printable ASCII with labels of at most 63 bytes:
 * then the reply's question encodes to a valid name again.
 */
function questionNameProblem(name: string): string | null {
  if (name === '.' || name === '') return null;
  if (!/^[\x21-\x7e]+$/.test(name)) return 'the name has bytes outside printable ASCII';
  if (name.length > 253) return 'the name is longer than 253 characters';
  if (name.split('.').some((l) => l.length === 0 || l.length > 63)) return 'the name has an empty label or one longer than 63 bytes';
  return null;
}

/** What one message gets. */
export type QueryOutcome =
  | { readonly kind: 'answer'; readonly reply: Buffer; readonly rcode: Rcode; readonly answers: number; readonly truncated: boolean }
  | { readonly kind: 'forward'; readonly id: number; readonly question: Question; readonly udpLimit: number }
  | { readonly kind: 'refused'; readonly reason: RefusalReason; readonly detail: string; readonly reply: Buffer | null };

/** What the query path reads. */
export interface QueryContext {
  /** The weft domain, normalised (`weft.local`). */
  readonly domain: string;
  /** Addresses of a relative name, undefined for an unknown name. */
  lookup(rel: string): NameAddresses | undefined;
  /** How the message came: UDP answers are kept under the client's payload size (TC when cut). */
  readonly transport: 'udp' | 'tcp';
}

/** Decide what `msg` gets. Never throws: everything malformed is a `refused` outcome. */
export function handleQuery(msg: Buffer, ctx: QueryContext): QueryOutcome {
  if (msg.length < HEADER_BYTES) return refused('short', `${msg.length} bytes, shorter than a DNS header`, null);
  const id = msg.readUInt16BE(0);
  if (msg.length > DNS_MAX_MESSAGE_BYTES) return refused('oversized', `${msg.length} bytes`, null);
  if ((msg[2]! & 0x80) !== 0) return refused('not-a-query', 'the QR bit is set (a response)', null);
  let q: Packet;
  try {
    q = dnsPacket.decode(msg);
  } catch (e) {
    return refused('undecodable', e instanceof Error ? e.message : String(e), errorReply(id, [], RCODE.FORMERR));
  }
  if (dnsPacket.decode.bytes !== msg.length) {
    return refused('trailing-bytes', `${msg.length - dnsPacket.decode.bytes} bytes after the message`, errorReply(id, [], RCODE.FORMERR));
  }
  const questions = q.questions ?? [];
  const opcode = (msg[2]! >> 3) & 0xf;
  if (opcode !== 0) return refused('opcode', `opcode ${opcode} is not QUERY`, errorReply(id, [], RCODE.NOTIMP));
  if (questions.length !== 1) return refused('question-count', `${questions.length} questions (one is served)`, errorReply(id, [], RCODE.FORMERR));
  const question = questions[0]!;
  const np = questionNameProblem(question.name);
  if (np) return refused('bad-name', np, errorReply(id, [], RCODE.FORMERR));
  const rd = (msg[2]! & 0x01) !== 0;
  const udpLimit = clientUdpLimit(q);
  const where = classifyQueryName(question.name, ctx.domain);
  if (!where.inDomain) return { kind: 'forward', id, question, udpLimit };

  const cls = question.class ?? 'IN';
  if (cls !== 'IN' && cls !== 'ANY') return answer(id, rd, question, RCODE.REFUSED, [], q, ctx.transport, udpLimit);
  const found = where.rel === '' ? { v4: [], v6: [] } : ctx.lookup(where.rel);
  if (!found) return answer(id, rd, question, RCODE.NXDOMAIN, [], q, ctx.transport, udpLimit);
  const ips = question.type === 'A' ? found.v4 : question.type === 'AAAA' ? found.v6
    : (question.type as string) === 'ANY' ? [...found.v4, ...found.v6] : [];
  const answers: Answer[] = ips.slice(0, DNS_MAX_ANSWERS).map((ip) => ({
    type: ip.includes(':') ? 'AAAA' : 'A', name: question.name, class: 'IN', ttl: DNS_TTL_S, data: ip,
  }));
  return answer(id, rd, question, RCODE.NOERROR, answers, q, ctx.transport, udpLimit);
}

/** A SERVFAIL for a query that could not be forwarded (no upstream answered). */
export function servfail(id: number, question: Question): Buffer {
  return errorReply(id, [question], RCODE.SERVFAIL, true);
}

/** The largest UDP reply the client takes (RFC 6891: its OPT payload size, at least 512). bytes */
export function clientUdpLimit(q: Packet): number {
  const opt = (q.additionals ?? []).find((a): a is Extract<Answer, { type: 'OPT' }> => a.type === 'OPT');
  if (!opt) return DNS_UDP_MIN_PAYLOAD;
  return Math.min(MAX_UDP_PAYLOAD, Math.max(DNS_UDP_MIN_PAYLOAD, opt.udpPayloadSize));
}

/**
 * Check an upstream's reply to a forwarded query: it must decode, be a response with the
 * query's id and its one question. `truncated` when the TC bit is set (retry over TCP).
 */
export function checkUpstreamReply(reply: Buffer, id: number, question: Question): { ok: true; truncated: boolean } | { ok: false; why: string } {
  if (reply.length < HEADER_BYTES) return { ok: false, why: 'shorter than a DNS header' };
  let r: Packet;
  try {
    r = dnsPacket.decode(reply);
  } catch (e) {
    return { ok: false, why: `undecodable: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (r.type !== 'response') return { ok: false, why: 'not a response' };
  if (r.id !== id) return { ok: false, why: `id ${r.id} is not the query's ${id}` };
  const rq = r.questions ?? [];
  // A truncated reply may come without its question section.
  if (rq.length > 0 && (rq.length !== 1 || rq[0]!.name.toLowerCase() !== question.name.toLowerCase() || rq[0]!.type !== question.type)) {
    return { ok: false, why: 'its question is not the query\'s' };
  }
  return { ok: true, truncated: (reply[2]! & 0x02) !== 0 };
}

function refused(reason: RefusalReason, detail: string, reply: Buffer | null): QueryOutcome {
  return { kind: 'refused', reason, detail, reply };
}

function errorReply(id: number, questions: Question[], rcode: number, ra = false): Buffer {
  return dnsPacket.encode({ type: 'response', id, flags: rcode | (ra ? dnsPacket.RECURSION_AVAILABLE : 0), questions });
}

function answer(id: number, rd: boolean, question: Question, rcode: number, answers: Answer[], q: Packet,
  transport: 'udp' | 'tcp', udpLimit: number): QueryOutcome {
  const edns = (q.additionals ?? []).some((a) => a.type === 'OPT');
  const additionals: Answer[] = edns ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
  const base = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (rd ? dnsPacket.RECURSION_DESIRED : 0) | rcode;
  const limit = transport === 'udp' ? udpLimit : DNS_MAX_MESSAGE_BYTES;
  const packet = (list: Answer[], flags: number): Packet => ({ type: 'response', id, flags, questions: [question], answers: list, additionals });
  let kept = answers;
  let length = dnsPacket.encodingLength(packet(kept, base));
  let truncated = false;
  while (length > limit && kept.length > 0) {
    truncated = true;
    kept = kept.slice(0, Math.max(0, Math.min(kept.length - 1, Math.floor(kept.length * limit / length))));
    length = dnsPacket.encodingLength(packet(kept, base));
  }
  const reply = dnsPacket.encode(packet(kept, truncated ? base | dnsPacket.TRUNCATED_RESPONSE : base));
  const name = (Object.keys(RCODE) as Rcode[]).find((k) => RCODE[k] === rcode) ?? 'NOERROR';
  return { kind: 'answer', reply, rcode: name, answers: kept.length, truncated };
}
