import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podIdentityFromKube } from './pods.js';

const base = () => ({
  metadata: { namespace: 'ns', name: 'p', labels: { app: 'a', n: 1 } },
  spec: { nodeName: 'node-1', containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 80 }, { containerPort: 81 }, { name: 'q', containerPort: 53, protocol: 'UDP' }] }] },
  status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'FD00:0:0::1' }] },
});

test('a running pod: labels (strings only), every address printed canonically, named ports with TCP by default, node as host', () => {
  assert.deepEqual(podIdentityFromKube(base()), {
    ok: true,
    pod: {
      namespace: 'ns', name: 'p', labels: { app: 'a' }, host: 'node-1', ips: ['10.0.0.1', 'fd00::1'],
      ports: [{ name: 'q', port: 53, protocol: 'UDP' }, { name: 'web', port: 80, protocol: 'TCP' }],
    },
  });
});

test('the older podIP alone is enough; no address, hostNetwork, Succeeded/Failed and malformed pods are left out with a reason', () => {
  const p = base();
  const only = { ...p, status: { phase: 'Running', podIP: '10.0.0.2' } };
  assert.deepEqual(podIdentityFromKube(only).ok && podIdentityFromKube(only), { ok: true, pod: { ...(podIdentityFromKube(p) as { pod: object }).pod, ips: ['10.0.0.2'] } });
  assert.deepEqual(podIdentityFromKube({ ...p, status: { phase: 'Pending' } }), { ok: false, reason: 'no-address' });
  assert.deepEqual(podIdentityFromKube({ ...p, status: { phase: 'Running', podIPs: [{ ip: 'not-an-ip' }] } }), { ok: false, reason: 'no-address' });
  assert.deepEqual(podIdentityFromKube({ ...p, spec: { ...p.spec, hostNetwork: true } }), { ok: false, reason: 'host-network' });
  assert.deepEqual(podIdentityFromKube({ ...p, status: { ...p.status, phase: 'Succeeded' } }), { ok: false, reason: 'terminated' });
  assert.deepEqual(podIdentityFromKube({ ...p, status: { ...p.status, phase: 'Failed' } }), { ok: false, reason: 'terminated' });
  assert.deepEqual(podIdentityFromKube({ metadata: { name: 'x' } }), { ok: false, reason: 'malformed' });
  assert.deepEqual(podIdentityFromKube(null), { ok: false, reason: 'malformed' });
});

test('ports out of range or with an unknown protocol are dropped, not the pod', () => {
  const p = base();
  p.spec.containers[0]!.ports = [{ name: 'big', containerPort: 70000 }, { name: 'icmp', containerPort: 1, protocol: 'ICMP' }, { name: 'ok', containerPort: 9 }];
  const c = podIdentityFromKube(p);
  assert.ok(c.ok);
  assert.deepEqual(c.pod.ports, [{ name: 'ok', port: 9, protocol: 'TCP' }]);
});
