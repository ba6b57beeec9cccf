/**
 * The network configuration a runtime streams on stdin, decoded and validated. Unknown fields
 * are accepted (the spec lets runtimes and other plugins add their own); known fields with the
 * wrong type are errors naming the field. Pure.
 */
import { DEFAULT_API_SOCKET } from '../common/index.js';
import { CniError } from './cni-error.js';
import { isValidIfname, type CniCommand } from './cni-env.js';
import { isObj, parseDns, parseResult, type CniDns, type CniResult, type Obj } from './cni-result.js';
import { checkVerbAllowed, requireSupportedVersion, type CniVersion } from './versions.js';

/** Which plugin reads the configuration: the main plugin reads top-level fields, the IPAM plugin `ipam.*`. */
export type PluginKind = 'weft-net' | 'weft-ipam';

/** One `cni.dev/valid-attachments` entry (GC). */
export interface CniAttachment {
  containerID: string;
  ifname: string;
}

/** A validated network configuration. */
export interface NetConf {
  cniVersion: CniVersion;
  /** Network name (part of every allocation's owner ID). */
  name: string;
  type: string;
  /** The weft daemon's API socket ("socket"; for weft-ipam "ipam.socket" first). */
  socket: string;
  /** Pod interface MTU overriding the daemon's. bytes */
  mtu?: number;
  /** Add a default route via the daemon's gateway ("defaultRoute"; weft-ipam: "ipam.defaultRoute"). */
  defaultRoute: boolean;
  /** weft-net only: delegate address management to this IPAM plugin ("ipam.type"). */
  ipamType?: string;
  dns?: CniDns;
  prevResult?: CniResult;
  /** GC only: the attachments that are still valid. */
  validAttachments?: CniAttachment[];
  /** The exact stdin bytes (passed unchanged to a delegated plugin). */
  raw: Buffer;
}

const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const PLUGIN_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
/** Bounds of a pod interface MTU. bytes */
const MTU_MIN = 68;
const MTU_MAX = 65_535;
/** weft-ipam: fields of other IPAM plugins that cannot apply (the daemon's ring decides). */
const FOREIGN_IPAM_FIELDS = ['subnet', 'ranges', 'rangeStart', 'rangeEnd', 'addresses', 'dataDir'];

function invalid(msg: string): CniError {
  return new CniError(7, `invalid network configuration: ${msg}`);
}

/** Decode stdin as a JSON object: 6 when it is empty or not a JSON object. */
export function decodeStdin(raw: Buffer): Obj {
  if (raw.length === 0 || raw.toString('utf8').trim() === '') throw new CniError(6, 'no network configuration on stdin (expected a JSON object)');
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new CniError(6, `network configuration on stdin is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(v)) throw new CniError(6, 'network configuration on stdin must be a JSON object');
  return v;
}

function optBool(o: Obj, key: string, where = ''): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`"${where}${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function optString(o: Obj, key: string, where = ''): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`"${where}${key}" must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function parseSocket(v: string | undefined, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (!v.startsWith('/') || v.includes('\0')) throw invalid(`"${field}" must be an absolute path to the weft API socket, got "${v}"`);
  return v;
}

function parseAttachments(v: unknown): CniAttachment[] {
  const key = 'cni.dev/valid-attachments';
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`"${key}" must be a list`);
  return v.map((a, i) => {
    if (!isObj(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string' || a.containerID === '' || !isValidIfname(a.ifname)) {
      throw invalid(`"${key}"[${i}] must be {"containerID": string, "ifname": interface name}`);
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}

/**
 * Decode and validate stdin for `command` run as `kind`. Order of checks: JSON (6), cniVersion
 * (6/1), verb allowed in that version (1), name and known fields (7), unsupported values (2).
 */
export function parseNetConf(raw: Buffer, command: CniCommand, kind: PluginKind): NetConf {
  const o = decodeStdin(raw);
  const cniVersion = requireSupportedVersion(o.cniVersion);
  checkVerbAllowed(command, cniVersion);
  const name = o.name;
  if (name === undefined || name === null || name === '') throw invalid('"name" (the network name) is missing');
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    throw invalid(`network "name" ${JSON.stringify(name)} must start with a letter or digit and contain only letters, digits, "_", "." and "-"`);
  }
  const type = optString(o, 'type') ?? kind;
  const ipam = o.ipam;
  if (ipam !== undefined && ipam !== null && !isObj(ipam)) throw invalid('"ipam" must be an object');
  const ipamObj: Obj = isObj(ipam) ? ipam : {};

  let mtu: number | undefined;
  if (o.mtu !== undefined && o.mtu !== null) {
    if (!Number.isInteger(o.mtu) || (o.mtu as number) < MTU_MIN || (o.mtu as number) > MTU_MAX) {
      throw invalid(`"mtu" must be an integer ${MTU_MIN}-${MTU_MAX}, got ${JSON.stringify(o.mtu)}`);
    }
    mtu = o.mtu as number;
  }
  const topSocket = parseSocket(optString(o, 'socket'), 'socket');
  let socket = topSocket;
  let defaultRoute = optBool(o, 'defaultRoute') ?? false;
  let ipamType: string | undefined;
  if (kind === 'weft-net') {
    if (optBool(o, 'ipMasq') === true) {
      throw new CniError(2, 'unsupported field "ipMasq": true — weft-net does not masquerade; expose the host on the overlay (weft expose) instead');
    }
    ipamType = optString(ipamObj, 'type', 'ipam.');
    if (ipamType !== undefined && !PLUGIN_TYPE.test(ipamType)) throw invalid(`"ipam.type" "${ipamType}" is not a plugin name`);
  } else {
    socket = parseSocket(optString(ipamObj, 'socket', 'ipam.'), 'ipam.socket') ?? topSocket;
    defaultRoute = optBool(ipamObj, 'defaultRoute', 'ipam.') ?? false;
    const foreign = FOREIGN_IPAM_FIELDS.find((f) => ipamObj[f] !== undefined);
    if (foreign) {
      throw new CniError(2, `unsupported field "ipam.${foreign}": ${JSON.stringify(ipamObj[foreign])} — weft-ipam takes addresses from the weft daemon's range (weft launch --ipalloc-range)`);
    }
  }
  const dns = parseDns(o.dns, 'invalid network configuration: "dns"');
  const prevResult = o.prevResult === undefined || o.prevResult === null ? undefined : parseResult(o.prevResult, 'invalid network configuration: "prevResult"');
  if (command === 'CHECK' && !prevResult) throw invalid('CHECK needs "prevResult" (the result of the ADD being checked)');
  const conf: NetConf = {
    cniVersion, name, type, socket: socket ?? DEFAULT_API_SOCKET, defaultRoute, raw,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(ipamType !== undefined ? { ipamType } : {}),
    ...(dns ? { dns } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
  if (command === 'GC') conf.validAttachments = parseAttachments(o['cni.dev/valid-attachments']);
  return conf;
}

/** The IPAM owner ID of one attachment: `cni/<network>/<containerID>/<ifname>`. */
export function ownerId(network: string, containerId: string, ifname: string): string {
  return `${ownerPrefix(network)}${containerId}/${ifname}`;
}

/** Prefix shared by every owner ID of a network (GC scope). */
export function ownerPrefix(network: string): string {
  return `cni/${network}/`;
}
