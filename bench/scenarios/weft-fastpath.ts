import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ApiClient } from '../../src/api/index.js';
import { podMtu } from '../../src/dataplane/index.js';
import { THIS_BUILD, type WeftBuild } from './weft-build.js';
import type { Daemon, Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';
import { waitUntil } from '../wait.js';

const READY_WAIT_MS = 30_000;

/**
 * weft's kernel fast paths between the two hosts, through real daemons (no cluster secret,
 * as the fast paths carry traffic in the clear): `vxlan` runs with --no-hostgw, `hostgw` with
 * the defaults. The pods are the harness's bridged pods, registered with weft like `weft attach`
 * does (the alias on their host-side veth), so the daemons learn their MACs and addresses.
 * Measured once the connection reports the wanted mode. Pods keep TX checksum offload off, as
 * weft's attach sets it today (which also turns off TSO: every segment is built in software);
 * `podTxOffload` leaves it on, as the kernel-vxlan baseline does, to show what the path can do.
 */
export function weftFastpathScenario(mode: 'vxlan' | 'hostgw', podTxOffload = false, build: WeftBuild = THIS_BUILD): Scenario {
  const daemons: Daemon[] = [];
  return {
    name: `weft-${mode}${podTxOffload ? '-txon' : ''}${build.suffix}`,
    description: `${build.label}weft ${mode === 'vxlan' ? 'kernel VXLAN fast path (--no-hostgw)' : 'host-gw fast path (routed IPv4, L2 by VXLAN)'}`
      + (podTxOffload ? ', pods with TX checksum offload on' : ''),
    userspace: false,
    check: async () => null,
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      // weft's default pod MTU (the encrypted sleeve's, used with or without a secret), not the
      // plain sleeve's 1424: an MSS of 1384 runs ~6 % slower over veth on this kernel.
      const mtu = podMtu(1500);
      const pods = await env.bridgedPods({ mtu, txOffloadOff: !podTxOffload });
      const clients: ApiClient[] = [];
      for (let i = 0; i < 2; i++) {
        const host = env.hosts[i]!;
        const podNs = i === 0 ? pods.clientNs : pods.serverNs;
        const links = JSON.parse((await env.exec(podNs, ['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
        const podDev = links.find((l) => l.ifname !== 'lo')?.ifname ?? '';
        await env.exec(host.ns, ['ip', 'link', 'set', 'dev', pods.hostDevs[i]!, 'alias', `weft:${podDev}:/run/netns/${podNs}`]);
        const dir = join(env.tmpDir, `weft-${mode}-h${i + 1}`);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const socket = join(dir, 'api.sock');
        const argv = [process.execPath, build.cli, 'launch', '--foreground', '--data-dir', dir, '--api-socket', socket, '--no-docker-plugin',
          '--bridge', pods.bridges[i]!, '--mtu', String(mtu), '--status-addr', '', '--nickname', `bench${i + 1}`,
          '--log-level', 'warn', '--backoff-scale', '0.1', ...(mode === 'vxlan' ? ['--no-hostgw'] : []),
          ...(i === 1 ? [env.hosts[0].underlayIp] : [])];
        const d = env.spawnDaemon(host.ns, `weft h${i + 1}`, argv);
        daemons.push(d);
        clients.push(new ApiClient({ socketPath: socket, timeoutMs: 3000 }));
        await waitUntil(`weft h${i + 1} API`, READY_WAIT_MS, () => clients[i]!.isRunning(), { daemons: [d], signal: env.signal });
      }
      await waitUntil(`weft ${mode} path active and programmed on both hosts`, READY_WAIT_MS, async () => {
        for (const c of clients) {
          const s = await c.status();
          if (!s.connections.some((x) => x.state === 'established' && x.mode === mode)) return false;
          // …and the peer's pods are programmed (else frames to them would still be flooded).
          const k = (s as { dataplane?: { fastpath?: { kernel?: { vxlanEntries?: number; hostGwRoutes?: number } } } })
            .dataplane?.fastpath?.kernel;
          if (!k || (mode === 'vxlan' ? (k.vxlanEntries ?? 0) : (k.hostGwRoutes ?? 0)) < 1) return false;
        }
        return true;
      }, { daemons, signal: env.signal });
      return {
        clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu,
        detail: `${mode === 'vxlan' ? 'weft, kernel VXLAN (probed), no secret' : 'weft, host-gw (probed), no secret'}, pod TX offload ${podTxOffload ? 'on' : 'off'}`,
      };
    },
    async teardown(): Promise<void> {
      await Promise.all(daemons.splice(0).map((d) => d.stop())); // setup runs again next round
    },
  };
}
