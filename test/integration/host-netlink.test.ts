/**
 * The netlink kernel edge against the real kernel, in namespaces this test creates: every
 * operation src/host uses, its read-back, and its error paths mapped to typed codes; the
 * event monitor (including an overflow that forces one resync); and HostPlumbing's attach /
 * detach, counted for helper processes (there must be none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { isWeftError, silentLogger } from '../../src/common/index.js';
import { HostPlumbing, NetlinkMonitor, Rtnl, netlinkKernel, type NetlinkEvent } from '../../src/host/index.js';
import { isRoot, sh } from '../support/lab.js';
import { waitFor } from '../support/wait.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;

function withNamespaces(n: number, fn: (ns: [string, string], p: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const p = `wft${randomBytes(3).toString('hex')}`;
    const names = Array.from({ length: n }, (_, i) => `${p}n${i}`);
    try {
      for (const ns of names) sh('ip', ['netns', 'add', ns]);
      await fn([names[0] ?? '', names[1] ?? ''], p);
    } finally {
      for (const ns of names) sh('ip', ['netns', 'del', ns], { allowFail: true });
    }
  };
}

const code = (c: string) => (e: unknown) => isWeftError(e) && e.code === c;

test('rtnetlink operations in a namespace: links, bridge ports, addresses, routes, neighbours, FDB, devconf; errors are typed', { skip },
  withNamespaces(2, async ([a, b]) => {
    const pathA = `/run/netns/${a}`;
    const pathB = `/run/netns/${b}`;
    const k = Rtnl.open({ nsPath: pathA });
    const kb = Rtnl.open({ nsPath: pathB });
    try {
      await k.addBridge('br0');
      await assert.rejects(k.addBridge('br0'), code('WEFT_ERR_HOST_EXISTS'));
      await k.setLink('br0', { mtu: 1400, up: true });
      const br = await k.mustLink('br0');
      assert.equal(br.kind, 'bridge');
      assert.equal(br.mtu, 1400);
      assert.ok(br.up);
      assert.equal(await k.link('nope0'), null);
      await assert.rejects(k.deleteLink('nope0'), code('WEFT_ERR_HOST_NO_DEVICE'));

      // veth with its peer created directly in namespace b, renamed there.
      await k.addVeth('v0', 'v0tmp', 1400, pathB);
      await k.setLink('v0', { master: br.index, alias: 'weft:eth9:/x', up: true });
      await kb.setLink('v0tmp', { name: 'eth9' });
      await kb.setInetConf('eth9', new Map([[22, 1]])); // IPV4_DEVCONF_ARP_NOTIFY
      await kb.addAddress('eth9', '10.77.0.2/24');
      await assert.rejects(kb.addAddress('eth9', '10.77.0.2/24'), code('WEFT_ERR_HOST_EXISTS'));
      await kb.setLink('eth9', { up: true });
      const v0 = await k.mustLink('v0');
      assert.equal(v0.master, br.index);
      assert.equal(v0.alias, 'weft:eth9:/x');
      assert.equal(sh('ip', ['netns', 'exec', b, 'cat', '/proc/sys/net/ipv4/conf/eth9/arp_notify']).trim(), '1');
      const eth9 = await kb.mustLink('eth9');
      assert.deepEqual((await kb.addresses(eth9.index)).filter((x) => x.family === 4).map((x) => `${x.address}/${x.prefixLength}`), ['10.77.0.2/24']);
      assert.match(sh('ip', ['-n', b, 'addr', 'show', 'eth9']), /inet 10\.77\.0\.2\/24/);
      await assert.rejects(kb.deleteAddress('eth9', '10.77.0.9/24'), code('WEFT_ERR_HOST_NOT_FOUND'));
      await assert.rejects(k.addVeth('v1', 'v1p', 1400, `/run/netns/${a}-missing`), code('WEFT_ERR_HOST_NOT_FOUND'));
      await assert.rejects(k.setLink('bad/name', { up: true }), (e) => isWeftError(e));

      // Routes: replace is idempotent, read back, delete twice → NOT_FOUND.
      await kb.replaceRoute({ dst: '10.78.0.0/16', oif: eth9.index });
      await kb.replaceRoute({ dst: '10.78.0.0/16', oif: eth9.index });
      await kb.replaceRoute({ dst: '0.0.0.0/0', gateway: '10.77.0.1', oif: eth9.index });
      const routes = (await kb.routes()).filter((r) => r.oif === eth9.index && r.family === 4).map((r) => r.dst + (r.gateway ? ` via ${r.gateway}` : ''));
      assert.deepEqual(routes.sort(), ['0.0.0.0/0 via 10.77.0.1', '10.77.0.0/24', '10.78.0.0/16']);
      assert.match(sh('ip', ['-n', b, 'route']), /default via 10\.77\.0\.1 dev eth9/);
      const got = await kb.routeGet('10.78.3.4');
      assert.equal(got.oif, eth9.index);
      await kb.deleteRoute({ dst: '10.78.0.0/16' });
      await assert.rejects(kb.deleteRoute({ dst: '10.78.0.0/16' }), code('WEFT_ERR_HOST_NOT_FOUND'));

      // Neighbours.
      await kb.replaceNeighbour('eth9', '10.77.0.5', '02:00:00:00:00:05');
      assert.match(sh('ip', ['-n', b, 'neigh', 'show', 'dev', 'eth9']), /10\.77\.0\.5 lladdr 02:00:00:00:00:05 PERMANENT/);
      await kb.deleteNeighbour('eth9', '10.77.0.5');
      await assert.rejects(kb.deleteNeighbour('eth9', '10.77.0.5'), (e) => isWeftError(e));

      // VXLAN device, bridge port flags, FDB entries of both tables.
      await k.addVxlan('vx0', { vni: 4242, port: 6799, mtu: 1350 });
      await k.setLink('vx0', { master: br.index, up: true });
      await k.setBridgePort('vx0', { learning: false, isolated: true });
      assert.match(sh('ip', ['-n', a, '-d', 'link', 'show', 'vx0']), /vxlan id 4242 .*dstport 6799.*nolearning/);
      assert.match(sh('bridge', ['-n', a, '-d', 'link', 'show', 'dev', 'vx0']), /learning off.*isolated on|isolated on/s);
      const vx = (await k.mustLink('vx0')).index;
      await k.setFdb({ mac: '00:00:00:00:00:00', index: vx, table: 'self', dst: '198.18.0.2', port: 6799 }, 'append');
      await k.setFdb({ mac: '00:00:00:00:00:00', index: vx, table: 'self', dst: '198.18.0.3', port: 6799 }, 'append');
      await k.setFdb({ mac: '02:00:00:00:01:01', index: vx, table: 'self', dst: '198.18.0.2', port: 6799 });
      await k.setFdb({ mac: '02:00:00:00:01:01', index: vx, table: 'master', state: 'static', sticky: true });
      const fdb = sh('bridge', ['-n', a, 'fdb', 'show', 'dev', 'vx0']);
      assert.match(fdb, /00:00:00:00:00:00 dst 198\.18\.0\.2 .*self permanent/);
      assert.match(fdb, /00:00:00:00:00:00 dst 198\.18\.0\.3 .*self permanent/);
      assert.match(fdb, /02:00:00:00:01:01 dst 198\.18\.0\.2 .*self permanent/);
      assert.match(fdb, /02:00:00:00:01:01 sticky master br0 static/);
      const read = (await k.fdb()).filter((f) => f.index === vx && f.dst !== undefined).map((f) => `${f.mac} ${f.dst}`).sort();
      assert.deepEqual(read, ['00:00:00:00:00:00 198.18.0.2', '00:00:00:00:00:00 198.18.0.3', '02:00:00:00:01:01 198.18.0.2']);
      await k.deleteFdb({ mac: '00:00:00:00:00:00', index: vx, table: 'self', dst: '198.18.0.3' });
      await assert.rejects(k.deleteFdb({ mac: '02:00:00:00:09:09', index: vx, table: 'self' }), code('WEFT_ERR_HOST_NOT_FOUND'));
      assert.doesNotMatch(sh('bridge', ['-n', a, 'fdb', 'show', 'dev', 'vx0']), /198\.18\.0\.3/);

      await k.moveLink('vx0', pathB);
      assert.ok(await kb.link('vx0'));
      assert.equal(await k.link('vx0'), null);
    } finally {
      k.close();
      kb.close();
    }
  }));

/**
 * Count child processes this process starts while `fn` runs: every child_process entry point is
 * wrapped and the ESM bindings re-synced (node:module syncBuiltinESMExports), so modules that
 * imported `spawn` & co. by name go through the counter too.
 */
async function countSpawns(fn: () => Promise<void>): Promise<string[]> {
  const cp = createRequire(import.meta.url)('node:child_process') as Record<string, unknown>;
  const names = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];
  const saved = new Map(names.map((n) => [n, cp[n]]));
  const seen: string[] = [];
  for (const n of names) {
    const orig = saved.get(n) as (...a: unknown[]) => unknown;
    cp[n] = (...a: unknown[]) => { seen.push(`${n} ${String(a[0])}`); return orig(...a); };
  }
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    for (const n of names) cp[n] = saved.get(n);
    syncBuiltinESMExports();
  }
  return seen;
}

test('HostPlumbing over netlink: bridge, TAP, attach into a namespace, list, detach, expose — no helper processes', { skip },
  withNamespaces(2, async ([host, pod], p) => {
    const kernel = netlinkKernel({ nsPath: `/run/netns/${host}` });
    const plumbing = new HostPlumbing({ bridge: `${p}b`, log: silentLogger(), kernel });
    await plumbing.setupBridge(1376);
    await plumbing.setupTap(`${p}t`, 1376);
    let ep: Awaited<ReturnType<typeof plumbing.attach>> | undefined;
    const spawned = await countSpawns(async () => {
      ep = await plumbing.attach({ netns: pod, cidr: '10.66.0.5/16', mtu: 1376 });
      assert.equal(ep.ifname, 'ethwe');
      assert.match(ep.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      const again = await plumbing.attach({ netns: pod, cidr: '10.66.0.6/16', mtu: 1376 });
      assert.equal(again.hostIfname, ep.hostIfname);
      const listed = await plumbing.listAttached();
      assert.equal(listed.length, 1);
      assert.deepEqual(listed[0]?.addresses.sort(), ['10.66.0.5/16', '10.66.0.6/16']);
      const inside = await plumbing.podInterface(pod, 'ethwe');
      assert.equal(inside?.mtu, 1376);
      await plumbing.addPodRoutes(pod, 'ethwe', [{ dst: '10.67.0.0/16' }]);
      assert.ok((await plumbing.podInterface(pod, 'ethwe'))?.routes.some((r) => r.dst === '10.67.0.0/16'));
      assert.equal(await plumbing.interfaceExists(pod, 'nothere'), false);
      assert.equal(await plumbing.detach(pod), true);
      assert.equal(await plumbing.detach(pod), false);
      ep = await plumbing.attach({ netns: pod, cidr: '10.66.0.5/16', mtu: 1376 });
    });
    assert.deepEqual(spawned, [], 'attach, list, inspect and detach start no helper process');
    assert.ok(ep);
    assert.match(sh('ip', ['-n', host, 'link', 'show', ep.hostIfname]), new RegExp(`master ${p}b`));
    assert.match(sh('ip', ['-n', host, 'link', 'show', `${p}t`]), new RegExp(`master ${p}b.*|qlen 5000`, 's'));
    await plumbing.expose('10.66.255.1/16');
    await plumbing.expose('10.66.255.1/16');
    assert.deepEqual(await plumbing.exposed(), ['10.66.255.1/16']);
    assert.equal(await plumbing.hide('10.66.255.1/16'), true);
    assert.equal(await plumbing.hide('10.66.255.1/16'), false);
    assert.equal(await plumbing.detach(pod), true);
    assert.equal(await plumbing.detach(pod), false);
    assert.equal((await plumbing.listAttached()).length, 0);
    await plumbing.teardown(`${p}t`);
    await plumbing.teardown(`${p}t`);
    assert.doesNotMatch(sh('ip', ['-n', host, 'link']), new RegExp(`${p}b|${p}t`));
  }));

test('NetlinkMonitor: link/address/FDB events; a flood past the receive queue resyncs once, state matches the kernel after', { skip },
  withNamespaces(0, async (_ns, p) => {
    const events: NetlinkEvent[] = [];
    const mon = new NetlinkMonitor({ log: silentLogger(), onEvent: (e) => events.push(e), rcvbufBytes: 4096 * 2 });
    const k = Rtnl.open();
    mon.start();
    try {
      await k.addBridge(`${p}br`);
      await waitFor(() => events.some((e) => e.kind === 'link' && e.op === 'new' && e.link.name === `${p}br`), { timeoutMs: 5000, what: 'link event' });
      await k.addAddress(`${p}br`, '10.55.0.1/24');
      await waitFor(() => events.some((e) => e.kind === 'addr' && e.op === 'new' && e.addr.address === '10.55.0.1'), { timeoutMs: 5000, what: 'address event' });
      // Flood: many links created while the event loop is busy, so the small queue overflows.
      const names = Array.from({ length: 200 }, (_, i) => `${p}d${i}`);
      const batch = `/tmp/${p}-links.batch`;
      writeFileSync(batch, names.map((n) => `link add ${n} type bridge`).join('\n') + '\n');
      sh('ip', ['-batch', batch]);
      rmSync(batch, { force: true });
      await waitFor(() => events.some((e) => e.kind === 'resync'), { timeoutMs: 10_000, what: 'a resync after overflow' });
      assert.equal(mon.stats.resyncs >= 1, true);
      // After a resync the consumer re-reads the kernel: the dump has every link.
      const all = new Set((await k.links()).map((l) => l.name));
      for (const n of names) assert.ok(all.has(n), n);
      // The monitor still delivers events after the resync.
      events.length = 0;
      sh('ip', ['link', 'del', `${p}d0`]);
      await waitFor(() => events.some((e) => e.kind === 'link' && e.op === 'del' && e.link.name === `${p}d0`), { timeoutMs: 5000, what: 'event after resync' });
    } finally {
      mon.stop();
      for (const n of (await k.links()).map((l) => l.name).filter((n) => n.startsWith(p))) await k.deleteLink(n).catch(() => undefined);
      k.close();
    }
  }));
