/**
 * Flow visibility (docs/flows.md): the bounded ring of this host's flow records, the
 * recorder that makes them from kernel and sleeve events (pure; the daemon feeds it), the
 * query filter, the cluster-wide query over the mesh (`flows` gossip channel) that serves
 * `GET /flows` and its NDJSON stream, and the flow counters.
 */
export { FlowRing, FLOW_RING_DEFAULT, FLOW_RING_MIN, FLOW_RING_MAX, type FlowRingStats, type UnnumberedFlow } from './ring.js';
export { parseFlowQuery, parseDuration, matchesFlow, FLOW_QUERY_MAX_LAST, FLOW_QUERY_DEFAULT_LAST, type FlowFilter } from './filter.js';
export {
  FlowRecorder, protocolName, type FlowRecorderOptions, type FlowPodView, type FlowConntrackEvent, type FlowNflogEvent,
  type SleeveDropEvent, type FlowCounts,
} from './recorder.js';
export { FlowQueryService, FLOW_CHANNEL, mergeByTime, type FlowQueryServiceOptions } from './cluster.js';
export { decodeFlowMessage, encodeFlowMessage, encodeReplyBounded, checkFlowRecord, FLOW_MESSAGE_MAX_BYTES, type FlowMessage, type FlowRequest, type FlowReply } from './wire.js';
export { registerFlowMetrics, type FlowSocketCounts } from './metrics.js';
