import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFlowRow } from './commands/flows.js';

test('weft flows: the table row names time, host, verdict and reason, both pods, path, policy and bytes', () => {
  const row = formatFlowRow({
    time: '2026-01-01T10:20:30.456Z', seq: 1, event: 'drop', verdict: 'dropped', drop_reason: 'policy-denied',
    policies: [{ namespace: 'default', name: 'only-friends', direction: 'ingress' }],
    source: { ip: '10.32.0.2', port: 41000, namespace: 'default', name: 'client' }, destination: { ip: '10.32.0.3', port: 8080 },
    protocol: 'TCP', tcp_flags: ['SYN'], path: 'hostgw', observed_on: 'host3',
  });
  assert.match(row, /^10:20:30\.456 {2}host3 +DROPPED policy-denied +TCP +default\/client:41000 -> 10\.32\.0\.3:8080 {2}hostgw {2}policy default\/only-friends\(ingress\) SYN$/);
  const end = formatFlowRow({
    time: '2026-01-01T10:20:31.000Z', seq: 2, event: 'end', verdict: 'forwarded', source: { ip: '10.32.0.2', port: 1 }, destination: { ip: '10.32.0.3', port: 2 },
    protocol: 'UDP', path: 'local', observed_on: 'h', bytes: 400, packets: 5,
  });
  assert.match(end, /closed .* 400 B 5 pkts$/);
});
