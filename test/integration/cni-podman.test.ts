/**
 * weft-net under a real runtime: rootful podman 4 (CNI backend, runc, a locally imported
 * busybox-static image, no registry), each simulated host with its own podman per
 * shared/docs/podman-multihost.md, plugins installed by `weft setup-cni`.
 *  1. One host, stand-in daemon: podman run/exec/rm drive ADD and DEL; two pods on the bridge
 *     ping each other; rm gives the address back and removes the veth. Once with the compiled
 *     front end installed as weft-net, once with the Node plugin (setup-cni --node-plugin).
 *  2. Two hosts with real weft daemons: pods ping each other across the mesh; stopping a
 *     container frees its address in the daemon's IPAM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StandInDaemon } from '../support/cni/stand-in-daemon.js';
import { WEFT_NET_FRONT_ENDS, type FrontEnd } from '../support/cni/run-plugin.js';
import { run } from '../support/cni-run.js';
import { Lab, isRoot } from '../support/lab.js';
import { PodmanHost, busyboxTarball, machinePathsBefore, missingPodmanTools, restoreMachinePaths } from '../support/podman-host.js';
import { OVERLAY_RANGE, allocations, assertCniServed, launchWithIpam, untilIpamReady } from '../support/cni-daemons.js';

const REPO = new URL('../../..', import.meta.url).pathname;
const REFERENCE = '/usr/lib/cni';
const NETWORK = 'weftpod';
const missing = isRoot() ? missingPodmanTools() : [];
const skip = !isRoot() ? 'needs root (podman, network namespaces): run the tests as root, e.g. sudo npm test'
  : missing.length > 0 ? `missing ${missing.join(', ')} (bash scripts/setup-system.sh installs them)` : false;

/** `weft setup-cni` into `bin` and `confDir` for one host's daemon socket. */
function setupCni(bin: string, confDir: string, socket: string, fe: FrontEnd = 'compiled'): string {
  return run(process.execPath, [join(REPO, 'bin', 'weft'), 'setup-cni', '--bin-dir', bin, '--conf-dir', confDir, '--socket', socket, '--network', NETWORK,
    ...(fe === 'node' ? ['--node-plugin'] : [])]);
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

for (const fe of WEFT_NET_FRONT_ENDS) test(`[${fe}] podman, one host, stand-in daemon: run → ADD, pods ping over the bridge, rm → DEL frees the address`, { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  const machine = machinePathsBefore();
  let daemon: StandInDaemon | undefined;
  let host: PodmanHost | undefined;
  try {
    const ns = lab.netns('h');
    const bridge = lab.bridge(ns, 'br', 1400);
    daemon = new StandInDaemon({ socketPath: join(lab.dir, 'weft.sock'), hostNetns: `/run/netns/${ns}`, network: { bridge, mtu: 1400, range: '10.96.0.0/16' } });
    await daemon.start();
    const bin = join(lab.dir, 'bin');
    host = new PodmanHost(ns, join(lab.dir, 'h'), [bin, REFERENCE], NETWORK);
    const out = setupCni(bin, host.confDir, daemon.server.socketPath, fe);
    assert.match(out, fe === 'compiled' ? /installed .*weft-net \(compiled front end/ : /installed .*weft-net\n/);
    assert.match(out, /wrote .*10-weft\.conflist/);
    await host.importImage(busyboxTarball(lab.dir));
    const c1 = await host.runContainer(`${lab.prefix}c1`, NETWORK);
    const c2 = await host.runContainer(`${lab.prefix}c2`, NETWORK);
    const ip1 = await host.ipOf(`${lab.prefix}c1`, NETWORK);
    const ip2 = await host.ipOf(`${lab.prefix}c2`, NETWORK);
    assert.match(ip1, /^10\.96\.\d+\.\d+$/);
    assert.notEqual(ip1, ip2);
    assert.equal(daemon.allocations.get(`cni/${NETWORK}/${c1}/eth0`), ip1);
    assert.equal(daemon.allocations.get(`cni/${NETWORK}/${c2}/eth0`), ip2);
    assert.match(await host.podman(['exec', `${lab.prefix}c1`, 'ip', 'link', 'show', 'eth0']), /mtu 1400/);
    assert.match(await host.podman(['exec', `${lab.prefix}c1`, 'ping', '-c', '2', '-W', '2', ip2]), / 0% packet loss/);
    const ports = () => lab.ip(ns, ['-br', 'link', 'show', 'master', bridge]).trim().split('\n').filter(Boolean).length;
    assert.equal(ports(), 2);
    await host.podman(['rm', '-f', '-t', '0', `${lab.prefix}c1`]);
    await until('c1 address released', 10_000, () => !daemon!.allocations.has(`cni/${NETWORK}/${c1}/eth0`));
    assert.equal(ports(), 1, 'c1 veth removed');
    // A container that exits by itself is cleaned up by conmon (scrubbed env): DEL still reaches the daemon.
    const c3 = await host.runContainer(`${lab.prefix}c3`, NETWORK, 1);
    assert.ok(daemon.allocations.has(`cni/${NETWORK}/${c3}/eth0`));
    await until('c3 address released after it exited', 15_000, () => !daemon!.allocations.has(`cni/${NETWORK}/${c3}/eth0`));
    assert.equal(ports(), 1, 'c3 veth removed');
    await host.podman(['rm', '-f', '-t', '0', `${lab.prefix}c2`]);
    await until('c2 address released', 10_000, () => !daemon!.allocations.has(`cni/${NETWORK}/${c2}/eth0`));
  } finally {
    await host?.cleanup();
    await daemon?.stop();
    lab.destroy();
    restoreMachinePaths(machine);
  }
});

test('podman on two hosts with real weft daemons: pods ping across the mesh; stopping one frees its address', { skip, timeout: 180_000 }, async () => {
  const lab = new Lab();
  const machine = machinePathsBefore();
  const podmen: PodmanHost[] = [];
  try {
    const hosts = lab.addHosts(2);
    launchWithIpam(lab, hosts);
    await assertCniServed(hosts[0]!);
    await untilIpamReady(lab, hosts);
    const bin = join(lab.dir, 'cni-bin');
    mkdirSync(bin, { recursive: true });
    const tar = busyboxTarball(lab.dir);
    const names: string[] = [];
    const ids: string[] = [];
    for (const h of hosts) {
      const p = new PodmanHost(h.ns, join(lab.dir, `podman-h${h.index}`), [bin, REFERENCE], NETWORK);
      podmen.push(p);
      setupCni(bin, p.confDir, h.socket);
      await p.importImage(tar);
      names.push(`${lab.prefix}c${h.index}`);
      ids.push(await p.runContainer(names.at(-1)!, NETWORK));
    }
    const ips = await Promise.all(podmen.map((p, i) => p.ipOf(names[i]!, NETWORK)));
    const [a, b] = ips as [string, string];
    const prefix = OVERLAY_RANGE.split('.').slice(0, 2).join('.');
    assert.ok(a.startsWith(prefix) && b.startsWith(prefix), `pod addresses ${a}, ${b} not in ${OVERLAY_RANGE}`);
    assert.notEqual(a, b);
    assert.equal((await allocations(hosts[0]!)).get(`cni/${NETWORK}/${ids[0]}/eth0`), a);
    // The sleeve may need a moment to learn the other host's MAC; ping until one answer, then for real.
    await until('h1 pod reaches h2 pod', 20_000, async () => /[1-9]\d* packets received/.test(await podmen[0]!.podman(['exec', names[0]!, 'ping', '-c', '1', '-W', '1', b], { allowFail: true })));
    assert.match(await podmen[0]!.podman(['exec', names[0]!, 'ping', '-c', '3', '-W', '2', b]), / 0% packet loss/);
    assert.match(await podmen[1]!.podman(['exec', names[1]!, 'ping', '-c', '3', '-W', '2', a]), / 0% packet loss/);
    await podmen[0]!.podman(['stop', '-t', '0', names[0]!]);
    await until('h1 pod address released after stop', 15_000, async () => !(await allocations(hosts[0]!)).has(`cni/${NETWORK}/${ids[0]}/eth0`));
    assert.equal((await allocations(hosts[1]!)).get(`cni/${NETWORK}/${ids[1]}/eth0`), b, 'the other pod keeps its address');
  } finally {
    for (const p of podmen) await p.cleanup();
    lab.destroy();
    restoreMachinePaths(machine);
  }
});
