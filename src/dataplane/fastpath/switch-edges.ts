/**
 * The kernel edges the OverlaySwitch programs (src/host's VxlanEdge and HostGwEdge, built by
 * src/daemon, or test fakes with the same calls), and the KernelOps view KernelSync applies through.
 */
import type { HostGwEdge, VxlanEdge } from '../../host/index.js';
import type { KernelOps } from './kernel-sync.js';

/** Kernel edges, injectable for tests (default: src/host's VxlanEdge and HostGwEdge). */
export interface SwitchEdges {
  vxlan: Pick<KernelOps, 'setUnicast' | 'deleteUnicast' | 'pinOnBridge' | 'unpinFromBridge' | 'addFlood' | 'deleteFlood'>
    & Pick<VxlanEdge, 'setup' | 'remove' | 'isolatePort' | 'unisolatePort' | 'localMacs' | 'entries'>;
  hostgw: Pick<KernelOps, 'addRemote' | 'deleteRemote' | 'addForward' | 'deleteForward' | 'addLocal' | 'deleteLocal'
    | 'addPort' | 'deletePort' | 'addUnderlay' | 'deleteUnderlay'>
    & Pick<HostGwEdge, 'setup' | 'reset' | 'bridgeTxOffload' | 'entries'>;
}

/** KernelSync's operations on `e`. */
export function kernelOps(e: SwitchEdges): KernelOps {
  const v = e.vxlan;
  const g = e.hostgw;
  return {
    setUnicast: (mac, ip, port) => v.setUnicast(mac, ip, port),
    deleteUnicast: (mac) => v.deleteUnicast(mac),
    pinOnBridge: (mac) => v.pinOnBridge(mac),
    unpinFromBridge: (mac) => v.unpinFromBridge(mac),
    addFlood: (ip, port) => v.addFlood(ip, port),
    deleteFlood: (ip) => v.deleteFlood(ip),
    addRemote: (ip, via) => g.addRemote(ip, via),
    deleteRemote: (ip) => g.deleteRemote(ip),
    addForward: (mac, ip, via, dev) => g.addForward(mac, ip, via, dev),
    deleteForward: (mac, ip) => g.deleteForward(mac, ip),
    addLocal: (ip, mac, port) => g.addLocal(ip, mac, port),
    deleteLocal: (ip, port) => g.deleteLocal(ip, port),
    addPort: (dev) => g.addPort(dev),
    deletePort: (dev) => g.deletePort(dev),
    addUnderlay: (dev) => g.addUnderlay(dev),
    deleteUnderlay: (dev) => g.deleteUnderlay(dev),
  };
}
