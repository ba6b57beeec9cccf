import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { isWeftError } from '../common/index.js';
import { DnsRecordStore } from './record-store.js';
import { NameTable } from './name-table.js';
import { handleQuery, checkUpstreamReply } from './query.js';
import { classifyQueryName, dnsNameProblem, relativeName } from './names.js';
import { parseResolvConf } from './resolv.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';

test('names: syntax, relative to the domain, query classification', () => {
  assert.equal(dnsNameProblem('web-1.prod'), null);
  assert.match(dnsNameProblem('-web') ?? '', /not at either end/);
  assert.match(dnsNameProblem('a..b') ?? '', /empty label/);
  assert.match(dnsNameProblem('x'.repeat(64)) ?? '', /longer than 63/);
  assert.equal(relativeName('DB.weft.local.', 'weft.local'), 'db');
  assert.equal(relativeName('db', 'weft.local'), 'db');
  assert.deepEqual(classifyQueryName('Web.Weft.Local', 'weft.local'), { inDomain: true, rel: 'web' });
  assert.deepEqual(classifyQueryName('weft.local', 'weft.local'), { inDomain: true, rel: '' });
  assert.deepEqual(classifyQueryName('example.com', 'weft.local'), { inDomain: false });
  assert.deepEqual(classifyQueryName('notweft.local', 'weft.local'), { inDomain: false });
});

test('record store: add, remove one or all, tombstones win everywhere, persisted state round-trips', () => {
  const a = new DnsRecordStore();
  const b = new DnsRecordStore();
  const up = a.add('Svc', ['10.0.0.1', '10.0.0.2'], 1000, A);
  assert.deepEqual(up.changed, ['10.0.0.1', '10.0.0.2']);
  assert.ok(b.onGossipBroadcast(A, up.update!));
  assert.deepEqual(b.live().get('svc'), ['10.0.0.1', '10.0.0.2']);
  const rm = b.remove('svc', ['10.0.0.1'], 900, B); // a clock behind still wins locally
  assert.deepEqual(rm.changed, ['10.0.0.1']);
  assert.ok(a.onGossip(rm.update!));
  assert.deepEqual(a.live().get('svc'), ['10.0.0.2']);
  assert.equal(a.onGossipBroadcast(A, up.update!), null, 'the old add does not resurrect the address');
  const all = a.remove('svc', [], 2000, A);
  assert.deepEqual(all.changed, ['10.0.0.2']);
  assert.equal(a.live().size, 0);
  const c = new DnsRecordStore();
  assert.equal(c.load(a.serialize()), 2);
  assert.deepEqual(c.list(), a.list());
  assert.equal(a.add('svc', ['10.0.0.2'], 1, A).changed.length, 1, 're-adding after a remove writes above its stamp');
  assert.deepEqual(a.live().get('svc'), ['10.0.0.2']);
  assert.throws(() => a.add('bad name', ['10.0.0.1'], 1, A), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && /invalid name "bad name"/.test(e.message));
  assert.throws(() => a.add('x', ['10.0.0.300'], 1, A), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && /invalid address/.test(e.message));
  assert.throws(() => c.load('{"entries":[{"name":"A","ip":"1.2.3.4","ms":1,"origin":"02:00:00:00:00:01","live":true}]}'),
    (e) => isWeftError(e, 'WEFT_ERR_DECODE') && /entries\[0\]: field "name"/.test(e.message));
});

test('record stores converge whatever the delivery order (property)', () => {
  const op = fc.record({ add: fc.boolean(), name: fc.constantFrom('a', 'b'), ip: fc.constantFrom('10.0.0.1', '10.0.0.2'), ms: fc.integer({ min: 0, max: 50 }), origin: fc.constantFrom(A, B) });
  fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 12 }), fc.func(fc.integer()), (ops, order) => {
    const src = new DnsRecordStore();
    const msgs = ops.map((o) => (o.add ? src.add(o.name, [o.ip], o.ms, o.origin) : src.remove(o.name, [o.ip], o.ms, o.origin)).update).filter((m): m is Buffer => m !== null);
    const shuffled = [...msgs].sort((x, y) => order(x.length) - order(y.length));
    const dst = new DnsRecordStore();
    for (const m of [...shuffled, ...shuffled]) dst.onGossip(m);
    assert.deepEqual(dst.list(), src.list());
  }), { numRuns: 200 });
});

test('name table: workloads and manual records together, several addresses, bad names skipped', () => {
  const t = new NameTable([
    { name: 'web', ips: ['10.32.0.11'] }, { name: 'Web', ips: ['10.32.0.3'] }, { name: 'db', ips: ['fd00::5', '10.32.0.12'] },
    { name: '-bad', ips: ['10.32.0.9'] },
  ], new Map([['web', ['10.32.0.11', '10.40.0.1']]]));
  assert.deepEqual(t.lookup('web'), { v4: ['10.32.0.3', '10.32.0.11', '10.40.0.1'], v6: [] });
  assert.deepEqual(t.lookup('db'), { v4: ['10.32.0.12'], v6: ['fd00::5'] });
  assert.equal(t.lookup('nope'), undefined);
  assert.equal(t.skipped, 1);
});

const table = new NameTable([{ name: 'web', ips: Array.from({ length: 40 }, (_, i) => `10.32.1.${i + 1}`) }, { name: 'db', ips: ['10.32.0.12', 'fd00::5'] }], new Map());
const ctx = (transport: 'udp' | 'tcp' = 'udp') => ({ domain: 'weft.local', lookup: (r: string) => table.lookup(r), transport });
type Decoded = { id?: number; rcode?: string; flag_aa?: boolean; flag_rd?: boolean; flag_tc?: boolean; answers?: (Answer & { data?: unknown; ttl?: number })[] };
const decode = (b: Buffer) => dnsPacket.decode(b) as Decoded;
const query = (name: string, type: 'A' | 'AAAA' | 'TXT' = 'A', edns = false) => dnsPacket.encode({
  type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }],
  ...(edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } : {}),
});

test('query path: A and AAAA answers with a short TTL, NXDOMAIN, forward, truncation over UDP', () => {
  const a = handleQuery(query('DB.weft.local'), ctx());
  assert.equal(a.kind, 'answer');
  const r = decode((a as { reply: Buffer }).reply);
  assert.equal(r.id, 4242);
  assert.equal(r.rcode, 'NOERROR');
  assert.ok(r.flag_aa && r.flag_rd);
  assert.deepEqual(r.answers?.map((x) => [x.name, x.type, x.ttl, x.data]), [['DB.weft.local', 'A', 1, '10.32.0.12']]);
  const six = decode((handleQuery(query('db.weft.local', 'AAAA'), ctx()) as { reply: Buffer }).reply);
  assert.deepEqual(six.answers?.map((x) => x.data), ['fd00::5']);
  const nx = handleQuery(query('nope.weft.local'), ctx());
  assert.equal(nx.kind === 'answer' && nx.rcode, 'NXDOMAIN');
  const txt = decode((handleQuery(query('db.weft.local', 'TXT'), ctx()) as { reply: Buffer }).reply);
  assert.equal(txt.rcode, 'NOERROR');
  assert.equal(txt.answers?.length, 0);
  const fwd = handleQuery(query('example.com'), ctx());
  assert.equal(fwd.kind, 'forward');
  assert.equal(fwd.kind === 'forward' && fwd.udpLimit, 512);
  const many = handleQuery(query('web.weft.local'), ctx());
  assert.ok(many.kind === 'answer' && many.truncated && many.reply.length <= 512, 'cut to 512 bytes over UDP, TC set');
  assert.ok(decode((many as { reply: Buffer }).reply).flag_tc);
  const edns = handleQuery(query('web.weft.local', 'A', true), ctx());
  assert.ok(edns.kind === 'answer' && !edns.truncated && edns.answers === 24, 'EDNS: up to DNS_MAX_ANSWERS in 1232 bytes');
  const tcp = handleQuery(query('web.weft.local'), ctx('tcp'));
  assert.ok(tcp.kind === 'answer' && !tcp.truncated && tcp.answers === 24);
});

test('query path: malformed messages are refused with a reason, FORMERR only when the header is readable', () => {
  const q = query('db.weft.local');
  const cases: [Buffer, string, boolean][] = [
    [Buffer.alloc(5), 'short', false],
    [Buffer.concat([q, Buffer.from([0])]), 'trailing-bytes', true],
    [q.subarray(0, q.length - 3), 'undecodable', true],
    [(() => { const b = Buffer.from(q); b[2] = b[2]! | 0x80; return b; })(), 'not-a-query', false],
    [(() => { const b = Buffer.from(q); b[2] = (b[2]! & 0x87) | (2 << 3); return b; })(), 'opcode', true],
    [dnsPacket.encode({ type: 'query', id: 1, questions: [] }), 'question-count', true],
  ];
  for (const [msg, reason, replies] of cases) {
    const o = handleQuery(msg, ctx());
    assert.equal(o.kind, 'refused', reason);
    if (o.kind !== 'refused') continue;
    assert.equal(o.reason, reason);
    assert.equal(o.reply !== null, replies, reason);
    if (o.reply) assert.equal(dnsPacket.decode(o.reply).type, 'response');
  }
});

test('upstream replies are checked: id, response bit, question', () => {
  const q = { type: 'A' as const, name: 'example.com' };
  const good = dnsPacket.encode({ type: 'response', id: 7, questions: [q], answers: [{ type: 'A', name: 'example.com', data: '192.0.2.1' }] });
  assert.deepEqual(checkUpstreamReply(good, 7, q), { ok: true, truncated: false });
  assert.equal(checkUpstreamReply(good, 8, q).ok, false);
  assert.equal(checkUpstreamReply(dnsPacket.encode({ type: 'response', id: 7, questions: [{ type: 'A', name: 'evil.com' }] }), 7, q).ok, false);
  assert.equal(checkUpstreamReply(dnsPacket.encode({ type: 'query', id: 7, questions: [q] }), 7, q).ok, false);
  assert.equal(checkUpstreamReply(Buffer.alloc(3), 7, q).ok, false);
});

test('resolv.conf: nameservers in order, bad lines skipped', () => {
  assert.deepEqual(parseResolvConf('# x\nnameserver 192.0.2.1\nsearch a\nnameserver fe80::1%eth0\nnameserver bogus\nnameserver 192.0.2.1\n'),
    [{ host: '192.0.2.1', port: 53 }, { host: 'fe80::1', port: 53 }]);
});
