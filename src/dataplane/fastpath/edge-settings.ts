/**
 * The fast path's device identity, as plain data: what the daemon passes to src/host's
 * VxlanEdge when it builds the switch's edges (device names, VNIs, port, MTU, the probe
 * device's MAC and address). Pure: no I/O.
 */
import {
  DEFAULT_UNDERLAY_MTU, FASTPATH_DATA_VNI, FASTPATH_PROBE_ADDR, FASTPATH_PROBE_DEVICE, FASTPATH_PROBE_PREFIX,
  FASTPATH_PROBE_VNI, FASTPATH_VXLAN_DEVICE, VXLAN_OVERHEAD_BYTES,
} from '../../common/index.js';
import { peerNameFromNumber, peerNameToNumber, type PeerName } from '../../net/index.js';
import { probeMacOf } from './probe-wire.js';

/** MTU of the VXLAN data device (and the largest pod MTU a VXLAN path carries). bytes */
export const VXLAN_DEVICE_MTU = DEFAULT_UNDERLAY_MTU - VXLAN_OVERHEAD_BYTES;

/** VxlanEdge settings of the peer `localName` with the kernel VXLAN path on UDP `vxlanPort`. */
export function vxlanEdgeSettings(localName: PeerName, vxlanPort: number): {
  dataDevice: string; probeDevice: string; port: number; dataVni: number; probeVni: number; mtu: number;
  probeMac: string; probeCidr: string;
} {
  return {
    dataDevice: FASTPATH_VXLAN_DEVICE, probeDevice: FASTPATH_PROBE_DEVICE, port: vxlanPort,
    dataVni: FASTPATH_DATA_VNI, probeVni: FASTPATH_PROBE_VNI, mtu: VXLAN_DEVICE_MTU,
    probeMac: peerNameFromNumber(probeMacOf(peerNameToNumber(localName))),
    probeCidr: `${FASTPATH_PROBE_ADDR}/${FASTPATH_PROBE_PREFIX}`,
  };
}
