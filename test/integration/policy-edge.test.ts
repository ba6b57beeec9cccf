/**
 * PolicyEdge against the real kernel, one host namespace with a bridge and four pods: ingress
 * and egress isolation, ports and ranges, CIDR peers with holes (except), IPv6 and ND, ARP,
 * conntrack (replies; an established connection outlives rule changes; a newly forbidden new
 * connection is refused right after apply), host ↔ own pod, drop and audit counters, restart
 * adoption without duplicates, and stop() leaving nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyEdge, netlinkKernel } from '../../src/host/index.js';
import { silentLogger } from '../../src/common/index.js';
import type { CompiledIsolation, CompiledRule, PolicyRuleset } from '../../src/policy/index.js';
import { isRoot, sh } from '../support/lab.js';
import { PolicyLab } from '../support/policy-lab.js';
import { NflogListener } from '../support/nflog.js';
import { waitFor } from '../support/wait.js';
import { POLICY_NFLOG_GROUP } from '../../src/common/index.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v nft'], { allowFail: true }).trim() === '' ? 'nft needed (scripts/setup-system.sh)' : false;

const iso = (policy: string, direction: 'ingress' | 'egress', targets: string[], audit = false): CompiledIsolation => ({ policy, direction, audit, targets });
const rule = (policy: string, direction: 'ingress' | 'egress', i: number, r: Partial<CompiledRule>): CompiledRule => ({
  id: `${policy}/${direction}/${i}`, policy, direction, audit: false, targets: [], peers: 'any', ports: 'any', destPorts: [], ...r,
});

test('PolicyEdge on one bridge: isolation, ports, CIDR peers, v6, conntrack, counters, audit, restart, stop', { skip, timeout: 120_000 }, async () => {
  const lab = new PolicyLab();
  let nflog: NflogListener | null = null;
  try {
    const h = lab.host('h', '10.77.0.254', 'fd77::fe');
    const [p1, p2, p3, p4] = [1, 2, 3, 4].map((i) => lab.pod(h, `p${i}`, `10.77.0.${i}`, `fd77::${i}`));
    const pods = [p1!, p2!, p3!, p4!];
    for (const p of pods) await lab.serve(p.ns, 'tcp:80,tcp:85,tcp:86,tcp:8080,udp:53,udp:54');
    await lab.serve(h, 'tcp:9000');
    const kernel = netlinkKernel({ nsPath: `/run/netns/${h}` });
    // The edge restores what it changed: start from 0 in this host namespace.
    sh('ip', ['netns', 'exec', h, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0']);
    const edge = new PolicyEdge({ kernel, log: silentLogger() });
    await edge.start();
    nflog = new NflogListener(`/run/netns/${h}`, POLICY_NFLOG_GROUP);
    assert.equal(sh('ip', ['netns', 'exec', h, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']).trim(), '1');
    assert.ok(lab.can(p1!.ns, 'tcp', p2!.ip4, 86), 'no policy: everything passes');

    // p2: ingress isolated; from p1 (v4 and v6) and the CIDR 10.77.0.0/24 except .3 (as the compiler
    // gives it: disjoint CIDRs) on TCP 80-85 and UDP 53; named port "http-alt" → p2:8080 from anyone.
    const p2Ingress: PolicyRuleset = {
      localPods: pods.flatMap((p) => [p.ip4, p.ip6]),
      isolations: [iso('ns/p2', 'ingress', [p2!.ip4, p2!.ip6])],
      rules: [
        rule('ns/p2', 'ingress', 0, {
          targets: [p2!.ip4, p2!.ip6], peers: ['10.77.0.0/31', '10.77.0.2/32', '10.77.0.4/30', '10.77.0.8/29', 'fd77::1/128'],
          ports: [{ protocol: 'TCP', port: 80, endPort: 85 }, { protocol: 'UDP', port: 53 }],
        }),
        rule('ns/p2', 'ingress', 1, { targets: [p2!.ip4], ports: [], destPorts: [{ ip: p2!.ip4, protocol: 'TCP', port: 8080 }] }),
      ],
    };
    const r1 = await edge.apply(p2Ingress);
    assert.equal(r1.changed, true);
    assert.deepEqual(await edge.apply(p2Ingress), { changed: false, elementsAdded: 0, elementsRemoved: 0, rulesChanged: 0 }, 'idempotent');
    for (const p of pods) sh('ip', ['-n', p.ns, 'neigh', 'flush', 'all']);
    assert.ok(lab.can(p1!.ns, 'tcp', p2!.ip4, 80), 'allowed port');
    assert.ok(lab.can(p1!.ns, 'tcp', p2!.ip4, 85), 'end of the port range');
    assert.equal(lab.can(p1!.ns, 'tcp', p2!.ip4, 86), false, 'past the range');
    assert.ok(lab.can(p1!.ns, 'udp', p2!.ip4, 53), 'UDP port');
    assert.equal(lab.can(p1!.ns, 'udp', p2!.ip4, 54), false, 'other UDP port');
    assert.equal(lab.can(p3!.ns, 'tcp', p2!.ip4, 80), false, 'the except hole (.3)');
    assert.ok(lab.can(p4!.ns, 'tcp', p2!.ip4, 80), 'inside the CIDR');
    assert.ok(lab.can(p3!.ns, 'tcp', p2!.ip4, 8080), 'named port from any peer');
    assert.ok(lab.can(p1!.ns, 'tcp', p2!.ip6, 80), 'IPv6 peer (after ND)');
    assert.equal(lab.can(p3!.ns, 'tcp', p2!.ip6, 80), false, 'IPv6 peer not allowed');
    assert.match(sh('ip', ['-n', p3!.ns, 'neigh', 'show', p2!.ip4]), /lladdr/, 'ARP passed although p3 is refused');
    assert.match(sh('ip', ['-n', p3!.ns, 'neigh', 'show', p2!.ip6]), /lladdr/, 'ND passed although p3 is refused');
    assert.ok(lab.can(h, 'tcp', p2!.ip4, 86), 'host → own pod');
    assert.ok(lab.can(p2!.ns, 'tcp', p3!.ip4, 86), 'p2 (egress not isolated) → p3: the replies pass p2\'s ingress isolation');
    const drops = (await edge.counters()).find((c) => c.policy === 'ns/p2' && c.direction === 'ingress');
    assert.ok(drops && !drops.audit && drops.packets >= 4, `drops counted: ${JSON.stringify(drops)}`);
    await waitFor(() => nflog!.prefixes().includes('weft-policy drop ingress: '), { timeoutMs: 2_000, what: 'an NFLOG drop record' });

    // An established connection survives an unrelated change and a change that forbids it;
    // a new one is refused right after the apply.
    const held = await lab.hold(p1!.ns, p2!.ip4, 80);
    const withP1Egress: PolicyRuleset = {
      ...p2Ingress,
      isolations: [...p2Ingress.isolations, iso('ns/p1', 'egress', [p1!.ip4, p1!.ip6]), iso('ns/p4', 'ingress', [p4!.ip4, p4!.ip6], true)],
      rules: [...p2Ingress.rules, rule('ns/p1', 'egress', 0, { targets: [p1!.ip4, p1!.ip6], peers: [`${p2!.ip4}/32`], ports: [{ protocol: 'TCP' }] })],
    };
    await edge.apply(withP1Egress);
    assert.ok(await held.echo('after-unrelated'), 'established connection after an unrelated change');
    assert.equal(lab.can(p1!.ns, 'tcp', p3!.ip4, 80), false, 'p1 egress isolated: only to p2');
    assert.ok(lab.can(p1!.ns, 'tcp', p2!.ip4, 85), 'p1 egress rule (any TCP port) and p2 ingress rule');
    assert.ok(lab.can(p3!.ns, 'tcp', p1!.ip4, 80), 'p3 → p1: p1\'s replies pass its egress isolation');
    assert.ok(lab.can(p1!.ns, 'tcp', '10.77.0.254', 9000), 'egress-isolated pod → its own host');
    // Audit: p4 ingress isolated in audit mode with no rules: everything passes, counted as would-drop.
    assert.ok(lab.can(p3!.ns, 'tcp', p4!.ip4, 80), 'audit passes');
    const audit = (await edge.counters()).find((c) => c.policy === 'ns/p4');
    assert.ok(audit && audit.audit && audit.direction === 'ingress' && audit.packets >= 1, `would-drop counted: ${JSON.stringify(audit)}`);
    await waitFor(() => nflog!.prefixes().includes('weft-policy audit ingress: '), { timeoutMs: 2_000, what: 'an NFLOG audit record' });
    assert.ok(nflog!.prefixes().includes('weft-policy drop egress: '), 'the egress drop was logged');

    const forbid: PolicyRuleset = { ...withP1Egress, rules: withP1Egress.rules.filter((r) => r.id !== 'ns/p2/ingress/0') };
    const r2 = await edge.apply(forbid);
    assert.ok(r2.changed && r2.rulesChanged > 0, JSON.stringify(r2));
    assert.equal(lab.can(p1!.ns, 'tcp', p2!.ip4, 80), false, 'newly forbidden: refused right after apply');
    assert.ok(await held.echo('after-forbid'), 'established connection still passes (conntrack)');
    held.close();

    // A label change: p3 joins p2's peers (elements only, no rule rewritten).
    const r3 = await edge.apply(p2Ingress);
    const p3Joins: PolicyRuleset = { ...p2Ingress, rules: p2Ingress.rules.map((r) => (r.id === 'ns/p2/ingress/0' ? { ...r, peers: [...(r.peers as string[]), `${p3!.ip4}/32`] } : r)) };
    const r4 = await edge.apply(p3Joins);
    assert.ok(r3.changed && r4.changed && r4.rulesChanged === 0 && r4.elementsAdded > 0, JSON.stringify(r4));
    assert.ok(lab.can(p3!.ns, 'tcp', p2!.ip4, 80), 'p3 allowed after the label change');

    // Restart: a new edge adopts the table (policy stays in force), the first apply rebuilds it
    // in one transaction with the counts carried over and no duplicate rules.
    const before = (await edge.counters()).find((c) => c.policy === 'ns/p2')!.packets;
    const edge2 = new PolicyEdge({ kernel, log: silentLogger() });
    await edge2.start();
    assert.equal(lab.can(p1!.ns, 'tcp', p2!.ip4, 86), false, 'policy in force across the restart');
    await edge2.apply(p3Joins);
    const listing = sh('ip', ['netns', 'exec', h, 'nft', 'list', 'chain', 'inet', 'weft_policy', 'ingress']);
    // rule 0: peers (v4, v6; its small CIDRs are expanded into the hash sets); rule 1: named port (v4, v6).
    assert.equal(listing.split('\n').filter((l) => l.includes('return')).length, 4, listing);
    assert.ok((await edge2.counters()).find((c) => c.policy === 'ns/p2')!.packets > before, 'counts carried over and counting');

    await edge2.stop();
    await edge.stop();
    assert.doesNotMatch(sh('ip', ['netns', 'exec', h, 'nft', 'list', 'tables']), /weft_policy|weft_hostgw/);
    assert.equal(sh('ip', ['netns', 'exec', h, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']).trim(), '0', 'sysctl restored');
    assert.ok(lab.can(p1!.ns, 'tcp', p2!.ip4, 86), 'after stop: unpoliced');
  } finally {
    nflog?.close();
    lab.cleanup();
  }
});
