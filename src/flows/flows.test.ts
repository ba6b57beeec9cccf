import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../common/index.js';
import { FlowRing, FLOW_RING_DEFAULT } from './ring.js';
import { parseFlowQuery } from './filter.js';
import { FlowRecorder, type FlowPodView } from './recorder.js';
import { mergeByTime } from './cluster.js';
import { decodeFlowMessage, encodeFlowMessage, encodeReplyBounded, FLOW_MESSAGE_MAX_BYTES } from './wire.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const PODS: Record<string, FlowPodView> = {
  '10.32.0.2': { namespace: 'default', name: 'client', labels: { app: 'client', tier: 'x'.repeat(40) }, host: 'h1', local: true },
  '10.32.0.3': { namespace: 'default', name: 'server', labels: { app: 'server' }, host: 'h2', local: false },
  '10.32.0.4': { namespace: 'prod', name: 'db', labels: { app: 'db' }, host: 'h1', local: true },
};

function recorder(ring: FlowRing, rate?: number): FlowRecorder {
  return new FlowRecorder({
    ring, self: 'h1', pod: (ip) => PODS[ip], pathToHost: () => 'vxlan',
    policiesFor: (d, ip) => (ip === '10.32.0.2' ? [{ namespace: 'default', name: 'deny-all', direction: d }] : []),
    ...(rate !== undefined ? { maxRecordsPerSecond: rate } : {}),
  });
}

const conn = (sport: number, type: 'new' | 'destroy' = 'new') => ({
  type, orig: { src: '10.32.0.2', dst: '10.32.0.3', proto: 6, sport, dport: 80 },
  ...(type === 'destroy' ? { origBytes: 100, origPackets: 2, replyBytes: 300, replyPackets: 3, tcpState: 'TIME_WAIT' } : {}),
});

test('the ring keeps the newest records, numbers them, counts what it overwrote; queries are newest-N oldest-first', () => {
  const ring = new FlowRing(16);
  const rec = recorder(ring, 1e9);
  for (let i = 0; i < 40; i++) rec.conntrack(conn(1000 + i), '10.32.0.2', T0 + i);
  const s = ring.stats();
  assert.deepEqual(s, { capacity: 16, stored: 16, recorded: 40, overwritten: 24, lastSeq: 39 });
  const q = ring.query(parseFlowQuery({ last: '5' }, T0));
  assert.deepEqual(q.map((r) => r.seq), [35, 36, 37, 38, 39]);
  assert.deepEqual(ring.query(parseFlowQuery({}, T0), 37).map((r) => r.seq), [38, 39], 'after a cursor');
  assert.equal(ring.query(parseFlowQuery({ since: '10ms' }, T0 + 39)).length, 11, 'since: the last 10 ms');
  assert.equal(rec.counts.byVerdict.get('forwarded|'), 40, 'counters count every event');
});

test('records: enrichment, path, bytes on end, local pairs recorded once, drops name the policy', () => {
  const ring = new FlowRing(64);
  const rec = recorder(ring);
  rec.conntrack(conn(5000), '10.32.0.2', T0);
  rec.conntrack(conn(5000, 'destroy'), '10.32.0.2', T0 + 5);
  // a connection between two local pods, seen in both namespaces: one record (the source's)
  const local = { type: 'new' as const, orig: { src: '10.32.0.2', dst: '10.32.0.4', proto: 17, sport: 9, dport: 53 } };
  rec.conntrack(local, '10.32.0.2', T0 + 6);
  rec.conntrack(local, '10.32.0.4', T0 + 6);
  assert.equal(rec.nflog({ prefix: 'weft-policy drop egress: ', packet: { src: '10.32.0.2', dst: '10.32.0.3', proto: 6, sport: 1, dport: 80, tcpFlags: ['SYN'] } }, T0 + 7), true);
  assert.equal(rec.nflog({ prefix: 'someone else: ' }, T0 + 8), false, 'other NFLOG prefixes are not ours');
  const [n, e, l, d] = ring.query(parseFlowQuery({}, T0));
  assert.equal(ring.stats().recorded, 4);
  assert.deepEqual(n!.source, { ip: '10.32.0.2', port: 5000, namespace: 'default', name: 'client', labels: PODS['10.32.0.2']!.labels, host: 'h1' });
  assert.equal(n!.path, 'vxlan');
  assert.equal(n!.event, 'new');
  assert.deepEqual([e!.event, e!.bytes, e!.packets, e!.reply_bytes, e!.tcp_state], ['end', 400, 5, 300, 'TIME_WAIT']);
  assert.deepEqual([l!.path, l!.protocol], ['local', 'UDP']);
  assert.deepEqual([d!.verdict, d!.drop_reason, d!.tcp_flags, d!.policies], ['dropped', 'policy-denied', ['SYN'], [{ namespace: 'default', name: 'deny-all', direction: 'egress' }]]);
  assert.equal(rec.counts.byPolicy.get('default/deny-all|egress|dropped'), 1);
  assert.equal(rec.counts.bytes, 400);
});

test('rate limit: records are thinned, counters exact (20,000 events in one second)', () => {
  const ring = new FlowRing(FLOW_RING_DEFAULT);
  const rec = recorder(ring, 5000);
  for (let i = 0; i < 20_000; i++) rec.conntrack(conn(i % 60000), '10.32.0.2', T0 + Math.floor(i / 20));
  assert.equal(rec.counts.byVerdict.get('forwarded|'), 20_000);
  assert.equal(ring.stats().recorded + rec.counts.suppressed, 20_000);
  assert.ok(ring.stats().recorded <= 10_000 && ring.stats().recorded >= 5000, `stored ${ring.stats().recorded}`);
});

test('a full default ring of labelled records stays under 32 MB', () => {
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const ring = new FlowRing(FLOW_RING_DEFAULT);
  const rec = recorder(ring, 1e9);
  for (let i = 0; i < FLOW_RING_DEFAULT * 2; i++) rec.conntrack(conn(i % 60000, i % 2 ? 'destroy' : 'new'), '10.32.0.2', T0 + i);
  global.gc?.();
  const used = process.memoryUsage().heapUsed - before;
  assert.equal(ring.stats().stored, FLOW_RING_DEFAULT);
  assert.ok(used < 32 * 1024 * 1024, `ring of ${FLOW_RING_DEFAULT} records uses ${(used / 1048576).toFixed(1)} MB`);
});

test('bad filters: one line naming the parameter', () => {
  for (const [q, want] of [[{ last: '0' }, 'last'], [{ last: '1e3' }, 'last'], [{ since: '5 m' }, 'since'], [{ since: '31d' }, 'since'],
    [{ verdict: 'ok' }, 'verdict'], [{ reason: 'x' }, 'reason'], [{ pod: 'a' }, 'pod'], [{ 'from-pod': 'A/b' }, 'from-pod'],
    [{ port: '0' }, 'port'], [{ protocol: 'gre' }, 'protocol'], [{ namespace: '-x' }, 'namespace'], [{ local: 'yes' }, 'local'],
    [{ bogus: '1' }, 'bogus']] as [Record<string, string>, string][]) {
    assert.throws(() => parseFlowQuery(q), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && e.message.includes(want) && !e.message.includes('\n'), JSON.stringify(q));
  }
  assert.deepEqual(parseFlowQuery({ protocol: 'TCP', port: '443', pod: '10.32.0.9' }, 0), { last: 100, local: false, protocol: 'TCP', port: 443, ip: '10.32.0.9' });
});

test('wire: round trip; an oversized reply keeps the newest records; merge by time', () => {
  const ring = new FlowRing(64);
  const rec = recorder(ring);
  for (let i = 0; i < 3; i++) rec.conntrack(conn(i), '10.32.0.2', T0 + i);
  const records = ring.query(parseFlowQuery({}, T0));
  const m = decodeFlowMessage(encodeFlowMessage({ kind: 2, id: 7, reply: { records, lastSeq: 2 } }));
  assert.deepEqual(m, { kind: 2, id: 7, reply: { records, lastSeq: 2 } });
  const big = Array.from({ length: 20_000 }, (_, i) => ({ ...records[0]!, seq: i }));
  const b = encodeReplyBounded(1, { records: big, lastSeq: 19_999 });
  assert.ok(b.length <= FLOW_MESSAGE_MAX_BYTES);
  const kept = decodeFlowMessage(b);
  assert.ok(kept.kind === 2 && kept.reply.records.at(-1)!.seq === 19_999 && kept.reply.records.length < 20_000);
  const merged = mergeByTime([{ ...records[2]!, observed_on: 'b' }, { ...records[0]!, observed_on: 'a' }, { ...records[1]!, observed_on: 'c' }]);
  assert.deepEqual(merged.map((r) => r.seq), [0, 1, 2]);
});
