/**
 * weft-ipam under the reference `bridge` plugin (containernetworking-plugins), against real
 * weft daemons on two hosts sharing one ring: every pod gets a unique address from the range,
 * CHECK passes, DEL gives the addresses back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Lab, isRoot, type LabHost } from '../support/lab.js';
import { allocations, assertCniServed, launchWithIpam, untilIpamReady } from '../support/cni-daemons.js';
import { run } from '../support/cni-run.js';
import { Value } from '@sinclair/typebox/value';
import { ROUTES } from '../../src/api/routes.js';

const REFERENCE = '/usr/lib/cni';
const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : !existsSync(join(REFERENCE, 'bridge')) ? 'reference CNI plugins not installed (apt-get install containernetworking-plugins)' : false;
const REPO = new URL('../../..', import.meta.url).pathname;

interface Out { code: number; json: Record<string, unknown> | undefined; stdout: string; stderr: string }

/** Run the reference bridge plugin in a host's namespace, as a runtime would. */
function bridgePlugin(h: LabHost, env: Record<string, string>, conf: object): Promise<Out> {
  return new Promise((resolve, reject) => {
    const p = spawn('nsenter', [`--net=/run/netns/${h.ns}`, join(REFERENCE, 'bridge')], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => { stdout += c; });
    p.stderr.on('data', (c: Buffer) => { stderr += c; });
    p.once('error', reject);
    p.once('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try { json = stdout.trim() ? JSON.parse(stdout) : undefined; } catch { json = undefined; }
      resolve({ code: code ?? -1, json, stdout, stderr });
    });
    p.stdin.on('error', () => { /* the plugin may exit before reading */ });
    p.stdin.end(JSON.stringify(conf));
  });
}

test('bridge + weft-ipam: unique addresses from the ring on two hosts, CHECK, GC of unlisted pods, DEL releases', { skip, timeout: 150_000 }, async () => {
  const lab = new Lab();
  const podNamespaces: string[] = [];
  try {
    const hosts = lab.addHosts(2);
    launchWithIpam(lab, hosts);
    await assertCniServed(hosts[0]!);
    await untilIpamReady(lab, hosts);
    // A real daemon's replies match the contract's reply schemas (every GET route without input).
    for (const spec of Object.values(ROUTES).filter((r) => r.method === 'GET' && Object.keys(r.request.properties).length === 0)) {
      // GET /dns/args answers its documented 409 WEFT_ERR_DNS_UNAVAILABLE until the host has an
      // overlay address (weft expose), which this host does not: that typed refusal is its reply.
      const reply = await hosts[0]!.client.request(spec.method, spec.path).catch((e: unknown) => {
        if (spec.path === '/dns/args' && (e as { code?: string }).code === 'WEFT_ERR_DNS_UNAVAILABLE') return null;
        throw e;
      });
      if (reply === null) continue;
      const problem = [...Value.Errors(spec.reply, reply)][0];
      assert.equal(problem, undefined, `GET ${spec.path} reply does not match its schema: ${problem?.path} ${problem?.message}`);
    }
    const bin = join(lab.dir, 'cni-bin');
    mkdirSync(bin, { recursive: true });
    run(process.execPath, [join(REPO, 'bin', 'weft'), 'setup-cni', '--bin-dir', bin, '--conf-dir', join(lab.dir, 'net.d')]);
    const pods: { h: LabHost; ns: string; id: string; result: Record<string, unknown> }[] = [];
    const conf = (h: LabHost, extra: object = {}) => ({
      cniVersion: '1.0.0', name: 'weftbr', type: 'bridge', bridge: `${lab.prefix}cb`, isGateway: false, ipMasq: false,
      ipam: { type: 'weft-ipam', socket: h.socket }, ...extra,
    });
    for (const h of hosts) {
      for (let i = 0; i < 3; i++) {
        const ns = `${lab.prefix}h${h.index}p${i}`;
        run('ip', ['netns', 'add', ns]);
        podNamespaces.push(ns);
        const id = `${lab.prefix}c${h.index}${i}`;
        const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: `${bin}:${REFERENCE}` };
        const r = await bridgePlugin(h, env, conf(h));
        assert.equal(r.code, 0, `bridge ADD failed: ${r.stdout} ${r.stderr}`);
        pods.push({ h, ns, id, result: r.json! });
        // CHECK right away: the reference bridge compares the bridge's MAC, which the next port may change.
        const c = await bridgePlugin(h, { ...env, CNI_COMMAND: 'CHECK' }, conf(h, { prevResult: r.json }));
        assert.equal(c.code, 0, `bridge CHECK failed: ${c.stdout} ${c.stderr}`);
      }
    }
    const addrs = pods.map((p) => String((p.result.ips as { address: string }[])[0]!.address));
    for (const a of addrs) assert.match(a, /^10\.97\.\d+\.\d+\/16$/);
    assert.equal(new Set(addrs).size, addrs.length, `addresses not unique: ${addrs.join(', ')}`);
    for (const p of pods) {
      const held = await allocations(p.h);
      assert.equal(held.get(`cni/weftbr/${p.id}/eth0`), String((p.result.ips as { address: string }[])[0]!.address).split('/')[0]);
    }
    // GC (1.1.0) straight through weft-ipam on host 1: the pods not listed lose their addresses.
    const [keep, ...stale] = pods.filter((p) => p.h === hosts[0]);
    const gc = spawnSync(join(bin, 'weft-ipam'), {
      input: JSON.stringify({ ...conf(hosts[0]!), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: keep!.id, ifname: 'eth0' }] }),
      env: { PATH: process.env.PATH, CNI_COMMAND: 'GC', CNI_PATH: `${bin}:${REFERENCE}` }, encoding: 'utf8', timeout: 30_000,
    });
    assert.equal(gc.status, 0, `weft-ipam GC failed: ${gc.stdout}`);
    const afterGc = await allocations(hosts[0]!);
    assert.ok(afterGc.has(`cni/weftbr/${keep!.id}/eth0`));
    for (const p of stale) assert.ok(!afterGc.has(`cni/weftbr/${p.id}/eth0`), `${p.id} still allocated after GC`);
    assert.equal([...(await allocations(hosts[1]!)).keys()].filter((o) => o.startsWith('cni/weftbr/')).length, 3, 'host 2 untouched');
    for (const p of pods) {
      const env = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: p.id, CNI_NETNS: `/run/netns/${p.ns}`, CNI_IFNAME: 'eth0', CNI_PATH: `${bin}:${REFERENCE}` };
      const d = await bridgePlugin(p.h, env, conf(p.h, { prevResult: p.result }));
      assert.equal(d.code, 0, `bridge DEL failed: ${d.stdout} ${d.stderr}`);
    }
    for (const h of hosts) {
      const left = [...(await allocations(h)).keys()].filter((o) => o.startsWith('cni/weftbr/'));
      assert.deepEqual(left, [], `allocations left on host ${h.index}`);
    }
  } finally {
    for (const ns of podNamespaces) run('ip', ['netns', 'del', ns], { allowFail: true });
    lab.destroy();
  }
});
