/**
 * DockerPlugin: the handlers of weft's libnetwork remote network driver and remote IPAM driver
 * ("local" scope: every host's dockerd has its own `docker network create -d weft --ipam-driver
 * weft NAME`, and all of them are the one flat weft network). Addresses come from weft's IPAM,
 * interfaces from the daemon's one attach path; both are handed in (see {@link DockerPluginDeps}).
 * What Docker was given (pools, addresses, networks, endpoints) is kept in a state file so a
 * restarted daemon knows it again; `start()` reconciles it with the IPAM and the kernel.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  WeftError, describeError, DOCKER_IFNAME_PREFIX, DOCKER_IDENTITY_LOOKUP_MS, DOCKER_IDENTITY_RETRY_MAX_MS,
  DOCKER_IDENTITY_RETRY_MIN_MS, type Logger,
} from '../common/index.js';
import { loadDockerPluginProtocol, type DockerPluginPath, type DockerPluginRequest, type DockerPluginState } from '../api/index.js';
import { containerIdentity, type ContainerIdentity } from './identity.js';
import type { EngineLookup } from './engine.js';

/** Docker's option that marks the gateway request of a network (RequestAddress). */
export const GATEWAY_REQUEST = 'com.docker.network.gateway';
/** The `docker network create -o` option that turns Docker's gateway service (docker_gwbridge) off. */
export const GATEWAY_SERVICE_OPTION = 'weft.gateway-service';
/** IPAM owners of the addresses the plugin hands to Docker start with this. */
export const DOCKER_OWNER_PREFIX = 'docker/';

/** The IPAM as the plugin uses it (the daemon's IpamService). */
export interface DockerAddressSource {
  /** The range every weft network uses (the IPAM's). */
  range(): string;
  allocate(owner: string, address?: string): Promise<{ address: string; prefixLength: number }>;
  release(owner: string): Promise<string[]>;
  /** Release every owner under `prefix` not in `keep`; the released. */
  gc(prefix: string, keep: string[]): { owner: string; address: string }[];
}

/** A Join as the daemon's attach path makes it. */
export interface DockerJoinSpec {
  /** Attachment owner (`docker/endpoint/<EndpointID>`). */
  owner: string;
  sandboxKey: string;
  hostIfname: string;
  peerIfname: string;
  alias: string;
  cidr: string;
}

/** The daemon's attach path as the plugin uses it (the AttachService). */
export interface DockerEndpointPlumbing {
  /** Create the veth pair (host end on the bridge); rolls back on failure. */
  join(spec: DockerJoinSpec): Promise<{ mtu: number }>;
  /** Delete the veth pair and forget the identity; idempotent. */
  leave(owner: string, hostIfname: string): Promise<void>;
  /** Set the policy identity of a joined endpoint; false when it is not attached. */
  identify(owner: string, identity: ContainerIdentity): boolean;
  /** The host-side veth exists. */
  hostLinkExists(name: string): Promise<boolean>;
}

/** Where the state file lives (the daemon writes it atomically in the data dir). */
export interface DockerStateStore {
  load(): Promise<string | null>;
  save(text: string): Promise<void>;
}

/** Construction options of a {@link DockerPlugin}. */
export interface DockerPluginDeps {
  addresses: DockerAddressSource;
  endpoints: DockerEndpointPlumbing;
  /** Container names and labels; null: identities keep their defaults. */
  engine: EngineLookup | null;
  store: DockerStateStore;
  log: Logger;
}

type Reply = Record<string, unknown>;
type Handler<P extends DockerPluginPath> = (req: DockerPluginRequest<P>) => Promise<Reply> | Reply;
type Handlers = { [P in DockerPluginPath]: Handler<P> };

const emptyState = (): DockerPluginState => ({ version: 1, pools: {}, addresses: {}, networks: {}, endpoints: {} });

/**
 * Lifecycle: `start()` after the IPAM and the data plane started (reads the state, drops what
 * the kernel no longer has, frees addresses the state does not know), then `handle()` per
 * request, `stop()` (waits for the last state write, stops identity lookups).
 */
export class DockerPlugin {
  private state = emptyState();
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly handlers: Handlers;

  constructor(private readonly d: DockerPluginDeps) {
    this.handlers = this.buildHandlers();
  }

  async start(): Promise<void> {
    const text = await this.d.store.load();
    if (text !== null) {
      try {
        this.state = (await loadDockerPluginProtocol()).parseDockerPluginState(text);
      } catch (e) {
        this.d.log.warn({ err: describeError(e) }, 'docker: ignoring an unreadable plugin state file');
      }
    }
    const keep = Object.values(this.state.addresses).map((a) => a.owner);
    const freed = this.d.addresses.gc(DOCKER_OWNER_PREFIX, keep);
    if (freed.length > 0) this.d.log.info({ freed }, 'docker: released addresses Docker never got (a crash between allocation and reply)');
    for (const [id, ep] of Object.entries(this.state.endpoints)) {
      if (!ep.joined) continue;
      if (!(await this.d.endpoints.hostLinkExists(ep.hostIfname))) {
        this.d.log.info({ endpoint: id, hostIfname: ep.hostIfname }, 'docker: endpoint left while weft was down');
        ep.joined = false;
      } else if (!ep.identified) this.learnIdentity(id);
    }
    this.save();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.writing;
  }

  /** Joined endpoints whose veth exists, as the pod-identity reconcile lists attachments. */
  listed(): { netns: string; ifname: string; addresses: string[] }[] {
    return Object.values(this.state.endpoints).filter((e) => e.joined)
      .map((e) => ({ netns: e.sandboxKey ?? '', ifname: e.hostIfname, addresses: [e.cidr] }));
  }

  /** Answer one checked request; throws a WeftError (the server replies `{"Err": message}`). */
  async handle<P extends DockerPluginPath>(path: P, req: DockerPluginRequest<P>): Promise<Reply> {
    return this.handlers[path](req);
  }

  private buildHandlers(): Handlers {
    return {
      '/Plugin.Activate': () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
      '/NetworkDriver.GetCapabilities': () => ({ Scope: 'local' }),
      '/NetworkDriver.CreateNetwork': (r) => this.createNetwork(r),
      '/NetworkDriver.DeleteNetwork': (r) => {
        if (delete this.state.networks[r.NetworkID]) this.save();
        return {};
      },
      '/NetworkDriver.CreateEndpoint': (r) => this.createEndpoint(r),
      '/NetworkDriver.EndpointOperInfo': (r) => {
        const ep = this.endpoint(r.EndpointID);
        return { Value: { hostIfname: ep.hostIfname, address: ep.cidr, joined: ep.joined, ...(ep.container ? { container: ep.container } : {}) } };
      },
      '/NetworkDriver.DeleteEndpoint': async (r) => {
        const ep = this.state.endpoints[r.EndpointID];
        if (ep) {
          await this.d.endpoints.leave(ownerOf(r.EndpointID), ep.hostIfname);
          delete this.state.endpoints[r.EndpointID];
          this.save();
        }
        return {};
      },
      '/NetworkDriver.Join': (r) => this.join(r),
      '/NetworkDriver.Leave': async (r) => {
        const ep = this.endpoint(r.EndpointID);
        await this.d.endpoints.leave(ownerOf(r.EndpointID), ep.hostIfname);
        ep.joined = false;
        this.save();
        return {};
      },
      // Node discovery is for cluster stores; weft's mesh finds its peers itself.
      '/NetworkDriver.DiscoverNew': () => ({}),
      '/NetworkDriver.DiscoverDelete': () => ({}),
      // Port publishing needs NAT on the host; weft networks publish nothing (docs/docker.md).
      '/NetworkDriver.ProgramExternalConnectivity': () => ({}),
      '/NetworkDriver.RevokeExternalConnectivity': () => ({}),
      '/IpamDriver.GetCapabilities': () => ({ RequiresMACAddress: false, RequiresRequestReplay: false }),
      '/IpamDriver.GetDefaultAddressSpaces': () => ({ LocalDefaultAddressSpace: 'weft', GlobalDefaultAddressSpace: 'weft' }),
      '/IpamDriver.RequestPool': (r) => this.requestPool(r),
      '/IpamDriver.ReleasePool': async (r) => {
        for (const [addr, a] of Object.entries(this.state.addresses)) {
          if (a.pool !== r.PoolID) continue;
          await this.d.addresses.release(a.owner);
          delete this.state.addresses[addr];
        }
        delete this.state.pools[r.PoolID];
        this.save();
        return {};
      },
      '/IpamDriver.RequestAddress': (r) => this.requestAddress(r),
      '/IpamDriver.ReleaseAddress': async (r) => {
        const address = r.Address.split('/')[0]!;
        const a = this.state.addresses[address];
        if (!a) {
          this.d.log.debug({ address, pool: r.PoolID }, 'docker: release of an address weft did not hand out (already released)');
          return {};
        }
        await this.d.addresses.release(a.owner);
        delete this.state.addresses[address];
        this.save();
        this.d.log.info({ address, owner: a.owner }, 'docker: address released');
        return {};
      },
    };
  }

  private requestPool(r: DockerPluginRequest<'/IpamDriver.RequestPool'>): Reply {
    const range = this.d.addresses.range();
    if (r.V6) throw bad('weft\'s IPAM hands out IPv4 addresses only: create the network without --ipv6');
    if (r.Pool && r.Pool !== range) {
      throw bad(`--subnet ${r.Pool} is not weft's range ${range}: every weft network is the one flat network over that range; omit --subnet`);
    }
    if (r.SubPool) throw bad('--ip-range is not supported: weft\'s IPAM picks addresses from the whole range (omit --ip-range)');
    const id = `weft-${randomBytes(6).toString('hex')}`;
    this.state.pools[id] = { pool: range };
    this.save();
    this.d.log.info({ pool: id, range }, 'docker: pool requested');
    return { PoolID: id, Pool: range, Data: {} };
  }

  private async requestAddress(r: DockerPluginRequest<'/IpamDriver.RequestAddress'>): Promise<Reply> {
    if (!r.PoolID.startsWith('weft-')) throw bad(`pool ${r.PoolID} is not a weft pool: create the network with --ipam-driver weft`);
    this.state.pools[r.PoolID] ??= { pool: this.d.addresses.range() };
    const gateway = r.Options?.RequestAddressType === GATEWAY_REQUEST;
    const owner = `${DOCKER_OWNER_PREFIX}${r.PoolID}/${gateway ? 'gateway' : randomBytes(8).toString('hex')}`;
    const wanted = r.Address ? r.Address.split('/')[0] : undefined;
    const a = await this.d.addresses.allocate(owner, wanted);
    this.state.addresses[a.address] = { owner, pool: r.PoolID, gateway };
    this.save();
    this.d.log.info({ address: a.address, owner, gateway }, 'docker: address handed out');
    return { Address: `${a.address}/${a.prefixLength}`, Data: {} };
  }

  private createNetwork(r: DockerPluginRequest<'/NetworkDriver.CreateNetwork'>): Reply {
    const range = this.d.addresses.range();
    if ((r.IPv6Data ?? []).length > 0) throw bad('weft networks are IPv4 only: create the network without --ipv6');
    const v4 = r.IPv4Data ?? [];
    if (v4.length !== 1 || v4[0]!.Pool !== range) {
      throw bad(`a weft network uses weft's range ${range} from weft's IPAM (got ${v4.map((d) => d.Pool).join(', ') || 'no pool'}): create it with --ipam-driver weft`);
    }
    const generic = (r.Options?.['com.docker.network.generic'] ?? {}) as Record<string, unknown>;
    const opt = generic[GATEWAY_SERVICE_OPTION];
    if (opt !== undefined && opt !== 'on' && opt !== 'off') throw bad(`-o ${GATEWAY_SERVICE_OPTION}=${String(opt)}: want on or off`);
    const known = Object.keys(generic).filter((k) => k !== GATEWAY_SERVICE_OPTION);
    if (known.length > 0) throw bad(`unknown network option ${known.join(', ')}: weft knows -o ${GATEWAY_SERVICE_OPTION}=on|off`);
    this.state.networks[r.NetworkID] = { pool: v4[0]!.Pool, gatewayService: opt !== 'off' };
    this.save();
    this.d.log.info({ network: r.NetworkID, pool: v4[0]!.Pool }, 'docker: network created');
    return {};
  }

  private createEndpoint(r: DockerPluginRequest<'/NetworkDriver.CreateEndpoint'>): Reply {
    const cidr = r.Interface?.Address;
    if (!cidr) throw bad('the endpoint has no IPv4 address: create the network with --ipam-driver weft');
    if (r.Interface?.AddressIPv6) throw bad('weft networks are IPv4 only: the endpoint has an IPv6 address');
    const h = createHash('sha256').update(r.EndpointID).digest('hex').slice(0, 11);
    this.state.endpoints[r.EndpointID] = {
      network: r.NetworkID, cidr, hostIfname: `vdh${h}`, peerIfname: `vdp${h}`, joined: false, identified: false,
    };
    this.save();
    // Docker gave the address (and maybe a MAC): the reply's Interface must then stay empty.
    return {};
  }

  private async join(r: DockerPluginRequest<'/NetworkDriver.Join'>): Promise<Reply> {
    const ep = this.endpoint(r.EndpointID);
    await this.d.endpoints.join({
      owner: ownerOf(r.EndpointID), sandboxKey: r.SandboxKey, hostIfname: ep.hostIfname, peerIfname: ep.peerIfname,
      alias: `weft:docker:${r.EndpointID}`, cidr: ep.cidr,
    });
    ep.joined = true;
    ep.sandboxKey = r.SandboxKey;
    this.save();
    this.learnIdentity(r.EndpointID);
    const gatewayService = this.state.networks[r.NetworkID]?.gatewayService ?? true;
    return { InterfaceName: { SrcName: ep.peerIfname, DstPrefix: DOCKER_IFNAME_PREFIX }, DisableGatewayService: !gatewayService };
  }

  /** Ask Docker (after the Join reply: dockerd is busy with it) which container joined, with backoff. */
  private learnIdentity(endpointId: string): void {
    const engine = this.d.engine;
    if (!engine) return;
    const deadline = Date.now() + DOCKER_IDENTITY_LOOKUP_MS;
    const attempt = (delay: number): void => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.tryIdentify(engine, endpointId).then((done) => {
          if (!done && !this.stopped && Date.now() < deadline) attempt(Math.min(delay * 2, DOCKER_IDENTITY_RETRY_MAX_MS));
          else if (!done && !this.stopped) this.d.log.warn({ endpoint: endpointId }, 'docker: could not learn the container of an endpoint; it keeps a default identity');
        });
      }, delay);
      t.unref();
      this.timers.add(t);
    };
    attempt(DOCKER_IDENTITY_RETRY_MIN_MS);
  }

  /** True when finished (identified, or the endpoint is gone). */
  private async tryIdentify(engine: EngineLookup, endpointId: string): Promise<boolean> {
    const ep = this.state.endpoints[endpointId];
    if (!ep?.joined || this.stopped) return true;
    let c;
    try {
      c = await engine.containerOfEndpoint(ep.network, endpointId);
    } catch (e) {
      this.d.log.debug({ endpoint: endpointId, err: describeError(e) }, 'docker: Engine API lookup failed (will retry)');
      return false;
    }
    if (!c) return false;
    const { identity, skipped } = containerIdentity(c.name, c.labels);
    if (skipped.length > 0) this.d.log.info({ container: c.name, skipped }, 'docker: container labels that are no valid pod labels are left out of its identity');
    try {
      if (!this.d.endpoints.identify(ownerOf(endpointId), identity)) return true;
    } catch (e) {
      this.d.log.warn({ container: c.name, err: describeError(e) }, 'docker: the container\'s identity is invalid; it keeps a default identity');
      return true;
    }
    ep.identified = true;
    ep.container = c.id;
    this.save();
    return true;
  }

  private endpoint(id: string): DockerPluginState['endpoints'][string] {
    const ep = this.state.endpoints[id];
    if (!ep) throw new WeftError('WEFT_ERR_NOT_FOUND', `endpoint ${id} is unknown to weft (not created through this daemon)`);
    return ep;
  }

  private save(): void {
    if (this.stopped) return;
    const text = `${JSON.stringify(this.state)}\n`;
    this.writing = this.writing.then(() => this.d.store.save(text).catch((e: unknown) => {
      this.d.log.warn({ err: describeError(e) }, 'docker: could not save the plugin state');
    }));
  }
}

/** The attachment owner of a Docker endpoint. */
export function ownerOf(endpointId: string): string {
  return `docker-endpoint/${endpointId}`;
}

function bad(message: string): WeftError {
  return new WeftError('WEFT_ERR_BAD_ARGS', message);
}
