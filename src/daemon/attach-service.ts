import { WeftError, describeError, type Logger } from '../common/index.js';
import { API_ROUTES, type ApiServer, type NetworkInfo } from '../api/index.js';
import { resolveNetns, type HostPlumbing } from '../host/index.js';
import {
  PodLinks, answerCni, netnsPresent, netnsProblem, weftNetVerbs, type AttachBackend, type CniPlugin, type PodAddressing, type PodAttachOutcome,
  type PodAttachSpec, type PodDetachSpec, type PodIdentitySpec,
} from '../cni/index.js';
import { cidrNetwork, formatCidr, parseCidr } from '../net/index.js';
import { podIdentity, type PodIdentities } from './pod-identities.js';

/** The IPAM as attachments use it (IpamService implements it). */
export interface PodAddressSource {
  /** Idempotent per owner. */
  allocate(owner: string): Promise<{ cidr: string }>;
  /** Every address of `owner`; resolves with the released addresses. */
  release(owner: string): Promise<string[]>;
  lookup(owner: string): { address: string; prefixLength: number }[];
  /** Release every owner under `ownerPrefix` not in `keep`. */
  gc(ownerPrefix: string, keep: string[]): { owner: string; address: string }[];
  /** Readiness ("ready", or why not). */
  state(): { status: string; reason?: string };
}

/** Construction options of an {@link AttachService}. */
export interface AttachServiceOptions {
  plumbing: HostPlumbing;
  /** The network pods join (bridge, MTU, range, gateway, TX checksum setting), read per call. */
  network(): Promise<NetworkInfo>;
  /** The IPAM; null while this daemon has none. */
  addresses(): PodAddressSource | null;
  log: Logger;
  /** Called after every attachment or detachment (fast paths may want to look again). */
  onEndpointsChanged?: () => void;
  /** Where pod identities are kept (policy); null: identities are not recorded. */
  pods?: PodIdentities | null;
}

/**
 * The one attach path of the daemon, shared by `weft attach` (`POST /attach`, `/detach`) and
 * the CNI plugin (`POST /cni`): allocate (IPAM, a fixed CIDR or a delegated IPAM lease), plumb
 * (veth into the namespace, address, MTU, TX offload, bridge port, routes) and, on any
 * failure, undo every step taken in reverse (no veth, address or allocation left). Detach is
 * idempotent. Calls for the same (namespace, interface) are serialised; different pods run
 * concurrently. Stateless beyond that: everything lives in the kernel and the IPAM, so it has
 * no start/stop.
 */
export class AttachService {
  private readonly links: PodLinks;
  private readonly verbs: CniPlugin;
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly o: AttachServiceOptions) {
    this.links = new PodLinks(o.plumbing, o.log);
    this.verbs = weftNetVerbs(this.backend());
  }

  /** Attach (see {@link PodAttachSpec}); throws a WeftError after rolling back. */
  attach(spec: PodAttachSpec): Promise<PodAttachOutcome> {
    return this.serialised(keyOf(spec.netns, spec.ifname), () => this.attachNow(spec));
  }

  /** Detach (see {@link PodDetachSpec}); idempotent. */
  detach(spec: PodDetachSpec): Promise<{ detached: boolean; released: string[] }> {
    return this.serialised(keyOf(spec.netns, spec.ifname), () => this.detachNow(spec));
  }

  /**
   * Replace the policy identity of an attachment that exists (Docker: the container's name and
   * labels, learned from the Engine API after Join). False when `owner` has no attachment;
   * WEFT_ERR_BAD_ARGS for an invalid identity.
   */
  identify(owner: string, identity: PodIdentitySpec): boolean {
    const rec = this.o.pods?.get(owner);
    if (!rec) return false;
    const id = podIdentity(identity, rec.netns);
    for (const ip of rec.pod.ips) this.o.pods?.record(owner, rec.netns, rec.ifname, id, ip);
    this.o.log.info({ owner, pod: `${id.namespace}/${id.name}` }, 'attach: identity updated');
    return true;
  }

  /** Serve `/attach`, `/detach` (weft attach/detach) and `/cni` (the weft-net front ends). */
  registerRoutes(api: ApiServer): void {
    api.handle(API_ROUTES.attach, async ({ request: { netns, ifname = 'ethwe', ip, namespace, name, labels, ports } }) => {
      const identity = { namespace, name, labels, ports };
      const out = await this.attach({
        owner: `attach/${netns}/${ifname}`, netns, ifname, exclusive: false,
        address: ip ? { kind: 'fixed', cidr: ip } : { kind: 'ipam' }, identity,
      });
      const nsPath = resolveNetns(netns);
      const pod = this.o.pods?.find(nsPath, ifname)?.pod ?? { ...podIdentity(identity, nsPath), ips: [] };
      return {
        ifname: out.ifname, hostIfname: out.hostIfname, hostMac: out.hostMac, mac: out.mac,
        cidr: out.addressing.cidr, mtu: out.mtu, allocated: out.allocated,
        pod: { namespace: pod.namespace, name: pod.name, labels: { ...pod.labels }, ports: pod.ports.map((p) => ({ ...p })) },
      };
    });
    api.handle(API_ROUTES.detach, ({ request: { netns, ifname = 'ethwe' } }) =>
      this.detach({ owner: `attach/${netns}/${ifname}`, netns: resolveNetns(netns), ifname }));
    api.handle(API_ROUTES.cni, async ({ request }) => {
      const a = await answerCni(this.verbs, request, this.o.log.child({ component: 'cni' }));
      return { exitCode: a.exitCode === 0 ? 0 : 1, output: a.output };
    });
  }

  private async attachNow(spec: PodAttachSpec): Promise<PodAttachOutcome> {
    const { log, plumbing } = this.o;
    const nsPath = spec.handoff ? spec.netns : resolveNetns(spec.netns);
    if (!spec.handoff) await checkPodNetns(nsPath);
    // Attaching again without naming an identity keeps the one recorded.
    const given = spec.identity && Object.values(spec.identity).some((v) => v !== undefined) ? spec.identity : undefined;
    const kept = given ? undefined : this.o.pods?.get(spec.owner)?.pod;
    const identity = kept ?? podIdentity(given ?? {}, spec.netns.startsWith('/') ? nsPath : spec.netns);
    const net = await this.o.network();
    if (spec.exclusive && !spec.handoff && await plumbing.interfaceExists(nsPath, spec.ifname)) {
      throw new WeftError('WEFT_ERR_IF_EXISTS', `interface ${spec.ifname} already exists in ${spec.netns}; choose another CNI_IFNAME or DEL the attachment first`);
    }
    const undo: { what: string; run: () => Promise<unknown> }[] = [];
    try {
      const { addressing, allocated } = await this.address(spec, net, undo);
      const mtu = spec.mtu ?? net.mtu;
      const routes = spec.routes?.(addressing) ?? [];
      const ep = spec.handoff
        ? await plumbing.handoff({ ...spec.handoff, mtu, txOff: net.txChecksumOff })
        : await plumbing.attach({ netns: nsPath, ifname: spec.ifname, cidr: addressing.cidr, mtu, txOff: net.txChecksumOff });
      if (ep.created) undo.push({ what: `deleting ${ep.hostIfname}`, run: () => plumbing.deleteHostLink(ep.hostIfname) });
      // The connected route of the address already covers its own network.
      const c = parseCidr(addressing.cidr);
      const connected = c ? formatCidr(cidrNetwork(c)) : addressing.cidr;
      const extra = routes.filter((r) => r.gw !== undefined || r.dst !== connected);
      if (extra.length > 0 && !spec.handoff) await plumbing.addPodRoutes(nsPath, spec.ifname, extra);
      this.o.pods?.record(spec.owner, nsPath, spec.ifname, identity, addressing.cidr.split('/')[0]!);
      log.info({ owner: spec.owner, cidr: addressing.cidr, hostIfname: ep.hostIfname, pod: `${identity.namespace}/${identity.name}` }, 'attach: attached');
      this.o.onEndpointsChanged?.();
      return { ifname: spec.ifname, hostIfname: ep.hostIfname, hostMac: ep.hostMac, mac: ep.mac, mtu, addressing, routes, allocated };
    } catch (e) {
      for (const u of undo.reverse()) {
        try {
          await u.run();
        } catch (ue) {
          log.warn({ owner: spec.owner, err: describeError(ue) }, `attach: rollback step failed: ${u.what}`);
        }
      }
      throw e;
    }
  }

  /** The attachment's address; registers its rollback in `undo` before asking (a lost reply is undone too). */
  private async address(spec: PodAttachSpec, net: NetworkInfo, undo: { what: string; run: () => Promise<unknown> }[]): Promise<{ addressing: PodAddressing; allocated: boolean }> {
    const gw = net.gateway ? { gateway: net.gateway } : {};
    const a = spec.address;
    if (a.kind === 'fixed') return { addressing: { cidr: a.cidr, routes: [], ...gw }, allocated: false };
    if (a.kind === 'lease') {
      undo.push({ what: `${a.what} release`, run: () => a.release() });
      return { addressing: await a.acquire(), allocated: false };
    }
    const src = this.o.addresses();
    if (!src) throw new WeftError('WEFT_ERR_IPAM_NOT_READY', 'no address given and IPAM is not available on this peer: pass --ip CIDR');
    // weft attach again on an attached namespace keeps the owner's existing address on failure.
    const held = !spec.exclusive && src.lookup(spec.owner).length > 0;
    if (!held) undo.push({ what: `release of ${spec.owner}`, run: () => src.release(spec.owner) });
    return { addressing: { cidr: (await src.allocate(spec.owner)).cidr, routes: [], ...gw }, allocated: true };
  }

  private async detachNow(spec: PodDetachSpec): Promise<{ detached: boolean; released: string[] }> {
    let detached = false;
    if (spec.netns !== '' && await netnsPresent(spec.netns)) {
      detached = await this.o.plumbing.detach(spec.netns, spec.ifname);
    } else {
      for (const name of spec.hostLinks ?? []) detached = (await this.links.deleteHostVeth(name)) || detached;
    }
    let released: string[] = [];
    if (spec.release) await spec.release();
    else released = (await this.o.addresses()?.release(spec.owner)) ?? [];
    this.o.pods?.remove(spec.owner);
    if (detached || released.length > 0) {
      this.o.log.info({ owner: spec.owner, detached, released }, 'attach: detached');
      this.o.onEndpointsChanged?.();
    }
    return { detached, released };
  }

  private backend(): AttachBackend {
    const src = () => this.o.addresses();
    return {
      network: () => this.o.network(),
      attach: (s) => this.attach(s),
      detach: (s) => this.detach(s),
      addresses: {
        lookup: (owner) => Promise.resolve(src()?.lookup(owner) ?? []),
        gc: (prefix, keep) => Promise.resolve((src()?.gc(prefix, keep) ?? []).map((r) => ({ owner: r.owner, address: r.address.split('/')[0]! }))),
        readiness: () => src()?.state() ?? null,
      },
      links: () => this.links,
      delegateEnv: () => ({ PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }),
    };
  }

  /** Run `fn` after every earlier call for `key` settled. */
  private async serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(key);
    const run = (prev ? prev.then(() => undefined, () => undefined) : Promise.resolve()).then(fn);
    this.busy.set(key, run);
    try {
      return await run;
    } finally {
      if (this.busy.get(key) === run) this.busy.delete(key);
    }
  }
}

/** The serialisation key of an attachment: resolved namespace path and interface name. */
function keyOf(netns: string, ifname: string): string {
  let path = netns;
  try {
    path = resolveNetns(netns);
  } catch { /* invalid: the call itself reports it */ }
  return `${path}|${ifname}`;
}

/**
 * `path` must be a network namespace other than the daemon's own: WEFT_ERR_NETNS_NOT_FOUND
 * when it does not exist, WEFT_ERR_NETNS_INVALID when it is something else.
 */
async function checkPodNetns(path: string): Promise<void> {
  const p = await netnsProblem(path);
  if (!p) return;
  switch (p.kind) {
    case 'missing': throw new WeftError('WEFT_ERR_NETNS_NOT_FOUND', `network namespace ${path} does not exist`);
    case 'unopenable': throw new WeftError('WEFT_ERR_NETNS_INVALID', `network namespace ${path} cannot be opened: ${p.errno}`);
    case 'not-netns': throw new WeftError('WEFT_ERR_NETNS_INVALID', `${path} is not a network namespace (expected /proc/PID/ns/net or a bind mount of one, like /run/netns/NAME)`);
    case 'own': throw new WeftError('WEFT_ERR_NETNS_INVALID', `${path} is the weft daemon's own (host) network namespace; it must be the pod's`);
  }
}
