import { WeftError, IPAM_MAX_PREFIX_V4 } from '../common/index.js';
import { cidrNetwork, formatCidr, formatIpv4, isNetworkCidr, parseCidr, parseIpv4 } from '../net/index.js';

/**
 * The allocation range ("universe") and the mapping between printed addresses and ring
 * offsets. The ring, the allocator and the codecs work only on offsets (0 ≤ offset < size,
 * safe integers), so an IPv6 family can be added later as another {@link Universe}
 * implementation without touching them (ranges up to 2^53 addresses). Pure; no I/O.
 */
export interface Universe {
  /** Canonical CIDR, e.g. "10.32.0.0/12". Two universes are equal iff their cidr is. */
  readonly cidr: string;
  readonly family: 4;
  readonly prefixLength: number;
  /** Number of addresses in the range. */
  readonly size: number;
  /** Printed address of an offset (0 ≤ offset < size). */
  format(offset: number): string;
  /** Offset of a printed address, or null when it is malformed or outside the range. */
  offsetOf(address: string): number | null;
  /** True for the network and broadcast addresses, which are never handed out. */
  isReserved(offset: number): boolean;
}

class Ipv4Universe implements Universe {
  readonly family = 4 as const;
  readonly cidr: string;
  readonly size: number;
  constructor(readonly base: number, readonly prefixLength: number) {
    this.size = 2 ** (32 - prefixLength);
    this.cidr = `${formatIpv4(base)}/${prefixLength}`;
  }
  format(offset: number): string {
    return formatIpv4(this.base + offset);
  }
  offsetOf(address: string): number | null {
    const v = parseIpv4(address);
    if (v === null || v < this.base || v >= this.base + this.size) return null;
    return v - this.base;
  }
  isReserved(offset: number): boolean {
    return offset === 0 || offset === this.size - 1;
  }
}

/**
 * Parse `--ipalloc-range`. Throws WEFT_ERR_BAD_CONFIG for anything but an IPv4 network
 * address with a prefix of /0../30 (host bits must be zero, so typos are caught).
 */
export function parseUniverse(cidr: string): Universe {
  const c = parseCidr(cidr.trim());
  if (c === null) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `bad IP allocation range ${JSON.stringify(cidr)}: want an IPv4 CIDR such as 10.32.0.0/12`);
  }
  if (c.address.family !== 4) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `IP allocation range ${cidr}: IPv6 ranges are not supported yet; want an IPv4 CIDR such as 10.32.0.0/12`);
  }
  if (c.prefixLength > IPAM_MAX_PREFIX_V4) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `IP allocation range ${cidr} is too small: use /${IPAM_MAX_PREFIX_V4} or wider`);
  }
  if (!isNetworkCidr(c)) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `IP allocation range ${cidr} has host bits set; did you mean ${formatCidr(cidrNetwork(c))}?`);
  }
  return new Ipv4Universe(c.address.value, c.prefixLength);
}
