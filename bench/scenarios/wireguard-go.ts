import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { missingCommands } from '../netns.js';
import type { Daemon, Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';
import { waitUntil } from '../wait.js';

const WG_PORT = 51820;
/** wireguard-go's default MTU (fits IPv6 underlays; 80 bytes of overhead). bytes */
const WG_MTU = 1420;
const TUNNEL_IPS = ['10.62.0.1', '10.62.0.2'] as const;
const UAPI_DIR = '/var/run/wireguard';
/** How long wireguard-go may take to create its device and UAPI socket. ms */
const DEVICE_WAIT_MS = 10_000;

/**
 * wireguard-go (userspace WireGuard; this kernel has no WireGuard module) in each host,
 * configured with `wg`; the pods are routed through the tunnel devices.
 */
export function wireguardGoScenario(): Scenario {
  const socketPaths: string[] = [];
  const daemons: Daemon[] = [];
  return {
    name: 'wireguard-go',
    description: 'wireguard-go + wg, routed pods through the TUN device (ChaCha20-Poly1305)',
    userspace: true,
    check: () => missingCommands(['wireguard-go', 'wg', 'ethtool']),
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const pods = await env.routedPods({ mtu: WG_MTU, txOffloadOff: true });
      const subnets = [pods.clientSubnet, pods.serverSubnet];
      const keys: { priv: string; pub: string }[] = [];
      for (let i = 0; i < 2; i++) {
        const priv = (await env.exec(null, ['wg', 'genkey'])).stdout.trim();
        const pub = (await env.exec(null, ['wg', 'pubkey'], { input: `${priv}\n` })).stdout.trim();
        const file = join(env.tmpDir, `wg${i + 1}.key`);
        await writeFile(file, `${priv}\n`, { mode: 0o600 });
        keys.push({ priv: file, pub });
      }
      // wireguard-go puts its UAPI socket there and fails ("Failed to listen on uapi socket: no
      // such file or directory") when it does not exist yet, as on a fresh machine.
      await mkdir(UAPI_DIR, { recursive: true, mode: 0o755 });
      // Device names differ per host: the UAPI socket directory is shared by all namespaces.
      const devs = [`${env.prefix}w1`, `${env.prefix}w2`];
      for (let i = 0; i < 2; i++) {
        socketPaths.push(join(UAPI_DIR, `${devs[i]}.sock`));
        daemons.push(env.spawnDaemon(env.hosts[i]!.ns, `wireguard-go ${i + 1}`, ['wireguard-go', '-f', devs[i]!]));
      }
      for (let i = 0; i < 2; i++) {
        const ns = env.hosts[i]!.ns;
        const dev = devs[i]!;
        await waitUntil(`wireguard-go device ${dev}`, DEVICE_WAIT_MS, async () =>
          (await env.exec(ns, ['wg', 'show', dev], { allowFail: true })).code === 0, { daemons: [daemons[i]!], signal: env.signal });
        const peer = env.hosts[1 - i]!;
        await env.exec(ns, [
          'wg', 'set', dev, 'private-key', keys[i]!.priv, 'listen-port', `${WG_PORT}`,
          'peer', keys[1 - i]!.pub, 'allowed-ips', `${TUNNEL_IPS[1 - i]}/32,${subnets[1 - i]}`,
          'endpoint', `${peer.underlayIp}:${WG_PORT}`,
        ]);
        await env.exec(null, ['ip', '-n', ns, 'addr', 'add', `${TUNNEL_IPS[i]}/24`, 'dev', dev]);
        await env.exec(null, ['ip', '-n', ns, 'link', 'set', dev, 'mtu', `${WG_MTU}`, 'up']);
        await env.exec(null, ['ip', '-n', ns, 'route', 'add', subnets[1 - i]!, 'dev', dev]);
      }
      return {
        clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu: WG_MTU,
        detail: 'wireguard-go userspace, TUN, routed',
      };
    },
    async teardown(): Promise<void> {
      await Promise.all(daemons.splice(0).map((d) => d.stop())); // setup runs again next round
      // wireguard-go removes its socket on SIGTERM; a SIGKILLed one leaves it behind.
      for (const p of socketPaths.splice(0)) await rm(p, { force: true }).catch(() => undefined);
    },
  };
}
