/**
 * `--trusted-subnets` (pure): IPv4 CIDRs whose peers may receive pod traffic unencrypted
 * when a cluster secret is set.
 */
import { WeftError } from '../../common/index.js';
import { parseCidr, parseIpv4 } from '../../net/index.js';

/** One parsed IPv4 subnet. */
export interface Subnet {
  cidr: string;
  base: number;
  bits: number;
}

/** Parse "10.0.0.0/8,192.168.1.0/24" (empty string → none). WEFT_ERR_BAD_ARGS on bad input. */
export function parseSubnets(list: string): Subnet[] {
  const out: Subnet[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const c = parseCidr(raw);
    if (c === null || c.address.family !== 4) throw new WeftError('WEFT_ERR_BAD_ARGS', `invalid subnet "${raw}" (want a.b.c.d/len)`);
    out.push({ cidr: raw, base: maskOf(c.address.value, c.prefixLength), bits: c.prefixLength });
  }
  return out;
}

function maskOf(ip: number, bits: number): number {
  if (bits === 0) return 0;
  return (ip & (0xffffffff << (32 - bits))) >>> 0;
}

/** True when IPv4 `ip` lies inside one of `subnets`. */
export function inSubnets(ip: string, subnets: readonly Subnet[]): boolean {
  const v = parseIpv4(ip) ?? -1;
  if (v < 0) return false;
  return subnets.some((s) => maskOf(v, s.bits) === s.base);
}
