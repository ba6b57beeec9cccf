import { test } from 'node:test';
import assert from 'node:assert/strict';
import { V1NetworkPolicy, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer, V1NetworkPolicySpec, V1ObjectMeta } from '@kubernetes/client-node';
import { toApiJson } from './api-json.js';

test('a model instance from a list is put back in the wire form: `from` not `_from`, RFC 3339 dates, no undefined members', () => {
  const peer = new V1NetworkPolicyPeer();
  peer.podSelector = { matchLabels: { app: 'web' } };
  const rule = new V1NetworkPolicyIngressRule();
  rule._from = [peer];
  rule.ports = [{ protocol: 'TCP', port: 'http' }];
  const spec = new V1NetworkPolicySpec();
  spec.podSelector = {};
  spec.ingress = [rule];
  const meta = new V1ObjectMeta();
  meta.name = 'p';
  meta.namespace = 'ns';
  meta.creationTimestamp = new Date('2025-11-03T12:31:40Z');
  meta.labels = { a: 'b' };
  const np = new V1NetworkPolicy();
  np.metadata = meta;
  np.spec = spec;
  assert.deepEqual(toApiJson(np, 'V1NetworkPolicy'), {
    metadata: { name: 'p', namespace: 'ns', creationTimestamp: '2025-11-03T12:31:40.000Z', labels: { a: 'b' } },
    spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 'http' }] }] },
  });
});

test('plain JSON (a watch event) passes through unchanged, unknown fields kept', () => {
  const wire = {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy',
    metadata: { name: 'p', namespace: 'ns', creationTimestamp: '2025-11-03T12:31:40Z', futureField: { x: 1 } },
    spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }], policyTypes: ['Ingress'] },
  };
  assert.deepEqual(toApiJson(wire, 'V1NetworkPolicy'), wire);
  assert.deepEqual(toApiJson(toApiJson(wire, 'V1NetworkPolicy'), 'V1NetworkPolicy'), wire);
});
