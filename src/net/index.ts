/**
 * Network identifiers and their encodings, shared by every subsystem: IP addresses and CIDRs
 * (IPv4 and IPv6, one strict parser), peer names (the one parser and printer), and the
 * bounds-checked binary codec every wire format is written with. Pure: no I/O, depends only on
 * src/common.
 */
export {
  parseIp, formatIp, isIp, parseIpv4, formatIpv4, parseIpv6, formatIpv6, isIpv4Mapped,
  parseCidr, formatCidr, isCidr, cidrNetwork, isNetworkCidr, cidrContains, cidrSize,
  type IpFamily, type IpAddress, type Cidr,
} from './ip.js';
export {
  isPeerName, parsePeerName, comparePeerNames, peerNameToBytes, peerNameFromBytes,
  peerNameToNumber, peerNameFromNumber, type PeerName,
} from './peer-name.js';
export { Reader, Writer } from './codec.js';
