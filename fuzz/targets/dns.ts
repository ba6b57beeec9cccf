/**
 * Service discovery's decoders: the DNS server's query path (src/dns/query.ts handleQuery, over
 * dns-packet) and the gossip of the manual-record store (src/dns/record-store.ts on the shared
 * LwwTable). The query path never throws: every input is an answer, a forward or a refusal, and
 * whatever goes back on the wire is a well-formed response with the query's id.
 */
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { Answer, RecordType } from 'dns-packet';
import { DnsRecordStore, NameTable, handleQuery, type DnsRecordEntry } from '../../src/dns/index.js';
import { encodeEnvelope } from '../../src/directory/index.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { peerName, same, sameBytes } from './common.js';
import { mutateJson } from './json.js';

const table = new NameTable([
  { name: 'web', ips: Array.from({ length: 30 }, (_, i) => `10.32.1.${i + 1}`) }, { name: 'db', ips: ['10.32.0.12', 'fd00::5'] },
], new Map([['svc', ['10.40.0.1']]]));
const NAMES = ['web.weft.local', 'DB.weft.local', 'svc.weft.local', 'nope.weft.local', 'weft.local', 'example.com', 'a.b.c.d.e', '.', 'x'.repeat(63) + '.weft.local'];
const TYPES: RecordType[] = ['A', 'AAAA', 'TXT', 'MX', 'SRV', 'PTR', 'ANY' as RecordType, 'SOA', 'CNAME'];

function validQuery(rng: Rng): Buffer {
  const edns: Answer[] = rng.chance(0.5)
    ? [{ type: 'OPT', name: '.', udpPayloadSize: rng.pick([0, 512, 1232, 4096, 65535]), extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: rng.chance(0.3), options: [] }]
    : [];
  return dnsPacket.encode({
    type: 'query', id: rng.int(65536), flags: rng.chance(0.8) ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name: rng.pick(NAMES), type: rng.pick(TYPES), class: rng.chance(0.9) ? 'IN' : rng.pick(['CH', 'ANY'] as const) }],
    additionals: edns,
  });
}

/** A reply on the wire must decode as a response to the same id and fit its transport. */
function checkReply(reply: Buffer, input: Buffer, transport: 'udp' | 'tcp'): void {
  const r = dnsPacket.decode(reply);
  assert.equal(r.type, 'response', 'a reply is a response');
  assert.equal(r.id, input.readUInt16BE(0), 'a reply carries the query id');
  if (transport === 'udp') assert.ok(reply.length <= 1232, `a UDP reply of ${reply.length} bytes`);
}

const dnsQuery: FuzzTarget = {
  name: 'dns-query',
  decoder: 'src/dns/query.ts handleQuery (dns-packet decode, the weft domain\'s answers, refusals)',
  codes: [],
  maxRandomBytes: 600,
  valid: validQuery,
  structured(rng) {
    const b = Buffer.from(validQuery(rng));
    // header counts and flags: many questions, answers in a query, opcodes, the QR bit
    b.writeUInt16BE(rng.pick([0, 1, 2, 0xffff]), 4 + 2 * rng.int(4));
    if (rng.chance(0.3)) b[2] = rng.int(256);
    return b;
  },
  run(input, isValid) {
    let refused = false;
    for (const transport of ['udp', 'tcp'] as const) {
      const o = handleQuery(input, { domain: 'weft.local', lookup: (rel) => table.lookup(rel), transport });
      if (isValid) assert.notEqual(o.kind, 'refused', `a valid query refused: ${o.kind === 'refused' ? o.detail : ''}`);
      if (o.kind === 'answer') checkReply(o.reply, input, transport);
      if (o.kind === 'refused' && o.reply) checkReply(o.reply, input, transport);
      if (o.kind === 'forward') assert.ok(o.udpLimit >= 512 && o.udpLimit <= 1232);
      if (o.kind === 'refused') refused = true;
    }
    // A refused message is this decoder's rejection (it answers FORMERR or drops, never throws).
    return refused ? 'ignored' : 'accepted';
  },
};

function recordEntries(rng: Rng): DnsRecordEntry[] {
  const seen = new Set<string>();
  const out: DnsRecordEntry[] = [];
  for (let i = rng.int(6); i > 0; i--) {
    const e: DnsRecordEntry = {
      name: rng.pick(['web', 'db', 'a.b', 'x_y-z']), ip: rng.pick(['10.32.0.1', '10.32.0.2', 'fd00::1', '192.0.2.9']),
      stamp: { ms: rng.pick([0, 1, 1_700_000_000_000 + rng.int(1e9)]), origin: peerName(rng) }, live: rng.chance(0.7),
    };
    if (seen.has(`${e.name} ${e.ip}`)) continue;
    seen.add(`${e.name} ${e.ip}`);
    out.push(e);
  }
  return out;
}

const toWire = (e: DnsRecordEntry) => ({ name: e.name, ip: e.ip, ms: e.stamp.ms, origin: e.stamp.origin, live: e.live });
const codec = new DnsRecordStore();

const dnsRecords: FuzzTarget = {
  name: 'dns-records',
  decoder: 'src/dns/record-store.ts DnsRecordStore.decode (directory LwwTable, envelope.ts) + onGossip',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => codec.encode(recordEntries(rng)),
  structured(rng) {
    const b = encodeEnvelope('dns', mutateJson(rng, { entries: recordEntries(rng).map(toWire) }));
    if (rng.chance(0.1)) b[rng.int(6)] = rng.int(256);
    return b;
  },
  run(input, isValid) {
    const entries = codec.decode(input);
    const again = codec.encode(entries);
    if (isValid) sameBytes(again, input, 'dns records');
    same(codec.decode(again), entries, 'dns records decode(encode(e))');
    const store = new DnsRecordStore();
    store.onGossip(input);
    assert.ok(store.list().length <= entries.length);
    for (const [, ips] of store.live()) assert.ok(ips.length > 0);
  },
};

export const DNS_TARGETS: readonly FuzzTarget[] = [dnsQuery, dnsRecords];
