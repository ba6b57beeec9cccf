/**
 * The in-memory kernel (test/support/fake-kernel.ts) against the real one: one script of what
 * weft's host edge does (HostPlumbing-style links, VxlanEdge, HostGwEdge, a pod namespace) runs
 * on both, and the resulting state (links, addresses, routes, neighbours, FDB entries, nftables
 * chains and elements) and every error code must be the same. Unit tests that use the fake
 * can then trust it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isWeftError, silentLogger } from '../../src/common/index.js';
import { HostGwEdge, VxlanEdge, netlinkKernel, type Kernel, type RtnlOps } from '../../src/host/index.js';
import { FakeKernel } from '../support/fake-kernel.js';
import type { FakeRuleset } from '../support/fake-nft.js';
import { isRoot, sh } from '../support/lab.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test' : false;

const POD_MAC = '02:aa:00:00:00:05';
const PEER_MAC = '02:bb:00:00:00:07';
const PROBE_MAC = '02:cc:00:00:00:01';
const MACS = new Set([POD_MAC, PEER_MAC, PROBE_MAC, '00:00:00:00:00:00']);

/** What the script saw: every step's outcome ('ok' or the error code), in order. */
type Outcomes = string[];

async function step(out: Outcomes, name: string, p: Promise<unknown>): Promise<void> {
  try {
    await p;
    out.push(`${name}: ok`);
  } catch (e) {
    out.push(`${name}: ${isWeftError(e) ? e.code : `untyped ${String(e)}`}`);
  }
}

async function script(k: Kernel, podNs: string): Promise<Outcomes> {
  const out: Outcomes = [];
  const h = k.host;
  await step(out, 'bridge', h.addBridge('wbr'));
  await step(out, 'bridge again', h.addBridge('wbr'));
  await step(out, 'bridge up', h.setLink('wbr', { up: true }));
  await step(out, 'bridge address', h.addAddress('wbr', '10.77.0.1/24'));
  await step(out, 'bridge address again', h.addAddress('wbr', '10.77.0.1/24'));
  await step(out, 'bridge address replace', h.addAddress('wbr', '10.77.0.1/24', true));
  await step(out, 'missing address delete', h.deleteAddress('wbr', '10.77.0.9/24'));
  await step(out, 'missing link', h.mustLink('nope0'));
  await step(out, 'missing link change', h.setLink('nope0', { up: true }));
  await step(out, 'missing link delete', h.deleteLink('nope0'));
  await step(out, 'veth into the pod', h.addVeth('wv0', 'wtmp0', 1400, podNs));
  await step(out, 'veth name taken', h.addVeth('wv0', 'wtmp1', 1400, podNs));
  await step(out, 'veth into a missing namespace', h.addVeth('wv1', 'wtmp1', 1400, `${podNs}-missing`));
  const br = await h.mustLink('wbr');
  await step(out, 'port on the bridge', h.setLink('wv0', { master: br.index, up: true, alias: 'weft:eth0:x' }));
  await step(out, 'port flags', h.setBridgePort('wv0', { learning: false }));
  await step(out, 'port flags on a non-port', h.setBridgePort('wbr', { learning: false }));
  await step(out, 'tx offload off', k.setTxChecksum('wv0', false));
  await step(out, 'tx offload of a missing link', k.setTxChecksum('nope0', false));

  const pod: RtnlOps = k.openNetns(podNs);
  try {
    await step(out, 'pod rename', pod.setLink('wtmp0', { name: 'eth0' }));
    await step(out, 'pod address', pod.addAddress('eth0', '10.77.0.5/24'));
    await step(out, 'pod up', pod.setLink('eth0', { up: true, mac: POD_MAC }));
    await step(out, 'pod default route', pod.replaceRoute({ dst: '0.0.0.0/0', gateway: '10.77.0.1', oif: (await pod.mustLink('eth0')).index, oifName: 'eth0' }));
    await step(out, 'pod off-link gateway', pod.replaceRoute({ dst: '10.99.0.0/16', gateway: '198.18.250.1', oif: (await pod.mustLink('eth0')).index }));
    await step(out, 'pod route delete', pod.deleteRoute({ dst: '10.98.0.0/16' }));
  } finally {
    pod.close();
  }

  const vx = new VxlanEdge({ bridge: 'wbr', dataDevice: 'wvx', probeDevice: 'wvxp', port: 6784, dataVni: 7, probeVni: 8, mtu: 1400,
    probeMac: PROBE_MAC, probeCidr: '169.254.77.1/30', log: silentLogger(), kernel: k });
  await step(out, 'vxlan setup', vx.setup());
  await step(out, 'vxlan setup again', vx.setup());
  await step(out, 'unicast', vx.setUnicast(PEER_MAC, '10.77.0.7', 6784));
  await step(out, 'unicast replace', vx.setUnicast(PEER_MAC, '10.77.0.8', 6784));
  await step(out, 'flood 1', vx.addFlood('10.77.0.7', 6784));
  await step(out, 'flood 2', vx.addFlood('10.77.0.8', 6784));
  await step(out, 'flood 2 again', vx.addFlood('10.77.0.8', 6784));
  await step(out, 'flood 1 delete', vx.deleteFlood('10.77.0.7'));
  await step(out, 'flood 1 delete again', vx.deleteFlood('10.77.0.7'));
  await step(out, 'pin', vx.pinOnBridge(PEER_MAC));
  await step(out, 'isolate the veth', vx.isolatePort('wv0'));
  await step(out, 'isolate a missing port', vx.isolatePort('nope0'));

  const gw = new HostGwEdge({ bridge: 'wbr', log: silentLogger(), kernel: k });
  await step(out, 'host-gw setup', gw.setup());
  await step(out, 'remote route', gw.addRemote('10.78.0.2', '10.77.0.7'));
  await step(out, 'remote route off-link', gw.addRemote('10.78.0.3', '198.18.251.1'));
  await step(out, 'local pod', gw.addLocal('10.77.0.5', POD_MAC, 'wv0'));
  await step(out, 'forward', gw.addForward(PEER_MAC, '10.78.0.2', '10.77.0.7', 'wbr'));
  await step(out, 'forward again', gw.addForward(PEER_MAC, '10.78.0.2', '10.77.0.7', 'wbr'));
  await step(out, 'forward with another next hop', gw.addForward(PEER_MAC, '10.78.0.2', '10.77.0.8', 'wbr'));
  await step(out, 'second forward', gw.addForward(POD_MAC, '10.78.0.4', '10.77.0.8', 'wbr'));
  await step(out, 'second forward delete', gw.deleteForward(POD_MAC, '10.78.0.4'));
  await step(out, 'second forward delete again', gw.deleteForward(POD_MAC, '10.78.0.4'));
  await step(out, 'port hook', gw.addPort('wv0'));
  await step(out, 'underlay hook', gw.addUnderlay('wbr'));
  await step(out, 'underlay hook again', gw.addUnderlay('wbr'));
  await step(out, 'port unhook', gw.deletePort('wv0'));
  await step(out, 'remote route delete', gw.deleteRemote('10.78.0.9'));
  // What a restarted daemon reads back to adopt (FDB and nft listing, parsed).
  const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (v instanceof Map ? [...v].sort() : v instanceof Set ? [...v].sort() : v));
  out.push(`vxlan entries: ${show(await vx.entries())}`);
  out.push(`host-gw entries: ${show(await gw.entries())}`);
  return out;
}

/** The state weft's edge cares about, in a form both kernels produce. */
async function snapshot(k: Kernel, podNs: string, ruleset: () => Promise<Record<string, string[]>>): Promise<unknown> {
  const ns = async (r: RtnlOps) => {
    const links = await r.links();
    const name = (i?: number) => links.find((l) => l.index === i)?.name ?? String(i);
    return {
      links: links.filter((l) => l.name !== 'lo').map((l) => ({ name: l.name, kind: l.kind, mtu: l.kind === 'bridge' ? '-' : l.mtu,
        master: name(l.master), up: l.up, alias: l.alias ?? '' })).sort((a, b) => a.name.localeCompare(b.name)),
      addresses: (await r.addresses()).filter((a) => a.family === 4).map((a) => `${name(a.index)} ${a.address}/${a.prefixLength}`).sort(),
      routes: (await r.routes()).filter((x) => x.family === 4 && x.protocol !== 2)
        .map((x) => `${x.dst} via ${x.gateway ?? '-'} dev ${name(x.oif)} proto ${x.protocol} scope ${x.scope}`).sort(),
      neighbours: (await r.neighbours()).filter((n) => (n.state & 0x80) !== 0).map((n) => `${name(n.index)} ${n.dst} ${n.mac}`).sort(),
      fdb: (await r.fdb()).filter((f) => f.mac !== undefined && MACS.has(f.mac))
        .map((f) => `${name(f.index)} ${f.mac} ${(f.flags & 0x02) !== 0 ? 'self' : 'master'} ${f.dst ?? '-'} state ${f.state} sticky ${(f.flags & 0x40) !== 0}`).sort(),
    };
  };
  const pod = k.openNetns(podNs);
  try {
    return { host: await ns(k.host), pod: await ns(pod), nft: await ruleset() };
  } finally {
    pod.close();
  }
}

/** `nft -j list ruleset` of a namespace, as "table chain/set: contents" lines. */
function realRuleset(ns: string): Record<string, string[]> {
  const nft = (json: boolean) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...(json ? ['-j'] : []), 'list', 'ruleset'], { encoding: 'utf8' });
  const j = JSON.parse(nft(true)) as { nftables: Record<string, Record<string, unknown>>[] };
  // nft 1.0.6's JSON leaves out a netdev chain's device: read it from the text listing.
  const devices = new Map([...nft(false).matchAll(/chain (\S+) \{\s*type filter hook ingress device "([^"]+)"/g)].map((m) => [m[1], m[2]]));
  const rules = new Map<string, number>();
  for (const o of j.nftables) if (o.rule) rules.set(String(o.rule.chain), (rules.get(String(o.rule.chain)) ?? 0) + 1);
  const out: Record<string, string[]> = {};
  const v = (x: unknown): string => typeof x === 'object' && x !== null && 'concat' in x ? (x as { concat: unknown[] }).concat.map(v).join(' . ') : String(x);
  for (const o of j.nftables) {
    if (o.chain) {
      const name = String(o.chain.name);
      out[`${o.chain.family} ${o.chain.table} chain ${name}`] = [`hook ${devices.get(name) ?? '-'}`, `rules ${rules.get(name) ?? 0}`];
    }
    for (const kind of ['set', 'map'] as const) {
      const s = o[kind];
      if (!s) continue;
      const elems = (s.elem as unknown[] | undefined) ?? [];
      out[`${s.family} ${s.table} ${kind} ${s.name}`] = elems.map((e) => Array.isArray(e) ? `${v(e[0])} : ${v(e[1])}` : v(e)).sort();
    }
  }
  return out;
}

function fakeRuleset(r: FakeRuleset): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [t, table] of r) {
    for (const [c, chain] of table.chains) out[`${t} chain ${c}`] = [`hook ${chain.hookDevice ?? '-'}`, `rules ${chain.rules.length}`];
    for (const [n, s] of table.sets) out[`${t} ${s.isMap ? 'map' : 'set'} ${n}`] = [...s.elements].map(([k, val]) => val === null ? k : `${k} : ${val}`).sort();
  }
  return out;
}

test('the fake kernel and the real one agree: same script, same state, same error codes', { skip, timeout: 60_000 }, async () => {
  const p = `wfk${randomBytes(3).toString('hex')}`;
  const [hostNs, podNs] = [`${p}h`, `${p}p`];
  try {
    sh('ip', ['netns', 'add', hostNs]);
    sh('ip', ['netns', 'add', podNs]);
    const real = netlinkKernel({ nsPath: `/run/netns/${hostNs}` });
    const realOut = await script(real, `/run/netns/${podNs}`);
    const realState = await snapshot(real, `/run/netns/${podNs}`, async () => realRuleset(hostNs));

    const fake = new FakeKernel();
    fake.addNetns(`/run/netns/${podNs}`);
    const fakeOut = await script(fake, `/run/netns/${podNs}`);
    const fakeState = await snapshot(fake, `/run/netns/${podNs}`, async () => fakeRuleset(fake.ruleset));

    assert.deepEqual(fakeOut, realOut, "every step has the same outcome");
    if (process.env.WEFT_TEST_VERBOSE) console.log(realOut.join("\n"));
    assert.ok(realOut.filter((o) => !o.endsWith(': ok')).length >= 8, `the script exercises error paths: ${realOut.join('; ')}`);
    assert.deepEqual(fakeState, realState, 'the same kernel state');
  } finally {
    sh('ip', ['netns', 'del', hostNs], { allowFail: true });
    sh('ip', ['netns', 'del', podNs], { allowFail: true });
  }
});
