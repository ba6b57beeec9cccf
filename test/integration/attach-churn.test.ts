/**
 * The one attach path under load, against a real daemon (its own host namespace, IPAM over
 * one consensus peer, kernel fast paths on) and real pod namespaces:
 *  1. 50 concurrent CNI ADDs (compiled front end) all succeed with unique addresses and exactly
 *     one veth each; 50 concurrent DELs leave nothing.
 *  2. 200 attach/detach cycles, alternating `weft attach`/`weft detach` (API) with CNI ADD/DEL
 *     (compiled front end and Node plugin in turn), leave no link, address, bridge FDB entry,
 *     nft element or allocation behind — each checked explicitly at the end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, isRoot, type LabHost } from '../support/lab.js';
import { cniEnv, runPlugin, type FrontEnd, type PluginRun } from '../support/cni/run-plugin.js';
import { allocations } from '../support/cni-daemons.js';
import { waitFor } from '../support/wait.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;
const RANGE = '10.91.0.0/16';
const BRIDGE = 'weft';
const lab = skip ? null : new Lab();
let host: LabHost;

before(async () => {
  if (!lab) return;
  [host] = lab.addHosts(1) as [LabHost];
  lab.launch(host, { extraArgs: ['--ipalloc-range', RANGE, '--ipalloc-init', 'consensus=1'] });
  await lab.until('the daemon\'s IPAM ready', 30_000, async () =>
    ((await host.client.request('GET', '/ipam/status')) as { status?: string }).status === 'ready');
});
after(() => {
  if (!lab) return;
  for (const h of lab.hosts) lab.stop(h);
  lab.destroy();
});

const conf = () => ({ cniVersion: '1.0.0', name: 'churn', type: 'weft-net', socket: host.socket });
const cni = (env: Record<string, string>, fe: FrontEnd = 'compiled'): Promise<PluginRun> =>
  runPlugin('weft-net', env, conf(), { hostNetns: `/run/netns/${host.ns}`, frontEnd: fe, timeoutMs: 120_000 });

function ok(r: PluginRun): Record<string, unknown> {
  assert.equal(r.code, 0, `plugin failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

/** Host-side veths of the daemon's namespace (weft's are named vwe*). */
const veths = (): string[] => (JSON.parse(lab!.ip(host.ns, ['-j', 'link', 'show', 'type', 'veth']) || '[]') as { ifname: string }[]).map((l) => l.ifname);
/** Links of a pod namespace other than lo. */
const podLinks = (ns: string): string[] => (JSON.parse(lab!.ip(ns, ['-j', 'link', 'show']) || '[]') as { ifname: string }[]).map((l) => l.ifname).filter((n) => n !== 'lo');
/** Addresses of a pod namespace other than loopback ones. */
const podAddrs = (ns: string): string[] => (JSON.parse(lab!.ip(ns, ['-j', 'addr', 'show']) || '[]') as { ifname: string; addr_info: { local: string }[] }[])
  .filter((l) => l.ifname !== 'lo').flatMap((l) => l.addr_info.map((a) => a.local));
/** MACs in the bridge's FDB (lowercase). */
const fdbMacs = (): Set<string> => new Set((JSON.parse(lab!.execIn(host.ns, 'bridge', ['-j', 'fdb', 'show', 'br', BRIDGE]) || '[]') as { mac: string }[]).map((e) => e.mac.toLowerCase()));
/** The daemon namespace's whole nftables ruleset as text (elements included). */
const nftText = (): string => lab!.execIn(host.ns, 'nft', ['list', 'ruleset']);
/** True when the ruleset names `ip` (as a whole address). */
const nftHas = (ip: string): boolean => new RegExp(`(^|[^0-9.])${ip.replace(/\./g, '\\.')}([^0-9]|$)`, 'm').test(nftText());
const ownedHere = async (): Promise<string[]> => [...(await allocations(host)).keys()].filter((o) => o.startsWith('cni/churn/') || o.startsWith('attach/'));

test('50 concurrent CNI ADDs: all succeed, unique addresses, one veth each; 50 concurrent DELs leave no veth or allocation', { skip, timeout: 300_000 }, async () => {
  const n = 50;
  const pods = Array.from({ length: n }, (_, i) => lab!.netns(`c${i}`));
  const before = new Set(veths());
  const adds = await Promise.all(pods.map((ns, i) => cni(cniEnv('ADD', { containerId: `conc${i}`, netns: `/run/netns/${ns}` }))));
  const ips = adds.map((r) => ((ok(r).ips as { address: string }[])[0]!.address));
  assert.equal(new Set(ips).size, n, `addresses are unique: ${ips.join(' ')}`);
  for (const ip of ips) assert.match(ip, /^10\.91\.\d+\.\d+\/16$/);
  const created = veths().filter((v) => !before.has(v));
  assert.equal(created.length, n, 'exactly one host veth per ADD');
  const hostIfs = adds.map((r) => (ok(r).interfaces as { name: string }[])[0]!.name);
  assert.deepEqual([...created].sort(), [...hostIfs].sort());
  for (const [i, ns] of pods.entries()) assert.deepEqual(podAddrs(ns).filter((a) => !a.includes(':')), [ips[i]!.split('/')[0]]);
  assert.equal((await ownedHere()).length, n);
  const dels = await Promise.all(pods.map((ns, i) => cni(cniEnv('DEL', { containerId: `conc${i}`, netns: `/run/netns/${ns}` }))));
  for (const d of dels) ok(d);
  assert.deepEqual(veths().filter((v) => !before.has(v)), [], 'no veth leaked');
  for (const ns of pods) assert.deepEqual(podLinks(ns), [], `no interface left in ${ns}`);
  assert.deepEqual(await ownedHere(), [], 'no allocation leaked');
});

test('200 attach/detach cycles (weft attach API and CNI ADD/DEL mixed) leave no link, address, FDB entry, nft element or allocation', { skip, timeout: 600_000 }, async () => {
  const pods = Array.from({ length: 4 }, (_, i) => lab!.netns(`y${i}`));
  const before = new Set(veths());
  const fdbBefore = fdbMacs();
  const seenMacs = new Set<string>();
  const seenIps = new Set<string>();
  let sawNft = false;
  for (let i = 0; i < 200; i++) {
    const ns = pods[i % pods.length]!;
    const netns = `/run/netns/${ns}`;
    let ip: string;
    if (i % 2 === 0) {
      const r = (await host.client.request('POST', '/attach', { netns: ns, ifname: 'ethwe' })) as { cidr: string; mac: string; hostIfname: string };
      ip = r.cidr.split('/')[0]!;
      seenMacs.add(r.mac.toLowerCase());
      const hostMac = (JSON.parse(lab!.ip(host.ns, ['-j', 'link', 'show', 'dev', r.hostIfname])) as { address: string }[])[0]!.address;
      seenMacs.add(hostMac.toLowerCase());
    } else {
      const res = ok(await cni(cniEnv('ADD', { containerId: `cyc${i}`, netns }), i % 4 === 1 ? 'compiled' : 'node'));
      ip = (res.ips as { address: string }[])[0]!.address.split('/')[0]!;
      for (const f of res.interfaces as { mac?: string }[]) if (f.mac) seenMacs.add(f.mac.toLowerCase());
    }
    seenIps.add(ip);
    assert.ok(podAddrs(ns).includes(ip), `cycle ${i}: ${ip} on the pod`);
    // Once, let the fast path see a live pod: its address shows up as an nft element (so the
    // leak check below can fail).
    if (!sawNft && i >= 2) {
      await waitFor(() => nftHas(ip), { timeoutMs: 15_000, what: `nft element for pod ${ip}` });
      sawNft = true;
    }
    if (i % 2 === 0) {
      const d = (await host.client.request('POST', '/detach', { netns: ns, ifname: 'ethwe' })) as { detached: boolean; released: string[] };
      assert.equal(d.detached, true, `cycle ${i}: detached`);
      assert.deepEqual(d.released, [ip], `cycle ${i}: released`);
    } else {
      ok(await cni(cniEnv('DEL', { containerId: `cyc${i}`, netns }), i % 4 === 1 ? 'node' : 'compiled'));
    }
  }
  assert.ok(sawNft, 'the fast path programmed a pod address at least once');
  // Links: no weft veth on the host, nothing but lo in the pods.
  assert.deepEqual(veths().filter((v) => !before.has(v)), [], 'no host veth left');
  for (const ns of pods) assert.deepEqual(podLinks(ns), [], `no interface left in ${ns}`);
  // Addresses: none in the pods.
  for (const ns of pods) assert.deepEqual(podAddrs(ns), [], `no address left in ${ns}`);
  // FDB: no entry for any MAC the cycles used (the kernel drops them with the port).
  const fdb = fdbMacs();
  assert.deepEqual([...seenMacs].filter((m) => fdb.has(m) && !fdbBefore.has(m)), [], 'no FDB entry left');
  // nft: no element names a pod address once the daemon has seen the pods go.
  await waitFor(() => [...seenIps].every((ip) => !nftHas(ip)), { timeoutMs: 20_000, what: 'nft elements of the pods removed' });
  // IPAM: no allocation left.
  assert.deepEqual(await ownedHere(), [], 'no allocation left');
  assert.equal(seenIps.size > 0, true);
});

test('weft attach that fails after the allocation and the veth (interface name taken) leaves neither; errors are typed', { skip, timeout: 60_000 }, async () => {
  const ns = lab!.netns('rb');
  const before = new Set(veths());
  await assert.rejects(host.client.request('POST', '/attach', { netns: ns, ifname: 'lo' }), (e: unknown) => {
    assert.equal((e as { code?: string }).code, 'WEFT_ERR_HOST_EXISTS');
    return true;
  });
  assert.deepEqual(veths().filter((v) => !before.has(v)), [], 'no veth left');
  assert.deepEqual(podLinks(ns), []);
  assert.deepEqual(await ownedHere(), [], 'the allocation was released');
  // Namespaces that are missing or no namespace: typed, before anything is allocated.
  for (const [netns, code] of [[`${lab!.prefix}gone`, 'WEFT_ERR_NETNS_NOT_FOUND'], ['/etc/hostname', 'WEFT_ERR_NETNS_INVALID']] as const) {
    await assert.rejects(host.client.request('POST', '/attach', { netns }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, code, netns);
      return true;
    });
  }
  assert.deepEqual(await ownedHere(), []);
  // CNI: an interface that exists already is refused before anything is allocated.
  lab!.ip(ns, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
  const r = await cni(cniEnv('ADD', { containerId: 'taken', netns: `/run/netns/${ns}` }));
  assert.equal(r.code, 1);
  assert.equal(r.json?.code, 999);
  assert.equal(r.json?.details, 'WEFT_ERR_IF_EXISTS');
  assert.deepEqual(await ownedHere(), []);
});
