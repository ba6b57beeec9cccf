import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelsProblem, parseLabelArg, parsePodPort, podNameProblem, podPortsProblem } from './identity-syntax.js';

test('label maps: keys and values in Kubernetes syntax, each problem names the label', () => {
  assert.equal(labelsProblem({ app: 'web', 'app.kubernetes.io/name': 'x', 'example.com/a_b': '' }), null);
  assert.match(labelsProblem({ ok: 'y', 'bad key': 'x' }) ?? '', /^label "bad key": /);
  assert.match(labelsProblem({ app: '-x' }) ?? '', /^label "app": /);
  assert.match(labelsProblem({ a: 7 } as never) ?? '', /must be a string/);
  assert.match(labelsProblem(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))) ?? '', /more than 64/);
});

test('label arguments: KEY=VALUE sets, KEY- removes (where allowed)', () => {
  assert.deepEqual(parseLabelArg('app=web', false), { set: ['app', 'web'] });
  assert.deepEqual(parseLabelArg('app=', false), { set: ['app', ''] });
  assert.deepEqual(parseLabelArg('app-', true), { remove: 'app' });
  assert.equal(parseLabelArg('app-', false), 'expected KEY=VALUE');
  assert.equal(parseLabelArg('app', true), 'expected KEY=VALUE or KEY-');
  assert.match(String(parseLabelArg('a b=c', true)), /^label "a b": /);
  assert.match(String(parseLabelArg('app=x y', true)), /^label "app": /);
});

test('ports: NAME=PORT/PROTO with TCP as default protocol; lists have unique names', () => {
  assert.deepEqual(parsePodPort('http=8080/TCP'), { name: 'http', port: 8080, protocol: 'TCP' });
  assert.deepEqual(parsePodPort('dns=53/udp'), { name: 'dns', port: 53, protocol: 'UDP' });
  assert.deepEqual(parsePodPort('web=80'), { name: 'web', port: 80, protocol: 'TCP' });
  assert.match(String(parsePodPort('http')), /expected NAME=PORT\/PROTO/);
  assert.match(String(parsePodPort('http=0/TCP')), /1-65535/);
  assert.match(String(parsePodPort('http=80/ICMP')), /protocol/);
  assert.match(String(parsePodPort('HTTP=80')), /^port "HTTP": /);
  assert.match(podPortsProblem([{ name: 'a', port: 1, protocol: 'TCP' }, { name: 'a', port: 2, protocol: 'UDP' }]) ?? '', /twice/);
  assert.equal(podNameProblem('Ns_1.a'), null);
  assert.notEqual(podNameProblem('a/b'), null);
  assert.notEqual(podNameProblem(''), null);
});
