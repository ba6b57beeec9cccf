/**
 * CNI results: one internal shape (the 1.1.0 superset) and its conversion to the shape of the
 * version the runtime asked for; parsing of results received (prevResult, delegated IPAM
 * output) of any supported version. Pure.
 */
import { cidrNetwork as networkOf, formatCidr, isCidr, isIp, parseCidr, parseIp } from '../net/index.js';
import { CniError } from './cni-error.js';
import { atLeast, resultFamily, type CniVersion } from './versions.js';

/** One entry of a result's `interfaces` (host or sandbox side). */
export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0 only. bytes */
  mtu?: number;
  /** Namespace path for interfaces inside the container; absent for host interfaces. */
  sandbox?: string;
}

/** One entry of a result's `ips`. */
export interface CniIpConfig {
  /** CIDR, e.g. "10.32.0.5/12". */
  address: string;
  gateway?: string;
  /** Index into `interfaces` (absent in IPAM plugin results). */
  interface?: number;
}

/** One entry of a result's `routes` (no gateway: on-link). */
export interface CniRoute {
  dst: string;
  gw?: string;
}

/** The `dns` object of a configuration or result. */
export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A success result in the internal shape (version-free). */
export interface CniResult {
  interfaces?: CniInterface[];
  ips: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** True for an IPv6 CIDR or address. */
export function isIpv6(address: string): boolean {
  return (parseCidr(address)?.address ?? parseIp(address))?.family === 6;
}

/**
 * The JSON object to print for `r` in spec version `v`: 0.3.x/0.4.0 add `ips[].version`
 * ("4"/"6"); 1.x omit it; interface `mtu` only from 1.1.0 on. Key order follows the spec.
 */
export function formatResult(r: CniResult, v: CniVersion): Record<string, unknown> {
  const old = resultFamily(v) === '04x';
  const out: Record<string, unknown> = { cniVersion: v };
  if (r.interfaces) {
    out.interfaces = r.interfaces.map((i) => ({
      name: i.name,
      ...(i.mac !== undefined ? { mac: i.mac } : {}),
      ...(i.mtu !== undefined && atLeast(v, '1.1.0') ? { mtu: i.mtu } : {}),
      ...(i.sandbox !== undefined && i.sandbox !== '' ? { sandbox: i.sandbox } : {}),
    }));
  }
  out.ips = r.ips.map((ip) => ({
    ...(old ? { version: isIpv6(ip.address) ? '6' : '4' } : {}),
    ...(ip.interface !== undefined ? { interface: ip.interface } : {}),
    address: ip.address,
    ...(ip.gateway !== undefined ? { gateway: ip.gateway } : {}),
  }));
  if (r.routes && r.routes.length > 0) out.routes = r.routes.map((rt) => ({ dst: rt.dst, ...(rt.gw !== undefined ? { gw: rt.gw } : {}) }));
  out.dns = r.dns ?? {};
  return out;
}

// ───────────────────────────── parsing ─────────────────────────────

/** A decoded JSON object (not an array, not null). */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(where: string, what: string): CniError {
  return new CniError(7, `${where}: ${what}`);
}

function optString(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(where, `"${key}" must be a string`);
  return v;
}

function stringList(o: Obj, key: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(where, `"${key}" must be a list of strings`);
  return v as string[];
}

/** Validate a `dns` object (netconf or result); `where` names it in error messages. */
export function parseDns(v: unknown, where: string): CniDns | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(where, 'must be an object');
  const dns: CniDns = {};
  const nameservers = stringList(v, 'nameservers', where);
  if (nameservers) {
    const wrong = nameservers.find((n) => !isIp(n));
    if (wrong !== undefined) throw bad(where, `nameserver "${wrong}" is not an IP address`);
    dns.nameservers = nameservers;
  }
  const domain = optString(v, 'domain', where);
  if (domain !== undefined) dns.domain = domain;
  const search = stringList(v, 'search', where);
  if (search) dns.search = search;
  const options = stringList(v, 'options', where);
  if (options) dns.options = options;
  return dns;
}

/**
 * Parse a result of any supported version (prevResult, a delegated plugin's output) into the
 * internal shape. Malformed input is 7 naming the field (`where` prefixes the message).
 */
export function parseResult(v: unknown, where: string): CniResult {
  if (!isObj(v)) throw bad(where, 'must be a JSON object');
  const ipsRaw = v.ips ?? [];
  if (!Array.isArray(ipsRaw)) throw bad(where, '"ips" must be a list');
  const ips = ipsRaw.map((x, i): CniIpConfig => {
    const w = `${where}.ips[${i}]`;
    if (!isObj(x)) throw bad(w, 'must be an object');
    const address = optString(x, 'address', w);
    if (address === undefined || !isCidr(address)) throw bad(w, `"address" must be an address in CIDR notation, got ${JSON.stringify(x.address)}`);
    const gateway = optString(x, 'gateway', w);
    if (gateway !== undefined && !isIp(gateway)) throw bad(w, `"gateway" "${gateway}" is not an IP address`);
    const idx = x.interface;
    if (idx !== undefined && idx !== null && !(Number.isInteger(idx) && (idx as number) >= 0)) throw bad(w, '"interface" must be a non-negative integer');
    return { address, ...(gateway !== undefined ? { gateway } : {}), ...(typeof idx === 'number' ? { interface: idx } : {}) };
  });
  const out: CniResult = { ips };
  if (v.interfaces !== undefined && v.interfaces !== null) {
    if (!Array.isArray(v.interfaces)) throw bad(where, '"interfaces" must be a list');
    out.interfaces = v.interfaces.map((x, i): CniInterface => {
      const w = `${where}.interfaces[${i}]`;
      if (!isObj(x)) throw bad(w, 'must be an object');
      const name = optString(x, 'name', w);
      if (!name) throw bad(w, '"name" is missing');
      const mac = optString(x, 'mac', w);
      const sandbox = optString(x, 'sandbox', w);
      const mtu = x.mtu;
      if (mtu !== undefined && mtu !== null && !(Number.isInteger(mtu) && (mtu as number) > 0)) throw bad(w, '"mtu" must be a positive integer');
      return { name, ...(mac !== undefined ? { mac } : {}), ...(typeof mtu === 'number' ? { mtu } : {}), ...(sandbox ? { sandbox } : {}) };
    });
  }
  if (v.routes !== undefined && v.routes !== null) {
    if (!Array.isArray(v.routes)) throw bad(where, '"routes" must be a list');
    out.routes = v.routes.map((x, i): CniRoute => {
      const w = `${where}.routes[${i}]`;
      if (!isObj(x)) throw bad(w, 'must be an object');
      const dst = optString(x, 'dst', w);
      if (dst === undefined || !isCidr(dst)) throw bad(w, `"dst" must be a CIDR, got ${JSON.stringify(x.dst)}`);
      const gw = optString(x, 'gw', w);
      if (gw !== undefined && !isIp(gw)) throw bad(w, `"gw" "${gw}" is not an IP address`);
      return { dst, ...(gw !== undefined ? { gw } : {}) };
    });
  }
  const dns = parseDns(v.dns, `${where}.dns`);
  if (dns) out.dns = dns;
  return out;
}

/** The network of a CIDR ("10.32.0.5/12" → "10.32.0.0/12", "fd00::5/64" → "fd00::/64"); text that is no CIDR is returned unchanged. */
export function cidrNetwork(cidr: string): string {
  const c = parseCidr(cidr);
  return c === null ? cidr : formatCidr(networkOf(c));
}
