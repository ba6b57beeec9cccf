/**
 * Docker's plugin protocol as weft serves it (libnetwork's remote network driver and remote IPAM
 * driver, `application/vnd.docker.plugins.v1.2+json`): every endpoint's path and the typebox
 * schema of its request body. Docker adds fields over its releases, so objects accept unknown
 * properties; the fields weft reads are checked. The handlers live in src/docker/.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { WeftError } from '../common/index.js';


const Id = Type.String({ minLength: 1, maxLength: 256 });
const Options = Type.Record(Type.String(), Type.Unknown());
const Empty = Type.Union([Type.Null(), Type.Object({})]);

const IpData = Type.Object({
  AddressSpace: Type.Optional(Type.String({ maxLength: 256 })),
  Pool: Type.String({ maxLength: 64 }),
  Gateway: Type.Optional(Type.String({ maxLength: 64 })),
  AuxAddresses: Type.Optional(Type.Union([Type.Null(), Type.Record(Type.String(), Type.String())])),
});

const EndpointInterface = Type.Object({
  Address: Type.Optional(Type.String({ maxLength: 64 })),
  AddressIPv6: Type.Optional(Type.String({ maxLength: 64 })),
  MacAddress: Type.Optional(Type.String({ maxLength: 32 })),
});

const NetworkEndpoint = Type.Object({ NetworkID: Id, EndpointID: Id });
const Discovery = Type.Object({ DiscoveryType: Type.Integer(), DiscoveryData: Type.Optional(Type.Unknown()) });
const ExternalConnectivity = Type.Object({ NetworkID: Id, EndpointID: Id, Options: Type.Optional(Type.Union([Type.Null(), Options])) });

/** Request body schema of every endpoint, by path. */
export const DOCKER_PLUGIN_REQUESTS = {
  '/Plugin.Activate': Empty,
  '/NetworkDriver.GetCapabilities': Empty,
  '/NetworkDriver.CreateNetwork': Type.Object({
    NetworkID: Id,
    Options: Type.Optional(Type.Union([Type.Null(), Options])),
    IPv4Data: Type.Optional(Type.Union([Type.Null(), Type.Array(IpData, { maxItems: 16 })])),
    IPv6Data: Type.Optional(Type.Union([Type.Null(), Type.Array(IpData, { maxItems: 16 })])),
  }),
  '/NetworkDriver.DeleteNetwork': Type.Object({ NetworkID: Id }),
  '/NetworkDriver.CreateEndpoint': Type.Object({
    NetworkID: Id, EndpointID: Id,
    Options: Type.Optional(Type.Union([Type.Null(), Options])),
    Interface: Type.Optional(Type.Union([Type.Null(), EndpointInterface])),
  }),
  '/NetworkDriver.EndpointOperInfo': NetworkEndpoint,
  '/NetworkDriver.DeleteEndpoint': NetworkEndpoint,
  '/NetworkDriver.Join': Type.Object({
    NetworkID: Id, EndpointID: Id, SandboxKey: Type.String({ minLength: 1, maxLength: 4096 }),
    Options: Type.Optional(Type.Union([Type.Null(), Options])),
  }),
  '/NetworkDriver.Leave': NetworkEndpoint,
  '/NetworkDriver.DiscoverNew': Discovery,
  '/NetworkDriver.DiscoverDelete': Discovery,
  '/NetworkDriver.ProgramExternalConnectivity': ExternalConnectivity,
  '/NetworkDriver.RevokeExternalConnectivity': NetworkEndpoint,
  '/IpamDriver.GetCapabilities': Empty,
  '/IpamDriver.GetDefaultAddressSpaces': Empty,
  '/IpamDriver.RequestPool': Type.Object({
    AddressSpace: Type.Optional(Type.String({ maxLength: 256 })),
    Pool: Type.Optional(Type.String({ maxLength: 64 })),
    SubPool: Type.Optional(Type.String({ maxLength: 64 })),
    Options: Type.Optional(Type.Union([Type.Null(), Type.Record(Type.String(), Type.String())])),
    V6: Type.Optional(Type.Boolean()),
  }),
  '/IpamDriver.ReleasePool': Type.Object({ PoolID: Id }),
  '/IpamDriver.RequestAddress': Type.Object({
    PoolID: Id,
    Address: Type.Optional(Type.String({ maxLength: 64 })),
    Options: Type.Optional(Type.Union([Type.Null(), Type.Record(Type.String(), Type.String())])),
  }),
  '/IpamDriver.ReleaseAddress': Type.Object({ PoolID: Id, Address: Type.String({ minLength: 1, maxLength: 64 }) }),
} as const satisfies Record<string, TSchema>;

/** A path Docker calls. */
export type DockerPluginPath = keyof typeof DOCKER_PLUGIN_REQUESTS;
/** The checked request body of `P`. */
export type DockerPluginRequest<P extends DockerPluginPath> = Static<(typeof DOCKER_PLUGIN_REQUESTS)[P]>;

/** Every path, in the order of the protocol documents. */
export const DOCKER_PLUGIN_PATHS = Object.keys(DOCKER_PLUGIN_REQUESTS) as DockerPluginPath[];

/** True when `path` is an endpoint of the protocol. */
export function isDockerPluginPath(path: string): path is DockerPluginPath {
  return Object.hasOwn(DOCKER_PLUGIN_REQUESTS, path);
}

const compiled = new Map<DockerPluginPath, TypeCheck<TSchema>>();

/**
 * Throws WEFT_ERR_BAD_ARGS with one line naming the first bad field when `body` is not a
 * request of `path`: `bad request to /NetworkDriver.Join: field "SandboxKey": Expected string`.
 */
export function checkDockerRequest<P extends DockerPluginPath>(path: P, body: unknown): asserts body is DockerPluginRequest<P> {
  let c = compiled.get(path);
  if (!c) {
    c = TypeCompiler.Compile(DOCKER_PLUGIN_REQUESTS[path]);
    compiled.set(path, c);
  }
  if (c.Check(body)) return;
  const first = c.Errors(body).First();
  const field = first ? first.path.split('/').slice(1).join('.') : '';
  const msg = first ? first.message : 'does not match its schema';
  throw new WeftError('WEFT_ERR_BAD_ARGS', `bad request to ${path}: ${field ? `field "${field}": ` : ''}${msg}`.replace(/[\r\n]+/g, ' '));
}

/** The Docker plugin's state file (`docker-plugin.json` in the data dir), checked when read back. */
export const DOCKER_PLUGIN_STATE = Type.Object({
  version: Type.Literal(1),
  /** IPAM pools handed to Docker (one per `docker network create`), by pool ID. */
  pools: Type.Record(Type.String(), Type.Object({ pool: Type.String() })),
  /** Addresses handed to Docker, by address: the IPAM owner and the pool. */
  addresses: Type.Record(Type.String(), Type.Object({ owner: Type.String(), pool: Type.String(), gateway: Type.Boolean() })),
  /** Networks of the weft driver, by network ID. */
  networks: Type.Record(Type.String(), Type.Object({ pool: Type.String(), gatewayService: Type.Boolean() })),
  /** Endpoints, by endpoint ID. */
  endpoints: Type.Record(Type.String(), Type.Object({
    network: Type.String(), cidr: Type.String(), hostIfname: Type.String(), peerIfname: Type.String(),
    sandboxKey: Type.Optional(Type.String()), joined: Type.Boolean(), identified: Type.Boolean(),
    container: Type.Optional(Type.String()),
  })),
});
/** What {@link DOCKER_PLUGIN_STATE} describes. */
export type DockerPluginState = Static<typeof DOCKER_PLUGIN_STATE>;

let stateCheck: TypeCheck<typeof DOCKER_PLUGIN_STATE> | null = null;

/** The state decoded from `text`, or WEFT_ERR_DECODE naming the first bad field. */
export function parseDockerPluginState(text: string): DockerPluginState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new WeftError('WEFT_ERR_DECODE', `not JSON: ${(e as Error).message}`);
  }
  stateCheck ??= TypeCompiler.Compile(DOCKER_PLUGIN_STATE);
  if (stateCheck.Check(doc)) return doc;
  const first = stateCheck.Errors(doc).First();
  throw new WeftError('WEFT_ERR_DECODE', `field "${first?.path ?? ''}": ${first?.message ?? 'does not match'}`);
}
