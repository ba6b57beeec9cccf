/**
 * The nftables form of a {@link PolicyRuleset} (pure: no I/O). {@link policyNftState} turns a
 * ruleset into the named sets, counters and chain rules of table `inet weft_policy` (plus the
 * `policed` set of the host-gw table); {@link policyNftScript} turns two states into ONE
 * transaction: a full build (the table replaced atomically) or a diff that only touches what
 * differs (set elements; a chain's rules are rewritten only when its rule list changed).
 *
 * Layout (docs/policy.md, "Enforcement in the kernel"):
 *   chain forward   hook forward: established/related accept; ND accept; sources in `egr4/6`
 *                   jump egress; destinations in `ing4/6` jump ingress
 *   chain egress / ingress   enforcing rules (match → return); per enforcing isolation a
 *                   named drop counter; log (rate-limited) + drop; audit rules (match → return);
 *   per audit isolation a would-drop counter; log; return (the packet passes)
 *   sets per rule   r_H_t4/6 targets, r_H_p4/6 peers (intervals), r_H_pt (l4proto . port
 *                   intervals), r_H_d4/6 named destination ports (addr . l4proto . port)
 *   sets per isolation  i_H_4/6 (its targets, for the counters)
 * Names derive from a hash of the rule id / policy+direction, so they are stable across
 * rulesets: a pod label change changes set elements only.
 */
import { createHash } from 'node:crypto';
import {
  FASTPATH_NFT_TABLE, POLICY_NFLOG_GROUP, POLICY_NFLOG_RATE_PER_S, POLICY_NFT_TABLE, WeftError,
} from '../common/index.js';
import { parseCidr, parseIp, formatIp, type IpAddress } from '../net/index.js';
import type { CompiledPort, CompiledRule, PolicyDirection, PolicyProtocol, PolicyRuleset } from '../policy/index.js';

export const POLICY_TABLE = `inet ${POLICY_NFT_TABLE}`;
/** The host-gw table and the set of local pods (IPv4) whose packets must not take the netdev shortcut. */
export const HOSTGW_TABLE = `netdev ${FASTPATH_NFT_TABLE}`;
export const POLICED_SET = 'policed';
/** Named limit shared by every NFLOG statement: at most POLICY_NFLOG_RATE_PER_S records per second per host. */
export const NFLOG_LIMIT = 'nflog';

/** One named set: its declaration body and its elements (canonical text, sorted). */
export interface NftSet { readonly spec: string; readonly elements: readonly string[] }

/** A named counter: which policy, direction and mode it counts for. */
export interface NftCounter { readonly policy: string; readonly direction: PolicyDirection; readonly audit: boolean }

/** Everything the kernel holds for one ruleset. */
export interface PolicyNftState {
  readonly sets: ReadonlyMap<string, NftSet>;
  readonly counters: ReadonlyMap<string, NftCounter>;
  readonly chains: { readonly egress: readonly string[]; readonly ingress: readonly string[] };
  /** Local pods' IPv4 addresses isolated in some direction (host-gw must route them). */
  readonly policed: readonly string[];
}

const PROTO: Record<PolicyProtocol, string> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
/** Link-local ICMPv6 control (neighbour discovery, MLD): always passes, like ARP. */
const ND_TYPES = 'nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, nd-redirect, mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report';
const ADDR_TYPE = { 4: 'ipv4_addr', 6: 'ipv6_addr' } as const;
const FAM = { 4: 'ip', 6: 'ip6' } as const;
type Fam = 4 | 6;

const bad = (what: string): never => {
  throw new WeftError('WEFT_ERR_POLICY_INVALID', `policy ruleset: ${what}`);
};

/** Short stable identifier for a name (nft identifiers are limited; policy names are not). */
export function nftId(kind: string, key: string): string {
  return `${kind}_${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** Parsed addresses (rulesets repeat the same few thousand pod addresses; bounded). */
const parsed = new Map<string, IpAddress>();
function addr(s: string, where: string): IpAddress {
  let a = parsed.get(s);
  if (a === undefined) {
    a = parseIp(s) ?? bad(`${where}: "${s}" is not an IP address`);
    if (parsed.size >= 200_000) parsed.clear();
    parsed.set(s, a);
  }
  return a;
}

/** Per-family results computed from one shared array (the compiler shares peer and destination lists between equal rules). */
const perArray = new WeakMap<object, Map<string, string[]>>();
function byArray(arr: object, key: string, make: () => string[]): string[] {
  let m = perArray.get(arr);
  if (m === undefined) perArray.set(arr, (m = new Map()));
  let v = m.get(key);
  if (v === undefined) m.set(key, (v = make()));
  return v;
}

/** Sorted unique addresses of one family. */
function addrsOf(list: readonly string[], fam: Fam, where: string): string[] {
  const out = new Set<string>();
  for (const s of list) {
    const a = addr(s, where);
    if (a.family === fam) out.add(formatIp(a));
  }
  return [...out].sort();
}

const BITS = { 4: 32, 6: 128 } as const;
const toBig = (a: IpAddress): bigint => (a.family === 4 ? BigInt(a.value) : a.value);
const fromBig = (fam: Fam, v: bigint): string => formatIp(fam === 4 ? { family: 4, value: Number(v) } : { family: 6, value: v });

/**
 * CIDRs of one family as disjoint intervals (overlapping or adjacent ones merged: an nft
 * interval set refuses overlaps), each printed as a prefix when it is one, else `lo-hi`.
 */
export function peerIntervals(cidrs: readonly string[], fam: Fam, where: string): string[] {
  const ranges: [bigint, bigint][] = [];
  for (const s of cidrs) {
    const c = s.includes('/') ? parseCidr(s) : (() => { const a = parseIp(s); return a ? { address: a, prefixLength: BITS[a.family] } : null; })();
    if (!c) bad(`${where}: "${s}" is not a CIDR`);
    if (c!.address.family !== fam) continue;
    const host = BigInt(BITS[fam] - c!.prefixLength);
    const lo = (toBig(c!.address) >> host) << host;
    ranges.push([lo, lo + (1n << host) - 1n]);
  }
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1n) last[1] = r[1] > last[1] ? r[1] : last[1];
    else merged.push([r[0], r[1]]);
  }
  return merged.map(([lo, hi]) => {
    const size = hi - lo + 1n;
    const len = size.toString(2).length - 1;
    const isPrefix = (size & (size - 1n)) === 0n && lo % size === 0n;
    if (isPrefix) return len === 0 ? fromBig(fam, lo) : `${fromBig(fam, lo)}/${BITS[fam] - len}`;
    return `${fromBig(fam, lo)}-${fromBig(fam, hi)}`;
  });
}

/** `proto . port` interval elements (overlaps merged per protocol). */
export function portElements(ports: readonly CompiledPort[], where: string): string[] {
  const by = new Map<string, [number, number][]>();
  for (const p of ports) {
    const proto = PROTO[p.protocol] ?? bad(`${where}: unknown protocol "${String(p.protocol)}"`);
    const lo = p.port ?? 0;
    const hi = p.port === undefined ? 65535 : p.endPort ?? p.port;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 65535 || hi < lo) bad(`${where}: bad port range ${lo}..${hi}`);
    const list = by.get(proto) ?? [];
    list.push([lo, hi]);
    by.set(proto, list);
  }
  const out: string[] = [];
  for (const proto of [...by.keys()].sort()) {
    const list = by.get(proto)!.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const r of list) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    for (const [lo, hi] of merged) out.push(`${proto} . ${lo === hi ? lo : `${lo}-${hi}`}`);
  }
  return out;
}

const setSpec = (type: string, interval: boolean): string => `type ${type} ;${interval ? ' flags interval ;' : ''}`;
const prefixOf = (decision: 'drop' | 'audit', d: PolicyDirection): string => `weft-policy ${decision} ${d}: `;

/** The state for `ruleset`. Throws WEFT_ERR_POLICY_INVALID (naming the rule) on a bad address or port. */
export function policyNftState(ruleset: PolicyRuleset): PolicyNftState {
  const sets = new Map<string, NftSet>();
  const counters = new Map<string, NftCounter>();
  const fams: Fam[] = [4, 6];
  const dirSets: Record<PolicyDirection, { all: Record<Fam, Set<string>>; enf: Record<Fam, Set<string>> }> = {
    egress: { all: { 4: new Set(), 6: new Set() }, enf: { 4: new Set(), 6: new Set() } },
    ingress: { all: { 4: new Set(), 6: new Set() }, enf: { 4: new Set(), 6: new Set() } },
  };
  const policed = new Set<string>();
  const isoRules: Record<PolicyDirection, { enf: string[]; audit: string[] }> = { egress: { enf: [], audit: [] }, ingress: { enf: [], audit: [] } };
  const isoTargets = new Map<string, { policy: string; direction: PolicyDirection; audit: boolean; t: Record<Fam, Set<string>> }>();
  for (const iso of ruleset.isolations) {
    if (iso.direction !== 'egress' && iso.direction !== 'ingress') bad(`isolation of ${iso.policy}: bad direction "${String(iso.direction)}"`);
    const key = `${iso.policy}|${iso.direction}|${iso.audit ? 'audit' : 'enforce'}`;
    const entry = isoTargets.get(key) ?? { policy: iso.policy, direction: iso.direction, audit: iso.audit, t: { 4: new Set(), 6: new Set() } };
    isoTargets.set(key, entry);
    for (const f of fams) {
      for (const a of addrsOf(iso.targets, f, `isolation of ${iso.policy}`)) {
        entry.t[f].add(a);
        dirSets[iso.direction].all[f].add(a);
        if (!iso.audit) dirSets[iso.direction].enf[f].add(a);
        if (f === 4) policed.add(a);
      }
    }
  }
  for (const key of [...isoTargets.keys()].sort()) {
    const e = isoTargets.get(key)!;
    const counter = nftId('c', key);
    counters.set(counter, { policy: e.policy, direction: e.direction, audit: e.audit });
    const base = nftId('i', key);
    for (const f of fams) {
      sets.set(`${base}_${f}`, { spec: setSpec(ADDR_TYPE[f], false), elements: [...e.t[f]].sort() });
      const local = e.direction === 'egress' ? 'saddr' : 'daddr';
      (e.audit ? isoRules[e.direction].audit : isoRules[e.direction].enf).push(`${FAM[f]} ${local} @${base}_${f} counter name "${counter}"`);
    }
  }
  for (const d of ['egress', 'ingress'] as const) {
    for (const f of fams) {
      sets.set(`${d.slice(0, 3)}${f}`, { spec: setSpec(ADDR_TYPE[f], false), elements: [...dirSets[d].all[f]].sort() });
      sets.set(`${d.slice(0, 3)}_enf${f}`, { spec: setSpec(ADDR_TYPE[f], false), elements: [...dirSets[d].enf[f]].sort() });
    }
  }

  // Rule variants per family only for the families the host's pods have (stable across label changes).
  const famsPresent = new Set<Fam>();
  for (const a of [...ruleset.localPods, ...ruleset.isolations.flatMap((i) => i.targets)]) famsPresent.add(addr(a, 'local pods').family);
  const ruleFams = fams.filter((f) => famsPresent.has(f));
  const ruleText: Record<PolicyDirection, { enf: string[]; audit: string[] }> = { egress: { enf: [], audit: [] }, ingress: { enf: [], audit: [] } };
  const seen = new Set<string>();
  for (const r of [...ruleset.rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (seen.has(r.id)) bad(`rule ${r.id} appears twice`);
    seen.add(r.id);
    if (r.direction !== 'egress' && r.direction !== 'ingress') bad(`rule ${r.id}: bad direction "${String(r.direction)}"`);
    const isoKey = `${r.policy}|${r.direction}|${r.audit ? 'audit' : 'enforce'}`;
    const iso = isoTargets.get(isoKey);
    // The rule's targets are its policy's selected pods, i.e. the isolation's set: shared when equal.
    const shared = iso && ruleFams.every((f) => sameList([...iso.t[f]].sort(), addrsOf(r.targets, f, `rule ${r.id}`))) ? nftId('i', isoKey) : null;
    const out = memoRuleLines(r, ruleFams, shared);
    for (const [name, set] of out.sets) sets.set(name, set);
    (r.audit ? ruleText[r.direction].audit : ruleText[r.direction].enf).push(...out.lines);
  }

  const chain = (d: PolicyDirection): string[] => {
    const local = d === 'egress' ? 'saddr' : 'daddr';
    const lines = [...ruleText[d].enf, ...isoRules[d].enf];
    for (const f of fams) {
      lines.push(`${FAM[f]} ${local} @${d.slice(0, 3)}_enf${f} limit name "${NFLOG_LIMIT}" log prefix "${prefixOf('drop', d)}" group ${POLICY_NFLOG_GROUP} drop`);
      lines.push(`${FAM[f]} ${local} @${d.slice(0, 3)}_enf${f} drop`);
    }
    lines.push(...ruleText[d].audit, ...isoRules[d].audit);
    lines.push(`limit name "${NFLOG_LIMIT}" log prefix "${prefixOf('audit', d)}" group ${POLICY_NFLOG_GROUP}`);
    return lines;
  };
  return { sets, counters, chains: { egress: chain('egress'), ingress: chain('ingress') }, policed: [...policed].sort() };
}

/**
 * The nft rules of one compiled rule (each: match → return), per family in `fams`. Sets: the
 * targets (the isolation's set `shared` when equal, else `r_H_t4/6`); pods and small CIDRs
 * (≤ 256 addresses, expanded) in the hash sets `r_H_p4/6`, whose elements follow labels; larger
 * CIDRs (ipBlocks) in the interval sets `r_H_n4/6`, only for rules that have them; ports in
 * interval sets named by their content (`pt_…`), shared between rules and never changed. nft
 * 1.0.6 reads every interval set's elements before each transaction, so there are few.
 */
/** ruleLines per rule object (the incremental compiler hands back the same objects for untouched policies). */
const ruleMemo = new WeakMap<CompiledRule, Map<string, { lines: string[]; sets: [string, NftSet][] }>>();
function memoRuleLines(r: CompiledRule, fams: readonly Fam[], shared: string | null): { lines: string[]; sets: [string, NftSet][] } {
  const key = `${shared ?? ''}|${fams.join(',')}`;
  let byKey = ruleMemo.get(r);
  if (byKey === undefined) ruleMemo.set(r, (byKey = new Map()));
  let hit = byKey.get(key);
  if (hit === undefined) {
    const sets = new Map<string, NftSet>();
    const lines = ruleLines(r, sets, fams, shared);
    byKey.set(key, (hit = { lines, sets: [...sets] }));
  }
  return hit;
}

function ruleLines(r: CompiledRule, sets: Map<string, NftSet>, fams: readonly Fam[], shared: string | null): string[] {
  const h = nftId('r', r.id);
  // Peer and named-destination sets are shared by every rule with the same key (one set per key).
  const ph = r.peerKey !== undefined ? nftId('q', r.peerKey) : h;
  const dh = r.destKey !== undefined ? nftId('q', `d\u0000${r.destKey}`) : h;
  const where = `rule ${r.id}`;
  const [local, remote] = r.direction === 'egress' ? ['saddr', 'daddr'] : ['daddr', 'saddr'];
  const lines: string[] = [];
  let ports = '';
  if (r.ports !== 'any' && r.ports.length > 0) {
    const elements = portElements(r.ports, where);
    const name = nftId('pt', elements.join(','));
    sets.set(name, { spec: setSpec('inet_proto . inet_service', true), elements });
    ports = ` meta l4proto . th dport @${name}`;
  }
  for (const f of fams) {
    const fam = FAM[f];
    let targets = `${shared}_${f}`;
    if (shared === null) {
      targets = `${h}_t${f}`;
      sets.set(targets, { spec: setSpec(ADDR_TYPE[f], false), elements: addrsOf(r.targets, f, where) });
    }
    const head = `${fam} ${local} @${targets}`;
    const heads: string[] = [];
    if (r.peers === 'any') heads.push(head);
    else {
      const peers = r.peers;
      const nets = byArray(peers, `n${f}`, () => peerIntervals(peers.filter((p) => { const c = parseCidr(p); return c !== null && BITS[c.address.family] - c.prefixLength > PEER_EXPAND_BITS; }), f, where));
      sets.set(`${ph}_p${f}`, { spec: setSpec(ADDR_TYPE[f], false), elements: byArray(peers, `p${f}`, () => hostPeers(peers, f, where)) });
      heads.push(`${head} ${fam} ${remote} @${ph}_p${f}`);
      if (nets.length > 0) {
        sets.set(`${ph}_n${f}`, { spec: setSpec(ADDR_TYPE[f], true), elements: nets });
        heads.push(`${head} ${fam} ${remote} @${ph}_n${f}`);
      }
    }
    for (const hd of heads) {
      if (r.ports === 'any' || ports !== '') lines.push(`${hd}${ports} return`);
    }
    if (r.ports !== 'any' && (r.ports.length === 0 || r.destPorts.length > 0)) {
      const elements = byArray(r.destPorts, `d${f}`, () => {
        const elems = new Set<string>();
        for (const dp of r.destPorts) {
          const a = addr(dp.ip, where);
          const proto = PROTO[dp.protocol] ?? bad(`${where}: unknown protocol "${String(dp.protocol)}"`);
          if (!Number.isInteger(dp.port) || dp.port < 1 || dp.port > 65535) bad(`${where}: bad port ${dp.port}`);
          if (a.family === f) elems.add(`${formatIp(a)} . ${proto} . ${dp.port}`);
        }
        return [...elems].sort();
      });
      sets.set(`${dh}_d${f}`, { spec: setSpec(`${ADDR_TYPE[f]} . inet_proto . inet_service`, false), elements });
      for (const hd of heads) lines.push(`${hd} ${fam} daddr . meta l4proto . th dport @${dh}_d${f} return`);
    }
  }
  return lines;
}

/**
 * Peer CIDRs of at most 2^PEER_EXPAND_BITS addresses go into a rule's hash set, one element per
 * address (pods, and the small CIDRs the compiler merges contiguous pods into); larger ones into
 * its interval set.
 */
const PEER_EXPAND_BITS = 8;

/** The addresses of the small peer CIDRs (see {@link PEER_EXPAND_BITS}) of one family, sorted unique. */
function hostPeers(peers: readonly string[], f: Fam, where: string): string[] {
  const out = new Set<string>();
  for (const p of peers) {
    const c = p.includes('/') ? parseCidr(p) : (() => { const a = parseIp(p); return a ? { address: a, prefixLength: BITS[a.family] } : null; })();
    if (!c) bad(`${where}: "${p}" is not a CIDR`);
    if (c!.address.family !== f) continue;
    const host = BITS[f] - c!.prefixLength;
    if (host > PEER_EXPAND_BITS) continue;
    const lo = (toBig(c!.address) >> BigInt(host)) << BigInt(host);
    for (let i = 0n; i < 1n << BigInt(host); i++) out.add(fromBig(f, lo + i));
  }
  return [...out].sort();
}

/** The static base chain: conntrack first, ND always, then the dispatch to the direction chains. */
export const FORWARD_RULES: readonly string[] = [
  'ct state established,related accept',
  `icmpv6 type { ${ND_TYPES} } accept`,
  'ip saddr @egr4 jump egress',
  'ip6 saddr @egr6 jump egress',
  'ip daddr @ing4 jump ingress',
  'ip6 daddr @ing6 jump ingress',
];

/** What a script changes (for apply()'s result). */
export interface PolicyNftDiff { script: string[]; elementsAdded: number; elementsRemoved: number; rulesChanged: number }

/** Counter values to carry into a rebuilt table (by counter name). */
export type CounterSeeds = ReadonlyMap<string, { packets: number; bytes: number }>;

const counterComment = (c: NftCounter): string => `${c.policy} ${c.direction}${c.audit ? ' audit' : ''}`.replace(/[^A-Za-z0-9._/: -]/g, '_').slice(0, 120);

function elementLines(verb: 'add' | 'delete', table: string, set: string, elements: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < elements.length; i += 500) out.push(`${verb} element ${table} ${set} { ${elements.slice(i, i + 500).join(', ')} }`);
  return out;
}

/**
 * ONE nft transaction from `prev` to `next`. `prev` null: a full build that replaces whatever
 * table is there (add + delete + create in the same transaction: no moment without policy),
 * seeding counters from `seeds`. Otherwise a diff: new sets and counters added, elements added
 * and removed, chains whose rule list changed flushed and rewritten, unused sets and counters
 * deleted after the rules that used them. Empty `script` when nothing differs.
 */
export function policyNftScript(prev: PolicyNftState | null, next: PolicyNftState, seeds: CounterSeeds = new Map()): PolicyNftDiff {
  const T = POLICY_TABLE;
  const s: string[] = [];
  let added = 0;
  let removed = 0;
  let rules = 0;
  const hostgw = [`add table ${HOSTGW_TABLE}`, `add set ${HOSTGW_TABLE} ${POLICED_SET} { type ipv4_addr ; }`];
  if (prev === null) {
    s.push(`add table ${T}`, `delete table ${T}`, `add table ${T}`);
    s.push(`add limit ${T} ${NFLOG_LIMIT} { rate ${POLICY_NFLOG_RATE_PER_S}/second ; }`);
    for (const [name, c] of next.counters) {
      const seed = seeds.get(name);
      s.push(`add counter ${T} ${name} { comment "${counterComment(c)}" ;${seed ? ` packets ${seed.packets} bytes ${seed.bytes} ;` : ''} }`);
    }
    for (const [name, set] of next.sets) {
      s.push(`add set ${T} ${name} { ${set.spec} }`);
      s.push(...elementLines('add', T, name, set.elements));
      added += set.elements.length;
    }
    s.push(`add chain ${T} forward { type filter hook forward priority filter ; policy accept ; }`, `add chain ${T} egress`, `add chain ${T} ingress`);
    for (const r of FORWARD_RULES) s.push(`add rule ${T} forward ${r}`);
    for (const d of ['egress', 'ingress'] as const) for (const r of next.chains[d]) s.push(`add rule ${T} ${d} ${r}`);
    rules = FORWARD_RULES.length + next.chains.egress.length + next.chains.ingress.length;
    s.push(...hostgw, `flush set ${HOSTGW_TABLE} ${POLICED_SET}`, ...elementLines('add', HOSTGW_TABLE, POLICED_SET, next.policed));
    added += next.policed.length;
    return { script: s, elementsAdded: added, elementsRemoved: removed, rulesChanged: rules };
  }
  const changedChains = (['egress', 'ingress'] as const).filter((d) => !sameList(prev.chains[d], next.chains[d]));
  for (const [name, c] of next.counters) if (!prev.counters.has(name)) s.push(`add counter ${T} ${name} { comment "${counterComment(c)}" ; }`);
  for (const [name, set] of next.sets) {
    const old = prev.sets.get(name);
    if (old && old.spec !== set.spec) throw new WeftError('WEFT_ERR_INTERNAL', `policy set ${name} changed type`);
    if (!old) s.push(`add set ${T} ${name} { ${set.spec} }`);
    if (old !== undefined && (old === set || old.elements === set.elements)) continue;
    const [plus, minus] = diffSorted(old?.elements ?? [], set.elements);
    s.push(...elementLines('delete', T, name, minus), ...elementLines('add', T, name, plus));
    added += plus.length;
    removed += minus.length;
  }
  for (const d of changedChains) {
    s.push(`flush chain ${T} ${d}`);
    for (const r of next.chains[d]) s.push(`add rule ${T} ${d} ${r}`);
    rules += prev.chains[d].length + next.chains[d].length;
  }
  for (const name of prev.sets.keys()) if (!next.sets.has(name)) { s.push(`delete set ${T} ${name}`); removed += prev.sets.get(name)!.elements.length; }
  for (const name of prev.counters.keys()) if (!next.counters.has(name)) s.push(`delete counter ${T} ${name}`);
  // The policed set is small and may have been emptied by a host-gw reset: rewritten whole.
  const [plus, minus] = diffSorted(prev.policed, next.policed);
  if (plus.length + minus.length > 0) {
    s.push(...hostgw, `flush set ${HOSTGW_TABLE} ${POLICED_SET}`, ...elementLines('add', HOSTGW_TABLE, POLICED_SET, next.policed));
    added += plus.length;
    removed += minus.length;
  }
  return { script: s, elementsAdded: added, elementsRemoved: removed, rulesChanged: rules };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** [in b not a, in a not b] of two sorted unique lists. */
function diffSorted(a: readonly string[], b: readonly string[]): [string[], string[]] {
  const A = new Set(a);
  const B = new Set(b);
  return [b.filter((x) => !A.has(x)), a.filter((x) => !B.has(x))];
}
