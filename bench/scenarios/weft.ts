import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ApiClient } from '../../src/api/index.js';
import { podMtu } from '../../src/dataplane/index.js';
import { THIS_BUILD, type WeftBuild } from './weft-build.js';
import type { Daemon, Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';
import { waitUntil } from '../wait.js';

const READY_WAIT_MS = 20_000;

/**
 * weft's sleeve between the two hosts: a real daemon per host (`weft launch --foreground`),
 * the pods' bridge used as weft's bridge (so the pod veths are already attached), and the
 * data path measured once the sleeve link reports healthy. `encrypted` chooses whether a
 * cluster secret is set (AES-256-GCM or ChaCha20-Poly1305 sealing) or not.
 */
export function weftSleeveScenario(encrypted: boolean, build: WeftBuild = THIS_BUILD): Scenario {
  const daemons: Daemon[] = [];
  return {
    name: (encrypted ? 'weft-sleeve' : 'weft-sleeve-plain') + build.suffix,
    description: `${build.label}weft sleeve (TAP + batched UDP${encrypted ? ', encrypted' : ', no secret'})`,
    userspace: true,
    check: async () => null,
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const mtu = podMtu(1500, encrypted);
      const pods = await env.bridgedPods({ mtu, txOffloadOff: true });
      const clients: ApiClient[] = [];
      for (let i = 0; i < 2; i++) {
        const dir = join(env.tmpDir, `weft-${encrypted ? 'enc' : 'plain'}-h${i + 1}`);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const socket = join(dir, 'api.sock');
        const argv = [process.execPath, build.cli, 'launch', '--foreground', '--data-dir', dir, '--api-socket', socket, '--no-docker-plugin',
          '--bridge', pods.bridges[i]!, '--mtu', String(mtu), '--status-addr', '', '--nickname', `bench${i + 1}`,
          '--log-level', 'warn', '--backoff-scale', '0.1', '--no-fastdp', ...(i === 1 ? [env.hosts[0].underlayIp] : [])];
        const d = env.spawnDaemon(env.hosts[i]!.ns, `weft h${i + 1}`, argv,
          encrypted ? { env: { WEFT_PASSWORD: `weft-bench-secret-${env.prefix}-0123456789` } } : {});
        daemons.push(d);
        clients.push(new ApiClient({ socketPath: socket, timeoutMs: 3000 }));
        await waitUntil(`weft h${i + 1} API`, READY_WAIT_MS, () => clients[i]!.isRunning(), { daemons: [d], signal: env.signal });
      }
      await waitUntil('weft sleeve link healthy', READY_WAIT_MS, async () => {
        const s = await clients[0]!.status();
        return s.connections.some((c) => c.state === 'established' && c.mode === 'sleeve' && !c.reason);
      }, { daemons, signal: env.signal });
      return {
        clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu,
        detail: encrypted ? 'weft sleeve, cluster secret set' : 'weft sleeve, no secret (plain)',
      };
    },
    async teardown(): Promise<void> {
      await Promise.all(daemons.splice(0).map((d) => d.stop())); // setup runs again next round
    },
  };
}
