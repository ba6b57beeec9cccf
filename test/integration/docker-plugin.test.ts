/**
 * The Docker plugin under real dockerds: two simulated hosts, each with its own weft daemon and
 * its own dockerd + containerd (test/support/docker-host.ts: `nsenter --net=` into the host
 * namespace, a private mount namespace with the host's own /run/docker/plugins, --bridge=none
 * --iptables=false, --live-restore), a busybox-static image made locally.
 *  1. `docker network create -d weft --ipam-driver weft` on both hosts; containers on both ping
 *     and talk TCP across hosts over the encrypted sleeve; their identities (namespace, name,
 *     labels from the container's labels) reach the workload directory and network policy
 *     enforces them; `docker rm` frees the address; a weft restart (now with a fast path) and a
 *     dockerd restart keep the running containers connected.
 *  2. The plugin protocol request by request on one daemon: every endpoint, bad bodies, unknown
 *     paths, each refusal counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, isRoot, WEFT, type LabHost } from '../support/lab.js';
import { DockerHost, DOCKER_IMAGE, busyboxTarball, missingDockerTools } from '../support/docker-host.js';
import { OVERLAY_RANGE, PASSWORD, allocations, untilIpamReady } from '../support/cni-daemons.js';

const NET = 'weftnet';
const missing = isRoot() ? missingDockerTools() : [];
const skip = !isRoot() ? 'needs root (dockerd, network namespaces): run the tests as root, e.g. sudo npm test'
  : missing.length > 0 ? `missing ${missing.join(', ')} (bash scripts/setup-system.sh installs them)` : false;

function launchArgs(d: DockerHost, extra: string[] = []): string[] {
  return ['--ipalloc-range', OVERLAY_RANGE, '--ipalloc-init', 'consensus=2',
    '--docker-plugin-socket', d.pluginSocket, '--docker-api-socket', d.engineSocket, ...extra];
}

/** `weft ARGS` against a host's daemon. */
function weft(lab: Lab, h: LabHost, args: string[]): string {
  return lab.exec(h, process.execPath, [WEFT, ...args, '--api-socket', h.socket], { timeoutMs: 30_000 });
}

async function pingOk(d: DockerHost, container: string, ip: string): Promise<boolean> {
  return /[1-9]\d* packets received/.test(await d.docker(['exec', container, 'ping', '-c', '1', '-W', '1', ip], { allowFail: true }));
}

/** TCP from `container` to ip:8080 answered by the test's server: the reply line, or ''. */
async function tcp(d: DockerHost, container: string, ip: string): Promise<string> {
  return (await d.docker(['exec', container, 'sh', '-c', `echo hello | nc -w 2 ${ip} 8080`], { allowFail: true, timeoutMs: 20_000 })).trim();
}

/** A container on NET that answers every TCP connection on 8080 with `reply`. */
function server(reply: string): string[] {
  return ['sh', '-c', `while true; do echo ${reply} | nc -l -p 8080 -w 2; done`];
}

test('docker on two hosts: network create, cross-host ping and TCP, identities and policy from labels, rm frees, weft and dockerd restarts keep containers connected',
  { skip, timeout: 420_000 }, async () => {
    const lab = new Lab();
    const dockers: DockerHost[] = [];
    try {
      const hosts = lab.addHosts(2);
      for (const h of hosts) dockers.push(new DockerHost(h.ns, join(lab.dir, `d${h.index}`)));
      const [h1, h2] = hosts;
      const [d1, d2] = dockers as [DockerHost, DockerHost];
      // Sleeve with a secret first (no fast path): the encrypted path.
      lab.launch(h1, { password: PASSWORD, extraArgs: launchArgs(d1, ['--no-fastdp']) });
      lab.launch(h2, { password: PASSWORD, peers: [h1.ip], extraArgs: launchArgs(d2, ['--no-fastdp']) });
      await untilIpamReady(lab, hosts, 60_000);
      const tar = busyboxTarball(lab.dir);
      await Promise.all(dockers.map(async (d) => { await d.start(); await d.importImage(tar); }));
      for (const d of dockers) {
        const id = (await d.docker(['network', 'create', '-d', 'weft', '--ipam-driver', 'weft', NET])).trim();
        assert.match(id, /^[0-9a-f]{64}$/);
        const subnet = (await d.docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', NET])).trim();
        assert.equal(subnet, OVERLAY_RANGE, 'the network is weft\'s range');
      }
      const run = (d: DockerHost, name: string, labels: string[], cmd: string[]) =>
        d.docker(['run', '-d', '--name', name, '--net', NET, ...labels.flatMap((l) => ['--label', l]), DOCKER_IMAGE, ...cmd]);
      const [web, other, db] = [`${lab.prefix}web`, `${lab.prefix}other`, `${lab.prefix}db`];
      await run(d1, web, ['weft.namespace=team-a', 'app=web'], ['sleep', '3600']);
      await run(d1, other, ['weft.namespace=team-a', 'app=other'], ['sleep', '3600']);
      await run(d2, db, ['weft.namespace=team-a', 'app=db', 'tier=backend'], server('db-says-hi'));
      const ipWeb = await d1.ip(web, NET);
      const ipDb = await d2.ip(db, NET);
      assert.ok(ipWeb.startsWith('10.97.') && ipDb.startsWith('10.97.'), `addresses ${ipWeb}, ${ipDb} in ${OVERLAY_RANGE}`);
      assert.match(await d1.docker(['exec', web, 'ip', '-o', 'link', 'show', 'eth0']), /mtu \d+/);
      const mtu = Number(/mtu (\d+)/.exec(await d1.docker(['exec', web, 'ip', '-o', 'link', 'show', 'eth0']))![1]);
      const weftMtu = (await h1.client.status()).dataplane?.mtu;
      assert.equal(mtu, weftMtu, 'the container interface has weft\'s MTU');

      await lab.until('web on h1 pings db on h2', 30_000, () => pingOk(d1, web, ipDb));
      assert.match(await d1.docker(['exec', web, 'ping', '-c', '3', '-W', '2', ipDb]), / 0% packet loss/);
      assert.match(await d2.docker(['exec', db, 'ping', '-c', '2', '-W', '2', ipWeb]), / 0% packet loss/);
      assert.equal(await tcp(d1, web, ipDb), 'db-says-hi', 'TCP across hosts');

      // Identities: learned from the Engine API after Join, gossiped to the other host.
      await lab.until('h2 knows team-a/web from h1', 30_000, () => /team-a\/\S*web/.test(weft(lab, h2, ['policy', 'explain', `team-a/${web}`, `team-a/${db}`, '8080/TCP'])));

      // Names in weft's DNS (docs/dns.md): the container's name, learned from the Engine API on
      // h2, answers on h1 — through the API and from a container asking h1's DNS server.
      await lab.until(`${db}.weft.local known on h1`, 30_000, () => {
        try { return weft(lab, h1, ['dns-lookup', db]).split('\n').includes(ipDb); } catch { return false; }
      });
      const dnsServer = weft(lab, h1, ['expose']).trim().split('/')[0]!;
      await lab.until(`${db}.weft.local resolved by h1's DNS server from a container`, 30_000, async () =>
        (await d1.docker(['exec', web, 'nslookup', `${db}.weft.local`, dnsServer], { allowFail: true, timeoutMs: 10_000 })).includes(ipDb));
      assert.match(weft(lab, h1, ['dns-args']), new RegExp(`--dns ${dnsServer.replace(/\./g, '\\.')}\\b.*--dns-search weft\\.local`));
      const policy = join(lab.dir, 'db-policy.yaml');
      writeFileSync(policy, [
        'apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', 'metadata: {name: db-from-web, namespace: team-a}',
        'spec:', '  podSelector: {matchLabels: {app: db}}', '  policyTypes: [Ingress]',
        '  ingress:', '  - from: [{podSelector: {matchLabels: {app: web}}}]', '    ports: [{port: 8080, protocol: TCP}]', '',
      ].join('\n'));
      weft(lab, h1, ['policy', 'apply', '-f', policy]);
      await lab.until('other → db refused by the policy on h2', 30_000, async () => (await tcp(d1, other, ipDb)) === '');
      assert.equal(await tcp(d1, web, ipDb), 'db-says-hi', 'web (app=web) is still allowed');
      assert.match(weft(lab, h1, ['policy', 'explain', `team-a/${other}`, `team-a/${db}`, '8080/TCP']), /deny|denied|not allowed|isolated/i);
      weft(lab, h1, ['policy', 'delete', `team-a/db-from-web`]);
      await lab.until('other → db allowed again', 30_000, async () => (await tcp(d1, other, ipDb)) === 'db-says-hi');

      // docker rm frees the address in weft's IPAM and removes the veth.
      const ipOther = await d1.ip(other, NET);
      const held = async () => [...(await allocations(h1)).values()].includes(ipOther);
      assert.ok(await held(), 'other\'s address is allocated in weft\'s IPAM');
      await d1.docker(['rm', '-f', other]);
      await lab.until('other\'s address released', 20_000, async () => !(await held()));

      // weft restart on both hosts, now with a fast path (trusted underlay): containers stay connected.
      for (const [i, h] of hosts.entries()) {
        lab.stop(h);
        lab.launch(h, { password: PASSWORD, ...(i > 0 ? { peers: [h1.ip] } : {}), extraArgs: launchArgs(dockers[i]!, ['--trusted-subnets', '198.18.0.0/16']) });
      }
      await lab.until('web pings db after the weft restarts', 60_000, () => pingOk(d1, web, ipDb));
      await lab.until('h1 uses a kernel fast path to h2', 60_000, async () => (await h1.client.status()).dataplane?.mode === 'fastpath');
      assert.equal(await tcp(d1, web, ipDb), 'db-says-hi', 'TCP after the weft restart');
      assert.ok([...(await allocations(h2)).values()].includes(ipDb), 'db keeps its address');
      await lab.until('identity kept across the restart', 30_000, () => /team-a\/\S*web/.test(weft(lab, h2, ['policy', 'explain', `team-a/${web}`, `team-a/${db}`, '8080/TCP'])));

      // dockerd restart (live-restore): the container keeps running and connected; the plugin still serves.
      await d2.stopDockerd();
      await d2.startDockerd();
      assert.match(await d2.docker(['ps', '--format', '{{.Names}}']), new RegExp(db));
      await lab.until('web pings db after dockerd restarted on h2', 30_000, () => pingOk(d1, web, ipDb));
      assert.equal(await tcp(d1, web, ipDb), 'db-says-hi', 'TCP after the dockerd restart');
      const late = `${lab.prefix}late`;
      await run(d2, late, [], ['sleep', '3600']);
      const ipLate = await d2.ip(late, NET);
      await lab.until('a container started after the dockerd restart pings web', 30_000, () => pingOk(d2, late, ipWeb));
      await d2.docker(['rm', '-f', late]);
      await lab.until('its address released', 20_000, async () => ![...(await allocations(h2)).values()].includes(ipLate));
    } catch (e) {
      for (const d of dockers) console.error(`--- dockerd log ${d.dir}:\n${d.log().split('\n').slice(-30).join('\n')}`);
      for (const h of lab.hosts) console.error(`--- weft log h${h.index}:\n${lab.log(h).split('\n').filter((l) => /docker|error|warn/i.test(l)).slice(-30).join('\n')}`);
      throw e;
    } finally {
      for (const d of dockers) await d.cleanup();
      lab.destroy();
    }
  });

/** POST `path` with `body` (a string is sent as is) to the plugin socket; status and parsed reply. */
function post(socket: string, path: string, body?: unknown, method = 'POST'): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request({ socketPath: socket, path, method, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => { data += c; });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), json: JSON.parse(data) as Record<string, unknown> });
        } catch (e) { reject(e instanceof Error ? e : new Error(String(e))); }
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

test('docker plugin protocol request by request: every endpoint, bad bodies and unknown paths refused with {"Err"} and counted',
  { skip, timeout: 120_000 }, async () => {
    const lab = new Lab();
    try {
      const [h] = lab.addHosts(1);
      const socket = join(lab.dir, 'plugins', 'weft.sock');
      lab.launch(h, { extraArgs: ['--ipalloc-range', OVERLAY_RANGE, '--docker-plugin-socket', socket, '--docker-api-socket', join(lab.dir, 'no-docker.sock')] });
      await untilIpamReady(lab, [h], 30_000);
      await lab.until('the plugin socket is served', 30_000, () => existsSync(socket));
      const ok = async (path: string, body?: unknown) => {
        const r = await post(socket, path, body);
        assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
        assert.equal(r.type, 'application/vnd.docker.plugins.v1.2+json');
        assert.equal(r.json.Err, undefined);
        return r.json;
      };
      const refused = async (path: string, body: unknown, status: number, re: RegExp, method?: string) => {
        const r = await post(socket, path, body, method);
        assert.equal(r.status, status, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
        assert.equal(typeof r.json.Err, 'string');
        assert.match(r.json.Err as string, re);
        assert.doesNotMatch(r.json.Err as string, /\n/, 'one line');
      };
      assert.deepEqual(await ok('/Plugin.Activate'), { Implements: ['NetworkDriver', 'IpamDriver'] });
      assert.deepEqual(await ok('/NetworkDriver.GetCapabilities', null), { Scope: 'local' });
      assert.deepEqual(await ok('/IpamDriver.GetCapabilities', {}), { RequiresMACAddress: false, RequiresRequestReplay: false });
      assert.deepEqual(await ok('/IpamDriver.GetDefaultAddressSpaces'), { LocalDefaultAddressSpace: 'weft', GlobalDefaultAddressSpace: 'weft' });
      const pool = await ok('/IpamDriver.RequestPool', { AddressSpace: 'weft', Pool: '', SubPool: '', Options: {}, V6: false });
      assert.equal(pool.Pool, OVERLAY_RANGE);
      const poolId = pool.PoolID as string;
      await refused('/IpamDriver.RequestPool', { AddressSpace: 'weft', Pool: '172.30.0.0/16' }, 400, /not weft's range 10\.97\.0\.0\/16.*omit --subnet/);
      await refused('/IpamDriver.RequestPool', { AddressSpace: 'weft', V6: true }, 400, /IPv4 addresses only.*without --ipv6/);
      const gw = await ok('/IpamDriver.RequestAddress', { PoolID: poolId, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
      const addr = await ok('/IpamDriver.RequestAddress', { PoolID: poolId, Options: {} });
      assert.match(addr.Address as string, /^10\.97\.\d+\.\d+\/16$/);
      assert.notEqual(addr.Address, gw.Address);
      const owners = await allocations(h);
      assert.ok([...owners.entries()].some(([o, a]) => o.startsWith(`docker/${poolId}/`) && `${a}/16` === addr.Address), 'the address is an IPAM allocation');
      await refused('/IpamDriver.RequestAddress', { PoolID: 'default-pool' }, 400, /not a weft pool.*--ipam-driver weft/);
      await refused('/IpamDriver.RequestAddress', { PoolID: 42 }, 400, /field "PoolID"/);
      const net = 'n'.repeat(64);
      const ep = 'e'.repeat(64);
      await ok('/NetworkDriver.CreateNetwork', { NetworkID: net, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ AddressSpace: 'weft', Pool: OVERLAY_RANGE, Gateway: gw.Address }], IPv6Data: [] });
      await refused('/NetworkDriver.CreateNetwork', { NetworkID: 'x', IPv4Data: [{ Pool: '172.17.0.0/16' }] }, 400, /--ipam-driver weft/);
      await refused('/NetworkDriver.CreateNetwork', { NetworkID: 'x', Options: { 'com.docker.network.generic': { mtu: '9000' } }, IPv4Data: [{ Pool: OVERLAY_RANGE }] }, 400, /unknown network option mtu/);
      assert.deepEqual(await ok('/NetworkDriver.CreateEndpoint', { NetworkID: net, EndpointID: ep, Interface: { Address: addr.Address, MacAddress: '' }, Options: {} }), {});
      await refused('/NetworkDriver.CreateEndpoint', { NetworkID: net, EndpointID: 'f'.repeat(64), Interface: {} }, 400, /no IPv4 address/);
      const join1 = await ok('/NetworkDriver.Join', { NetworkID: net, EndpointID: ep, SandboxKey: '/var/run/docker/netns/0123456789ab', Options: {} });
      const src = (join1.InterfaceName as { SrcName: string; DstPrefix: string });
      assert.equal(src.DstPrefix, 'eth');
      assert.match(lab.exec(h, 'ip', ['-o', 'link', 'show', src.SrcName]), /mtu \d+/, 'the veth to move exists in the host namespace');
      assert.match(lab.exec(h, 'ip', ['-o', 'link', 'show', 'master', 'weft']), /vdh/, 'its host end is on the bridge');
      assert.equal(join1.DisableGatewayService, false);
      await refused('/NetworkDriver.Join', { NetworkID: net, EndpointID: 'f'.repeat(64), SandboxKey: '/x' }, 500, /endpoint f+ is unknown/);
      await refused('/NetworkDriver.Join', { NetworkID: net, EndpointID: ep }, 400, /field "SandboxKey"/);
      const info = await ok('/NetworkDriver.EndpointOperInfo', { NetworkID: net, EndpointID: ep });
      assert.equal((info.Value as { address: string }).address, addr.Address);
      await ok('/NetworkDriver.ProgramExternalConnectivity', { NetworkID: net, EndpointID: ep, Options: {} });
      await ok('/NetworkDriver.RevokeExternalConnectivity', { NetworkID: net, EndpointID: ep });
      await ok('/NetworkDriver.DiscoverNew', { DiscoveryType: 1, DiscoveryData: { Address: '198.18.0.1', self: true } });
      await ok('/NetworkDriver.DiscoverDelete', { DiscoveryType: 1, DiscoveryData: { Address: '198.18.0.1', self: true } });
      await refused('/NetworkDriver.DiscoverNew', { DiscoveryType: 'node' }, 400, /field "DiscoveryType"/);
      await ok('/NetworkDriver.Leave', { NetworkID: net, EndpointID: ep });
      assert.equal(lab.exec(h, 'ip', ['-o', 'link', 'show', src.SrcName], { allowFail: true }), '', 'Leave deleted the veth');
      await ok('/NetworkDriver.DeleteEndpoint', { NetworkID: net, EndpointID: ep });
      await ok('/NetworkDriver.DeleteEndpoint', { NetworkID: net, EndpointID: ep }); // idempotent
      await ok('/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: addr.Address });
      assert.ok(![...(await allocations(h)).values()].includes((addr.Address as string).split('/')[0]!), 'released in the IPAM');
      await ok('/IpamDriver.ReleaseAddress', { PoolID: poolId, Address: addr.Address }); // idempotent
      await ok('/NetworkDriver.DeleteNetwork', { NetworkID: net });
      await ok('/IpamDriver.ReleasePool', { PoolID: poolId });
      assert.ok(![...(await allocations(h)).keys()].some((o) => o.startsWith('docker/')), 'ReleasePool freed the gateway too');
      // Unknown paths, bad JSON, wrong method, oversized bodies.
      await refused('/NetworkDriver.AllocateNetwork', {}, 404, /unknown plugin endpoint \/NetworkDriver\.AllocateNetwork/);
      await refused('/VolumeDriver.Create', {}, 404, /unknown plugin endpoint/);
      await refused('/NetworkDriver.Join', '{"NetworkID":', 400, /not JSON/);
      await refused('/NetworkDriver.Join', [1, 2], 400, /bad request to \/NetworkDriver\.Join/);
      await refused('/Plugin.Activate', undefined, 405, /take POST/, 'GET');
      await refused('/NetworkDriver.CreateNetwork', { NetworkID: 'x', Options: { big: 'x'.repeat(70_000) } }, 413, /over 65536 bytes/);
      const metrics = weft(lab, h, ['status', '--json']);
      assert.ok(metrics.length > 0);
      const counted = await h.client.request('GET', '/metrics') as { name: string; values: { labels: Record<string, string>; value: number }[] }[];
      const bad = counted.find((m) => m.name === 'weft_bad_input_total')?.values.filter((v) => v.labels.source === 'docker') ?? [];
      const by = (reason: string) => bad.find((v) => v.labels.reason === reason)?.value ?? 0;
      assert.equal(by('unknown_endpoint'), 2);
      assert.equal(by('bad_json'), 1);
      assert.equal(by('bad_method'), 1);
      assert.equal(by('too_big'), 1);
      assert.equal(by('bad_body'), 4, `bad bodies counted: ${JSON.stringify(bad)}`);
      assert.equal(by('bad_request'), 6, `refused requests counted: ${JSON.stringify(bad)}`);
      assert.match(lab.log(h), /docker: request refused/);
    } finally {
      lab.destroy();
    }
  });
