import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseUniverse } from './address.js';
import { Ring, type RingDelta, type RingEntry, type RingOrigin, type Tombstone } from './ring.js';
import { prng } from '../../test/support/ipam-sim.js';
import { rankHeirs } from './succession.js';

const U = parseUniverse('10.0.0.0/24');
const names = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04', '02:00:00:00:00:05'];
const origin: RingOrigin = { kind: 'seed', members: names.slice(0, 3), detail: '' };

interface State { entries: RingEntry[]; tombstones: Tombstone[] }

const entryArb = fc.record({
  start: fc.integer({ min: 0, max: 254 }),
  len: fc.integer({ min: 1, max: 40 }),
  owner: fc.constantFrom(...names),
  gen: fc.integer({ min: 0, max: 2 }),
  version: fc.integer({ min: 0, max: 4 }),
  free: fc.integer({ min: 0, max: 3 }),
});
const tombArb = fc.record({ name: fc.constantFrom(...names), by: fc.constantFrom(...names), at: fc.integer({ min: 0, max: 3 }) });
const stateArb: fc.Arbitrary<State> = fc.record({
  entries: fc.array(entryArb.map(({ len, ...e }) => ({ ...e, end: Math.min(256, e.start + len) })), { maxLength: 12 }), tombstones: fc.array(tombArb, { maxLength: 3 }) });

function join(...states: State[]): Ring {
  const r = Ring.restore(U, 'id', origin);
  for (const s of states) r.merge(s, names[0]!);
  return r;
}
function asState(r: Ring): State {
  return {
    entries: r.all().map((e) => ({ ...e })),
    tombstones: r.tombstones().map((t) => ({ ...t })).sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
}
const same = (a: Ring, b: Ring): void => assert.deepEqual(asState(a), asState(b));

test('merge is commutative, associative and idempotent', () => {
  fc.assert(fc.property(stateArb, stateArb, stateArb, (a, b, c) => {
    same(join(a, b), join(b, a));
    same(join(asState(join(a, b)), c), join(a, asState(join(b, c))));
    same(join(a, a), join(a));
    const ab = asState(join(a, b));
    same(join(ab, b), join(ab));
  }), { numRuns: 500 });
});

test('entries stay sorted and unique, so one view never has two owners for an address', () => {
  fc.assert(fc.property(fc.array(stateArb, { maxLength: 6 }), (states) => {
    const r = join(...states);
    const all = r.all();
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.start < all[i]!.start);
  }), { numRuns: 300 });
});

test('create splits the range evenly and deterministically', () => {
  const a = Ring.create(U, origin);
  const b = Ring.create(U, { ...origin, members: [...origin.members] });
  assert.equal(a.id, b.id);
  same(a, b);
  assert.deepEqual(a.all().map((e) => e.start), [0, 85, 170]);
  assert.equal(a.all()[0]!.free, 84); // network address excluded
  assert.equal(a.all()[2]!.free, 85); // broadcast excluded
  assert.notEqual(Ring.create(U, { ...origin, members: names.slice(0, 2) }).id, a.id);
});

// ─────────────── random interleavings of donations and reclaims between peers ───────────────

interface Msg { to: number; delta: RingDelta }

/** Own-belief of every live peer: the ranges it thinks it owns. No address may appear twice. */
function assertDisjoint(views: Ring[], live: boolean[]): void {
  const owned: Array<[number, number, number]> = [];
  views.forEach((v, p) => {
    if (!live[p] || v.isTombstoned(names[p]!)) return;
    for (const r of v.rangesOf(names[p]!)) owned.push([r.start, r.end, p]);
  });
  owned.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < owned.length; i++) {
    assert.ok(owned[i - 1]![1] <= owned[i]![0], `peers ${owned[i - 1]![2]} and ${owned[i]![2]} both own ${owned[i]![0]}`);
  }
}

function runInterleaving(seed: number, steps: number): void {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const base = Ring.create(U, origin);
  const views = names.map(() => {
    const r = Ring.restore(U, base.id, origin);
    r.merge({ entries: base.all() }, names[0]!);
    return r;
  });
  const live = names.map(() => true);
  let pool: Msg[] = [];
  const broadcast = (from: number, delta: RingDelta): void => {
    for (let to = 0; to < names.length; to++) if (to !== from) pool.push({ to, delta });
  };
  /** What a live peer does after any change: reclaim what it inherits, name an heir if needed. */
  const settle = (p: number): void => {
    const v = views[p]!;
    const me = names[p]!;
    if (!live[p] || v.isTombstoned(me)) return;
    const claimed = v.reclaim(me);
    const designations = [];
    if (v.succession.needsDesignation(me)) {
      const heirs = rankHeirs(me, names.filter((n, i) => live[i] && !v.isTombstoned(n))).slice(0, 3);
      if (heirs.length) designations.push(v.succession.designate(me, heirs));
    }
    if (claimed.length || designations.length) broadcast(p, { entries: claimed, designations });
  };
  const deliver = (m: Msg): void => {
    views[m.to]!.merge(m.delta, names[m.to]!);
    settle(m.to);
  };
  names.forEach((_, p) => settle(p));
  for (let step = 0; step < steps; step++) {
    const r = rnd();
    const p = Math.floor(rnd() * names.length);
    const me = names[p]!;
    const v = views[p]!;
    if (r < 0.35 && live[p] && !v.isTombstoned(me)) {
      // donate a random piece of one of our ranges to a random live peer
      const mine = v.rangesOf(me);
      const to = pick(names.filter((n, i) => n !== me && live[i]));
      if (mine.length && to) {
        const rg = pick(mine);
        const a = rg.start + Math.floor(rnd() * (rg.end - rg.start));
        const b = a + 1 + Math.floor(rnd() * (rg.end - a));
        broadcast(p, { entries: v.donate(me, a, Math.min(b, rg.end), to) });
      }
    } else if (r < 0.75 && pool.length) {
      // deliver a random message (reordering); sometimes keep it (duplication) or drop it (loss)
      const i = Math.floor(rnd() * pool.length);
      const m = pool[i]!;
      const fate = rnd();
      if (fate > 0.1) deliver(m);
      if (fate < 0.85) pool.splice(i, 1);
    } else if (r < 0.8 && live[p]) {
      // anti-entropy: full state to one peer
      pool.push({ to: (p + 1 + Math.floor(rnd() * (names.length - 1))) % names.length, delta: v.state() });
    } else if (r < 0.83 && live[p] && live.filter(Boolean).length > 2) {
      // kill p once its last state has reached everyone, then rmpeer it from one or more hosts at once
      for (let q = 0; q < names.length; q++) if (q !== p) deliver({ to: q, delta: v.state() });
      live[p] = false;
      const issuers = names.map((_, i) => i).filter((i) => live[i] && rnd() < 0.6);
      for (const q of issuers.length ? issuers : [names.findIndex((_, i) => live[i])]) {
        const t: Tombstone = { name: me, by: names[q]!, at: step };
        views[q]!.merge({ entries: [], tombstones: [t] }, names[q]!);
        broadcast(q, { entries: [], tombstones: [t] });
        settle(q);
      }
    }
    assertDisjoint(views, live);
  }
  // heal: everything in flight arrives, then full states circulate until nothing changes
  for (const m of pool) deliver(m);
  pool = [];
  for (let round = 0; round < 3; round++) {
    for (let a = 0; a < names.length; a++) for (let b = 0; b < names.length; b++) if (a !== b) deliver({ to: b, delta: views[a]!.state() });
  }
  assertDisjoint(views, live);
  for (let p = 1; p < names.length; p++) same(views[p]!, views[0]!);
  // every range has a live owner in the end
  for (const e of views[0]!.all()) assert.ok(live[names.indexOf(e.owner)], `range at ${e.start} still owned by dead ${e.owner}`);
}

test('donations and concurrent rmpeers under loss, duplication and reordering: never two owners, always converge', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => runInterleaving(seed, 150)), { numRuns: 200, includeErrorInReport: true });
});

test('rmpeer issued on several hosts at once gives each orphaned range exactly one heir', () => {
  const base = Ring.create(U, { kind: 'seed', members: names, detail: '' });
  const views = names.map((n) => {
    const r = Ring.restore(U, base.id, base.origin);
    r.merge({ entries: base.all() }, n);
    return r;
  });
  const dead = 2;
  const designation = { peer: names[dead]!, heirs: [names[4]!, names[1]!], version: 1 };
  for (const v of views) v.merge({ entries: [], designations: [designation] }, names[0]!);
  const heirs = new Map<number, string>();
  for (const q of [0, 1, 3, 4]) {
    views[q]!.merge({ entries: [], tombstones: [{ name: names[dead]!, by: names[q]!, at: q }] }, names[q]!);
    for (const e of views[q]!.reclaim(names[q]!)) {
      assert.ok(!heirs.has(e.start), 'two heirs for one range');
      heirs.set(e.start, names[q]!);
    }
  }
  assert.deepEqual([...heirs.values()], [names[4]]); // the dead peer's designated heir
  assert.deepEqual(views[4]!.reclaim(names[4]!), []); // idempotent
  // the first heir is removed too: the next one on the list takes over
  const v0 = views[0]!;
  v0.merge({ entries: [], tombstones: [{ name: names[4]!, by: names[0]!, at: 9 }] }, names[0]!);
  assert.equal(v0.succession.heirOf(names[dead]!), names[1]);
});
