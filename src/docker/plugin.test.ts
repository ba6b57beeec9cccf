/**
 * DockerPlugin's bookkeeping with in-memory stand-ins for the IPAM, the attach path and the
 * state file (the real ones: test/integration/docker-plugin.test.ts): a network's life from
 * pool to release, the restart reconcile, and identities learned after Join.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../common/index.js';
import { DockerPlugin, type DockerJoinSpec } from './plugin.js';
import type { ContainerIdentity } from './identity.js';

const RANGE = '10.40.0.0/16';

function world() {
  const ipam = new Map<string, string>(); // owner → address
  let next = 1;
  const links = new Set<string>();
  const identities = new Map<string, ContainerIdentity>();
  const joined = new Map<string, DockerJoinSpec>();
  let file: string | null = null;
  const containers = new Map<string, { id: string; name: string; labels: Record<string, string> }>();
  const make = () => new DockerPlugin({
    addresses: {
      range: () => RANGE,
      allocate: (owner, address) => {
        const a = ipam.get(owner) ?? address ?? `10.40.0.${next++}`;
        ipam.set(owner, a);
        return Promise.resolve({ address: a, prefixLength: 16 });
      },
      release: (owner) => {
        const a = ipam.get(owner);
        ipam.delete(owner);
        return Promise.resolve(a ? [a] : []);
      },
      gc: (prefix, keep) => {
        const out: { owner: string; address: string }[] = [];
        for (const [o, a] of ipam) if (o.startsWith(prefix) && !keep.includes(o)) { ipam.delete(o); out.push({ owner: o, address: a }); }
        return out;
      },
    },
    endpoints: {
      join: (s) => { links.add(s.hostIfname); joined.set(s.owner, s); return Promise.resolve({ mtu: 1376 }); },
      leave: (owner, host) => { links.delete(host); joined.delete(owner); identities.delete(owner); return Promise.resolve(); },
      identify: (owner, id) => { if (!joined.has(owner)) return false; identities.set(owner, id); return true; },
      hostLinkExists: (n) => Promise.resolve(links.has(n)),
    },
    engine: { containerOfEndpoint: (_net, ep) => Promise.resolve(containers.get(ep) ?? null) },
    store: { load: () => Promise.resolve(file), save: (t) => { file = t; return Promise.resolve(); } },
    log: createLogger({ level: 'silent' }),
  });
  return { ipam, links, identities, joined, containers, make };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
}

test('pool, gateway, address, endpoint, join, identity, leave, release: the IPAM holds exactly what Docker holds', async () => {
  const w = world();
  const p = w.make();
  await p.start();
  const pool = await p.handle('/IpamDriver.RequestPool', { Pool: '' });
  assert.equal(pool.Pool, RANGE);
  const poolId = pool.PoolID as string;
  const gw = await p.handle('/IpamDriver.RequestAddress', { PoolID: poolId, Options: { RequestAddressType: 'com.docker.network.gateway' } });
  const a = await p.handle('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '10.40.9.9' });
  assert.equal(a.Address, '10.40.9.9/16', 'a preferred address is asked for');
  assert.notEqual(gw.Address, a.Address);
  assert.equal(w.ipam.size, 2);
  await p.handle('/NetworkDriver.CreateNetwork', { NetworkID: 'n1', IPv4Data: [{ Pool: RANGE }], Options: { 'com.docker.network.generic': { 'weft.gateway-service': 'off' } } });
  await p.handle('/NetworkDriver.CreateEndpoint', { NetworkID: 'n1', EndpointID: 'e1', Interface: { Address: '10.40.9.9/16' } });
  w.containers.set('e1', { id: 'c1', name: '/web', labels: { 'weft.namespace': 'shop', app: 'web' } });
  const j = await p.handle('/NetworkDriver.Join', { NetworkID: 'n1', EndpointID: 'e1', SandboxKey: '/var/run/docker/netns/abc' });
  assert.deepEqual(j, { InterfaceName: { SrcName: w.joined.values().next().value!.peerIfname, DstPrefix: 'eth' }, DisableGatewayService: true });
  await until('identity learned', () => w.identities.size === 1);
  assert.deepEqual([...w.identities.values()][0], { namespace: 'shop', name: 'web', labels: { app: 'web' } });
  assert.deepEqual(p.listed().map((l) => l.addresses), [['10.40.9.9/16']]);
  await p.handle('/NetworkDriver.Leave', { NetworkID: 'n1', EndpointID: 'e1' });
  assert.equal(w.links.size, 0);
  await p.handle('/NetworkDriver.DeleteEndpoint', { NetworkID: 'n1', EndpointID: 'e1' });
  await p.handle('/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: '10.40.9.9/16' });
  assert.deepEqual([...w.ipam.values()], [(gw.Address as string).split('/')[0]]);
  await p.handle('/IpamDriver.ReleasePool', { PoolID: poolId });
  assert.equal(w.ipam.size, 0, 'ReleasePool frees the gateway');
  await p.stop();
});

test('restart: the state file is read back, unknown docker/ allocations are freed, endpoints whose veth went away are left', async () => {
  const w = world();
  const p1 = w.make();
  await p1.start();
  const poolId = (await p1.handle('/IpamDriver.RequestPool', {})).PoolID as string;
  for (const ep of ['e1', 'e2']) {
    const a = await p1.handle('/IpamDriver.RequestAddress', { PoolID: poolId });
    await p1.handle('/NetworkDriver.CreateEndpoint', { NetworkID: 'n1', EndpointID: ep, Interface: { Address: a.Address as string } });
    await p1.handle('/NetworkDriver.Join', { NetworkID: 'n1', EndpointID: ep, SandboxKey: `/run/netns/${ep}` });
  }
  await p1.stop();
  w.ipam.set(`docker/${poolId}/lost`, '10.40.0.99'); // allocated, but the reply never reached Docker
  const [gone] = [...w.links].sort();
  w.links.delete(gone!); // e1's container died while weft was down
  const p2 = w.make();
  await p2.start();
  assert.ok(![...w.ipam.keys()].some((o) => o.endsWith('/lost')), 'the lost allocation is freed');
  assert.equal(w.ipam.size, 2, 'the two addresses Docker holds stay');
  assert.equal(p2.listed().length, 1, 'only the endpoint whose veth exists is listed');
  const info = await p2.handle('/NetworkDriver.EndpointOperInfo', { NetworkID: 'n1', EndpointID: 'e2' });
  assert.equal((info.Value as { joined: boolean }).joined, true);
  await p2.stop();
});

test('refusals are WEFT_ERR_BAD_ARGS with one line saying what to change', async () => {
  const p = world().make();
  await p.start();
  const refused = (path: Parameters<DockerPlugin['handle']>[0], body: object, re: RegExp) =>
    assert.rejects(p.handle(path, body as never), (e: Error & { code?: string }) => e.code === 'WEFT_ERR_BAD_ARGS' && re.test(e.message) && !e.message.includes('\n'));
  await refused('/IpamDriver.RequestPool', { Pool: '10.0.0.0/8' }, /omit --subnet/);
  await refused('/IpamDriver.RequestPool', { SubPool: '10.40.1.0/24' }, /omit --ip-range/);
  await refused('/NetworkDriver.CreateNetwork', { NetworkID: 'n', IPv4Data: [{ Pool: RANGE }], Options: { 'com.docker.network.generic': { 'weft.gateway-service': 'maybe' } } }, /want on or off/);
  await refused('/NetworkDriver.CreateEndpoint', { NetworkID: 'n', EndpointID: 'e', Interface: { Address: '10.40.0.5/16', AddressIPv6: 'fd00::5/64' } }, /IPv4 only/);
  await p.stop();
});
