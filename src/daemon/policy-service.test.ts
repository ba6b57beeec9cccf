import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError, silentLogger } from '../common/index.js';
import type { PolicyApplyResult, PolicyDropCounter } from '../host/index.js';
import { policyInputDigest, type NetworkPolicyObject, type PolicyInput, type PolicyRuleset } from '../policy/index.js';
import { createRegistry } from '../metrics/index.js';
import { PolicyService, type PolicyEnforcer } from './policy-service.js';
import type { PolicyInputSource } from './policy-source.js';

const deny: NetworkPolicyObject = {
  namespace: 'default', name: 'deny', audit: false, podSelector: { matchLabels: { app: 'server' }, matchExpressions: [] },
  policyTypes: ['Ingress'], ingress: [], egress: [],
};
const pods = [
  { namespace: 'default', name: 'server', labels: { app: 'server' }, ips: ['10.32.0.3'], ports: [], host: '02:00:00:00:00:03' },
  { namespace: 'default', name: 'client', labels: { app: 'client' }, ips: ['10.32.0.2'], ports: [], host: '02:00:00:00:00:02' },
];

class FakeSource implements PolicyInputSource {
  input: PolicyInput | null = { policies: [], namespaces: [], pods };
  private cbs: (() => void)[] = [];
  start(): void {}
  stop(): void {}
  snapshot(): PolicyInput {
    if (!this.input) throw new WeftError('WEFT_ERR_KUBE', 'not synced');
    return this.input;
  }
  onChange(cb: () => void): void { this.cbs.push(cb); }
  set(input: PolicyInput | null): void {
    this.input = input;
    for (const c of this.cbs) c();
  }
}

class RecordingEnforcer implements PolicyEnforcer {
  applied: PolicyRuleset[] = [];
  starts = 0;
  stops = 0;
  fail = false;
  async start(): Promise<void> { this.starts++; }
  async stop(): Promise<void> { this.stops++; }
  async apply(r: PolicyRuleset): Promise<PolicyApplyResult> {
    if (this.fail) throw new WeftError('WEFT_ERR_HOST', 'nft refused');
    this.applied.push(r);
    return { changed: true, elementsAdded: 1, elementsRemoved: 0, rulesChanged: 1 };
  }
  async counters(): Promise<PolicyDropCounter[]> {
    return [{ policy: 'default/deny', direction: 'ingress', audit: false, packets: 7, bytes: 700 }];
  }
}

test('no edge until the first policy; then one debounced compile per burst of changes, for the local pods only', async () => {
  const source = new FakeSource();
  const edge = new RecordingEnforcer();
  const registry = createRegistry();
  const svc = new PolicyService({ source, sourceKind: 'mesh', enforcer: edge, localIps: () => new Set(['10.32.0.3']), log: silentLogger(), registry, debounceMs: 5 });
  await svc.start();
  await svc.settled();
  assert.equal(edge.starts, 0, 'a host without policies leaves the bridge path alone');
  assert.equal(svc.status().inputDigest, policyInputDigest(source.input!), 'nothing to enforce: that input is in force');
  assert.equal(svc.status().pending, false);
  const before = svc.status().inputDigest;
  for (let i = 0; i < 5; i++) source.set({ policies: [deny], namespaces: [], pods });
  assert.equal(svc.status().pending, true, 'a change not yet applied is pending');
  assert.equal(svc.status().inputDigest, before, 'the digest is of what is in force, not of what is coming');
  await svc.settled();
  assert.equal(svc.status().pending, false);
  assert.equal(svc.status().inputDigest, policyInputDigest({ policies: [deny], namespaces: [], pods }));
  assert.notEqual(svc.status().inputDigest, before);
  assert.equal(edge.starts, 1);
  assert.equal(edge.applied.length, 1, 'a burst of changes is one compile');
  assert.deepEqual(edge.applied[0]!.localPods, ['10.32.0.3']);
  assert.equal(edge.applied[0]!.isolations[0]?.policy, 'default/deny');
  const st = svc.status();
  assert.equal(st.enforcing, true);
  assert.equal(st.policies, 1);
  assert.equal(st.isolations, 1);
  const text = await registry.metrics();
  assert.match(text, /^weft_policy_drops_total\{policy="default\/deny",direction="ingress"\} 7$/m);
  assert.match(text, /^weft_policy_objects\{kind="pod"\} 2$/m);
  assert.match(text, /^weft_policy_apply_seconds_count 1$/m);
  await svc.stop();
  assert.equal(edge.stops, 0, 'stop leaves the kernel rules in force');
  await svc.reset();
  assert.equal(edge.stops, 1);
});

test('a failed apply is counted and keeps callers from hanging; an unsynced source keeps the previous ruleset', async () => {
  const source = new FakeSource();
  source.input = { policies: [deny], namespaces: [], pods };
  const edge = new RecordingEnforcer();
  edge.fail = true;
  const registry = createRegistry();
  const svc = new PolicyService({ source, sourceKind: 'kube', enforcer: edge, localIps: () => new Set(['10.32.0.3']), log: silentLogger(), registry, debounceMs: 1 });
  await svc.start();
  source.set({ policies: [deny], namespaces: [], pods });
  await svc.settled();
  assert.equal(svc.status().errors >= 1, true);
  assert.match(svc.status().lastError ?? '', /nft refused/);
  assert.equal(svc.status().inputDigest, undefined, 'a failed apply puts nothing in force');
  assert.match(await registry.metrics(), /^weft_policy_apply_errors_total [1-9]/m);
  edge.fail = false;
  source.set(null); // not synced: nothing compiled
  await svc.settled();
  assert.equal(edge.applied.length, 0);
  assert.equal(svc.status().source, 'kube');
  source.set({ policies: [deny], namespaces: [], pods });
  await svc.settled();
  assert.equal(edge.applied.length, 1);
  await svc.stop();
});
