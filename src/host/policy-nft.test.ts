import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../common/index.js';
import type { CompiledRule, PolicyRuleset } from '../policy/index.js';
import { nftId, peerIntervals, policyNftScript, policyNftState, portElements } from './policy-nft.js';

const T = 'inet weft_policy';
const EMPTY: PolicyRuleset = { localPods: [], isolations: [], rules: [] };
const rule = (r: Partial<CompiledRule> & { id: string }): CompiledRule => ({
  policy: r.id.split('/').slice(0, 2).join('/'), direction: r.id.split('/')[2] as 'ingress' | 'egress', audit: false,
  targets: [], peers: 'any', ports: 'any', destPorts: [], ...r,
});
const stateOf = (r: PolicyRuleset) => policyNftState(r);
const scriptOf = (prev: PolicyRuleset | null, next: PolicyRuleset): string[] => policyNftScript(prev && stateOf(prev), stateOf(next)).script;

test('empty ruleset: a full build replaces the table in one transaction; base chain, static direction chains, empty policed set', () => {
  const s = scriptOf(null, EMPTY);
  assert.deepEqual(s.slice(0, 4), [`add table ${T}`, `delete table ${T}`, `add table ${T}`, `add limit ${T} nflog { rate 100/second ; }`]);
  assert.ok(s.includes(`add chain ${T} forward { type filter hook forward priority filter ; policy accept ; }`));
  const fwd = s.filter((l) => l.startsWith(`add rule ${T} forward `)).map((l) => l.slice(`add rule ${T} forward `.length));
  assert.equal(fwd[0], 'ct state established,related accept');
  assert.match(fwd[1]!, /^icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert, .*mld2-listener-report \} accept$/);
  assert.deepEqual(fwd.slice(2), ['ip saddr @egr4 jump egress', 'ip6 saddr @egr6 jump egress', 'ip daddr @ing4 jump ingress', 'ip6 daddr @ing6 jump ingress']);
  assert.deepEqual(s.filter((l) => l.startsWith(`add rule ${T} ingress `)), [
    `add rule ${T} ingress ip daddr @ing_enf4 limit name "nflog" log prefix "weft-policy drop ingress: " group 3217 drop`,
    `add rule ${T} ingress ip daddr @ing_enf4 drop`,
    `add rule ${T} ingress ip6 daddr @ing_enf6 limit name "nflog" log prefix "weft-policy drop ingress: " group 3217 drop`,
    `add rule ${T} ingress ip6 daddr @ing_enf6 drop`,
    `add rule ${T} ingress limit name "nflog" log prefix "weft-policy audit ingress: " group 3217`,
  ]);
  assert.deepEqual(s.slice(-3), ['add table netdev weft_hostgw', 'add set netdev weft_hostgw policed { type ipv4_addr ; }', 'flush set netdev weft_hostgw policed']);
  assert.deepEqual(policyNftScript(stateOf(EMPTY), stateOf(EMPTY)).script, [], 'nothing differs: no transaction');
});

const ONE: PolicyRuleset = {
  localPods: ['10.1.0.2', '10.1.0.3'],
  isolations: [{ policy: 'ns/web', direction: 'ingress', audit: false, targets: ['10.1.0.2'] }],
  rules: [rule({ id: 'ns/web/ingress/0', targets: ['10.1.0.2'], peers: ['10.2.0.0/16', '10.1.0.3/32'], ports: [{ protocol: 'TCP', port: 80, endPort: 90 }, { protocol: 'SCTP' }] })],
};

test('one isolation and one rule: exact sets, counter, rules', () => {
  const s = scriptOf(null, ONE);
  const r = nftId('r', 'ns/web/ingress/0');
  const c = nftId('c', 'ns/web|ingress|enforce');
  const i = nftId('i', 'ns/web|ingress|enforce');
  const pt = nftId('pt', 'sctp . 0-65535,tcp . 80-90');
  const n = `${r}_n4`;
  assert.ok(s.includes(`add counter ${T} ${c} { comment "ns/web ingress" ; }`));
  for (const line of [
    `add set ${T} ${i}_4 { type ipv4_addr ; }`, `add element ${T} ${i}_4 { 10.1.0.2 }`,
    `add element ${T} ing4 { 10.1.0.2 }`, `add element ${T} ing_enf4 { 10.1.0.2 }`,
    `add set ${T} ${pt} { type inet_proto . inet_service ; flags interval ; }`, `add element ${T} ${pt} { sctp . 0-65535, tcp . 80-90 }`,
    `add set ${T} ${r}_p4 { type ipv4_addr ; }`, `add element ${T} ${r}_p4 { 10.1.0.3 }`,
    `add set ${T} ${n} { type ipv4_addr ; flags interval ; }`, `add element ${T} ${n} { 10.2.0.0/16 }`,
    `add element netdev weft_hostgw policed { 10.1.0.2 }`,
  ]) assert.ok(s.includes(line), line);
  // Targets are the isolation's set (shared); pods in a hash set, ipBlocks in a content-named
  // interval set; no IPv6 variant (no IPv6 pod on this host).
  assert.deepEqual(s.filter((l) => l.startsWith(`add rule ${T} ingress `)).slice(0, 4), [
    `add rule ${T} ingress ip daddr @${i}_4 ip saddr @${r}_p4 meta l4proto . th dport @${pt} return`,
    `add rule ${T} ingress ip daddr @${i}_4 ip saddr @${n} meta l4proto . th dport @${pt} return`,
    `add rule ${T} ingress ip daddr @${i}_4 counter name "${c}"`,
    `add rule ${T} ingress ip6 daddr @${i}_6 counter name "${c}"`,
  ]);
  assert.equal(s.filter((l) => l.includes(`@${r}_d`) || l.includes(`${r}_t`) || l.includes(`${r}_p6`)).length, 0, 'no named ports, no own targets set, no IPv6');
});

test('any peers, any ports, named destPorts, IPv6 and audit', () => {
  const rs: PolicyRuleset = {
    localPods: ['10.1.0.2', 'fd00::2'],
    isolations: [{ policy: 'ns/a', direction: 'egress', audit: true, targets: ['10.1.0.2', 'fd00::2'] }],
    rules: [
      rule({ id: 'ns/a/egress/0', audit: true, targets: ['10.1.0.2', 'fd00::2'], peers: 'any', ports: 'any' }),
      rule({ id: 'ns/a/egress/1', audit: true, targets: ['fd00::2'], peers: ['fd00::/64'], ports: [], destPorts: [{ ip: 'fd00::9', protocol: 'UDP', port: 53 }, { ip: '10.1.0.9', protocol: 'TCP', port: 8080 }] }),
    ],
  };
  const s = scriptOf(null, rs);
  const r1 = nftId('r', 'ns/a/egress/1');
  const c = nftId('c', 'ns/a|egress|audit');
  const i = nftId('i', 'ns/a|egress|audit');
  const n = `${r1}_n6`;
  const egress = s.filter((l) => l.startsWith(`add rule ${T} egress `)).map((l) => l.slice(`add rule ${T} egress `.length));
  // Enforcing part first (empty here: only the static drop lines), then the audit rules, the would-drop counters and the audit log.
  assert.deepEqual(egress.slice(4), [
    `ip saddr @${i}_4 return`,
    `ip6 saddr @${i}_6 return`,
    `ip saddr @${r1}_t4 ip daddr @${r1}_p4 ip daddr . meta l4proto . th dport @${r1}_d4 return`,
    `ip6 saddr @${r1}_t6 ip6 daddr @${r1}_p6 ip6 daddr . meta l4proto . th dport @${r1}_d6 return`,
    `ip6 saddr @${r1}_t6 ip6 daddr @${n} ip6 daddr . meta l4proto . th dport @${r1}_d6 return`,
    `ip saddr @${i}_4 counter name "${c}"`,
    `ip6 saddr @${i}_6 counter name "${c}"`,
    'limit name "nflog" log prefix "weft-policy audit egress: " group 3217',
  ]);
  assert.ok(s.includes(`add element ${T} ${r1}_d6 { fd00::9 . udp . 53 }`));
  assert.ok(s.includes(`add element ${T} ${r1}_d4 { 10.1.0.9 . tcp . 8080 }`));
  assert.ok(s.includes(`add element ${T} ${n} { fd00::/64 }`));
  assert.ok(s.includes(`add element ${T} ${r1}_t6 { fd00::2 }`), 'targets differ from the isolation: own set');
  assert.ok(s.includes(`add element ${T} egr6 { fd00::2 }`));
  assert.equal(s.filter((l) => l.startsWith(`add element ${T} egr_enf`)).length, 0, 'audit isolation is not enforcing');
  assert.ok(s.includes(`add counter ${T} ${c} { comment "ns/a egress audit" ; }`));
  // Small CIDRs (the compiler merges contiguous pods) are expanded into the hash set; larger ones stay intervals.
  const small = scriptOf(null, { ...rs, rules: [{ ...rs.rules[1]!, peers: ['fd00::100/126', 'fd00::/64'] }] });
  assert.ok(small.includes(`add element ${T} ${r1}_p6 { fd00::100, fd00::101, fd00::102, fd00::103 }`), small.join('\n'));
});

test('peer intervals: except holes, merging, IPv6; port ranges merged per protocol', () => {
  // 10.0.0.0/24 except 10.0.0.128/25, except 10.0.0.3/32, as the compiler gives it (disjoint CIDRs).
  assert.deepEqual(peerIntervals(['10.0.0.0/31', '10.0.0.2/32', '10.0.0.4/30', '10.0.0.8/29', '10.0.0.16/28', '10.0.0.32/27', '10.0.0.64/26'], 4, 'x'),
    ['10.0.0.0-10.0.0.2', '10.0.0.4-10.0.0.127']);
  assert.deepEqual(peerIntervals(['10.0.0.0/25', '10.0.0.128/25'], 4, 'x'), ['10.0.0.0/24'], 'adjacent halves merge to the prefix');
  assert.deepEqual(peerIntervals(['10.0.0.0/8', '10.1.0.0/16', 'fd00::/64'], 4, 'x'), ['10.0.0.0/8'], 'overlap merged; other family ignored');
  assert.deepEqual(peerIntervals(['fd00::1/128', 'fd00::2/127', '0.0.0.0/0'], 6, 'x'), ['fd00::1-fd00::3']);
  assert.deepEqual(peerIntervals(['::/0'], 6, 'x'), ['::/0']);
  assert.deepEqual(portElements([{ protocol: 'TCP', port: 80, endPort: 90 }, { protocol: 'TCP', port: 85 }, { protocol: 'TCP', port: 91 }, { protocol: 'UDP', port: 53 }], 'x'),
    ['tcp . 80-91', 'udp . 53']);
  assert.deepEqual(portElements([{ protocol: 'SCTP', port: 9 }], 'x'), ['sctp . 9']);
});

test('a label change only changes set elements; a rule change rewrites only its chain; removed sets and counters go after the flush', () => {
  const moved: PolicyRuleset = {
    ...ONE,
    isolations: [{ ...ONE.isolations[0]!, targets: ['10.1.0.2', '10.1.0.4'] }],
    rules: [{ ...ONE.rules[0]!, targets: ['10.1.0.2', '10.1.0.4'], peers: ['10.2.0.0/16'] }],
  };
  const d = policyNftScript(stateOf(ONE), stateOf(moved));
  const r = nftId('r', 'ns/web/ingress/0');
  const i = nftId('i', 'ns/web|ingress|enforce');
  assert.deepEqual(d.script, [
    `add element ${T} ${i}_4 { 10.1.0.4 }`,
    `add element ${T} ing4 { 10.1.0.4 }`,
    `add element ${T} ing_enf4 { 10.1.0.4 }`,
    `delete element ${T} ${r}_p4 { 10.1.0.3 }`,
    'add table netdev weft_hostgw',
    'add set netdev weft_hostgw policed { type ipv4_addr ; }',
    'flush set netdev weft_hostgw policed',
    'add element netdev weft_hostgw policed { 10.1.0.2, 10.1.0.4 }',
  ]);
  assert.deepEqual([d.elementsAdded, d.elementsRemoved, d.rulesChanged], [4, 1, 0]);

  const dropped = policyNftScript(stateOf(ONE), stateOf({ ...ONE, rules: [] })).script;
  const flush = dropped.indexOf(`flush chain ${T} ingress`);
  assert.ok(flush >= 0, dropped.join('\n'));
  assert.ok(dropped.indexOf(`delete set ${T} ${r}_p4`) > flush, 'sets deleted after the rules using them');
  assert.ok(dropped.indexOf(`delete set ${T} ${nftId('pt', 'sctp . 0-65535,tcp . 80-90')}`) > flush);
  assert.equal(dropped.filter((l) => l.includes(' egress')).length, 0, 'egress chain untouched');
  const gone = policyNftScript(stateOf(ONE), stateOf(EMPTY)).script;
  assert.ok(gone.indexOf(`delete counter ${T} ${nftId('c', 'ns/web|ingress|enforce')}`) > gone.indexOf(`flush chain ${T} ingress`));
});

test('counter seeds carry counts into a rebuild; bad rulesets are refused with WEFT_ERR_POLICY_INVALID', () => {
  const c = nftId('c', 'ns/web|ingress|enforce');
  const s = policyNftScript(null, stateOf(ONE), new Map([[c, { packets: 7, bytes: 420 }]])).script;
  assert.ok(s.includes(`add counter ${T} ${c} { comment "ns/web ingress" ; packets 7 bytes 420 ; }`));
  const bad = (r: Partial<CompiledRule>): PolicyRuleset => ({ ...ONE, rules: [{ ...ONE.rules[0]!, ...r }] });
  for (const rs of [
    bad({ targets: ['10.1.0.300'] }), bad({ peers: ['10.0.0.0/33'] }), bad({ ports: [{ protocol: 'TCP', port: 90, endPort: 80 }] }),
    bad({ ports: [{ protocol: 'ICMP' as 'TCP', port: 1 }] }), bad({ destPorts: [{ ip: '10.1.0.2', protocol: 'TCP', port: 0 }] }),
    { ...ONE, rules: [ONE.rules[0]!, ONE.rules[0]!] },
  ]) {
    assert.throws(() => policyNftState(rs), (e) => isWeftError(e, 'WEFT_ERR_POLICY_INVALID') && /ns\/web\/ingress\/0/.test(e.message));
  }
});
