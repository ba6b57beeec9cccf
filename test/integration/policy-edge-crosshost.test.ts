/**
 * PolicyEdge across two hosts (namespaces joined by an underlay veth): over a VXLAN bridge port
 * (bridged frames, br_netfilter) and over host-gw (HostGwEdge's netdev shortcut, which policed
 * pods must not take: their packets are routed through conntrack and the policy table on the
 * pod's host, in both directions, while unpoliced pods keep the shortcut).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { HostGwEdge, PolicyEdge, TO_PEER_RULE, hookChain, netlinkKernel } from '../../src/host/index.js';
import { silentLogger } from '../../src/common/index.js';
import type { PolicyRuleset } from '../../src/policy/index.js';
import { isRoot, sh } from '../support/lab.js';
import { PolicyLab, type LabPod } from '../support/policy-lab.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v nft'], { allowFail: true }).trim() === '' ? 'nft needed (scripts/setup-system.sh)' : false;

/** Two hosts with an underlay veth `u` (198.18.77.1/.2), one pod each on 10.77.0.0/24. */
function twoHosts(lab: PolicyLab): { h1: string; h2: string; a: LabPod; b: LabPod } {
  const h1 = lab.host('h1', '10.77.0.251', 'fd77::fb');
  const h2 = lab.host('h2', '10.77.0.252', 'fd77::fc');
  sh('ip', ['link', 'add', 'u', 'netns', h1, 'type', 'veth', 'peer', 'name', 'u', 'netns', h2]);
  for (const [ns, ip] of [[h1, '198.18.77.1'], [h2, '198.18.77.2']] as const) {
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'u']);
    sh('ip', ['-n', ns, 'link', 'set', 'u', 'up']);
  }
  return { h1, h2, a: lab.pod(h1, 'a', '10.77.0.1', 'fd77::1'), b: lab.pod(h2, 'b', '10.77.0.2', 'fd77::2') };
}

const ingressB = (a: LabPod, b: LabPod): PolicyRuleset => ({
  localPods: [b.ip4, b.ip6],
  isolations: [{ policy: 'ns/b', direction: 'ingress', audit: false, targets: [b.ip4, b.ip6] }],
  rules: [{ id: 'ns/b/ingress/0', policy: 'ns/b', direction: 'ingress', audit: false, targets: [b.ip4, b.ip6], peers: [`${a.ip4}/32`, `${a.ip6}/128`], ports: [{ protocol: 'TCP', port: 80 }], destPorts: [] }],
});

const drops = async (edge: PolicyEdge, policy: string): Promise<number> => (await edge.counters()).find((c) => c.policy === policy)?.packets ?? 0;

test('PolicyEdge over VXLAN: ingress on the receiving host, egress on the sending host', { skip, timeout: 60_000 }, async () => {
  const lab = new PolicyLab();
  try {
    const { h1, h2, a, b } = twoHosts(lab);
    for (const [ns, local, remote] of [[h1, '198.18.77.1', '198.18.77.2'], [h2, '198.18.77.2', '198.18.77.1']] as const) {
      sh('ip', ['-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', local, 'remote', remote, 'dev', 'u']);
      sh('ip', ['-n', ns, 'link', 'set', 'vx0', 'master', 'br0', 'up']);
    }
    for (const p of [a, b]) await lab.serve(p.ns, 'tcp:80,tcp:85,tcp:86');
    assert.ok(lab.can(a.ns, 'tcp', b.ip4, 86, 2_000), 'no policy: A → B over VXLAN');
    // br_netfilter for weft's bridge only: the namespaces' sysctls stay 0.
    for (const ns of [h1, h2]) sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0']);
    const e1 = new PolicyEdge({ kernel: netlinkKernel({ nsPath: `/run/netns/${h1}` }), log: silentLogger(), bridge: 'br0' });
    const e2 = new PolicyEdge({ kernel: netlinkKernel({ nsPath: `/run/netns/${h2}` }), log: silentLogger(), bridge: 'br0' });
    await e1.start();
    await e2.start();
    assert.match(sh('ip', ['-n', h2, '-d', 'link', 'show', 'br0']), /nf_call_iptables 1 nf_call_ip6tables 1/);
    try {
      await e2.apply(ingressB(a, b));
      assert.ok(lab.can(a.ns, 'tcp', b.ip4, 80), 'allowed port');
      assert.ok(lab.can(a.ns, 'tcp', b.ip6, 80), 'allowed port, IPv6 (ND over VXLAN)');
      assert.equal(lab.can(a.ns, 'tcp', b.ip4, 86), false, 'other port refused at B\'s host');
      assert.ok(await drops(e2, 'ns/b') >= 1);
      // A: egress isolated, allowed to a large ipBlock (an interval set) on TCP 80 only.
      await e1.apply({
        localPods: [a.ip4],
        isolations: [{ policy: 'ns/a', direction: 'egress', audit: false, targets: [a.ip4] }],
        rules: [{ id: 'ns/a/egress/0', policy: 'ns/a', direction: 'egress', audit: false, targets: [a.ip4], peers: ['10.76.0.0/15'], ports: [{ protocol: 'TCP', port: 80 }], destPorts: [] }],
      });
      assert.ok(lab.can(a.ns, 'tcp', b.ip4, 80), 'A\'s egress (ipBlock) and B\'s ingress allow it');
      const before = await drops(e1, 'ns/a');
      assert.equal(lab.can(a.ns, 'tcp', b.ip4, 85), false, 'refused by A\'s egress');
      assert.ok(await drops(e1, 'ns/a') > before, 'counted at A\'s host');
      assert.ok(lab.can(b.ns, 'tcp', a.ip4, 85), 'B → A: A\'s replies pass its egress isolation');
    } finally {
      await e1.stop();
      await e2.stop();
    }
    assert.match(sh('ip', ['-n', h2, '-d', 'link', 'show', 'br0']), /nf_call_iptables 0 nf_call_ip6tables 0/, 'bridge option reset');
    assert.equal(sh('ip', ['netns', 'exec', h2, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']).trim(), '0', 'sysctl untouched');
    assert.ok(lab.can(a.ns, 'tcp', b.ip4, 86, 2_000), 'after stop: unpoliced');
  } finally {
    lab.cleanup();
  }
});

const txPackets = (ns: string, dev: string): number => Number(sh('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/tx_packets`]).trim());
const conntrackTo = (ns: string, ip: string, port: number): string =>
  sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/nf_conntrack'], { allowFail: true }).split('\n').filter((l) => l.includes(`dst=${ip} `) && l.includes(`dport=${port} `)).join('\n');

test('PolicyEdge over host-gw: policed pods are routed through conntrack both ways, unpoliced ones keep the shortcut', { skip, timeout: 60_000 }, async () => {
  const lab = new PolicyLab();
  try {
    const { h1, h2, a, b } = twoHosts(lab);
    const kernels = { [h1]: netlinkKernel({ nsPath: `/run/netns/${h1}` }), [h2]: netlinkKernel({ nsPath: `/run/netns/${h2}` }) };
    const gws = new Map<string, HostGwEdge>();
    for (const [ns, pod, remote, peerUnderlay] of [[h1, a, b, '198.18.77.2'], [h2, b, a, '198.18.77.1']] as const) {
      const gw = new HostGwEdge({ bridge: 'br0', log: silentLogger(), kernel: kernels[ns] });
      gws.set(ns, gw);
      await gw.setup();
      await gw.addPort(pod.hostDev);
      await gw.addUnderlay('u');
      await gw.addLocal(pod.ip4, pod.mac, pod.hostDev);
      await gw.addRemote(remote.ip4, peerUnderlay);
      await gw.addForward(remote.mac, remote.ip4, peerUnderlay, 'u');
      // No L2 path in this test: the pod knows the remote pod's MAC (as ARP over the L2 path would tell it).
      sh('ip', ['-n', pod.ns, 'neigh', 'replace', remote.ip4, 'lladdr', remote.mac, 'dev', 'eth0', 'nud', 'permanent']);
    }
    for (const p of [a, b]) await lab.serve(p.ns, 'tcp:80,tcp:85,tcp:86');
    const e2 = new PolicyEdge({ kernel: kernels[h2]!, log: silentLogger() });
    await e2.start();
    try {
      let tx = txPackets(h2, 'br0');
      assert.ok(lab.can(a.ns, 'tcp', b.ip4, 86, 2_000), 'no policy: A → B by host-gw');
      assert.ok(txPackets(h2, 'br0') - tx < 3, 'unpoliced: the shortcut (nothing routed onto H2\'s bridge)');
      assert.equal(conntrackTo(h2, b.ip4, 86), '', 'unpoliced: H2\'s conntrack never saw it');

      await e2.apply(ingressB(a, b));
      assert.match(sh('ip', ['netns', 'exec', h2, 'nft', 'list', 'set', 'netdev', 'weft_hostgw', 'policed']), /10\.77\.0\.2/);
      tx = txPackets(h2, 'br0');
      assert.ok(lab.can(a.ns, 'tcp', b.ip4, 80), 'allowed port');
      assert.ok(txPackets(h2, 'br0') - tx >= 3, 'policed: routed onto the bridge');
      assert.match(conntrackTo(h2, b.ip4, 80), /ASSURED/, 'conntrack saw both directions (B\'s replies were routed too)');
      assert.equal(lab.can(a.ns, 'tcp', b.ip4, 86), false, 'other port refused');
      assert.ok(await drops(e2, 'ns/b') >= 1, 'drop counted');

      // B egress-isolated too: only to A:85. Its own connections are routed and filtered at H2.
      const both: PolicyRuleset = {
        ...ingressB(a, b),
        isolations: [...ingressB(a, b).isolations, { policy: 'ns/be', direction: 'egress', audit: false, targets: [b.ip4] }],
        rules: [...ingressB(a, b).rules, { id: 'ns/be/egress/0', policy: 'ns/be', direction: 'egress', audit: false, targets: [b.ip4], peers: [`${a.ip4}/32`], ports: [{ protocol: 'TCP', port: 85 }], destPorts: [] }],
      };
      await e2.apply(both);
      assert.ok(lab.can(b.ns, 'tcp', a.ip4, 85), 'B → A:85 allowed');
      assert.equal(lab.can(b.ns, 'tcp', a.ip4, 80), false, 'B → A:80 refused (not shortcut)');
      assert.ok(await drops(e2, 'ns/be') >= 1);
      assert.ok(lab.can(a.ns, 'tcp', b.ip4, 80), 'A → B:80 still allowed: replies pass B\'s egress isolation');

      // A hook an earlier version left (no policed check) is re-created by setup().
      const chain = hookChain('port', b.hostDev);
      const old = `/tmp/${lab.p}-old-hook.nft`;
      writeFileSync(old, [`delete chain netdev weft_hostgw ${chain}`,
        `add chain netdev weft_hostgw ${chain} { type filter hook ingress device "${b.hostDev}" priority 0 ; }`,
        `add rule netdev weft_hostgw ${chain} ${TO_PEER_RULE}`, ''].join('\n'));
      sh('ip', ['netns', 'exec', h2, 'nft', '-f', old]);
      rmSync(old);
      assert.doesNotMatch(sh('ip', ['netns', 'exec', h2, 'nft', 'list', 'chain', 'netdev', 'weft_hostgw', chain]), /policed/);
      await new HostGwEdge({ bridge: 'br0', log: silentLogger(), kernel: kernels[h2] }).setup();
      assert.match(sh('ip', ['netns', 'exec', h2, 'nft', 'list', 'chain', 'netdev', 'weft_hostgw', chain]), /ip saddr @policed/);
      assert.equal(lab.can(b.ns, 'tcp', a.ip4, 80), false, 'B → A:80 refused again after the re-hook');

      // A host-gw reset + setup with the policed pods handed over keeps B off the shortcut.
      const gw2 = gws.get(h2)!;
      await gw2.reset();
      const again = new HostGwEdge({ bridge: 'br0', log: silentLogger(), kernel: kernels[h2], policedPods: () => e2.policedPods() });
      await again.setup();
      assert.match(sh('ip', ['netns', 'exec', h2, 'nft', 'list', 'set', 'netdev', 'weft_hostgw', 'policed']), /10\.77\.0\.2/);

      await e2.apply({ localPods: [b.ip4], isolations: [], rules: [] });
      assert.doesNotMatch(sh('ip', ['netns', 'exec', h2, 'nft', 'list', 'set', 'netdev', 'weft_hostgw', 'policed']), /10\.77\.0\.2/);
    } finally {
      await e2.stop();
    }
    assert.match(sh('ip', ['netns', 'exec', h2, 'nft', 'list', 'tables']), /weft_hostgw/, 'HostGwEdge\'s table stays');
    assert.doesNotMatch(sh('ip', ['netns', 'exec', h2, 'nft', 'list', 'tables']), /weft_policy/);
  } finally {
    lab.cleanup();
  }
});
