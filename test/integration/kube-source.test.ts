/**
 * Kubernetes mode against a stand-in API server (test/support/stand-in-apiserver.ts: real
 * HTTPS on 127.0.0.1, the list/watch protocol, fixtures from test/fixtures/kube/): the
 * KubePolicySource's informers, retries, relists and its "whole world only" gate. No root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { isWeftError, type Logger } from '../../src/common/index.js';
import { KubePolicySource, loadKubeConfig } from '../../src/kube/index.js';
import { buildKubePolicySource, type DaemonConfig } from '../../src/daemon/index.js';
import type { PolicyInput } from '../../src/policy/index.js';
import { KUBE_FIXTURES, StandInApiServer, type KubeJson, type StandInOptions } from '../support/stand-in-apiserver.js';
import { waitFor } from '../support/wait.js';

const WAIT = { timeoutMs: 5_000, intervalMs: 10 };

interface LogLine { level: number; msg: string; [k: string]: unknown }

interface Rig {
  server: StandInApiServer;
  source: KubePolicySource;
  logs: LogLine[];
  changes(): number;
  snap(): PolicyInput;
  close(): Promise<void>;
}

async function rig(t: { after(fn: () => Promise<void>): void }, o: StandInOptions & { pageSize?: number; available?: boolean; start?: boolean } = {}): Promise<Rig> {
  const server = await StandInApiServer.start(o);
  if (o.available === false) server.setAvailable(false);
  const dir = mkdtempSync(join(tmpdir(), 'weft-kube-'));
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) }) as unknown as Logger;
  const source = new KubePolicySource({
    kubeConfig: loadKubeConfig({ mode: 'kubeconfig', file: server.writeKubeconfig(dir) }),
    log, retry: { minMs: 20, maxMs: 200 }, debounceMs: 10, ...(o.pageSize ? { pageSize: o.pageSize } : {}),
  });
  let changes = 0;
  source.onChange(() => changes++);
  const close = async () => {
    await source.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(close);
  if (o.start ?? true) await source.start();
  return { server, source, logs, changes: () => changes, snap: () => source.snapshot(), close };
}

const podNames = (s: PolicyInput) => s.pods.map((p) => `${p.namespace}/${p.name}`);
const policyNames = (s: PolicyInput) => s.policies.map((p) => `${p.namespace}/${p.name}`);
const nsNames = (s: PolicyInput) => s.namespaces.map((n) => n.name);
const lists = (r: Rig, resource: string) => r.server.requests.filter((q) => q.resource === resource && !q.watch && q.status === 200).length;

function pod(namespace: string, name: string, ip: string, labels: Record<string, string> = { app: 'extra' }): KubeJson {
  return {
    metadata: { name, namespace, labels },
    spec: { nodeName: 'node-c', containers: [{ name: 'c', image: 'busybox:1.36', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}
function policy(namespace: string, name: string, port: number): KubeJson {
  return { metadata: { name, namespace }, spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ protocol: 'TCP', port }] }], policyTypes: ['Ingress'] } };
}

test('the initial list gives the whole cluster as the model reads it, once all three resources are listed', async (t) => {
  const r = await rig(t);
  await waitFor(() => r.changes() > 0, { ...WAIT, what: 'first onChange (synced)' });
  assert.equal(r.source.synced, true);
  const s = r.snap();
  // kube-proxy (hostNetwork), the Succeeded job pod and the unscheduled Pending pod are left out.
  assert.deepEqual(podNames(s), ['monitoring/prometheus-0', 'shop/api-7f9c8d6b5-m4p7r', 'shop/frontend-6d4b9c7f8-x2k9q']);
  const api = s.pods.find((p) => p.name.startsWith('api-'));
  assert.deepEqual(api, {
    namespace: 'shop', name: 'api-7f9c8d6b5-m4p7r', host: 'node-b',
    labels: { app: 'api', 'pod-template-hash': '7f9c8d6b5', tier: 'backend' },
    ips: ['10.32.64.3', 'fd00:10:32::40:3'],
    // the unnamed 8443 is not a named port; metrics has no protocol: TCP
    ports: [{ name: 'http', port: 8000, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }, { name: 'statsd', port: 8125, protocol: 'UDP' }],
  });
  assert.deepEqual(nsNames(s), ['default', 'kube-system', 'monitoring', 'shop']);
  assert.deepEqual(s.namespaces.find((n) => n.name === 'shop')?.labels, { 'kubernetes.io/metadata.name': 'shop', team: 'retail', env: 'prod' });
  assert.deepEqual(policyNames(s), ['shop/api-allow-frontend', 'shop/api-egress-db', 'shop/default-deny-ingress']);
  const allow = s.policies.find((p) => p.name === 'api-allow-frontend');
  // `from` survives the client's `_from` model field: the rule has its two peers and named port.
  assert.equal(allow?.ingress[0]?.peers?.length, 2);
  assert.deepEqual(allow?.ingress[0]?.ports?.map((p) => p.port), ['http', 9090]);
  assert.equal(s.policies.find((p) => p.name === 'api-egress-db')?.audit, true);
  const st = r.source.status();
  assert.deepEqual(st.pods, { used: 3, skipped: { 'host-network': 1, 'no-address': 1, terminated: 1, malformed: 0 } });
  assert.deepEqual(st.rejected, { total: 0, current: [] });
  assert.equal(st.resources.pods.state, 'watching');
  assert.ok(r.logs.some((l) => l.msg === 'Kubernetes mode synced'));
});

test('adds, changes and deletes of pods, namespaces and policies reach the snapshot', async (t) => {
  const r = await rig(t);
  await waitFor(() => r.source.synced, WAIT);
  r.server.add('pods', pod('shop', 'db-0', '10.32.0.20', { app: 'db' }));
  r.server.add('namespaces', { metadata: { name: 'staging', labels: { 'kubernetes.io/metadata.name': 'staging', env: 'staging' } } });
  r.server.add('networkpolicies', policy('shop', 'db-ingress', 5432));
  await waitFor(() => podNames(r.snap()).includes('shop/db-0') && nsNames(r.snap()).includes('staging') && policyNames(r.snap()).includes('shop/db-ingress'), { ...WAIT, what: 'three adds' });
  const before = r.changes();

  r.server.modify('networkpolicies', 'shop', 'db-ingress', (o) => { (o.spec as { ingress: { ports: { port: number }[] }[] }).ingress[0]!.ports[0]!.port = 6432; });
  r.server.modify('namespaces', '', 'staging', (o) => { o.metadata.labels = { ...o.metadata.labels, env: 'qa' }; });
  r.server.modify('pods', 'shop', 'db-0', (o) => { (o.status as Record<string, unknown>).podIPs = [{ ip: '10.32.0.21' }]; (o.status as Record<string, unknown>).podIP = '10.32.0.21'; });
  await waitFor(() => {
    const s = r.snap();
    return s.policies.find((p) => p.name === 'db-ingress')?.ingress[0]?.ports?.[0]?.port === 6432
      && s.namespaces.find((n) => n.name === 'staging')?.labels.env === 'qa'
      && s.pods.find((p) => p.name === 'db-0')?.ips[0] === '10.32.0.21';
  }, { ...WAIT, what: 'three modifies' });
  await waitFor(() => r.changes() > before, { ...WAIT, what: 'onChange for the changes' });

  r.server.remove('networkpolicies', 'shop', 'default-deny-ingress');
  r.server.remove('namespaces', '', 'monitoring');
  r.server.remove('pods', 'shop', 'frontend-6d4b9c7f8-x2k9q');
  await waitFor(() => !policyNames(r.snap()).includes('shop/default-deny-ingress') && !nsNames(r.snap()).includes('monitoring')
    && !podNames(r.snap()).includes('shop/frontend-6d4b9c7f8-x2k9q'), { ...WAIT, what: 'three deletes' });
  // A pod that terminates leaves the input (its address may be reused).
  r.server.modify('pods', 'shop', 'db-0', (o) => { (o.status as Record<string, unknown>).phase = 'Succeeded'; });
  await waitFor(() => !podNames(r.snap()).includes('shop/db-0'), { ...WAIT, what: 'terminated pod gone' });
});

test('a label change on a pod is seen', async (t) => {
  const r = await rig(t);
  await waitFor(() => r.source.synced, WAIT);
  r.server.modify('pods', 'shop', 'frontend-6d4b9c7f8-x2k9q', (o) => { o.metadata.labels = { ...o.metadata.labels, app: 'frontend-canary' }; });
  await waitFor(() => r.snap().pods.find((p) => p.name === 'frontend-6d4b9c7f8-x2k9q')?.labels.app === 'frontend-canary', { ...WAIT, what: 'new label' });
});

for (const staleWatch of ['event', 'status'] as const) {
  test(`a watch that expired (410, as ${staleWatch === 'event' ? 'an ERROR event' : 'an HTTP status'}) is answered by a relist; objects deleted in the gap disappear`, async (t) => {
    const r = await rig(t, { staleWatch });
    await waitFor(() => r.source.synced, WAIT);
    assert.equal(lists(r, 'pods'), 1);
    // The server goes away; while it is away, objects change and the history is compacted.
    r.server.setAvailable(false);
    await waitFor(() => Object.values(r.source.status().resources).every((x) => x.lastError?.includes('503')), { ...WAIT, what: 'the client saw the outage' });
    r.server.remove('pods', 'shop', 'api-7f9c8d6b5-m4p7r');
    r.server.remove('networkpolicies', 'shop', 'api-egress-db');
    r.server.add('namespaces', { metadata: { name: 'late', labels: { 'kubernetes.io/metadata.name': 'late' } } });
    r.server.compact();
    assert.equal(r.source.synced, true, 'an outage keeps the last whole view');
    assert.ok(podNames(r.snap()).includes('shop/api-7f9c8d6b5-m4p7r'), 'stale but whole until the server is back');
    r.server.setAvailable(true);
    await waitFor(() => lists(r, 'pods') >= 2 && lists(r, 'networkpolicies') >= 2 && lists(r, 'namespaces') >= 2, { ...WAIT, what: 'relists' });
    await waitFor(() => !podNames(r.snap()).includes('shop/api-7f9c8d6b5-m4p7r') && !policyNames(r.snap()).includes('shop/api-egress-db')
      && nsNames(r.snap()).includes('late'), { ...WAIT, what: 'the gap applied' });
    assert.ok(r.logs.some((l) => l.msg.startsWith('relisting')), 'the relist is logged');
    assert.ok(r.logs.some((l) => l.msg === 'list/watch failed; retrying' && String(l.err).includes('503')), 'the outage is logged');
    // And the new watches work.
    r.server.add('pods', pod('shop', 'after-gap', '10.32.0.30'));
    await waitFor(() => podNames(r.snap()).includes('shop/after-gap'), { ...WAIT, what: 'event after relist' });
  });
}

test('expiring open watches (ERROR 410 on the stream) relists and stays correct', async (t) => {
  const r = await rig(t);
  await waitFor(() => r.source.synced && r.server.openWatches === 3, { ...WAIT, what: 'three watches' });
  r.server.expireWatches();
  r.server.remove('namespaces', '', 'default');
  await waitFor(() => lists(r, 'namespaces') >= 2 && !nsNames(r.snap()).includes('default'), { ...WAIT, what: 'relist after expiry' });
  assert.equal(r.source.status().resources.namespaces.lists, 2);
});

test('a dropped connection is reopened from the last resourceVersion and catches up without a relist', async (t) => {
  const r = await rig(t);
  await waitFor(() => r.source.synced && r.server.openWatches === 3, { ...WAIT, what: 'three watches' });
  r.server.dropConnections();
  // Changed before the client is back: replayed from the server's history on the new watch.
  r.server.modify('pods', 'monitoring', 'prometheus-0', (o) => { o.metadata.labels = { ...o.metadata.labels, release: 'blue' }; });
  r.server.add('networkpolicies', policy('monitoring', 'scrape', 9090));
  await waitFor(() => r.snap().pods.find((p) => p.name === 'prometheus-0')?.labels.release === 'blue'
    && policyNames(r.snap()).includes('monitoring/scrape'), { ...WAIT, what: 'catch-up' });
  await waitFor(() => r.server.openWatches === 3, { ...WAIT, what: 'watches reopened' });
  assert.equal(lists(r, 'pods'), 1, 'no relist: the watch resumed');
  assert.ok(r.source.status().resources.pods.reconnects >= 1);
  const resumed = r.server.requests.filter((q) => q.resource === 'pods' && q.watch).map((q) => q.resourceVersion);
  assert.ok(resumed.length >= 2 && resumed.every((v) => v !== null && v !== ''), `each watch names a resourceVersion (${resumed.join(', ')})`);
  assert.ok(r.logs.some((l) => l.msg === 'watch reconnecting'), 'the reconnect is logged');
});

test('a policy weft refuses is skipped, counted and logged; the rest is used; a fix brings it in', async (t) => {
  const r = await rig(t);
  await waitFor(() => r.source.synced, WAIT);
  r.server.add('networkpolicies', policy('shop', 'bad-port', 70000));
  r.server.add('networkpolicies', policy('shop', 'good', 5432));
  await waitFor(() => policyNames(r.snap()).includes('shop/good'), { ...WAIT, what: 'valid policy' });
  await waitFor(() => r.source.status().rejected.total === 1, { ...WAIT, what: 'rejection counted' });
  const st = r.source.status();
  assert.equal(st.rejected.current.length, 1);
  assert.equal(st.rejected.current[0]?.key, 'NetworkPolicy shop/bad-port');
  assert.match(st.rejected.current[0]?.reason ?? '', /port/);
  assert.ok(!policyNames(r.snap()).includes('shop/bad-port'));
  assert.equal(r.snap().policies.length, 4, 'the three fixtures and the good one');
  assert.ok(r.logs.some((l) => l.msg === 'skipping an object weft cannot use' && l.object === 'shop/bad-port' && String(l.reason).includes('WEFT_ERR_POLICY_INVALID')));
  r.server.modify('networkpolicies', 'shop', 'bad-port', (o) => { (o.spec as { ingress: { ports: { port: number }[] }[] }).ingress[0]!.ports[0]!.port = 7000; });
  await waitFor(() => policyNames(r.snap()).includes('shop/bad-port'), { ...WAIT, what: 'fixed policy used' });
  assert.deepEqual(r.source.status().rejected, { total: 1, current: [] });
});

test('an unreachable server at start: start() returns, nothing is reported until synced, status says why', async (t) => {
  const r = await rig(t, { available: false });
  await waitFor(() => Object.values(r.source.status().resources).every((x) => x.lastError?.includes('503')), { ...WAIT, what: 'errors in status' });
  const st = r.source.status();
  assert.equal(st.synced, false);
  for (const x of Object.values(st.resources)) {
    assert.equal(x.listed, false);
    assert.ok(x.state === 'retrying' || x.state === 'listing', x.state);
  }
  assert.throws(() => r.snap(), (e) => isWeftError(e, 'WEFT_ERR_KUBE'));
  assert.equal(r.changes(), 0, 'no onChange before synced');
  const retries = r.server.requests.length;
  await waitFor(() => r.server.requests.length >= retries + 3, { ...WAIT, what: 'retries' });
  r.server.setAvailable(true);
  await waitFor(() => r.changes() > 0, { ...WAIT, what: 'synced after the server came back' });
  assert.equal(r.snap().pods.length, 3);
  assert.equal(r.source.status().resources.pods.lastError, undefined);
});

test('wrong credentials (401) are retried and named in status', async (t) => {
  const server = await StandInApiServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'weft-kube-'));
  const source = new KubePolicySource({
    kubeConfig: loadKubeConfig({ mode: 'kubeconfig', file: server.writeKubeconfig(dir, 'wrong-token') }),
    log: pino({ level: 'silent' }) as unknown as Logger, retry: { minMs: 20, maxMs: 100 },
  });
  t.after(async () => { await source.stop(); await server.close(); rmSync(dir, { recursive: true, force: true }); });
  await source.start();
  await waitFor(() => source.status().resources.networkpolicies.lastError?.includes('401 Unauthorized'), { ...WAIT, what: '401 in status' });
  assert.equal(source.synced, false);
});

test('lists are paged (limit/continue) and still whole', async (t) => {
  const r = await rig(t, { pageSize: 2 });
  await waitFor(() => r.source.synced, WAIT);
  assert.equal(r.snap().pods.length, 3);
  assert.equal(r.snap().namespaces.length, 4);
  assert.ok(lists(r, 'pods') >= 3, 'six pods in pages of two');
});

test('stop() ends every watch and timer, also while retrying; no handle stays open', async (t) => {
  const baseline = process.getActiveResourcesInfo().filter((x) => x !== 'Timeout').length;
  const r = await rig(t);
  await waitFor(() => r.source.synced && r.server.openWatches === 3, { ...WAIT, what: 'three watches' });
  await r.source.stop();
  await waitFor(() => r.server.openWatches === 0, { ...WAIT, what: 'server sees no watch' });
  assert.equal(r.source.openWatches, 0);
  // Stopped while retrying: no request after stop.
  r.server.setAvailable(false);
  await r.source.start();
  await waitFor(() => r.source.status().resources.pods.state === 'retrying', { ...WAIT, what: 'retrying' });
  await r.source.stop();
  // Requests already on their way are answered (and ignored); then nothing is left to send more.
  await r.server.close();
  await waitFor(() => process.getActiveResourcesInfo().filter((x) => x !== 'Timeout').length <= baseline, { ...WAIT, what: 'sockets closed' });
  await waitFor(() => !process.getActiveResourcesInfo().includes('Timeout'), { ...WAIT, what: 'retry timers cleared' });
});

test('kubeconfig problems are named: missing file, not a kubeconfig, unreadable CA, not in a cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-kube-'));
  try {
    const missing = join(dir, 'nope');
    assert.throws(() => loadKubeConfig({ mode: 'kubeconfig', file: missing }), (e) => isWeftError(e, 'WEFT_ERR_KUBE') && e.message.includes(missing));
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'clusters: [ {');
    assert.throws(() => loadKubeConfig({ mode: 'kubeconfig', file: junk }), (e) => isWeftError(e, 'WEFT_ERR_KUBE') && e.message.includes('not a valid kubeconfig'));
    const noCa = join(dir, 'noca');
    writeFileSync(noCa, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority: /nonexistent/ca.crt\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n');
    assert.throws(() => loadKubeConfig({ mode: 'kubeconfig', file: noCa }), (e) => isWeftError(e, 'WEFT_ERR_KUBE') && e.message.includes('/nonexistent/ca.crt'));
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    delete process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_PORT;
    try {
      assert.throws(() => loadKubeConfig({ mode: 'in-cluster' }), (e) => isWeftError(e, 'WEFT_ERR_KUBE') && e.message.includes('KUBERNETES_SERVICE_HOST'));
    } finally {
      if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port !== undefined) process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the daemon builds the source from DaemonConfig.kube (none without it; a bad kubeconfig is refused by name)', async (t) => {
  const server = await StandInApiServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'weft-kube-'));
  const log = pino({ level: 'silent' }) as unknown as Logger;
  let source: KubePolicySource | null = null;
  t.after(async () => { await source?.stop(); await server.close(); rmSync(dir, { recursive: true, force: true }); });
  const config = (kube?: DaemonConfig['kube']) => ({ kube }) as DaemonConfig;
  assert.equal(await buildKubePolicySource(config(), log), null);
  await assert.rejects(buildKubePolicySource(config({ mode: 'kubeconfig', file: join(dir, 'missing') }), log), (e) => isWeftError(e, 'WEFT_ERR_KUBE'));
  source = await buildKubePolicySource(config({ mode: 'kubeconfig', file: server.writeKubeconfig(dir) }), log);
  assert.ok(source);
  let changed = false;
  source.onChange(() => { changed = true; });
  await source.start();
  await waitFor(() => changed, { ...WAIT, what: 'synced through the daemon-built source' });
  assert.equal(source.snapshot().policies.length, 3);
});

test('examples/weft-daemonset.yaml runs --kube with a service account bound to get/list/watch on what the source watches', () => {
  const docs = parseAllDocuments(readFileSync(join(KUBE_FIXTURES, '..', '..', '..', 'examples', 'weft-daemonset.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  const role = docs.find((d) => d.kind === 'ClusterRole');
  const binding = docs.find((d) => d.kind === 'ClusterRoleBinding');
  const ds = docs.find((d) => d.kind === 'DaemonSet');
  const grants = (group: string, resource: string) => (role?.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[])
    .some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && ['get', 'list', 'watch'].every((v) => r.verbs.includes(v)));
  assert.ok(grants('', 'pods') && grants('', 'namespaces') && grants('networking.k8s.io', 'networkpolicies'));
  assert.equal(binding?.roleRef.name, role?.metadata.name);
  assert.deepEqual(binding?.subjects, [{ kind: 'ServiceAccount', name: ds?.spec.template.spec.serviceAccountName, namespace: ds?.metadata.namespace }]);
  assert.match(String(ds?.spec.template.spec.containers[0].args[0]), /weft launch --foreground --kube/);
});
