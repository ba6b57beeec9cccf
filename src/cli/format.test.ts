import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusReport } from '../api/index.js';
import { formatConnections, formatPeers, formatStatusSummary, formatTable, formatTargets } from './index.js';

const A = '8e:1f:00:00:00:0a';
const B = '8e:1f:00:00:00:0b';
const C = '8e:1f:00:00:00:0c';

const fixture: StatusReport = {
  name: A, nickname: 'alpha', version: '0.1.0', protocol: { min: 1, max: 1 }, encrypted: true, port: 6783, uid: '42',
  peers: [
    { name: A, nickname: 'alpha', uid: '42', version: 7, connections: [
      { name: B, address: '10.0.0.2:6783', outbound: true, established: true },
      { name: C, address: '10.0.0.3:41000', outbound: false, established: false },
    ] },
    { name: B, nickname: 'beta', uid: '43', version: 3, connections: [
      { name: A, address: '10.0.0.1:52000', outbound: false, established: true },
    ] },
  ],
  connections: [
    { peer: B, nickname: 'beta', address: '10.0.0.2:6783', outbound: true, state: 'established', encrypted: true, mode: 'sleeve', mtu: 1376, since: '2026-01-01T00:00:00Z' },
    { peer: '', address: '10.0.0.3:6783', outbound: true, state: 'connecting', encrypted: false },
    { peer: C, address: '10.0.0.9:6783', outbound: false, state: 'failed', encrypted: false, reason: 'bad secret' },
  ],
  targets: [
    { address: '10.0.0.2:6783', state: 'connected', attempts: 1, direct: true },
    { address: '10.0.0.7', state: 'waiting', attempts: 4, lastError: 'connection refused', nextTryAt: '2026-01-01T00:01:00Z', direct: false },
  ],
};

test('summary: weave-status-like header block', () => {
  assert.equal(formatStatusSummary(fixture), [
    '    Version: 0.1.0 (protocol 1..1)',
    `       Name: ${A} (alpha)`,
    '       Port: 6783',
    ' Encryption: enabled',
    '      Peers: 2 (with 2 established connections)',
    'Connections: 3 (1 established, 1 connecting, 1 failed)',
    '    Targets: 2 (1 connected, 0 connecting, 1 waiting, 0 failed)',
  ].join('\n'));
});

test('summary: unencrypted warning and collisions are shown', () => {
  const text = formatStatusSummary({ ...fixture, encrypted: false, encryptionWarning: 'no password: traffic is readable', collisions: [C] });
  assert.match(text, /^ Encryption: DISABLED \(no password: traffic is readable\)$/m);
  assert.match(text, new RegExp(`^ Collisions: ${C} \\(another peer uses our name: cloned data dir\\?\\)$`, 'm'));
});

test('peers view: one line per peer, its connections indented', () => {
  assert.equal(formatPeers(fixture), [
    `${A} (alpha) [self]`,
    `   ->  10.0.0.2:6783   ${B} (beta)  established`,
    `   <-  10.0.0.3:41000  ${C}         pending`,
    `${B} (beta)`,
    `   <-  10.0.0.1:52000  ${A} (alpha)  established`,
  ].join('\n'));
});

test('connections view: one row per connection with state, crypto and details', () => {
  assert.equal(formatConnections(fixture), [
    '    ADDRESS        STATE        CRYPTO       PEER                      INFO',
    `->  10.0.0.2:6783  established  encrypted    ${B} (beta)  sleeve mtu=1376 since 2026-01-01T00:00:00Z`,
    '->  10.0.0.3:6783  connecting   unencrypted  -',
    `<-  10.0.0.9:6783  failed       unencrypted  ${C}         bad secret`,
  ].join('\n'));
});

test('targets view: one row per target', () => {
  assert.equal(formatTargets(fixture), [
    'ADDRESS        STATE      ATTEMPTS  ORIGIN      NEXT TRY              LAST ERROR',
    '10.0.0.2:6783  connected  1         direct      -',
    '10.0.0.7       waiting    4         discovered  2026-01-01T00:01:00Z  connection refused',
  ].join('\n'));
});

test('empty views print nothing; tables trim trailing blanks', () => {
  const empty = { ...fixture, peers: [], connections: [], targets: [] };
  assert.equal(formatConnections(empty), '');
  assert.equal(formatTargets(empty), '');
  assert.equal(formatPeers(empty), '');
  assert.equal(formatTable([['a', ''], ['bbb', 'c']]), 'a\nbbb  c');
});
