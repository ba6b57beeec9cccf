/**
 * API contract for address management and pod plumbing (used by `weft attach`, the CNI
 * plugins and GC). All paths are on the daemon's unix socket. Errors use the standard body
 * `{ error: { code, message } }`; while IPAM is not ready, allocation answers 503 with code
 * WEFT_ERR_IPAM_NOT_READY and a reason (never blocks).
 */

/** Owner IDs are opaque strings ≤ 256 bytes; CNI uses `cni/<network>/<containerID>/<ifname>`. */
export interface AllocateRequest {
  owner: string;
  /** Ask for this specific address (must be inside the range and free or already ours). */
  address?: string;
}

export interface AllocateReply {
  owner: string;
  /** e.g. "10.32.0.5" */
  address: string;
  prefixLength: number;
  /** address/prefixLength, e.g. "10.32.0.5/12" */
  cidr: string;
}

export interface ReleaseRequest {
  owner: string;
  /** Release only this address of the owner (default: all of them). */
  address?: string;
}

export interface ReleaseReply {
  released: string[];
}

/** Free every allocation whose owner starts with `ownerPrefix` and is not in `keep`. */
export interface GcRequest {
  ownerPrefix: string;
  keep: string[];
}

export interface GcReply {
  released: { owner: string; address: string }[];
}

/** `GET /network`: what a plugin needs to plumb a pod onto this host's overlay. */
export interface NetworkInfo {
  /** Linux bridge pods attach to (e.g. "weft"). */
  bridge: string;
  /** MTU for pod interfaces. bytes */
  mtu: number;
  /** The overlay's address range (e.g. "10.32.0.0/12"); pods get a route for it. */
  range: string;
  /** Host's address on the overlay (if exposed), usable as a default gateway. */
  gateway?: string;
  /** Whether pod veths need TX checksum offload off (frames pass through userspace). */
  txChecksumOff: boolean;
}

export const IPAM_PATHS = {
  allocate: '/ipam/allocate',
  release: '/ipam/release',
  lookup: '/ipam/lookup', // GET ?owner=…
  gc: '/ipam/gc',
  list: '/ipam/allocations',
  status: '/ipam/status',
  network: '/network',
} as const;
