/**
 * What weft-net's verbs need from the daemon they run in: the one attach/detach orchestration
 * (src/daemon/attach-service.ts implements it), the network the pods join, the IPAM calls
 * CHECK, GC and STATUS make, and read access to the pod links. Types only: src/cni never
 * builds these, the daemon (or a test stand-in) passes them in.
 */
import type { NetworkInfo } from '../api/index.js';
import type { CniDns, CniRoute } from './cni-result.js';
import type { PodLinks } from './pod-link.js';

/** An address of an attachment and what came with it (from IPAM or a delegated IPAM plugin). */
export interface PodAddressing {
  /** "10.32.0.5/12" */
  cidr: string;
  gateway?: string;
  routes: CniRoute[];
  dns?: CniDns;
}

/**
 * Where an attachment's address comes from: the daemon's IPAM (for `owner`), a fixed CIDR, or
 * a caller-supplied lease (a delegated IPAM plugin). `release` of a lease is its rollback.
 */
export type AddressRequest =
  | { kind: 'ipam' }
  | { kind: 'fixed'; cidr: string }
  | { kind: 'lease'; what: string; acquire(): Promise<PodAddressing>; release(): Promise<unknown> };

/** One attachment to make (see {@link AttachBackend.attach}). */
/** The pod's policy identity as the caller knows it (validated and defaulted by the daemon). */
export interface PodIdentitySpec {
  namespace?: string;
  name?: string;
  labels?: Readonly<Record<string, string>>;
  ports?: readonly { name: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
}

export interface PodAttachSpec {
  /** IPAM owner ID of the attachment ("cni/<net>/<container>/<ifname>", "attach/<netns>/<ifname>"). */
  owner: string;
  /** Namespace path (or bare name for `weft attach`). */
  netns: string;
  ifname: string;
  address: AddressRequest;
  /** Pod interface MTU; default the daemon's. bytes */
  mtu?: number;
  /** Routes to add through the interface once it is addressed (CNI: overlay range, IPAM routes, default). */
  routes?: (a: PodAddressing) => CniRoute[];
  /**
   * True (CNI ADD): the interface must not exist yet (WEFT_ERR_HOST_EXISTS otherwise) and the
   * namespace must be another than the daemon's. False (`weft attach`): attaching again adds
   * the address to the existing endpoint.
   */
  exclusive: boolean;
  /** Policy identity (CNI: K8S_POD_NAMESPACE / K8S_POD_NAME from CNI_ARGS); defaults apply when absent. */
  identity?: PodIdentitySpec;
  /**
   * Docker's libnetwork moves the pod interface itself: create a veth pair with the host end on
   * the bridge and leave the pod end (`peerIfname`) in the daemon's namespace, unaddressed
   * (the runtime sets the address). `netns` is then only a label (Docker's sandbox key) and
   * `ifname` the host end; routes are not added (the runtime adds them).
   */
  handoff?: { hostIfname: string; peerIfname: string; alias: string };
}

/** What an attachment made. */
export interface PodAttachOutcome {
  ifname: string;
  hostIfname: string;
  hostMac: string;
  mac: string;
  mtu: number;
  addressing: PodAddressing;
  /** The routes added (after `routes()`). */
  routes: CniRoute[];
  /** The address came from the daemon's IPAM. */
  allocated: boolean;
}

/** One detachment (see {@link AttachBackend.detach}). */
export interface PodDetachSpec {
  owner: string;
  /** "" or a path that is gone: only `hostLinks` are deleted. */
  netns: string;
  ifname: string;
  /** Host-side veths a prevResult names (deleted only when weft put them on its bridge). */
  hostLinks?: string[];
  /** Release from the daemon's IPAM (default), or run this (delegated IPAM DEL). */
  release?: () => Promise<unknown>;
}

/** The daemon's IPAM as CNI CHECK, GC and STATUS use it. */
export interface CniAddressBook {
  lookup(owner: string): Promise<{ address: string; prefixLength: number }[]>;
  gc(ownerPrefix: string, keep: string[]): Promise<{ owner: string; address: string }[]>;
  /** null when IPAM is not available on this daemon. */
  readiness(): { status: string; reason?: string } | null;
}

/**
 * The daemon side of weft-net. Guarantees of `attach`: on any failure nothing of the
 * attachment is left (no veth, address, route or allocation); `detach` is idempotent and
 * succeeds when there is nothing left to remove.
 */
export interface AttachBackend {
  network(): Promise<NetworkInfo>;
  attach(spec: PodAttachSpec): Promise<PodAttachOutcome>;
  detach(spec: PodDetachSpec): Promise<{ detached: boolean; released: string[] }>;
  addresses: CniAddressBook;
  /** Pod link reads and GC deletes on the daemon's bridge. */
  links(): PodLinks;
  /** Environment for delegated plugins (PATH of the daemon; the CNI_* variables are added per call). */
  delegateEnv(): NodeJS.ProcessEnv;
}
