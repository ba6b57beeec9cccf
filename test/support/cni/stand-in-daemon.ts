/**
 * Test fixture only (never used by the plugins): an in-memory stand-in for the weft daemon's
 * network and IPAM endpoints on a real API socket, so the plugins can be run end to end without
 * a mesh. Addresses are handed out sequentially from `range`. `POST /cni` (what weft-net
 * forwards) is served by the daemon's real attach orchestration (AttachService) over real
 * netlink, with the bridge in `hostNetns` (default: the test's own namespace) and this
 * stand-in's in-memory IPAM.
 */
import { WeftError, silentLogger, type Startable } from '../../../src/common/index.js';
import { ApiServer, API_ROUTES, type NetworkInfo } from '../../../src/api/index.js';
import { AttachService, type PodAddressSource } from '../../../src/daemon/index.js';
import { HostPlumbing, netlinkKernel } from '../../../src/host/index.js';
import { formatIpv4, parseCidr } from '../../../src/net/index.js';

/** Socket, network info overrides and initial IPAM state of a stand-in. */
export interface StandInOptions {
  socketPath: string;
  network?: Partial<NetworkInfo>;
  /** IPAM state reported by /ipam/status; allocation fails with 503 unless "ready". */
  ipam?: { status: string; reason?: string };
  /** Namespace path holding the bridge (the simulated host); default the test's own. */
  hostNetns?: string;
}


/** Lifecycle: start() once, stop() idempotent. State is public for assertions. */
export class StandInDaemon implements Startable {
  readonly server: ApiServer;
  readonly network: NetworkInfo;
  ipam: { status: string; reason?: string };
  /** owner → address */
  readonly allocations = new Map<string, string>();
  /** Every request as "METHOD path". */
  readonly calls: string[] = [];
  /** The daemon's real attach orchestration, serving /cni, /attach and /detach. */
  readonly attach: AttachService;
  private next = 1;

  constructor(o: StandInOptions) {
    this.network = { bridge: 'weft', mtu: 1376, range: '10.99.0.0/16', txChecksumOff: true, ...o.network };
    this.ipam = o.ipam ?? { status: 'ready' };
    const range = parseCidr(this.network.range);
    if (range?.address.family !== 4) throw new WeftError('WEFT_ERR_BAD_ARGS', `stand-in daemon: range ${this.network.range} is not an IPv4 CIDR`);
    const prefix = range.prefixLength;
    const base = range.address.value;
    const s = this.server = new ApiServer({ socketPath: o.socketPath, logger: silentLogger() });
    const log = (m: string, p: string) => this.calls.push(`${m} ${p}`);
    const ownerOf = (body: unknown): string => {
      const owner = (body as { owner?: unknown }).owner;
      if (typeof owner !== 'string' || owner === '') throw new WeftError('WEFT_ERR_BAD_ARGS', 'missing field "owner"');
      return owner;
    };
    const reply = (owner: string) => {
      const address = this.allocations.get(owner)!;
      return { owner, address, prefixLength: prefix, cidr: `${address}/${prefix}` };
    };
    s.route('GET', API_ROUTES.status.path, () => { log('GET', API_ROUTES.status.path); return { name: '00:00:00:00:00:01', nickname: 'stand-in', peers: [] }; });
    s.route('GET', API_ROUTES.network.path, () => { log('GET', API_ROUTES.network.path); return this.network; });
    s.route('GET', API_ROUTES.ipamStatus.path, () => { log('GET', API_ROUTES.ipamStatus.path); return this.ipam; });
    s.route('POST', API_ROUTES.ipamAllocate.path, ({ body }) => {
      log('POST', API_ROUTES.ipamAllocate.path);
      const owner = ownerOf(body);
      if (this.ipam.status !== 'ready') throw new WeftError('WEFT_ERR_IPAM_NOT_READY', `IPAM not ready: ${this.ipam.reason ?? this.ipam.status}`);
      if (!this.allocations.has(owner)) this.allocations.set(owner, formatIpv4(base + this.next++));
      return reply(owner);
    });
    s.route('POST', API_ROUTES.ipamRelease.path, ({ body }) => {
      log('POST', API_ROUTES.ipamRelease.path);
      const owner = ownerOf(body);
      const a = this.allocations.get(owner);
      this.allocations.delete(owner);
      return { released: a ? [a] : [] };
    });
    s.route('GET', API_ROUTES.ipamLookup.path, ({ query }) => {
      log('GET', API_ROUTES.ipamLookup.path);
      const owner = query.get('owner') ?? '';
      return { allocations: this.allocations.has(owner) ? [reply(owner)] : [] };
    });
    const book: PodAddressSource = {
      allocate: (owner) => {
        if (this.ipam.status !== 'ready') return Promise.reject(new WeftError('WEFT_ERR_IPAM_NOT_READY', `IPAM not ready: ${this.ipam.reason ?? this.ipam.status}`));
        if (!this.allocations.has(owner)) this.allocations.set(owner, formatIpv4(base + this.next++));
        return Promise.resolve({ cidr: reply(owner).cidr });
      },
      release: (owner) => {
        const a = this.allocations.get(owner);
        this.allocations.delete(owner);
        return Promise.resolve(a ? [a] : []);
      },
      lookup: (owner) => (this.allocations.has(owner) ? [{ address: this.allocations.get(owner)!, prefixLength: prefix }] : []),
      gc: (ownerPrefix, keep) => {
        const released: { owner: string; address: string }[] = [];
        for (const [owner, address] of [...this.allocations]) {
          if (owner.startsWith(ownerPrefix) && !keep.includes(owner)) {
            this.allocations.delete(owner);
            released.push({ owner, address });
          }
        }
        return released;
      },
      state: () => this.ipam,
    };
    const kernel = netlinkKernel(o.hostNetns ? { nsPath: o.hostNetns } : {});
    this.attach = new AttachService({
      plumbing: new HostPlumbing({ bridge: this.network.bridge, log: silentLogger(), kernel }),
      network: () => Promise.resolve({ ...this.network }), addresses: () => book, log: silentLogger(),
    });
    this.attach.registerRoutes(s);
    s.route('GET', API_ROUTES.ipamAllocations.path, () => ({ allocations: [...this.allocations.keys()].map(reply) }));
    s.route('POST', API_ROUTES.ipamGc.path, ({ body }) => {
      log('POST', API_ROUTES.ipamGc.path);
      const { ownerPrefix, keep } = body as { ownerPrefix: string; keep: string[] };
      const released: { owner: string; address: string }[] = [];
      for (const [owner, address] of [...this.allocations]) {
        if (owner.startsWith(ownerPrefix) && !keep.includes(owner)) {
          this.allocations.delete(owner);
          released.push({ owner, address });
        }
      }
      return { released };
    });
  }

  start(): Promise<void> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
