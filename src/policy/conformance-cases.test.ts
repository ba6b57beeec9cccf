/**
 * Every upstream conformance case (test/fixtures/policy/conformance-cases.yaml) through
 * parsePolicyDocuments + evaluateConnection, over all 9x9 pod pairs of the world, in an IPv4 and
 * an IPv6 world, and through compileRuleset + rulesetAllows (one host per pod) as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyConformanceStep, conformanceWorld, expectedAllowed, loadConformanceCases } from './conformance.js';
import { compileRuleset } from './compile.js';
import { evaluateConnection } from './reference.js';
import { rulesetAllows } from './ruleset-eval.js';
import { indexPolicyInput } from './world.js';

const FIXTURE = new URL('../../../test/fixtures/policy/conformance-cases.yaml', import.meta.url);
const { world, cases } = loadConformanceCases(readFileSync(FIXTURE, 'utf8'));

test('conformance fixture: the upstream cases are all there', () => {
  assert.ok(cases.length >= 45, `${cases.length} cases`);
  const ids = cases.map((c) => `${c.suite}: ${c.name}`);
  assert.equal(new Set(ids).size, ids.length, 'case names are unique within a suite');
});

for (const family of [4, 6] as const) {
  for (const c of cases) {
    test(`conformance (IPv${family}) ${c.suite}: ${c.name}`, () => {
      let input = conformanceWorld(world, family);
      const ipOf = (pod: string) => {
        const p = input.pods.find((q) => `${q.namespace}/${q.name}` === pod);
        assert.ok(p, `unknown pod ${pod}`);
        return p.ips[0]!;
      };
      c.steps.forEach((step, s) => {
        input = applyConformanceStep(input, step, `${c.name} step ${s + 1}`, ipOf);
        const idx = indexPolicyInput(input);
        // each pod on its own host: compiled per pod, enforced at both ends
        const rulesets = new Map(input.pods.map((p) => [p.ips[0]!, compileRuleset(input, new Set(p.ips), idx)]));
        for (const probe of step.probes) {
          const wrong: string[] = [];
          for (const src of input.pods) {
            for (const dst of input.pods) {
              if (src === dst) continue; // loopback is not checked (as upstream)
              const from = `${src.namespace}/${src.name}`, to = `${dst.namespace}/${dst.name}`;
              const want = expectedAllowed(probe.expect, from, to);
              const got = evaluateConnection(input, src, dst, probe.protocol, probe.port, {}, idx).allowed;
              const s0 = src.ips[0]!, d0 = dst.ips[0]!;
              const compiled = rulesetAllows(rulesets.get(s0)!, 'egress', s0, d0, probe.protocol, probe.port).allowed
                && rulesetAllows(rulesets.get(d0)!, 'ingress', d0, s0, probe.protocol, probe.port).allowed;
              if (got !== want || compiled !== want) wrong.push(`${from} -> ${to}: expected ${want ? 'allow' : 'deny'}, model ${got ? 'allow' : 'deny'}, compiled ${compiled ? 'allow' : 'deny'}`);
            }
          }
          assert.deepEqual(wrong, [], `step ${s + 1} ${probe.protocol}/${probe.port}`);
        }
      });
    });
  }
}
