/**
 * Test fixture only (never used by the plugins): an in-memory stand-in for the weft daemon's
 * network and IPAM endpoints on a real API socket, so the plugins can be run end to end without
 * a mesh. Addresses are handed out sequentially from `range`.
 */
import { WeftError, silentLogger, type Startable } from '../../../src/common/index.js';
import { ApiServer, ROUTES, type NetworkInfo, type StatusReport, type IpamStatusReport } from '../../../src/api/index.js';
import { formatIpv4, parseCidr } from '../../../src/net/index.js';

/** Socket, network info overrides and initial IPAM state of a stand-in. */
export interface StandInOptions {
  socketPath: string;
  network?: Partial<NetworkInfo>;
  /** IPAM state reported by /ipam/status; allocation fails with 503 unless "ready". */
  ipam?: { status: string; reason?: string };
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
  private next = 1;

  constructor(o: StandInOptions) {
    this.network = { bridge: 'weft', mtu: 1376, range: '10.99.0.0/16', txChecksumOff: true, ...o.network };
    this.ipam = o.ipam ?? { status: 'ready' };
    const range = parseCidr(this.network.range);
    if (range?.address.family !== 4) throw new WeftError('WEFT_ERR_BAD_ARGS', `stand-in daemon: range ${this.network.range} is not an IPv4 CIDR`);
    const prefix = range.prefixLength;
    const base = range.address.value;
    const s = this.server = new ApiServer({ socketPath: o.socketPath, logger: silentLogger() });
    const log = (spec: { method: string; path: string }) => this.calls.push(`${spec.method} ${spec.path}`);
    const reply = (owner: string) => {
      const address = this.allocations.get(owner)!;
      return { owner, address, prefixLength: prefix, cidr: `${address}/${prefix}` };
    };
    s.serve(ROUTES.status, () => {
      log(ROUTES.status);
      return { name: '00:00:00:00:00:01', nickname: 'stand-in', version: '0', protocol: { min: 1, max: 1 }, encrypted: false, port: 0, uid: '1', peers: [], connections: [], targets: [] } satisfies StatusReport;
    });
    s.serve(ROUTES.network, () => { log(ROUTES.network); return this.network; });
    s.serve(ROUTES.ipamStatus, () => {
      log(ROUTES.ipamStatus);
      return {
        status: this.ipam.status as IpamStatusReport['status'], ...(this.ipam.reason !== undefined ? { reason: this.ipam.reason } : {}),
        self: '00:00:00:00:00:01', nickname: 'stand-in', range: this.network.range, mode: 'consensus' as const, owned: 0, free: 0, allocated: this.allocations.size,
        pending: 0, unreachable: [], conflicts: {}, removedPeers: [], awaitingReclaim: [], entries: [],
      };
    });
    s.serve(ROUTES.allocate, ({ input: { owner } }) => {
      log(ROUTES.allocate);
      if (this.ipam.status !== 'ready') throw new WeftError('WEFT_ERR_IPAM_NOT_READY', `IPAM not ready: ${this.ipam.reason ?? this.ipam.status}`);
      if (!this.allocations.has(owner)) this.allocations.set(owner, formatIpv4(base + this.next++));
      return reply(owner);
    });
    s.serve(ROUTES.release, ({ input: { owner } }) => {
      log(ROUTES.release);
      const a = this.allocations.get(owner);
      this.allocations.delete(owner);
      return { released: a ? [a] : [] };
    });
    s.serve(ROUTES.lookup, ({ input: { owner } }) => {
      log(ROUTES.lookup);
      if (!this.allocations.has(owner)) throw new WeftError('WEFT_ERR_NO_ALLOCATION', `no address is allocated to ${owner}`);
      const { address, prefixLength, cidr } = reply(owner);
      return { owner, addresses: [{ address, prefixLength, cidr }] };
    });
    s.serve(ROUTES.allocations, () => ({ allocations: [...this.allocations.keys()].map(reply) }));
    s.serve(ROUTES.gc, ({ input: { ownerPrefix, keep } }) => {
      log(ROUTES.gc);
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
