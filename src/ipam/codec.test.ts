import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isWeftError } from '../common/index.js';
import { decodeState, decodeUnicast, encodeState, encodeUnicast, type StateMessage, type UnicastMessage } from './codec.js';
import type { ElectorState } from './consensus.js';

const names = ['02:00:00:00:00:01', '02:00:00:00:00:02', '0a:bb:cc:dd:ee:ff', 'fe:00:00:00:00:09'];
const nameArb = fc.constantFrom(...names);
const ringId = 'cd'.repeat(16);

const entriesArb = fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { maxLength: 8 }).chain((cuts) => {
  const starts = [0, ...cuts.sort((a, b) => a - b)];
  return fc.tuple(...starts.map(() => fc.tuple(nameArb, fc.nat(3), fc.nat(9), fc.nat(256)))).map((xs) =>
    xs.map(([owner, gen, version, free], i) => ({ start: starts[i]!, end: starts[i + 1] ?? 256, owner, gen, version, free })));
});

const ballotArb = fc.record({ round: fc.nat(5), proposer: nameArb });
const electorArb: fc.Arbitrary<ElectorState> = fc.record({
  name: nameArb, n: fc.integer({ min: 1, max: 7 }), promised: ballotArb,
  members: fc.uniqueArray(nameArb, { minLength: 1 }), acc: fc.boolean(),
}).map(({ name, n, promised, members, acc }) => ({
  name, n, promised, accepted: acc ? { ballot: promised, members: [...members].sort() } : null,
}));

const stateArb: fc.Arbitrary<StateMessage> = fc.record({
  sender: nameArb,
  full: fc.boolean(),
  nicknames: fc.array(fc.record({ name: nameArb, nickname: fc.string({ maxLength: 20 }), stamp: fc.nat() }), { maxLength: 3 }),
  ring: fc.option(fc.record({
    entries: entriesArb,
    tombstones: fc.array(fc.record({ name: nameArb, by: nameArb, at: fc.nat() }), { maxLength: 2 }),
    designations: fc.array(fc.record({ peer: nameArb, version: fc.nat(9), heirs: fc.shuffledSubarray(names, { minLength: 1, maxLength: 3 }) }), { maxLength: 2 })
      .map((ds) => ds.map((d) => ({ ...d, heirs: d.heirs.filter((h) => h !== d.peer) })).filter((d) => d.heirs.length > 0)),
  }), { nil: undefined }),
  electors: fc.option(fc.array(electorArb, { maxLength: 3 }), { nil: undefined }),
}).map(({ sender, full, nicknames, ring, electors }) => {
  const origin = { kind: 'consensus' as const, members: [names[0]!, names[2]!], detail: 'consensus=3 ballot=1/x' };
  const withRing = ring ? { ring: { id: ringId, ...(full ? { origin } : {}), ...ring } } : {};
  return { sender, range: '10.0.0.0/24', full: full && ring !== undefined, nicknames, ...withRing, ...(electors ? { electors } : {}) };
});

const unicastArb: fc.Arbitrary<UnicastMessage> = fc.oneof(
  fc.record({ reqId: fc.nat(), address: fc.option(fc.nat(255), { nil: null }) }).map((x) => ({ kind: 'space-request' as const, ringId, ...x })),
  fc.record({ reqId: fc.nat(), code: fc.constantFrom('no-space' as const, 'in-use' as const, 'not-owner' as const, 'not-ready' as const), reason: fc.string({ maxLength: 30 }) })
    .map((x) => ({ kind: 'space-denied' as const, ringId, ...x })),
  fc.record({ reqId: fc.nat(), state: stateArb }).map((x) => ({ kind: 'ring-update' as const, ...x })),
);

/** fast-check builds null-prototype objects; compare as plain JSON data. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

test('state and unicast messages round-trip', () => {
  fc.assert(fc.property(stateArb, (m) => {
    assert.deepEqual(decodeState(encodeState(m)), plain(m));
  }), { numRuns: 400 });
  fc.assert(fc.property(unicastArb, (m) => {
    assert.deepEqual(decodeUnicast(encodeUnicast(m)), plain(m));
  }), { numRuns: 400 });
});

/** Decoding anything either succeeds or throws WEFT_ERR_DECODE — never another error. */
function decodesOrRejects(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(isWeftError(e, 'WEFT_ERR_DECODE'), `unexpected ${String(e)}`);
  }
}

test('fuzz: mutated, truncated and random input never throws anything but WEFT_ERR_DECODE', () => {
  const mutation = fc.record({ pos: fc.nat(), byte: fc.nat(255), cut: fc.nat(), kind: fc.nat(3), junk: fc.uint8Array({ maxLength: 8 }) });
  const mutate = (buf: Buffer, m: { pos: number; byte: number; cut: number; kind: number; junk: Uint8Array }): Buffer => {
    const b = Buffer.from(buf);
    if (m.kind === 0 && b.length) b[m.pos % b.length] = m.byte;
    if (m.kind === 1) return b.subarray(0, m.cut % (b.length + 1));
    if (m.kind === 2) return Buffer.concat([b.subarray(0, m.pos % (b.length + 1)), m.junk, b.subarray(m.pos % (b.length + 1))]);
    if (m.kind === 3) return Buffer.concat([b, m.junk]);
    return b;
  };
  fc.assert(fc.property(stateArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, ms) => {
    const b = ms.reduce(mutate, encodeState(m));
    decodesOrRejects(() => decodeState(b));
    decodesOrRejects(() => decodeUnicast(b));
  }), { numRuns: 2000 });
  fc.assert(fc.property(unicastArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, ms) => {
    decodesOrRejects(() => decodeUnicast(ms.reduce(mutate, encodeUnicast(m))));
  }), { numRuns: 1000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
    decodesOrRejects(() => decodeState(Buffer.from(raw)));
    decodesOrRejects(() => decodeUnicast(Buffer.from(raw)));
  }), { numRuns: 1000 });
});

test('invariants are enforced: unsorted tokens, bad ranges, self-heirs, inconsistent ballots', () => {
  const good: StateMessage = {
    sender: names[0]!, range: '10.0.0.0/24', full: false, nicknames: [],
    ring: { id: ringId, entries: [{ start: 0, end: 10, owner: names[0]!, gen: 0, version: 1, free: 9 }, { start: 10, end: 256, owner: names[1]!, gen: 0, version: 1, free: 245 }], tombstones: [], designations: [] },
  };
  decodeState(encodeState(good));
  const bad = (m: StateMessage, re: RegExp): void => {
    assert.throws(() => decodeState(encodeState(m)), (e) => isWeftError(e, 'WEFT_ERR_DECODE') && re.test(e.message));
  };
  const ring = good.ring!;
  bad({ ...good, ring: { ...ring, entries: [...ring.entries].reverse() } }, /not sorted/);
  bad({ ...good, ring: { ...ring, entries: [{ ...ring.entries[0]!, end: 300 }] } }, /not a range/);
  bad({ ...good, range: '10.0.0.1/24' }, /bad range/);
  bad({ ...good, full: true }, /full ring without origin/);
  bad({ ...good, ring: { ...ring, designations: [{ peer: names[0]!, heirs: [names[0]!], version: 1 }] } }, /duplicate heir or self/);
  bad({ ...good, electors: [{ name: names[0]!, n: 3, promised: { round: 1, proposer: names[0]! }, accepted: { ballot: { round: 2, proposer: names[0]! }, members: [names[0]!] } }] }, /accepted ballot above promise/);
  assert.throws(() => decodeState(Buffer.from([9, 1])), (e) => isWeftError(e, 'WEFT_ERR_DECODE') && /version/.test(e.message));
});
