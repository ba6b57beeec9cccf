import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses and CIDRs, IPv4 and IPv6: the only parser of them in weft. Strict: IPv4 is four
 * decimal octets 0..255 without leading zeros ("010.0.0.1" is refused: other tools read it as
 * octal); IPv6 is RFC 4291 text (with an optional dotted-quad tail, itself strict), no zone id
 * ("fe80::1%eth0" is refused); no surrounding spaces; a prefix length is decimal without leading
 * zeros, 0..32 or 0..128. Printing is canonical (RFC 5952 for IPv6), so parse ∘ format is the
 * identity on values and format ∘ parse normalises text. Pure; no I/O.
 */

export type IpFamily = 4 | 6;

/** An address as a number: a uint32 for IPv4, a 128-bit bigint for IPv6. */
export type IpAddress =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly value: bigint };

/** An address with a prefix length. The address may have host bits set ("10.32.0.5/12"). */
export interface Cidr {
  readonly address: IpAddress;
  readonly prefixLength: number;
}

const MAX_PREFIX: Record<IpFamily, number> = { 4: 32, 6: 128 };
const V6_BITS = 128n;
const V6_MAX = (1n << V6_BITS) - 1n;

/** A dotted-quad IPv4 address as a uint32, or null. */
export function parseIpv4(s: string): number | null {
  if (typeof s !== 'string' || !isIPv4(s)) return null; // node:net's check is the strict one above
  let v = 0;
  for (const part of s.split('.')) v = v * 256 + Number(part);
  return v;
}

/** A uint32 as a dotted quad. */
export function formatIpv4(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`IPv4 value out of range: ${v}`);
  return `${Math.floor(v / 0x1000000)}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** IPv6 text as a 128-bit bigint, or null. */
export function parseIpv6(s: string): bigint | null {
  if (typeof s !== 'string' || s.includes('%') || !isIPv6(s)) return null;
  let text = s;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail);
    if (v4 === null) return null;
    text = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (h: string | undefined): string[] => (h ? h.split(':') : []);
  const head = groupsOf(halves[0]);
  const rest = groupsOf(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < (halves.length === 2 ? 1 : 0)) return null; // '::' stands for one zero group at least
  const groups = [...head, ...Array.from({ length: fill }, () => '0'), ...rest];
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/**
 * Canonical RFC 5952 text of a 128-bit value: lowercase, no leading zeros in a group, the
 * longest run (the first of equal runs) of two or more zero groups as "::", and IPv4-mapped
 * addresses as "::ffff:a.b.c.d".
 */
export function formatIpv6(v: bigint): string {
  if (typeof v !== 'bigint' || v < 0n || v > V6_MAX) throw new RangeError(`IPv6 value out of range: ${String(v)}`);
  if (isIpv4Mapped(v)) return `::ffff:${formatIpv4(Number(v & 0xffffffffn))}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((v >> shift) & 0xffffn));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** An IPv4 or IPv6 address, or null. */
export function parseIp(s: string): IpAddress | null {
  const v4 = parseIpv4(s);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIpv6(s);
  return v6 === null ? null : { family: 6, value: v6 };
}

export function formatIp(a: IpAddress): string {
  return a.family === 4 ? formatIpv4(a.value) : formatIpv6(a.value);
}

/** True when `s` is an address (of `family`, when given). */
export function isIp(s: string, family?: IpFamily): boolean {
  const a = parseIp(s);
  return a !== null && (family === undefined || a.family === family);
}

/** True for an IPv4-mapped IPv6 value (::ffff:a.b.c.d). */
export function isIpv4Mapped(v: bigint): boolean {
  return v >> 32n === 0xffffn;
}

/** "address/prefix" (host bits may be set), or null. */
export function parseCidr(s: string): Cidr | null {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const address = parseIp(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (address === null || !/^(0|[1-9][0-9]{0,2})$/.test(len)) return null;
  const prefixLength = Number(len);
  if (prefixLength > MAX_PREFIX[address.family]) return null;
  return { address, prefixLength };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.address)}/${c.prefixLength}`;
}

/** True when `s` is a CIDR (of `family`, when given). */
export function isCidr(s: string, family?: IpFamily): boolean {
  const c = parseCidr(s);
  return c !== null && (family === undefined || c.address.family === family);
}

/** The network of a CIDR: its address with the host bits cleared ("10.32.0.5/12" → 10.32.0.0/12). */
export function cidrNetwork(c: Cidr): Cidr {
  const a = c.address;
  if (a.family === 4) {
    const size = 2 ** (32 - c.prefixLength);
    return { address: { family: 4, value: a.value - (a.value % size) }, prefixLength: c.prefixLength };
  }
  const hostBits = BigInt(128 - c.prefixLength);
  return { address: { family: 6, value: (a.value >> hostBits) << hostBits }, prefixLength: c.prefixLength };
}

/** True when the CIDR's host bits are all zero (it names a network, not an address in one). */
export function isNetworkCidr(c: Cidr): boolean {
  return cidrNetwork(c).address.value === c.address.value;
}

/** True when `a` lies inside the network of `c` (same family). */
export function cidrContains(c: Cidr, a: IpAddress): boolean {
  if (a.family !== c.address.family) return false;
  return cidrNetwork({ address: a, prefixLength: c.prefixLength }).address.value === cidrNetwork(c).address.value;
}

/** Number of addresses in the CIDR's network (a bigint: an IPv6 /0 has 2^128). */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(MAX_PREFIX[c.address.family] - c.prefixLength);
}
