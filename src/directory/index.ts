/**
 * Mesh mode's replicated inputs of network policy, both pure gossipers the daemon feeds and
 * drives (no I/O): the {@link WorkloadDirectory} (which pods, with which identities and
 * addresses, run on which host; one versioned record per host on WORKLOAD_GOSSIP_CHANNEL) and
 * the {@link PolicyStore} (NetworkPolicy and Namespace objects, last-writer-wins per object with
 * tombstones, on POLICY_GOSSIP_CHANNEL; persisted by the daemon). Everything decoded from a peer
 * or a file is validated again (object-check.ts) before it is kept. The last-writer-wins table
 * under the policy store ({@link LwwTable}) is shared with src/dns's manual records.
 */
export {
  WorkloadDirectory, encodeWorkloads, decodeWorkloads, encodeDigest, decodeWorkloadMessage, type WorkloadRecord, type WorkloadMessage,
} from './workload-directory.js';
export {
  PolicyStore, compareEntries, encodePolicyEntries, decodePolicyEntries,
  type PolicyStamp, type PolicyStoreEntry, type PolicyStoreChange,
} from './policy-store.js';
export { LwwTable, type LwwSchema, type LwwStamp, type LwwWrite } from './lww-table.js';
export { checkPolicyObject, checkNamespace, checkPod, canonicalJson, type AnnouncedPod } from './object-check.js';
export { encodeEnvelope, decodeEnvelope, type EnvelopeKind } from './envelope.js';
export {
  MAX_POD_LABELS, MAX_POD_PORTS, namespaceNameProblem, podNameProblem, labelsProblem, podPortProblem, podPortsProblem,
  parsePodPort, parseLabelArg,
} from './identity-syntax.js';
