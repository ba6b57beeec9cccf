import { BENCH_UNDERLAY_MTU } from '../../src/common/index.js';
import { missingCommands } from '../netns.js';
import type { Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';

/**
 * Baseline without any overlay: each host routes the other pod subnet to the other host's
 * underlay address (plain kernel IPv4 forwarding, MTU 1500). Everything else is measured
 * against this row.
 */
export function rawVethScenario(): Scenario {
  return {
    name: 'raw-veth',
    description: 'no overlay: kernel routing of the pod subnets over the underlay veth',
    userspace: false,
    check: () => missingCommands([]),
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const pods = await env.routedPods({ mtu: BENCH_UNDERLAY_MTU, txOffloadOff: false });
      const [h1, h2] = env.hosts;
      await env.exec(null, ['ip', '-n', h1.ns, 'route', 'add', pods.serverSubnet, 'via', h2.underlayIp]);
      await env.exec(null, ['ip', '-n', h2.ns, 'route', 'add', pods.clientSubnet, 'via', h1.underlayIp]);
      return { clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu: BENCH_UNDERLAY_MTU, detail: 'routed' };
    },
    async teardown(): Promise<void> {
      // nothing beyond the sandbox's namespaces
    },
  };
}
