/**
 * IPAM: distributed IP address management as a CRDT ring of address ranges owned by peers
 * (see DESIGN.md). The whole public contract of src/ipam:
 *
 *  - {@link Ipam}: the daemon's object. Register it as the gossip channel IPAM_CHANNEL
 *    ("ipam"), pass it the channel with `setChannel()`, forward the mesh's `onPeersChanged` /
 *    `onPeerGone`, `start()` it, call the allocator API from the HTTP API / CLI / CNI, `stop()`.
 *  - {@link parseIpallocInit}: `--ipalloc-init` ("consensus=N" | "seed=A,B" | "observer").
 *  - Value types of the API (IpamStatus, IpamAllocation, …), all JSON-serialisable.
 *
 * Errors (WeftError codes): WEFT_ERR_IPAM_NOT_READY (no usable ring yet — the message says
 * why and what to do), WEFT_ERR_IPAM_EXHAUSTED (no free address anywhere reachable),
 * WEFT_ERR_IPAM_IN_USE (a requested address is held by another owner), WEFT_ERR_BAD_ARGS,
 * WEFT_ERR_NOT_FOUND (rmpeer of an unknown peer), WEFT_ERR_BAD_CONFIG / WEFT_ERR_DATA_DIR
 * (start), WEFT_ERR_CLOSED (after stop), WEFT_ERR_DECODE (malformed gossip, nothing changed).
 */
export { Ipam, type IpamOptions } from './ipam.js';
export { parseIpallocInit, validateInit } from './init.js';
export type {
  IpamInit, IpamAllocation, AllocateOptions, IpamStatus, IpamStatusKind, UnreachableOwner, RingEntryView,
  RmpeerResult, LeaveResult,
} from './types.js';
