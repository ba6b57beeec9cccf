/**
 * The element-only form of a policy state change (pure): when two {@link PolicyNftState}s have
 * the same sets, counters and chain rules and differ only in elements of sets without
 * intervals (pod addresses, named destination ports, the host-gw `policed` set), the change
 * is a list of {@link NftElementChange}s that the kernel edge applies as ONE nf_tables netlink
 * batch (nft-netlink.ts) instead of an `nft` process. Anything structural returns null and
 * takes `policyNftScript`. A pod label change is normally element-only: set names are stable
 * (rule id, peer key, isolation) and do not depend on contents.
 */
import { POLICY_NFT_TABLE, FASTPATH_NFT_TABLE } from '../common/index.js';
import type { NftElementChange } from './nft-netlink.js';
import { POLICED_SET, type PolicyNftState } from './policy-nft.js';

/** Element changes taking `prev` to `next`, or null when the change is structural (or touches an interval set). */
export function policyElementChanges(prev: PolicyNftState, next: PolicyNftState): NftElementChange[] | null {
  if (prev.sets.size !== next.sets.size || prev.counters.size !== next.counters.size) return null;
  for (const name of next.counters.keys()) if (!prev.counters.has(name)) return null;
  for (const d of ['egress', 'ingress'] as const) if (!sameList(prev.chains[d], next.chains[d])) return null;
  const dels: NftElementChange[] = [];
  const adds: NftElementChange[] = [];
  for (const [name, set] of next.sets) {
    const old = prev.sets.get(name);
    if (old === undefined || old.spec !== set.spec) return null;
    if (old === set || old.elements === set.elements) continue;
    const [plus, minus] = diff(old.elements, set.elements);
    if (plus.length + minus.length === 0) continue;
    if (set.spec.includes('interval')) return null;
    const keyType = /^type ([^;]+) ;/.exec(set.spec)?.[1]?.trim();
    if (keyType === undefined) return null;
    const base = { family: 'inet' as const, table: POLICY_NFT_TABLE, set: name, keyType };
    if (minus.length > 0) dels.push({ ...base, verb: 'delete', elements: minus });
    if (plus.length > 0) adds.push({ ...base, verb: 'add', elements: plus });
  }
  const [plus, minus] = diff(prev.policed, next.policed);
  const policed = { family: 'netdev' as const, table: FASTPATH_NFT_TABLE, set: POLICED_SET, keyType: 'ipv4_addr' };
  if (minus.length > 0) dels.push({ ...policed, verb: 'delete', elements: minus });
  if (plus.length > 0) adds.push({ ...policed, verb: 'add', elements: plus });
  return [...dels, ...adds];
}

/** Elements the changes add and delete (for apply()'s result). */
export function countElements(changes: readonly NftElementChange[]): { added: number; removed: number } {
  let added = 0, removed = 0;
  for (const c of changes) if (c.verb === 'add') added += c.elements.length; else removed += c.elements.length;
  return { added, removed };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/** [in b not a, in a not b]. */
function diff(a: readonly string[], b: readonly string[]): [string[], string[]] {
  if (a === b) return [[], []];
  const A = new Set(a);
  const B = new Set(b);
  return [b.filter((x) => !A.has(x)), a.filter((x) => !B.has(x))];
}
