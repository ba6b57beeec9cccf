import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { silentLogger, isWeftError } from '../common/index.js';
import { createRegistry, createMeshMetrics, HANDSHAKE_RESULTS } from './index.js';

const docsPath = new URL('../../../docs/metrics.md', import.meta.url);

test('registry exports default process metrics and the mesh metrics with help text', async () => {
  const registry = createRegistry();
  const m = createMeshMetrics(registry);
  m.setPeers(3);
  m.setConnections({ established: 2 });
  m.handshake('ok');
  m.handshake('bad_secret');
  m.badInput('udp', 'too_big');
  m.gossip('topology', 'broadcast', 'out', 120);
  m.gossip('topology', 'broadcast', 'out', 30);
  m.connectionTerminated('heartbeat_timeout');
  m.setPendingHandshakes(4);
  const text = await registry.metrics();
  assert.match(text, /^process_cpu_seconds_total /m);
  assert.match(text, /^# HELP weft_peers \S/m);
  assert.match(text, /^weft_peers 3$/m);
  assert.match(text, /^weft_connections\{state="established"\} 2$/m);
  assert.match(text, /^weft_connections\{state="failed"\} 0$/m);
  assert.match(text, /^weft_handshakes_total\{result="bad_secret"\} 1$/m);
  for (const r of HANDSHAKE_RESULTS) assert.match(text, new RegExp(`^weft_handshakes_total\\{result="${r}"\\} `, 'm'));
  assert.match(text, /^weft_bad_input_total\{source="udp",reason="too_big"\} 1$/m);
  assert.match(text, /^weft_gossip_messages_total\{channel="topology",kind="broadcast",direction="out"\} 2$/m);
  assert.match(text, /^weft_gossip_bytes_total\{channel="topology",direction="out"\} 150$/m);
  assert.match(text, /^weft_connection_terminations_total\{reason="heartbeat_timeout"\} 1$/m);
  assert.match(text, /^weft_pending_handshakes 4$/m);
});

test('registering the mesh metrics twice in one registry is a WeftError', () => {
  const registry = createRegistry();
  createMeshMetrics(registry);
  assert.throws(() => createMeshMetrics(registry), (e) => isWeftError(e, 'WEFT_ERR_INTERNAL'));
  createMeshMetrics(createRegistry()); // independent registries do not collide
});

test('docs/metrics.md lists exactly the weft_ metrics the code registers, with matching types', async () => {
  const registry = createRegistry();
  createMeshMetrics(registry);
  // Every other subsystem registers its metrics at construction (no I/O before start()).
  const { Ipam } = await import('../ipam/index.js');
  const { buildDataplane, PolicyMetrics } = await import('../daemon/index.js');
  new PolicyMetrics(registry, () => ({ policy: 0, namespace: 0, pod: 0 }), () => Promise.resolve([]));
  const log = silentLogger();
  new Ipam({ self: '02:00:00:00:00:01', nickname: 'n', range: '10.32.0.0/12', init: { consensus: 1 }, dataDir: '/nonexistent', log, registry });
  // The daemon's own composition root: the sleeve and the fast-path switch, as the daemon builds them.
  buildDataplane({
    peers: [], nickname: 'n', port: 6783, host: '0.0.0.0', dataDir: '/nonexistent', apiSocket: '/nonexistent/weft.sock', statusAddr: '',
    connLimit: 100, logLevel: 'silent', heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000, gossipIntervalMs: 1000, backoffScale: 1,
    bridge: 'weft', ipallocRange: '10.32.0.0/12', ipallocInit: { consensus: 1 }, podTxOffload: true,
  }, '02:00:00:00:00:01', log, registry);
  // Service discovery and flow records register theirs at construction too (no socket before start()).
  const { DnsService, FlowService } = await import('../daemon/index.js');
  new DnsService({
    self: '02:00:00:00:00:01', dataDir: '/nonexistent', log, registry, domain: 'weft.local', upstreams: [], port: 53,
    workloads: () => [], onWorkloadsChanged: () => undefined, listenAddress: () => Promise.resolve(undefined),
  });
  new FlowService({
    self: { name: '02:00:00:00:00:01', nickname: 'n' }, log, registry, recording: true, policyInput: () => null, ruleset: () => null,
    nickname: (p) => p, modes: () => new Map(), peers: () => [], listAttached: () => Promise.resolve([]),
  });
  const registered = new Map<string, string>();
  for (const m of await registry.getMetricsAsJSON()) if (m.name.startsWith('weft_')) registered.set(m.name, String(m.type));
  const documented = new Map<string, string>();
  for (const line of readFileSync(docsPath, 'utf8').split('\n')) {
    const row = /^\| `(weft_[a-z_]+)` \| (\w+) \|/.exec(line);
    if (row) documented.set(row[1]!, row[2]!);
  }
  assert.deepEqual([...documented.entries()].sort(), [...registered.entries()].sort());
});
