import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../common/index.js';
import { API_ROUTES, type RouteName } from './route-table.js';
import { ROUTES } from './routes.js';
import { checkRequest } from './validate.js';

/** For every route: requests that must pass, and bad ones with the field the error must name. */
const CASES: { [K in RouteName]: { good: object[]; bad: [object, string][] } } = {
  status: { good: [{}], bad: [[{ x: '1' }, 'x']] },
  report: { good: [{}], bad: [[{ verbose: '1' }, 'verbose']] },
  stop: { good: [{}], bad: [[{ now: true }, 'now']] },
  connect: {
    good: [{ peers: ['10.0.0.1'] }, { peers: [], replace: true }],
    bad: [[{}, 'peers'], [{ peers: 'a' }, 'peers'], [{ peers: [1] }, 'peers[0]'], [{ peers: ['a'], replace: 'yes' }, 'replace'],
      [{ peers: [''] }, 'peers[0]'], [{ peers: new Array(1025).fill('a') }, 'peers'], [{ peers: [], extra: 1 }, 'extra']],
  },
  forget: { good: [{ peers: ['a:1'] }], bad: [[{ peers: [true] }, 'peers[0]'], [{ peers: [], peer: 'a' }, 'peer']] },
  ping: { good: [{ peer: 'aa:bb:cc:dd:ee:ff' }], bad: [[{}, 'peer'], [{ peer: 7 }, 'peer'], [{ peer: '' }, 'peer']] },
  reset: { good: [{}], bad: [[{ force: true }, 'force']] },
  secretRotate: { good: [{}, { passwordFile: '/etc/weft/secret' }], bad: [[{ passwordFile: '' }, 'passwordFile'], [{ secret: 'x' }, 'secret']] },
  metrics: { good: [{}], bad: [[{ name: 'x' }, 'name']] },
  attach: {
    good: [{ netns: 'pod1' }, { netns: '/run/netns/p', ifname: 'eth1', ip: '10.32.0.5/12' },
      { netns: 'p', namespace: 'prod', name: 'web-1', labels: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
    bad: [[{}, 'netns'], [{ netns: '' }, 'netns'], [{ netns: 3 }, 'netns'], [{ netns: 'p', ifname: 'x'.repeat(16) }, 'ifname'],
      [{ netns: 'p', ip: null }, 'ip'], [{ netns: 'p', cidr: '10.0.0.1/8' }, 'cidr'], [{ netns: 'p', labels: { app: 1 } }, 'labels.app'],
      [{ netns: 'p', ports: [{ name: 'http', port: 0, protocol: 'TCP' }] }, 'ports[0].port'],
      [{ netns: 'p', ports: [{ name: 'http', port: 80, protocol: 'ICMP' }] }, 'ports[0].protocol'], [{ netns: 'p', namespace: '' }, 'namespace']],
  },
  detach: { good: [{ netns: 'pod1' }, { netns: 'p', ifname: 'eth1' }], bad: [[{ ifname: 'eth1' }, 'netns'], [{ netns: ['p'] }, 'netns']] },
  cni: {
    good: [{ env: { CNI_COMMAND: 'ADD', CNI_NETNS: '/proc/1/ns/net' }, stdin: '{}' }, { env: {}, stdin: '' }],
    bad: [[{ env: {} }, 'stdin'], [{ stdin: '' }, 'env'], [{ env: { PATH: '/bin' }, stdin: '' }, 'env.PATH'], [{ env: { CNI_COMMAND: 1 }, stdin: '' }, 'env.CNI_COMMAND']],
  },
  expose: { good: [{}, { cidr: '10.32.0.1/12' }], bad: [[{ cidr: 5 }, 'cidr'], [{ cidr: '' }, 'cidr']] },
  hide: { good: [{}, { cidr: '10.32.0.1/12' }], bad: [[{ cidr: false }, 'cidr']] },
  endpoints: { good: [{}], bad: [[{ all: '1' }, 'all']] },
  network: { good: [{}], bad: [[{ x: '' }, 'x']] },
  ipamAllocate: {
    good: [{ owner: 'cni/net/abc/eth0' }, { owner: 'o', address: '10.32.0.9' }],
    bad: [[{}, 'owner'], [{ owner: '' }, 'owner'], [{ owner: 'x'.repeat(257) }, 'owner'], [{ owner: 'o', address: 1 }, 'address']],
  },
  ipamRelease: { good: [{ owner: 'o' }, { owner: 'o', address: '10.32.0.9' }], bad: [[{ address: '10.32.0.9' }, 'owner']] },
  ipamLookup: { good: [{ owner: 'o' }], bad: [[{}, 'owner'], [{ owner: '' }, 'owner'], [{ owner: 'o', extra: 'x' }, 'extra']] },
  ipamGc: {
    good: [{ ownerPrefix: 'cni/net/', keep: [] }, { ownerPrefix: 'p', keep: ['a', 'b'] }],
    bad: [[{ keep: [] }, 'ownerPrefix'], [{ ownerPrefix: '', keep: [] }, 'ownerPrefix'], [{ ownerPrefix: 'p' }, 'keep'], [{ ownerPrefix: 'p', keep: [1] }, 'keep[0]']],
  },
  ipamAllocations: { good: [{}], bad: [[{ owner: 'o' }, 'owner']] },
  ipamStatus: { good: [{}], bad: [[{ verbose: 'yes' }, 'verbose']] },
  ipamRmpeer: { good: [{ peer: 'aa:bb:cc:dd:ee:ff' }, { peer: 'nick' }], bad: [[{}, 'peer'], [{ peer: '' }, 'peer'], [{ peer: {} }, 'peer']] },
  label: {
    good: [{ netns: 'p', set: { app: 'web' } }, { netns: 'p', ifname: 'eth1', remove: ['app'] }],
    bad: [[{ set: {} }, 'netns'], [{ netns: 'p', set: { a: 3 } }, 'set.a'], [{ netns: 'p', remove: [''] }, 'remove[0]'], [{ netns: 'p', labels: {} }, 'labels']],
  },
  policyApply: {
    good: [{ text: 'kind: NetworkPolicy', source: 'p.yaml' }],
    bad: [[{ source: 'x' }, 'text'], [{ text: '', source: 'x' }, 'text'], [{ text: 'a' }, 'source'], [{ text: 'a', source: 'x', dryRun: true }, 'dryRun']],
  },
  policyDelete: {
    good: [{ refs: ['default/p'] }, { text: 'kind: NetworkPolicy', source: '-' }],
    bad: [[{ refs: 'default/p' }, 'refs'], [{ refs: [''] }, 'refs[0]'], [{ text: 5 }, 'text']],
  },
  policyList: { good: [{}], bad: [[{ namespace: 'x' }, 'namespace']] },
  policyExplain: {
    good: [{ src: 'default/a', dst: '10.0.0.1', protocol: 'TCP', port: 80 }],
    bad: [[{ dst: 'a/b', protocol: 'TCP', port: 80 }, 'src'], [{ src: 'a/b', dst: 'a/c', protocol: 'ICMP', port: 80 }, 'protocol'],
      [{ src: 'a/b', dst: 'a/c', protocol: 'TCP', port: 0 }, 'port'], [{ src: 'a/b', dst: 'a/c', protocol: 'TCP', port: '80' }, 'port']],
  },
  dnsAdd: {
    good: [{ name: 'db', ips: ['10.32.0.9'] }, { name: 'db.weft.local', ips: ['10.32.0.9', 'fd00::1'] }],
    bad: [[{ name: 'db', ips: [] }, 'ips'], [{ ips: ['10.0.0.1'] }, 'name'], [{ name: '', ips: ['1.2.3.4'] }, 'name'], [{ name: 'a', ips: [7] }, 'ips[0]'],
      [{ name: 'a', ips: new Array(65).fill('1.2.3.4') }, 'ips'], [{ name: 'a', ips: ['1.2.3.4'], ttl: 5 }, 'ttl']],
  },
  dnsRemove: { good: [{ name: 'db' }, { name: 'db', ips: ['10.32.0.9'] }], bad: [[{}, 'name'], [{ name: 'db', ips: 'x' }, 'ips']] },
  dnsLookup: { good: [{ name: 'db' }], bad: [[{}, 'name'], [{ name: 'x'.repeat(254) }, 'name']] },
  dnsArgs: { good: [{}], bad: [[{ domain: 'x' }, 'domain']] },
};

test('the route table and the schemas name the same routes, each once, with its own method and path', () => {
  assert.deepEqual(Object.keys(ROUTES).sort(), Object.keys(API_ROUTES).sort());
  const seen = new Set<string>();
  for (const [name, r] of Object.entries(ROUTES)) {
    assert.equal(r.name, name);
    assert.equal(r.path, API_ROUTES[name as RouteName].path);
    const key = `${r.method} ${r.path}`;
    assert.ok(!seen.has(key), `${key} declared twice`);
    seen.add(key);
  }
});

test('every route: good requests pass; bad ones fail with one line (WEFT_ERR_BAD_ARGS) naming the field', () => {
  for (const [name, c] of Object.entries(CASES) as [RouteName, (typeof CASES)[RouteName]][]) {
    const r = ROUTES[name];
    for (const good of c.good) assert.doesNotThrow(() => checkRequest(name, good), `${name} ${JSON.stringify(good)}`);
    assert.ok(c.bad.length > 0, `${name} has bad cases`);
    for (const [bad, field] of c.bad) {
      assert.throws(() => checkRequest(name, bad), (e: unknown) => {
        assert.ok(isWeftError(e, 'WEFT_ERR_BAD_ARGS'), `${name}: ${String(e)}`);
        assert.ok(e.message.startsWith(`bad request to ${r.method} ${r.path}: field "${field}": `), `${name} ${JSON.stringify(bad).slice(0, 80)} → ${e.message}`);
        assert.ok(!e.message.includes('\n'), 'one line');
        return true;
      });
    }
  }
});

test('not an object at all: refused without a field name', () => {
  assert.throws(() => checkRequest('attach', null), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && /^bad request to POST \/attach: /.test(e.message));
});
