import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPairTable, formatQuietTable, formatRatio, formatSigned, formatSpread, formatTable, summarize, tableHeader, type ScenarioResult, type StreamSample } from './report.js';

const B = { raw: 'raw-veth', reference: 'wireguard-go' };

function stream(mbps: number, foreignPct: number, cpu: number | null = null): StreamSample {
  return {
    mbps, sentMbps: mbps, retransmits: 10, seconds: 5, streams: 1, foreignPct,
    overlayCpuPct: cpu, overlayCpuPctPerHost: cpu === null ? null : [cpu / 2, cpu / 2], rssMb: cpu === null ? null : 20,
    quietWaitMs: 0,
  };
}

function result(name: string, userspace: boolean, singles: number[], rtt: number, cpu: number | null): ScenarioResult {
  return {
    name, description: name, userspace, status: 'ok',
    rounds: singles.map((m, i) => ({
      round: i + 1,
      ping: { transmitted: 20, received: 20, minMs: rtt / 2, avgMs: rtt, maxMs: rtt * 2 },
      single: stream(m, i === 0 ? 50 : 5, cpu),
      multi: stream(m * 2, 5, cpu),
      errors: [],
    })),
  };
}

test('summarize: medians, ratios against both baselines, added RTT, quiet runs', () => {
  const rs = [
    result('raw-veth', false, [10000, 12000, 11000], 0.05, null),
    result('wireguard-go', true, [400, 500, 450], 0.45, 100),
    result('tinc', true, [225, 200, 250], 0.85, 80),
    { name: 'fastd', description: 'fastd', userspace: true, status: 'skipped' as const, reason: 'missing fastd', rounds: [] },
  ];
  const [raw, wg, tinc, fastd] = summarize(rs, B);
  assert.equal(raw!.single!.median, 11000);
  assert.deepEqual([raw!.single!.min, raw!.single!.max], [10000, 12000]);
  assert.equal(raw!.vsRaw, 1);
  assert.equal(raw!.cpuPct, null); // kernel-only: n/a
  assert.equal(wg!.vsRef, 1);
  assert.equal(tinc!.vsRef, 0.5);
  assert.equal(tinc!.vsRaw, 225 / 11000);
  assert.equal(tinc!.vsRefMulti, 0.5);
  assert.equal(tinc!.addedRttMs!.toFixed(3), '0.800');
  assert.equal(tinc!.cpuPct!.median, 80);
  assert.equal(tinc!.runs, 6);
  assert.equal(tinc!.quietRuns, 5);
  // round 1's 1-stream run was contended (foreign 50 %): quiet medians leave it out
  assert.deepEqual(tinc!.singleQuiet, { median: 225, min: 200, max: 250, n: 2 });
  assert.equal(raw!.singleQuiet!.median, 11500);
  assert.equal(tinc!.vsRawQuiet, 225 / 11500);
  assert.equal(fastd!.status, 'skipped');
  assert.equal(fastd!.single, null);
  assert.equal(fastd!.vsRaw, null);
});

test('summarize: ratios are null without the baseline rows', () => {
  const [only] = summarize([result('nebula', true, [300], 0.7, 90)], B);
  assert.equal(only!.vsRaw, null);
  assert.equal(only!.vsRef, null);
  assert.equal(only!.addedRttMs, null);
});

test('formatters', () => {
  assert.equal(formatSpread(null, 0), 'n/a');
  assert.equal(formatSpread({ median: 5, min: 5, max: 5, n: 3 }, 1), '5.0');
  assert.equal(formatSpread({ median: 450, min: 400, max: 500, n: 3 }, 0), '450 (400–500)');
  assert.equal(formatRatio(0.4567), '0.46×');
  assert.equal(formatRatio(null), 'n/a');
  assert.equal(formatSigned(0.25, 3), '+0.250');
  assert.equal(formatSigned(-0.01, 2), '-0.01');
});

test('formatTable: aligned columns, reason rows, header names the baselines', () => {
  const rs: ScenarioResult[] = [
    result('raw-veth', false, [10000, 12000, 11000], 0.05, null),
    result('wireguard-go', true, [400, 500, 450], 0.45, 100),
    { name: 'weft-sleeve', description: '', userspace: true, status: 'skipped', reason: 'pending: not integrated', rounds: [] },
  ];
  const text = formatTable(summarize(rs, B), B);
  const lines = text.split('\n');
  assert.equal(lines.length, 5);
  assert.ok(lines[0]!.startsWith('scenario'));
  assert.ok(lines[0]!.includes('vs raw-veth') && lines[0]!.includes('vs wireguard-go'));
  assert.equal(tableHeader(B).length, 11);
  // data rows put their column separators at the header's positions
  const seps = (l: string): number[] => [...l].flatMap((c, i) => (c === '|' ? [i] : []));
  assert.deepEqual(seps(lines[2]!), seps(lines[0]!));
  assert.deepEqual(seps(lines[3]!), seps(lines[0]!));
  assert.ok(lines[3]!.includes('450 (400–500)'));
  assert.ok(lines[3]!.includes('0.04× / 0.04×'));
  assert.ok(lines[4]!.startsWith('weft-sleeve') && lines[4]!.includes('skipped: pending: not integrated'));
  assert.ok(lines[2]!.includes('n/a')); // raw-veth CPU
});

test('formatQuietTable: rows for scenarios with quiet runs, or a one-line note', () => {
  const rs = [result('raw-veth', false, [10000, 12000], 0.05, null), result('tinc', true, [200, 250], 0.8, 80)];
  const text = formatQuietTable(summarize(rs, B), B);
  assert.ok(text.split('\n')[2]!.startsWith('raw-veth (3/4)'));
  assert.ok(text.includes('250') && text.includes('0.02×'));
  const loud = summarize([{ ...rs[0]!, rounds: rs[0]!.rounds.map((r) => ({ ...r, single: { ...r.single!, foreignPct: 90 }, multi: { ...r.multi!, foreignPct: 90 } })) }], B);
  assert.match(formatQuietTable(loud, B), /^quiet runs only: none/);
});

test('formatPairTable: a variant row against its pair, ratios and verdicts against the targets', () => {
  const conn = (perSecond: number) => ({ connections: perSecond * 3, errors: 0, seconds: 3, perSecond, threads: 4, foreignPct: 5 });
  const base = result('weft-vxlan-nopolicy', false, [10000, 10000, 10000], 0.05, null);
  base.rounds.forEach((r) => { r.conn = conn(10000); });
  const pol = { ...result('weft-vxlan-policy1k', false, [9500, 9500, 9500], 0.05, null), pairedWith: 'weft-vxlan-nopolicy' };
  pol.rounds.forEach((r) => { r.conn = conn(7000); });
  const failed = { name: 'weft-hostgw-policy1k', description: '', userspace: false, status: 'failed' as const, reason: 'TCP not ready', rounds: [], pairedWith: 'weft-hostgw-nopolicy' };
  const s = summarize([base, pol, failed], B);
  assert.equal(s[1]!.connRate!.median, 7000);
  const t = formatPairTable(s, { throughput: 0.9, connRate: 0.8 });
  const line = t.split('\n').find((l) => l.startsWith('weft-vxlan-policy1k'))!;
  assert.match(line, /9500 \/ 10000\s+\| 0\.95×/);
  assert.match(line, /7000 \/ 10000\s+\| 0\.70×/);
  assert.match(line, /ok \/ MISSES/);
  assert.match(t, /weft-hostgw-policy1k\s+\| failed: TCP not ready/);
  assert.equal(formatPairTable(summarize([base], B), { throughput: 0.9, connRate: 0.8 }), 'paired rows: none in this run');
});
