/**
 * The kernel edge: the only code that changes the kernel. Links (bridge, veth, TAP, VXLAN),
 * addresses, routes, neighbours and bridge FDB entries go over rtnetlink from the native
 * addon; work inside a pod's namespace uses a netlink socket opened in that namespace (a
 * short-lived setns thread in the addon, never an nsenter process); ethtool and TAP creation
 * are ioctls; sysctls of the daemon's namespace are /proc/sys writes; nftables changes are one
 * `nft -f -` transaction per change set. Errors are typed by errno: WEFT_ERR_HOST_EXISTS,
 * WEFT_ERR_HOST_NO_DEVICE, WEFT_ERR_HOST_NOT_FOUND, WEFT_ERR_HOST_BUSY, WEFT_ERR_HOST_PERMISSION,
 * else WEFT_ERR_HOST (the kernel's extended-ack text in the message).
 *
 * Everything takes a {@link Kernel} (default {@link netlinkKernel}); unit tests pass an
 * in-memory one implementing the same interface.
 */
export { HostPlumbing, type HostPlumbingOptions } from './plumbing.js';
export type { AttachedEndpoint, ListedEndpoint, AttachOptions, HandoffOptions, PodInterfaceState } from './endpoints.js';
export { netlinkKernel, type Kernel, type RtnlOps } from './kernel.js';
export { Rtnl, ignoreMissing, type LinkChange, type RouteSpec, type FdbSpec } from './rtnl.js';
export type { LinkRecord, AddrRecord, RouteRecord, NeighRecord } from './rtnl-messages.js';
export { NetlinkMonitor, type NetlinkEvent, type NetlinkMonitorOptions } from './netlink-monitor.js';
export { LocalStateWatcher, relevant as relevantLocalChange, type LocalWatcher, type LocalWatchHandlers, type LocalChange, type LocalStateWatcherOptions } from './local-watcher.js';
export { resolveNetns, vethNames, IFNAME_MAX } from './netns.js';
export { VxlanEdge, localMacsFrom, probeEspTransport, type VxlanEdgeOptions, type LocalFdbEntry } from './vxlan.js';
export { PolicyEdge, type PolicyEdgeOptions, type PolicyDropCounter, type PolicyApplyResult } from './policy-edge.js';
export {
  policyNftState, policyNftScript, peerIntervals, portElements, nftId, FORWARD_RULES,
  type PolicyNftState, type PolicyNftDiff, type NftSet, type NftCounter, type CounterSeeds,
} from './policy-nft.js';
export {
  NftNetlink, encodeElementBatch, nftElementKey, elementChangeScript,
  type NftElementChange, type NftFamily, type NftBatch,
} from './nft-netlink.js';
export { HostGwEdge, underlayRoute, hookChain, nftObjects, policedToPeerRule, TO_PEER_RULE, TO_POD_RULE, type HostGwEdgeOptions, type HostGwEntries, type UnderlayRoute } from './hostgw.js';
export {
  NATIVE_ABI_VERSION, NATIVE_FUNCTIONS, loadNativeAddon, nativeAddonPath, nativeArity,
  type NativeAddon, type NativeFunctionName, type NativeFunctionSpec, type AeadHandle, type PollHandle,
} from './native-addon.js';
export {
  NetfilterEvents, PodConntrack, nflogListener, nflogBindRequest, FLOW_NFT_TABLE,
  type NetfilterEventStats, type NetfilterEventsOptions, type PodConntrackOptions,
} from './flow-sockets.js';
export {
  decodeConntrackEvent, decodeNflogRecord, decodePacketHeader,
  type ConntrackEvent, type CtTuple, type NflogRecord, type PacketHeader,
} from './nfnl-messages.js';
