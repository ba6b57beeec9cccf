import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWeftError, silentLogger } from '../common/index.js';
import { PODS_FILE, PodIdentities, podIdentity } from './pod-identities.js';

test('podIdentity: defaults (namespace default, name from the netns) and one-line errors naming the field', () => {
  assert.deepEqual(podIdentity({}, '/run/netns/Web_1'), { namespace: 'default', name: 'Web_1', labels: {}, ports: [] });
  assert.equal(podIdentity({}, '/proc/42/ns/net').name, 'pid-42');
  const bad: [Parameters<typeof podIdentity>[0], RegExp][] = [
    [{ namespace: 'Prod' }, /^invalid namespace "Prod": /],
    [{ name: 'a/b' }, /^invalid pod name "a\/b": /],
    [{ labels: { 'k k': 'v' } }, /^invalid labels: label "k k": /],
    [{ ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'http', port: 81, protocol: 'TCP' }] }, /^invalid ports: port name "http" given twice/],
  ];
  for (const [input, re] of bad) {
    assert.throws(() => podIdentity(input, 'ns'), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && re.test(e.message), String(re));
  }
});

test('records survive a restart (pods.json), follow the kernel on reconcile, and relabel', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wft-pods-'));
  try {
    let changes = 0;
    const a = new PodIdentities(dir, silentLogger(), () => changes++);
    a.record('attach/p1/ethwe', '/run/netns/p1', 'ethwe', podIdentity({ labels: { app: 'web' } }, '/run/netns/p1'), '10.32.0.5');
    a.record('attach/p1/ethwe', '/run/netns/p1', 'ethwe', podIdentity({ labels: { app: 'web' } }, '/run/netns/p1'), '10.32.0.6');
    a.record('cni/net/c2/eth0', '/proc/9/ns/net', 'eth0', podIdentity({ namespace: 'prod', name: 'db' }, '/proc/9/ns/net'), 'fd00::2');
    assert.deepEqual([...a.localIps()].sort(), ['10.32.0.5', '10.32.0.6', 'fd00::2']);
    a.relabel('/run/netns/p1', 'ethwe', { tier: 'fe' }, ['app']);
    assert.throws(() => a.relabel('/run/netns/nope', 'ethwe', { a: 'b' }, []), (e) => isWeftError(e, 'WEFT_ERR_NOT_FOUND'));
    assert.equal(changes, 4);
    await a.close();
    const b = new PodIdentities(dir, silentLogger(), () => undefined);
    assert.equal(await b.load(), 2);
    assert.deepEqual(b.find('/run/netns/p1', 'ethwe')?.pod.labels, { tier: 'fe' });
    assert.equal(b.reconcile([{ netns: '/run/netns/p1', ifname: 'ethwe', addresses: ['10.32.0.5/12'] }]), 1, 'the CNI pod went away');
    assert.deepEqual(b.announced().map((p) => [p.name, p.ips]), [['p1', ['10.32.0.5']]]);
    await b.close();
    assert.match(await readFile(join(dir, PODS_FILE), 'utf8'), /"tier":"fe"/);
    await writeFile(join(dir, PODS_FILE), '{"pods":[{"owner":"x","netns":"/n","ifname":"e","pod":{"namespace":"BAD"}}]}');
    const c = new PodIdentities(dir, silentLogger(), () => undefined);
    assert.equal(await c.load(), 0, 'a bad file is ignored');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
