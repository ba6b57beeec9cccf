/**
 * Decoders at the daemon's edges: CNI stdin/netconf and CNI_* environment, API request bodies
 * (every route's schema, through the server's body parser), and the netlink codec with the
 * rtnetlink message decoders.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { TSchema } from '@sinclair/typebox';
import { API_MAX_BODY_BYTES } from '../../src/common/index.js';
import { parseNetConf, type PluginKind } from '../../src/cni/netconf.js';
import { parseCniEnv, CNI_COMMANDS, type CniCommand } from '../../src/cni/cni-env.js';
import { CniError } from '../../src/cni/cni-error.js';
import { SUPPORTED_CNI_VERSIONS } from '../../src/cni/versions.js';
import { readJsonObject } from '../../src/api/http-json.js';
import { checkRequest } from '../../src/api/validate.js';
import { ROUTES } from '../../src/api/routes.js';
import type { RouteName } from '../../src/api/route-table.js';
import { decodeMessages, encodeRequest, parseAttrs, decodeError, attr, type NlAttr, type NlMessage } from '../../src/host/netlink-codec.js';
import { decodeLink, decodeAddr, decodeRoute, decodeNeigh, ifinfomsg, ifaddrmsg, rtmsg, ndmsg } from '../../src/host/rtnl-messages.js';
import * as abi from '../../src/host/netlink-abi.js';
import type { FuzzTarget } from '../engine.js';
import type { Rng } from '../rng.js';
import { mutateJson, randomJson } from './json.js';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');

// ───────────── CNI ─────────────

function netconf(rng: Rng): Record<string, unknown> {
  const o: Record<string, unknown> = {
    cniVersion: rng.pick(SUPPORTED_CNI_VERSIONS), name: rng.pick(['weft', 'net-1', 'a.b_c']), type: 'weft-net',
  };
  if (rng.chance(0.5)) o.socket = '/run/weft/weft.sock';
  if (rng.chance(0.3)) o.mtu = rng.range(68, 65535);
  if (rng.chance(0.3)) o.defaultRoute = rng.chance(0.5);
  if (rng.chance(0.4)) o.ipam = { type: 'weft-ipam', ...(rng.chance(0.5) ? { socket: '/run/weft/weft.sock' } : {}) };
  if (rng.chance(0.3)) o.dns = { nameservers: ['10.0.0.53'], search: ['svc.local'] };
  if (rng.chance(0.3)) o.prevResult = { ips: [{ address: '10.32.0.5/12', gateway: '10.32.0.1' }], routes: [{ dst: '0.0.0.0/0' }] };
  if (rng.chance(0.2)) o['cni.dev/valid-attachments'] = [{ containerID: 'c1', ifname: 'eth0' }];
  if (rng.chance(0.2)) o.runtimeConfig = randomJson(rng);
  return o;
}

const CNI_CALLS: readonly [CniCommand, PluginKind][] = [['ADD', 'weft-net'], ['DEL', 'weft-net'], ['CHECK', 'weft-net'], ['GC', 'weft-net'], ['ADD', 'weft-ipam'], ['DEL', 'weft-ipam'], ['STATUS', 'weft-ipam']];

const cniNetconf: FuzzTarget = {
  name: 'cni-netconf',
  decoder: 'src/cni/netconf.ts parseNetConf (stdin), for ADD/DEL/CHECK/GC/STATUS as weft-net and weft-ipam',
  codes: ['WEFT_ERR_DECODE', 'WEFT_ERR_BAD_CONFIG', 'WEFT_ERR_VERSION'],
  valid: (rng) => json(netconf(rng)),
  structured: (rng) => json(mutateJson(rng, netconf(rng))),
  maxRandomBytes: 200,
  run(input, isValid) {
    let accepted = 0;
    let refusal: unknown;
    for (const [cmd, kind] of CNI_CALLS) {
      try {
        parseNetConf(input, cmd, kind);
        accepted++;
      } catch (e) {
        if (!(e instanceof CniError) || !cniNetconf.codes.includes(e.code)) throw e;
        if (isValid && cmd === 'ADD' && kind === 'weft-net') assert.fail(`valid netconf refused for ADD: ${e.message}`);
        refusal = e;
      }
    }
    if (accepted === 0) throw refusal;
  },
};

const ENV_KEYS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;

/** The environment as bytes: NUL-separated values in ENV_KEYS order (a missing key: no entry). */
function encodeEnv(env: Record<string, string | undefined>): Buffer {
  return Buffer.from(ENV_KEYS.map((k) => (env[k] === undefined ? '\u0001' : env[k])).join('\0'), 'utf8');
}
function decodeEnv(b: Buffer): Record<string, string | undefined> {
  const parts = b.toString('utf8').split('\0');
  const env: Record<string, string | undefined> = {};
  ENV_KEYS.forEach((k, i) => { const v = parts[i]; env[k] = v === undefined || v === '\u0001' ? undefined : v; });
  return env;
}

const cniEnv: FuzzTarget = {
  name: 'cni-env',
  decoder: 'src/cni/cni-env.ts parseCniEnv',
  codes: ['WEFT_ERR_BAD_ARGS'],
  valid: (rng) => encodeEnv({
    CNI_COMMAND: rng.pick(CNI_COMMANDS), CNI_CONTAINERID: rng.pick(['c1', 'abc123', 'x.y-z_1']), CNI_NETNS: rng.pick(['/run/netns/p', '/proc/1/ns/net']),
    CNI_IFNAME: rng.pick(['eth0', 'net1', 'x'.repeat(15)]), CNI_ARGS: rng.chance(0.5) ? 'K=V;A=B' : undefined, CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
  }),
  maxRandomBytes: 100,
  run(input) {
    const e = parseCniEnv(decodeEnv(input));
    assert.ok((CNI_COMMANDS as readonly string[]).includes(e.command), 'command');
  },
};

// ───────────── API request bodies ─────────────

/** A value that satisfies a TypeBox/JSON schema (the subset the route schemas use). */
function fromSchema(rng: Rng, s: TSchema, depth = 0): unknown {
  const x = s as Record<string, unknown> & TSchema;
  if ('const' in x) return x.const;
  if (Array.isArray(x.anyOf)) return fromSchema(rng, rng.pick(x.anyOf as TSchema[]), depth);
  if (Array.isArray(x.enum)) return rng.pick(x.enum as unknown[]);
  switch (x.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const req = new Set((x.required as string[] | undefined) ?? []);
      for (const [k, p] of Object.entries((x.properties as Record<string, TSchema> | undefined) ?? {})) {
        if (req.has(k) || rng.chance(0.5)) out[k] = fromSchema(rng, p, depth + 1);
      }
      return out;
    }
    case 'array': {
      const max = Math.min((x.maxItems as number | undefined) ?? 8, 8);
      const n = Math.max((x.minItems as number | undefined) ?? 0, rng.int(max + 1));
      return Array.from({ length: n }, () => fromSchema(rng, x.items as TSchema, depth + 1));
    }
    case 'string': {
      const min = (x.minLength as number | undefined) ?? 0;
      const max = Math.min((x.maxLength as number | undefined) ?? 40, 40);
      let v = rng.pick(['10.0.0.1', '10.32.0.0/12', '/run/netns/p', 'eth0', 'cni/net/c1/eth0', '02:00:00:00:00:01', 'host:6783', rng.text(20)]);
      while (v.length < min) v += 'x';
      return v.slice(0, Math.max(min, max));
    }
    case 'integer': {
      const lo = (x.minimum as number | undefined) ?? 0;
      const hi = (x.maximum as number | undefined) ?? lo + 1000;
      return rng.range(lo, hi);
    }
    case 'number': return rng.int(1000) / 7;
    case 'boolean': return rng.chance(0.5);
    default: return depth > 3 ? null : randomJson(rng, 1);
  }
}

const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];

/** Input = route index byte + the body (POST: JSON; GET: a query string). */
function apiInput(rng: Rng, value: unknown, route: number): Buffer {
  const r = ROUTES[ROUTE_NAMES[route]!];
  const obj = value !== null && typeof value === 'object' && !Array.isArray(value);
  const body = r.method === 'GET'
    ? Buffer.from(!obj ? JSON.stringify(value) ?? '' : new URLSearchParams(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString())
    : json(value);
  return Buffer.concat([Buffer.from([route]), body]);
}

function fakeRequest(body: Buffer): IncomingMessage {
  return { headers: { 'content-length': String(body.length) }, async *[Symbol.asyncIterator]() { yield body; } } as unknown as IncomingMessage;
}

/** Routes hit by accepted requests (the unit test checks every route was reached). */
export const apiRoutesAccepted = new Set<RouteName>();

const apiRequests: FuzzTarget = {
  name: 'api-request',
  decoder: 'src/api/http-json.ts readJsonObject + src/api/validate.ts checkRequest, every route of routes.ts',
  codes: ['WEFT_ERR_BAD_ARGS', 'WEFT_ERR_TOO_BIG'],
  valid(rng) {
    const i = rng.int(ROUTE_NAMES.length);
    return apiInput(rng, fromSchema(rng, ROUTES[ROUTE_NAMES[i]!].request), i);
  },
  structured(rng) {
    const i = rng.int(ROUTE_NAMES.length);
    return apiInput(rng, mutateJson(rng, fromSchema(rng, ROUTES[ROUTE_NAMES[i]!].request)), i);
  },
  validShare: 0.25,
  async run(input, isValid) {
    const name = ROUTE_NAMES[(input[0] ?? 0) % ROUTE_NAMES.length]!;
    const route = ROUTES[name];
    const body = input.subarray(1);
    const request = route.method === 'GET'
      ? Object.fromEntries(new URLSearchParams(body.toString('utf8')))
      : await readJsonObject(fakeRequest(body), API_MAX_BODY_BYTES);
    try {
      checkRequest(name, request);
    } catch (e) {
      // generated values satisfy the schemas' types and bounds; a GET query carries only strings
      if (isValid && route.method !== 'GET') assert.fail(`generated request for ${name} refused: ${String(e)}`);
      throw e;
    }
    apiRoutesAccepted.add(name);
  },
};

// ───────────── netlink ─────────────

function linkAttrs(rng: Rng): NlAttr[] {
  const a: NlAttr[] = [attr.str(abi.IFLA_IFNAME, rng.pick(['eth0', 'weft', 'vethwe-1', 'x'.repeat(15)]))];
  if (rng.chance(0.7)) a.push(attr.u32(abi.IFLA_MTU, rng.range(68, 65535)));
  if (rng.chance(0.5)) a.push(attr.bytes(abi.IFLA_ADDRESS, rng.bytes(6)));
  if (rng.chance(0.3)) a.push(attr.u32(abi.IFLA_MASTER, rng.u32()));
  if (rng.chance(0.2)) a.push(attr.str(abi.IFLA_IFALIAS, rng.text(10)));
  if (rng.chance(0.4)) {
    a.push(attr.nest(abi.IFLA_LINKINFO, [attr.str(abi.IFLA_INFO_KIND, 'vxlan'),
      attr.nest(abi.IFLA_INFO_DATA, [attr.u32(abi.IFLA_VXLAN_ID, rng.int(1 << 24)), attr.be16(abi.IFLA_VXLAN_PORT, rng.int(65536))])]));
  }
  return a;
}

function ip(rng: Rng, family: number): Uint8Array {
  return rng.bytes(family === abi.AF_INET ? 4 : 16);
}

function nlMessage(rng: Rng): Buffer {
  const seq = rng.u32();
  const family = rng.chance(0.7) ? abi.AF_INET : abi.AF_INET6;
  switch (rng.int(5)) {
    case 0: return encodeRequest({ type: abi.RTM_NEWLINK, flags: 0, seq, header: ifinfomsg({ index: rng.int(1000), flags: rng.u32() }), attrs: linkAttrs(rng) });
    case 1: return encodeRequest({ type: abi.RTM_NEWADDR, flags: 0, seq, header: ifaddrmsg({ family, prefixLength: rng.int(129), index: rng.int(1000) }), attrs: [attr.bytes(abi.IFA_ADDRESS, ip(rng, family))] });
    case 2: return encodeRequest({ type: abi.RTM_NEWROUTE, flags: 0, seq, header: rtmsg({ family, dstLength: rng.int(33) }), attrs: [attr.bytes(abi.RTA_DST, ip(rng, family)), attr.u32(abi.RTA_OIF, rng.int(1000)), ...(rng.chance(0.5) ? [attr.bytes(abi.RTA_GATEWAY, ip(rng, family))] : [])] });
    case 3: return encodeRequest({ type: abi.RTM_NEWNEIGH, flags: 0, seq, header: ndmsg({ family: rng.pick([abi.AF_INET, 7]), index: rng.int(1000) }), attrs: [attr.bytes(abi.NDA_LLADDR, rng.bytes(6)), attr.bytes(abi.NDA_DST, ip(rng, abi.AF_INET))] });
    default: {
      // an NLMSG_ERROR (ack or errno) echoing a request header, with an extended-ack message
      const echoed = encodeRequest({ type: abi.RTM_NEWLINK, flags: 5, seq, header: ifinfomsg({}) }).subarray(0, 16);
      const errno = Buffer.alloc(4);
      errno.writeInt32LE(-rng.int(200));
      const payload = Buffer.concat([errno, echoed]);
      const tlv = rng.chance(0.5);
      const m = encodeRequest({ type: abi.NLMSG_ERROR, flags: tlv ? abi.NLM_F_ACK_TLVS | abi.NLM_F_CAPPED : 0, seq, header: payload, attrs: tlv ? [attr.str(abi.NLMSGERR_ATTR_MSG, rng.text(20))] : [] });
      return m;
    }
  }
}

function decodeOne(m: NlMessage): void {
  switch (m.type) {
    case abi.RTM_NEWLINK: case abi.RTM_DELLINK: decodeLink(m); break;
    case abi.RTM_NEWADDR: case abi.RTM_DELADDR: decodeAddr(m); break;
    case abi.RTM_NEWROUTE: case abi.RTM_DELROUTE: decodeRoute(m); break;
    case abi.RTM_NEWNEIGH: case abi.RTM_DELNEIGH: decodeNeigh(m); break;
    case abi.NLMSG_ERROR: decodeError(m); break;
    default: parseAttrs(m.payload, Math.min(m.payload.length, 4));
  }
}

const netlink: FuzzTarget = {
  name: 'netlink',
  decoder: 'src/host/netlink-codec.ts decodeMessages/parseAttrs/decodeError + rtnl-messages.ts decodeLink/Addr/Route/Neigh',
  codes: ['WEFT_ERR_DECODE'],
  valid(rng) {
    // a datagram of one to four messages, as a dump delivers them
    return Buffer.concat(Array.from({ length: rng.range(1, 4) }, () => nlMessage(rng)));
  },
  run(input) {
    for (const m of decodeMessages(input)) decodeOne(m);
  },
};

export const EDGE_TARGETS: readonly FuzzTarget[] = [cniNetconf, cniEnv, apiRequests, netlink];
