/**
 * The live-traffic part of the truth-table test, on a world a {@link TruthRunner} drives (pods
 * per WORLD_LAYOUT: host1 x/a x/b y/c, host2 x/c y/a z/b, host3 y/b z/a z/c):
 * (a) a long-lived TCP stream x/a (host1) -> y/b (host3) survives an unrelated change, a change
 *     to other pods, a change that isolates y/b but still allows the stream, and a change that
 *     forbids new x/a -> y/b connections (conntrack keeps the established one);
 * (b) new connections that a policy newly forbids (x/c on host2 and y/c on host1 -> x/b on
 *     host1; the policy applied on host3) are refused within the update latency: the first
 *     refused attempt starts no later than every host reports the change in force; measured
 *     over rounds of apply and delete;
 * (c) label changes move pods into and out of selectors (pod labels on another host and on the
 *     same host; a namespace label), and every pair follows the model.
 * After each change every pair is probed against the model (TruthRunner.check).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Lab, LabHost } from './lab.js';
import { connectLoop, holdStream, quantile } from './policy-live.js';
import type { TruthRunner } from './policy-truth.js';

const ROUNDS = 5;
/** The loop's attempts are 10 ms apart and the hosts' status is polled every 25 ms. ms */
const SLACK_MS = 150;

const np = (ns: string, name: string, spec: string): string =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec.split('\n').map((l) => `  ${l}`).join('\n')}\n`;

async function allPairsFollowModel(runner: TruthRunner, what: string): Promise<void> {
  const r = await runner.check({ probes: [] });
  assert.equal(r.mismatches.length, 0, `${what}: probes disagree with the model:\n${r.mismatches.join('\n')}`);
}

export async function liveTraffic(t: TestContext, path: string, lab: Lab, hosts: readonly LabHost[], runner: TruthRunner): Promise<void> {
  const [h1, h2, h3] = hosts as [LabHost, LabHost, LabHost];
  const w = runner.world;

  await t.test(`${path}: live (a) an established x/a -> y/b stream (host1 -> host3) survives an unrelated change, a change to other pods, isolating y/b while allowing it, and forbidding new x/a -> y/b connections`, async () => {
    const stream = await holdStream(lab, w.pod('x/a'), w.pod('y/b'), 8090);
    try {
      assert.ok(await stream.echo(), 'the stream works before any policy');
      runner.apply(np('z', 'deny-ingress', 'podSelector: {}\npolicyTypes: [Ingress]'), h2);
      await runner.converge('an unrelated policy (namespace z)');
      assert.ok(await stream.echo(), 'the stream survives an unrelated policy');
      await allPairsFollowModel(runner, 'namespace z isolated');
      runner.apply(np('x', 'isolate-b', 'podSelector: {matchLabels: {pod: b}}\npolicyTypes: [Ingress, Egress]'), h3);
      await runner.converge('a policy isolating x/b (on the stream\'s source host)');
      assert.ok(await stream.echo(), 'the stream survives a policy isolating another pod of its host');
      await allPairsFollowModel(runner, 'x/b isolated');
      runner.apply(np('y', 'b-from-x', 'podSelector: {matchLabels: {pod: b}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: x}}}]'), h1);
      await runner.converge('y/b isolated, x allowed');
      assert.ok(await stream.echo(), 'the stream survives a policy that isolates its server but allows it');
      await allPairsFollowModel(runner, 'y/b isolated, namespace x allowed');
      runner.apply(np('y', 'b-from-x', 'podSelector: {matchLabels: {pod: b}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: z}}}]'), h2);
      await runner.converge('y/b allowed only from z');
      await allPairsFollowModel(runner, 'y/b only from namespace z (new x/a -> y/b refused)');
      assert.ok(await stream.echo(), 'the established stream is kept when new connections of it are forbidden (conntrack)');
    } finally {
      stream.close();
      await runner.reset(h1);
    }
  });

  await t.test(`${path}: live (b) new connections a policy newly forbids (host2 -> host1 and within host1) are refused within the update latency; ${ROUNDS} rounds of apply and delete on host3`, async () => {
    const cross = connectLoop(lab, w.pod('x/c'), w.pod('x/b'), 80);
    const same = connectLoop(lab, w.pod('y/c'), w.pod('x/b'), 80);
    const policy = np('x', 'b-only-from-a', 'podSelector: {matchLabels: {pod: b}}\ningress:\n- from: [{podSelector: {matchLabels: {pod: a}}}]');
    const refused: number[] = [], restored: number[] = [], inForce: number[] = [];
    try {
      const t0 = Date.now();
      await Promise.all([cross.until(t0, true, 'x/c -> x/b allowed before the policy'), same.until(t0, true, 'y/c -> x/b allowed before the policy')]);
      for (let i = 0; i < ROUNDS; i++) {
        const ta = Date.now();
        runner.apply(policy, h3);
        await runner.converge(`round ${i + 1}: x/b only from x/a`);
        const converged = Date.now() - ta;
        const [rc, rs] = await Promise.all([cross.until(ta, false, `round ${i + 1}: x/c -> x/b refused`), same.until(ta, false, `round ${i + 1}: y/c -> x/b refused`)]);
        inForce.push(converged);
        refused.push(rc, rs);
        assert.ok(Math.max(rc, rs) <= converged + SLACK_MS, `round ${i + 1}: refused at ${rc} ms (cross-host) / ${rs} ms (same host), in force everywhere at ${converged} ms`);
        if (i === 0) await allPairsFollowModel(runner, 'x/b only from x/a');
        const td = Date.now();
        runner.delete(['x/b-only-from-a'], h3);
        await runner.converge(`round ${i + 1}: policy deleted`);
        const back = Date.now() - td;
        const [bc, bs] = await Promise.all([cross.until(td, true, `round ${i + 1}: x/c -> x/b allowed again`), same.until(td, true, `round ${i + 1}: y/c -> x/b allowed again`)]);
        restored.push(bc, bs);
        assert.ok(Math.max(bc, bs) <= back + SLACK_MS, `round ${i + 1}: allowed again at ${bc} / ${bs} ms, in force everywhere at ${back} ms`);
      }
      console.log(`# ${path}: policy applied on host3 -> new connections to x/b (host1) refused: p50 ${quantile(refused, 0.5)} ms, max ${Math.max(...refused)} ms `
        + `(CLI included; in force on every host p50 ${quantile(inForce, 0.5)} ms); deleted -> allowed again p50 ${quantile(restored, 0.5)} ms, max ${Math.max(...restored)} ms (n=${ROUNDS}, 2 pairs)`);
    } finally {
      cross.stop();
      same.stop();
      await runner.reset(h1);
    }
  });

  await t.test(`${path}: live (c) pod and namespace label changes move pods into and out of selectors; every pair follows`, async () => {
    try {
      runner.apply(np('x', 'a-friends', 'podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{podSelector: {matchLabels: {role: friend}}}]'), h2);
      await runner.converge('x/a only from role=friend');
      await allPairsFollowModel(runner, 'x/a only from role=friend, no friends');
      const label = async (what: string, fn: () => void): Promise<number> => {
        const t0 = Date.now();
        fn();
        await runner.converge(what);
        const ms = Date.now() - t0;
        await allPairsFollowModel(runner, what);
        return ms;
      };
      const ms = [
        await label('x/c (host2) labelled role=friend', () => runner.label('x/c', { role: 'friend' })),
        await label('x/b (host1, x/a\'s host) labelled role=friend', () => runner.label('x/b', { role: 'friend' })),
        await label('x/c role removed', () => runner.label('x/c', {}, ['role'])),
      ];
      runner.apply(np('x', 'a-from-blue', 'podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {team: blue}}}]'), h3);
      await runner.converge('x/a also from namespaces team=blue');
      ms.push(await label('namespace y labelled team=blue', () => runner.applyNamespaces({ y: { ns: 'y', team: 'blue' } }, h1)));
      ms.push(await label('namespace y without team=blue', () => runner.applyNamespaces({ y: { ns: 'y' } }, h2)));
      console.log(`# ${path}: label change (CLI) -> in force on every host: ${ms.join(', ')} ms`);
    } finally {
      await runner.reset(h1);
    }
  });
}
