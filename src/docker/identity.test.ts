import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerIdentity, NAME_LABEL, NAMESPACE_LABEL } from './identity.js';

test('a container\'s identity: its name without the leading slash, namespace from weft.namespace, every valid label', () => {
  assert.deepEqual(containerIdentity('/web-1', { app: 'web', 'com.example/tier': 'front' }), {
    identity: { name: 'web-1', labels: { app: 'web', 'com.example/tier': 'front' } }, skipped: [],
  });
  assert.deepEqual(containerIdentity('/web-1', { [NAMESPACE_LABEL]: 'team-a', [NAME_LABEL]: 'frontend', app: 'web' }), {
    identity: { namespace: 'team-a', name: 'frontend', labels: { app: 'web' } }, skipped: [],
  });
  assert.deepEqual(containerIdentity('db', null), { identity: { name: 'db', labels: {} }, skipped: [] });
});

test('labels that are no valid pod labels are left out and named (so the caller can log them)', () => {
  const { identity, skipped } = containerIdentity('/c', {
    ok: 'yes', 'com.docker.compose.config-hash': 'f'.repeat(64), 'bad key!': 'v', path: '/usr/local/bin',
  });
  assert.deepEqual(identity.labels, { ok: 'yes' });
  assert.deepEqual(skipped, ['bad key!', 'com.docker.compose.config-hash', 'path']);
});
