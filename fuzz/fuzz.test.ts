/**
 * Every fuzz target with a few thousand inputs (WEFT_FUZZ_TEST_COUNT, default 2000) from a
 * fixed seed plus a per-run one (printed, so a failure can be replayed with `npm run fuzz`).
 * The full run (10^6 inputs per target) is `npm run fuzz`; its figures are in docs/fuzzing.md.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runTarget } from './engine.js';
import { TARGETS, cleanupIpamScratch, apiRoutesAccepted } from './targets/index.js';
import { ROUTES } from '../src/api/routes.js';

const COUNT = Number(process.env.WEFT_FUZZ_TEST_COUNT ?? 2000);
const SEED = Number(process.env.WEFT_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Targets whose inputs cost the most (YAML parsing, large JSON gossip) run a quarter of the count. */
const COSTLY = new Set(['policy-documents', 'policy-store']);

after(() => cleanupIpamScratch());

for (const t of TARGETS) {
  test(`fuzz ${t.name}: only contract errors, valid inputs round-trip (seed ${SEED})`, async () => {
    const n = COSTLY.has(t.name) ? Math.ceil(COUNT / 4) : COUNT;
    const s = await runTarget(t, { count: n, seed: SEED, slowMs: 1000 });
    const report = s.failures.map((f) => `${f.error}\n  replay: WEFT_FUZZ_TARGET=${f.target} WEFT_FUZZ_SEED=${f.seed} WEFT_FUZZ_INDEX=${f.index}\n  input ${f.hex.slice(0, 400)}`);
    assert.deepEqual(report, [], `${t.name}: ${s.failures.length} failing inputs`);
    assert.equal(s.inputs, n);
    // the generator really makes valid inputs and the mutations really reach the error paths
    assert.ok(s.bySource.valid > 0 && (s.outcomes.accepted ?? 0) > 0, `${t.name}: nothing accepted`);
    const rejected = s.inputs - (s.outcomes.accepted ?? 0);
    assert.ok(rejected > 0, `${t.name}: nothing rejected`);
  });
}

test('the API target reached every route with an accepted request', () => {
  const missing = Object.keys(ROUTES).filter((r) => !apiRoutesAccepted.has(r as keyof typeof ROUTES));
  assert.deepEqual(missing, []);
});
