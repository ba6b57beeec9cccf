import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../common/index.js';
import { resolveNetns, vethNames, IFNAME_MAX } from './index.js';
import { checkCidr, endpointAlias, parseEndpointAlias } from './netns.js';

test('netns references and derived names', () => {
  assert.equal(resolveNetns('pod1'), '/run/netns/pod1');
  assert.equal(resolveNetns('/run/netns/pod1'), '/run/netns/pod1');
  assert.equal(resolveNetns('/proc/123/ns/net'), '/proc/123/ns/net');
  for (const bad of ['', 'a/b/../c', '/x/../y', 'a b', '..']) {
    assert.throws(() => resolveNetns(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  }
  const n = vethNames('8:1234', 'ethwe');
  assert.ok(n.host.length <= IFNAME_MAX && n.temp.length <= IFNAME_MAX);
  assert.notEqual(n.host, vethNames('8:1235', 'ethwe').host);
  assert.notEqual(n.host, vethNames('8:1234', 'eth1').host);
  assert.deepEqual(parseEndpointAlias(endpointAlias('/proc/9/ns/net', 'ethwe')), { ifname: 'ethwe', netns: '/proc/9/ns/net' });
  assert.equal(parseEndpointAlias('something else'), null);
  assert.equal(checkCidr('10.32.0.5/12'), '10.32.0.5/12');
  assert.equal(checkCidr('fd00::1/64'), 'fd00::1/64');
  for (const bad of ['10.0.0.300/8', '10.0.0.1', '10.0.0.1/33', 'x/1']) {
    assert.throws(() => checkCidr(bad), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), bad);
  }
});
