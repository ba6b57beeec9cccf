/**
 * The cyclonus generator's cases (test/fixtures/policy/cyclonus-cases.yaml, written by
 * test/support/cyclonus-gen.ts with expectations from the reference model) through the
 * compiler: compileRuleset + rulesetAllows, every pod on its own host (each end enforces its
 * own side), over every ordered pair of distinct pods of the case's world after each step
 * (pods and namespaces created and deleted included). The fixture must be exactly what the
 * script writes, so the reference model and the committed expectations cannot drift apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyConformanceStep, conformanceWorld, expectedAllowed, loadConformanceCases } from './conformance.js';
import { compileRuleset } from './compile.js';
import { evaluateConnection } from './reference.js';
import { rulesetAllows } from './ruleset-eval.js';
import { indexPolicyInput } from './world.js';
import { renderCyclonusFixture } from '../../test/support/cyclonus-gen.js';

const FIXTURE = new URL('../../../test/fixtures/policy/cyclonus-cases.yaml', import.meta.url);
const text = readFileSync(FIXTURE, 'utf8');
const { world, cases } = loadConformanceCases(text);

test('cyclonus fixture: regenerating it with test/support/cyclonus-gen.ts gives the committed file byte for byte', () => {
  const fresh = renderCyclonusFixture();
  if (fresh !== text) {
    const a = text.split('\n'), b = fresh.split('\n');
    const i = a.findIndex((l, n) => l !== b[n]);
    assert.fail(`the fixture is stale (rerun node dist/test/support/cyclonus-gen.js): first difference at line ${i + 1}:\n  committed: ${a[i]}\n  generated: ${b[i]}`);
  }
});

test('cyclonus fixture: every generator family is there, ids are unique, every case is tagged', () => {
  assert.equal(cases.length, 217);
  const ids = cases.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  const perFamily = Object.fromEntries([...new Set(cases.map((c) => c.suite))].map((s) => [s, cases.filter((c) => c.suite === s).length]));
  assert.deepEqual(perFamily, { target: 6, rules: 4, peers: 112, 'port-protocol': 70, example: 1, action: 6, conflict: 16, namespace: 2 });
  for (const c of cases) assert.ok((c.tags ?? []).length > 0, `${c.id} has tags`);
});

for (const c of cases) {
  test(`cyclonus ${c.id} [${(c.tags ?? []).join(',')}]: ${c.name}`, () => {
    let input = conformanceWorld(world, 4);
    const ipOf = (pod: string): string => {
      const p = input.pods.find((q) => `${q.namespace}/${q.name}` === pod);
      assert.ok(p, `unknown pod ${pod}`);
      return p.ips[0]!;
    };
    c.steps.forEach((step, s) => {
      input = applyConformanceStep(input, step, `${c.id} step ${s + 1}`, ipOf, world);
      const idx = indexPolicyInput(input);
      const rulesets = new Map(input.pods.map((p) => [p.ips[0]!, compileRuleset(input, new Set(p.ips), idx)]));
      for (const probe of step.probes) {
        const wrong: string[] = [];
        for (const src of input.pods) {
          for (const dst of input.pods) {
            if (src === dst) continue;
            const from = `${src.namespace}/${src.name}`, to = `${dst.namespace}/${dst.name}`;
            const want = expectedAllowed(probe.expect, from, to);
            const s0 = src.ips[0]!, d0 = dst.ips[0]!;
            const compiled = rulesetAllows(rulesets.get(s0)!, 'egress', s0, d0, probe.protocol, probe.port).allowed
              && rulesetAllows(rulesets.get(d0)!, 'ingress', d0, s0, probe.protocol, probe.port).allowed;
            const model = evaluateConnection(input, src, dst, probe.protocol, probe.port, {}, idx).allowed;
            if (compiled !== want || model !== want) wrong.push(`${from} -> ${to}: fixture ${want ? 'allow' : 'deny'}, compiled ${compiled ? 'allow' : 'deny'}, model ${model ? 'allow' : 'deny'}`);
          }
        }
        assert.deepEqual(wrong, [], `step ${s + 1} ${probe.protocol}/${probe.port}`);
      }
    });
  });
}
