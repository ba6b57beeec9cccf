/**
 * Service discovery (weaveDNS-style), the pure part: names under the weft domain
 * (`NAME.weft.local`) derived from the WorkloadDirectory's pods and from the manual records of
 * the {@link DnsRecordStore} (`weft dns-add` / `dns-remove`: LWW per name and address with
 * tombstones, on DNS_GOSSIP_CHANNEL, in src/directory's shared LwwTable), the {@link NameTable}
 * that answers name → addresses, and the query path ({@link handleQuery}: answer, forward or
 * refuse one DNS message, with the `dns-packet` library). No I/O: the daemon's DnsService owns
 * the sockets, the upstream forwarding and the persistence (docs/dns.md).
 */
export { DnsRecordStore, type DnsRecordEntry, type DnsRecordChange } from './record-store.js';
export { NameTable, type NamedWorkload, type NameAddresses } from './name-table.js';
export {
  handleQuery, servfail, checkUpstreamReply, clientUdpLimit,
  type QueryOutcome, type QueryContext, type RefusalReason, type Rcode,
} from './query.js';
export { parseResolvConf, type Upstream } from './resolv.js';
export { normalizeName, dnsNameProblem, relativeName, classifyQueryName, MAX_DNS_NAME } from './names.js';
