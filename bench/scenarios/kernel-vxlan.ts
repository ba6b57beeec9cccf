import { missingCommands } from '../netns.js';
import type { Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';

/** VXLAN network identifier and UDP port of the hand-made tunnel (standard IANA port). */
const VNI = 42;
const VXLAN_PORT = 4789;
/** 1500 − 50 bytes of outer IPv4/UDP/VXLAN/Ethernet headers. bytes */
const VXLAN_MTU = 1450;

/**
 * Kernel VXLAN baseline (what weft's fast path will use): one vxlan device per host with a
 * fixed remote and learning off, bridged with the pod veth, so the pods share one L2 segment.
 */
export function kernelVxlanScenario(): Scenario {
  return {
    name: 'kernel-vxlan',
    description: 'kernel VXLAN (static remote, nolearning) bridged with the pod veth, L2',
    userspace: false,
    check: () => missingCommands([]),
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const pods = await env.bridgedPods({ mtu: VXLAN_MTU, txOffloadOff: false });
      const dev = `${env.prefix}vx`;
      for (let i = 0; i < 2; i++) {
        const me = env.hosts[i]!;
        const peer = env.hosts[1 - i]!;
        await env.exec(null, [
          'ip', '-n', me.ns, 'link', 'add', dev, 'mtu', `${VXLAN_MTU}`, 'type', 'vxlan', 'id', `${VNI}`,
          'local', me.underlayIp, 'remote', peer.underlayIp, 'dev', me.underlayDev, 'dstport', `${VXLAN_PORT}`,
          'nolearning',
        ]);
        await env.exec(null, ['ip', '-n', me.ns, 'link', 'set', dev, 'master', pods.bridges[i]!]);
        await env.exec(null, ['ip', '-n', me.ns, 'link', 'set', dev, 'up']);
      }
      return {
        clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu: VXLAN_MTU,
        detail: `vni ${VNI}, udp ${VXLAN_PORT}, nolearning, default FDB entry to the peer`,
      };
    },
    async teardown(): Promise<void> {
      // devices vanish with the sandbox's namespaces
    },
  };
}
