import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelKeyProblem, labelValueProblem, labelsProblem, parseLabelArg, parsePodPort, podNameProblem, portNameProblem } from './labels.js';

test('label keys and values follow the Kubernetes syntax', () => {
  for (const k of ['app', 'app.kubernetes.io/name', 'example.com/a_b-c.d', 'A9']) assert.equal(labelKeyProblem(k), null, k);
  for (const k of ['', '-a', 'a-', 'a b', 'Example.com/x', '/x', 'x/', 'a'.repeat(64), `${'a'.repeat(254)}/x`]) assert.notEqual(labelKeyProblem(k), null, k);
  for (const v of ['', 'v1', 'a.b_c-d']) assert.equal(labelValueProblem(v), null, v);
  for (const v of ['-x', 'x y', 'a'.repeat(64), 'é']) assert.notEqual(labelValueProblem(v), null, v);
  assert.match(labelsProblem({ ok: 'y', 'bad key': 'x' }) ?? '', /label key "bad key"/);
  assert.match(labelsProblem({ a: 7 } as never) ?? '', /must be a string/);
});

test('label arguments: KEY=VALUE sets, KEY- removes (where allowed)', () => {
  assert.deepEqual(parseLabelArg('app=web', false), { set: ['app', 'web'] });
  assert.deepEqual(parseLabelArg('app=', false), { set: ['app', ''] });
  assert.deepEqual(parseLabelArg('app-', true), { remove: 'app' });
  assert.equal(parseLabelArg('app-', false), 'expected KEY=VALUE');
  assert.match(String(parseLabelArg('a b=c', true)), /label key "a b"/);
  assert.match(String(parseLabelArg('app=x y', true)), /label "app" value "x y"/);
});

test('ports: NAME=PORT/PROTO with TCP as default protocol', () => {
  assert.deepEqual(parsePodPort('http=8080/TCP'), { name: 'http', port: 8080, protocol: 'TCP' });
  assert.deepEqual(parsePodPort('dns=53/udp'), { name: 'dns', port: 53, protocol: 'UDP' });
  assert.deepEqual(parsePodPort('web=80'), { name: 'web', port: 80, protocol: 'TCP' });
  assert.match(String(parsePodPort('http')), /expected NAME=PORT\/PROTO/);
  assert.match(String(parsePodPort('http=0/TCP')), /1-65535/);
  assert.match(String(parsePodPort('http=80/ICMP')), /protocol/);
  assert.match(String(parsePodPort('HTTP=80')), /port name/);
  assert.equal(portNameProblem('123'), 'must contain a letter');
  assert.notEqual(portNameProblem('a--b'), null);
  assert.equal(podNameProblem('Ns_1.a'), null);
  assert.notEqual(podNameProblem('a/b'), null);
});
