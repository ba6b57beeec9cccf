/**
 * Sets of addresses as sorted disjoint inclusive intervals, per family, and their conversion
 * to and from CIDRs: what turns an ipBlock with `except` (and a rule's many peers) into the
 * disjoint CIDR list of a {@link CompiledRule}. IPv4 and IPv6 alike (values are bigints). Pure.
 */
import { parseCidr, parseIp, cidrNetwork, formatIpv4, formatIpv6, type Cidr, type IpAddress, type IpFamily } from '../net/index.js';

/** The addresses `lo..hi` (inclusive) of one family. */
export interface AddressInterval {
  readonly family: IpFamily;
  readonly lo: bigint;
  readonly hi: bigint;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function valueOf(a: IpAddress): bigint {
  return typeof a.value === 'bigint' ? a.value : BigInt(a.value);
}

/** The interval of a CIDR's network. */
export function cidrInterval(c: Cidr): AddressInterval {
  const net = cidrNetwork(c);
  const lo = valueOf(net.address);
  const size = 1n << BigInt(BITS[c.address.family] - c.prefixLength);
  return { family: c.address.family, lo, hi: lo + size - 1n };
}

/** The interval of one address. */
export function addressInterval(a: IpAddress): AddressInterval {
  const v = valueOf(a);
  return { family: a.family, lo: v, hi: v };
}

/** The interval of CIDR text; throws RangeError on text that is no CIDR (callers validate first). */
export function cidrTextInterval(text: string): AddressInterval {
  const c = parseCidr(text);
  if (c === null) throw new RangeError(`not a CIDR: ${text}`);
  return cidrInterval(c);
}

function compare(a: AddressInterval, b: AddressInterval): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0;
}

/** Sorted (IPv4 first, then by address), disjoint, with touching intervals merged. */
export function unionIntervals(list: readonly AddressInterval[]): AddressInterval[] {
  const sorted = [...list].sort(compare);
  const out: AddressInterval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.family === i.family && i.lo <= last.hi + 1n) {
      if (i.hi > last.hi) out[out.length - 1] = { family: last.family, lo: last.lo, hi: i.hi };
    } else {
      out.push(i);
    }
  }
  return out;
}

/** `a` minus `b`, normalised as {@link unionIntervals}. */
export function subtractIntervals(a: readonly AddressInterval[], b: readonly AddressInterval[]): AddressInterval[] {
  const cut = unionIntervals(b);
  const out: AddressInterval[] = [];
  for (const i of unionIntervals(a)) {
    let lo = i.lo;
    for (const c of cut) {
      if (c.family !== i.family || c.hi < lo || c.lo > i.hi) continue;
      if (c.lo > lo) out.push({ family: i.family, lo, hi: c.lo - 1n });
      lo = c.hi + 1n;
      if (lo > i.hi) break;
    }
    if (lo <= i.hi) out.push({ family: i.family, lo, hi: i.hi });
  }
  return out;
}

function formatValue(family: IpFamily, v: bigint): string {
  return family === 4 ? formatIpv4(Number(v)) : formatIpv6(v);
}

/** The fewest CIDRs covering exactly the intervals, in the intervals' order. */
export function intervalsToCidrs(list: readonly AddressInterval[]): string[] {
  const out: string[] = [];
  for (const i of list) {
    const bits = BITS[i.family];
    let lo = i.lo;
    while (lo <= i.hi) {
      let size = 0; // log2 of the block
      while (size < bits && ((lo >> BigInt(size)) & 1n) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= i.hi) size++;
      out.push(`${formatValue(i.family, lo)}/${bits - size}`);
      lo += 1n << BigInt(size);
    }
  }
  return out;
}

/** True when `ip` (text) lies in one of the intervals (any order; linear). */
export function intervalsContain(list: readonly AddressInterval[], ip: string): boolean {
  const a = parseIp(ip);
  if (a === null) return false;
  const v = valueOf(a);
  return list.some((i) => i.family === a.family && i.lo <= v && v <= i.hi);
}

/** True when `ip` (text) lies in one of `sorted`, which must be sorted and disjoint as {@link unionIntervals} returns (binary search). */
export function sortedIntervalsContain(sorted: readonly AddressInterval[], ip: string): boolean {
  const a = parseIp(ip);
  if (a === null) return false;
  const v = valueOf(a);
  let lo = 0, hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = sorted[mid] as AddressInterval;
    if (m.family < a.family || (m.family === a.family && m.hi < v)) lo = mid + 1;
    else if (m.family > a.family || m.lo > v) hi = mid - 1;
    else return true;
  }
  return false;
}

/** `cidr` minus the `except` CIDRs, as disjoint sorted CIDRs (v4 and v6 alike). */
export function subtractCidrs(cidr: string, except: readonly string[]): string[] {
  return intervalsToCidrs(subtractIntervals([cidrTextInterval(cidr)], except.map(cidrTextInterval)));
}

/** The union of CIDRs (and/or plain addresses), as disjoint sorted CIDRs. */
export function normalizeCidrs(items: readonly string[]): string[] {
  return intervalsToCidrs(unionIntervals(items.map((s) => {
    if (s.includes('/')) return cidrTextInterval(s);
    const a = parseIp(s);
    if (a === null) throw new RangeError(`not an address: ${s}`);
    return addressInterval(a);
  })));
}

/** True when `ip` lies inside one of the CIDRs. */
export function cidrsContain(cidrs: readonly string[], ip: string): boolean {
  return intervalsContain(cidrs.map(cidrTextInterval), ip);
}

/** Sorts address text numerically (IPv4 first); unparsable text last, by text. */
export function compareAddresses(a: string, b: string): number {
  const pa = parseIp(a), pb = parseIp(b);
  if (pa === null || pb === null) return pa === null && pb === null ? (a < b ? -1 : a > b ? 1 : 0) : pa === null ? 1 : -1;
  if (pa.family !== pb.family) return pa.family - pb.family;
  const va = valueOf(pa), vb = valueOf(pb);
  return va < vb ? -1 : va > vb ? 1 : 0;
}

/** Sorts items by an address (numerically, IPv4 first), parsing each address once; `tie` orders equal addresses. */
export function sortByAddress<T>(items: readonly T[], ipOf: (t: T) => string, tie: (a: T, b: T) => number = () => 0): T[] {
  const keyed = items.map((t) => {
    const a = parseIp(ipOf(t));
    return { t, family: a === null ? 7 : a.family, v: a === null ? 0n : valueOf(a), text: ipOf(t) };
  });
  keyed.sort((a, b) => a.family - b.family || (a.v < b.v ? -1 : a.v > b.v ? 1 : 0) || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0) || tie(a.t, b.t));
  return keyed.map((k) => k.t);
}
