import { WeftError, IPAM_MAX_PREFIX_V4 } from '../common/index.js';

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

/** Parse dotted-quad IPv4 into a uint32, or null. Strict: four decimal octets, no leading zeros. */
export function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

export function formatIpv4(v: number): string {
  return `${Math.floor(v / 0x1000000) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
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
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr.trim());
  const base = m ? parseIpv4(m[1]!) : null;
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || base === null || !(prefix >= 0 && prefix <= 32)) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `bad IP allocation range ${JSON.stringify(cidr)}: want an IPv4 CIDR such as 10.32.0.0/12`);
  }
  if (prefix > IPAM_MAX_PREFIX_V4) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `IP allocation range ${cidr} is too small: use /${IPAM_MAX_PREFIX_V4} or wider`);
  }
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) {
    const net = base - (base % size);
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `IP allocation range ${cidr} has host bits set; did you mean ${formatIpv4(net)}/${prefix}?`);
  }
  return new Ipv4Universe(base, prefix);
}
