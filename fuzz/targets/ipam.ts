/**
 * IPAM decoders: the gossip codec (decodeState, decodeUnicast) and the on-disk store (the
 * snapshot and the append log, read by IpamStore.open from real files in a scratch directory).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { isWeftError, silentLogger } from '../../src/common/index.js';
import { decodeState, decodeUnicast, encodeState, encodeUnicast, type StateMessage, type UnicastMessage } from '../../src/ipam/codec.js';
import { IpamStore, decodeSnapshot, frame, readFrames, replayLog } from '../../src/ipam/store.js';
import type { PersistedState } from '../../src/ipam/records.js';
import type { ElectorState } from '../../src/ipam/consensus.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { peerName, sameBytes, same, sortedNames, varintValue } from './common.js';
import { mutateJson } from './json.js';

const RANGES: readonly [string, number][] = [['10.0.0.0/24', 256], ['10.32.0.0/12', 2 ** 20], ['192.168.0.0/30', 4]];

function elector(rng: Rng): ElectorState {
  const promised = rng.chance(0.7) ? { round: varintValue(rng, 1000), proposer: peerName(rng) } : null;
  const members = sortedNames(rng, rng.range(1, 4));
  return { name: peerName(rng), n: rng.range(1, 7), promised, accepted: promised && rng.chance(0.5) ? { ballot: promised, members } : null };
}

function stateMessage(rng: Rng): StateMessage {
  const [range, size] = rng.pick(RANGES);
  const withRing = rng.chance(0.7);
  const full = withRing && rng.chance(0.5);
  const nicknames = Array.from({ length: rng.smallLength(4) }, () => ({ name: peerName(rng), nickname: rng.text(15), stamp: varintValue(rng) }));
  let ring: StateMessage['ring'];
  if (withRing) {
    const cuts = [...new Set(Array.from({ length: rng.smallLength(8) }, () => 1 + rng.int(size - 1)))].sort((a, b) => a - b);
    const starts = full || rng.chance(0.5) ? [0, ...cuts] : cuts.length > 0 ? cuts : [0];
    const entries = starts.map((start, i) => {
      const end = starts[i + 1] ?? size;
      return { start, end, owner: peerName(rng), gen: varintValue(rng, 100), version: varintValue(rng, 1000), free: rng.int(end - start + 1) };
    }).filter((e) => e.start < e.end);
    const tombstones = Array.from({ length: rng.smallLength(3) }, () => ({ name: peerName(rng), by: peerName(rng), at: varintValue(rng) }));
    const designations = Array.from({ length: rng.smallLength(3) }, () => {
      const [peer, ...heirs] = sortedNames(rng, rng.range(2, 5));
      return { peer: peer!, heirs, version: varintValue(rng, 100) };
    }).filter((d) => d.heirs.length > 0);
    const origin = { kind: rng.pick(['seed', 'consensus'] as const), detail: rng.text(30), members: sortedNames(rng, rng.range(1, 4)) };
    const id = rng.bytes(16).toString('hex');
    ring = full || rng.chance(0.5) ? { id, origin, entries: full && entries[0]?.start !== 0 ? [] : entries, tombstones, designations } : { id, entries, tombstones, designations };
    if (full && ring.entries[0]?.start !== 0) return stateMessage(rng);
  }
  const electors = rng.chance(0.4) ? Array.from({ length: rng.smallLength(3) }, () => elector(rng)) : undefined;
  return { sender: peerName(rng), range, full, nicknames, ...(ring ? { ring } : {}), ...(electors ? { electors } : {}) };
}

function unicastMessage(rng: Rng): UnicastMessage {
  const ringId = rng.bytes(16).toString('hex');
  switch (rng.int(3)) {
    case 0: return { kind: 'space-request', ringId, reqId: varintValue(rng), address: rng.chance(0.5) ? rng.int(256) : null };
    case 1: return { kind: 'space-denied', ringId, reqId: varintValue(rng), code: rng.pick(['no-space', 'in-use', 'not-owner', 'not-ready'] as const), reason: rng.text(40) };
    default: return { kind: 'ring-update', reqId: varintValue(rng), state: stateMessage(rng) };
  }
}

const ipamState: FuzzTarget = {
  name: 'ipam-state',
  decoder: 'src/ipam/codec.ts decodeState',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeState(stateMessage(rng)),
  maxRandomBytes: 400,
  run(input, isValid) {
    const m = decodeState(input);
    const again = encodeState(m);
    if (isValid) sameBytes(again, input, 'ipam state');
    same(decodeState(again), m, 'ipam state decode(encode(m))');
  },
};

const ipamUnicast: FuzzTarget = {
  name: 'ipam-unicast',
  decoder: 'src/ipam/codec.ts decodeUnicast',
  codes: ['WEFT_ERR_DECODE'],
  valid: (rng) => encodeUnicast(unicastMessage(rng)),
  maxRandomBytes: 400,
  run(input, isValid) {
    const m = decodeUnicast(input);
    const again = encodeUnicast(m);
    if (isValid) sameBytes(again, input, 'ipam unicast');
    same(decodeUnicast(again), m, 'ipam unicast decode(encode(m))');
  },
};

// ───────────── the on-disk store ─────────────

const SELF = '02:00:00:00:00:01';
const CIDR = '10.0.0.0/24';
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

function snapshotDoc(rng: Rng, seq: number): Record<string, unknown> {
  const id = rng.bytes(16).toString('hex');
  const origin = { kind: 'seed', detail: 'fuzz', members: [SELF] };
  return {
    v: 1, seq, cidr: CIDR, self: SELF,
    ring: rng.chance(0.7) ? { id, origin, parts: [{ entries: [{ start: 0, end: 256, owner: SELF, gen: 0, version: 1, free: 250 }], tombstones: [], designations: [] }] } : null,
    allocations: Array.from({ length: rng.smallLength(4) }, (_, i) => [i + 1, `cni/net/c${i}/eth0`]),
    elector: rng.chance(0.3) ? elector(rng) : null,
    nicknames: rng.chance(0.5) ? [{ name: SELF, nickname: 'host', stamp: 1 }] : [],
  };
}

function logRecord(rng: Rng, s: number): Record<string, unknown> {
  const r = rng.int(6);
  const rec = r === 0 ? { t: 'alloc', owner: `cni/net/${rng.text(8)}/eth0`, offset: rng.int(256) }
    : r === 1 ? { t: 'free', offset: rng.int(256) }
    : r === 2 ? { t: 'nick', rec: { name: peerName(rng), nickname: rng.text(10), stamp: varintValue(rng) } }
    : r === 3 ? { t: 'elector', state: elector(rng) }
    : r === 4 ? { t: 'delta', delta: { entries: [{ start: 0, end: 128, owner: peerName(rng), gen: 0, version: rng.int(9), free: 3 }] } }
    : { t: 'ring', id: rng.bytes(16).toString('hex'), origin: { kind: 'seed', detail: 'x', members: [SELF] } };
  return { s, r: rec };
}

/** Input = 1 byte selecting the fuzzed file (even: log, odd: snapshot) + that file's bytes. */
function storeInput(which: 'log' | 'snapshot', bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([which === 'log' ? 0 : 1]), bytes]);
}

function validStore(rng: Rng): { snapshot: Buffer; log: Buffer } {
  const seq = rng.int(5);
  const log = Buffer.concat(Array.from({ length: rng.smallLength(6) }, (_, i) => frame(json(logRecord(rng, seq + 1 + i)))));
  return { snapshot: frame(json(snapshotDoc(rng, seq))), log };
}

let scratch: string | null = null;
let fixedSnapshot: Buffer | null = null;
let n = 0;

const ipamStore: FuzzTarget = {
  name: 'ipam-store',
  decoder: 'src/ipam/store.ts decodeSnapshot + replayLog on the bytes (every input) and IpamStore.open on real files (1 in 32)',
  codes: ['WEFT_ERR_DATA_DIR'],
  valid(rng) {
    const { snapshot, log } = validStore(rng);
    // log inputs are read over the fixed snapshot (which has a ring), snapshot inputs with no log
    return rng.chance(0.7) ? storeInput('log', log) : storeInput('snapshot', snapshot);
  },
  structured(rng) {
    // a record or snapshot with good framing and checksum but a wrong shape inside
    if (rng.chance(0.5)) return storeInput('snapshot', frame(json(mutateJson(rng, snapshotDoc(rng, 0)))));
    const recs = Array.from({ length: rng.range(1, 3) }, (_, i) => logRecord(rng, i + 1));
    const k = rng.int(recs.length);
    return storeInput('log', Buffer.concat(recs.map((r, i) => frame(i === k ? json(mutateJson(rng, r)) : json(r)))));
  },
  maxRandomBytes: 300,
  run(input, isValid) {
    fixedSnapshot ??= frame(json({
      v: 1, seq: 0, cidr: CIDR, self: SELF, allocations: [], elector: null, nicknames: [],
      ring: { id: 'ab'.repeat(16), origin: { kind: 'seed', detail: 'fuzz', members: [SELF] }, parts: [] },
    }));
    const which = (input[0] ?? 0) % 2 === 0 ? 'log' : 'snapshot';
    const body = input.subarray(1);
    // the decode path on the bytes (what open() reads), for every input
    let decoded: { state: PersistedState; good: number } | { error: unknown };
    try {
      const { state, seq } = decodeSnapshot(which === 'snapshot' ? body : fixedSnapshot, 'snapshot');
      const replayed = replayLog(which === 'log' ? body : Buffer.alloc(0), state, seq, 'log');
      if (isValid) {
        assert.equal(replayed.good, which === 'log' ? body.length : 0, 'a valid log was cut');
        assert.equal(replayed.records, which === 'log' ? readFrames(body).payloads.length : 0, 'records of a valid log');
      }
      decoded = { state, good: replayed.good };
    } catch (e) {
      decoded = { error: e };
    }
    // and one input in 32 (by its bytes) through IpamStore.open on real files, which must agree
    if (realFilesFor(input)) openFiles(which, body, decoded);
    if ('error' in decoded) throw decoded.error;
  },
};

function realFilesFor(input: Buffer): boolean {
  let h = input.length;
  for (let i = 0; i < input.length; i += 5) h = (h * 33 + input[i]!) >>> 0;
  return (h & 31) === 0;
}

/** IpamStore.open on the files: the same state or error code as the in-memory decode, the log cut where it found the first bad frame. */
function openFiles(which: 'log' | 'snapshot', body: Buffer, decoded: { state: PersistedState; good: number } | { error: unknown }): void {
  scratch ??= mkdtempSync(join(tmpdir(), 'weft-fuzz-ipam-'));
  const dir = join(scratch, String(n++ % 4));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'snapshot'), which === 'snapshot' ? body : fixedSnapshot!);
  if (which === 'log') writeFileSync(join(dir, 'log'), body);
  const store = new IpamStore(dir, silentLogger());
  try {
    let opened: PersistedState | null;
    try {
      opened = store.open();
    } catch (e) {
      if (!('error' in decoded)) throw e;
      assert.ok(isWeftError(e) && isWeftError(decoded.error) && e.code === decoded.error.code, 'IpamStore.open and the in-memory decode fail differently');
      return;
    }
    assert.ok(!('error' in decoded), 'IpamStore.open accepted what the in-memory decode refused');
    same(opened, decoded.state, 'IpamStore.open and the in-memory decode disagree');
    if (which === 'log') {
      // the log is cut at the first torn or corrupt frame: what remains is a prefix of the input
      const kept = readFileSync(join(dir, 'log'));
      assert.equal(kept.length, decoded.good, 'the log was not cut where the decode found the first bad frame');
      assert.ok(body.subarray(0, kept.length).equals(kept), 'the log was rewritten, not truncated');
    }
  } finally {
    store.close();
  }
}

/** Remove the scratch directory of the store target (call once at the end of a run). */
export function cleanupIpamScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
}

export const IPAM_TARGETS: readonly FuzzTarget[] = [ipamState, ipamUnicast, ipamStore];
