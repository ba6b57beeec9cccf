import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { missingCommands } from '../netns.js';
import type { Daemon, Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';

const NEBULA_PORT = 4242;
/** Set explicitly (nebula's default is a conservative 1300) to compare at similar MTUs. bytes */
const NEBULA_MTU = 1400;
const OVERLAY_IPS = ['10.63.0.1', '10.63.0.2'] as const;
/** Lifetime of the throwaway CA and certificates. */
const CERT_DURATION = '24h';

/** Nebula node config (YAML) for host `i`: static host map, no lighthouse, allow-all firewall. */
function nebulaConfig(p: {
  dir: string; name: string; listenIp: string; dev: string;
  peerOverlayIp: string; peerUnderlay: string; peerSubnet: string;
}): string {
  return `pki:
  ca: ${join(p.dir, 'ca.crt')}
  cert: ${join(p.dir, `${p.name}.crt`)}
  key: ${join(p.dir, `${p.name}.key`)}
static_host_map:
  "${p.peerOverlayIp}": ["${p.peerUnderlay}:${NEBULA_PORT}"]
lighthouse:
  am_lighthouse: false
  hosts: []
listen:
  host: ${p.listenIp}
  port: ${NEBULA_PORT}
punchy:
  punch: false
relay:
  use_relays: false
tun:
  disabled: false
  dev: ${p.dev}
  mtu: ${NEBULA_MTU}
  unsafe_routes:
    - route: ${p.peerSubnet}
      via: ${p.peerOverlayIp}
logging:
  level: warning
firewall:
  outbound:
    - port: any
      proto: any
      host: any
  inbound:
    - port: any
      proto: any
      host: any
`;
}

/**
 * Nebula with a CA and host certificates generated at run time (`nebula-cert`), no lighthouse
 * (static host map), default cipher (AES-256-GCM). Each host certificate carries its pod subnet,
 * which the peer reaches through an `unsafe_routes` entry: routed pods.
 */
export function nebulaScenario(): Scenario {
  const daemons: Daemon[] = [];
  return {
    name: 'nebula',
    description: 'nebula, static host map, unsafe_routes to the pod subnets (AES-256-GCM default)',
    userspace: true,
    check: () => missingCommands(['nebula', 'nebula-cert', 'ethtool']),
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const pods = await env.routedPods({ mtu: NEBULA_MTU, txOffloadOff: true });
      const subnets = [pods.clientSubnet, pods.serverSubnet];
      const dir = join(env.tmpDir, 'nebula');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const f = (n: string): string => join(dir, n);
      await env.exec(null, ['nebula-cert', 'ca', '-name', `${env.prefix} bench CA`, '-duration', CERT_DURATION,
        '-out-crt', f('ca.crt'), '-out-key', f('ca.key')], { timeoutMs: 30_000 });
      const names = ['h1', 'h2'];
      for (let i = 0; i < 2; i++) {
        await env.exec(null, ['nebula-cert', 'sign', '-ca-crt', f('ca.crt'), '-ca-key', f('ca.key'),
          '-name', names[i]!, '-ip', `${OVERLAY_IPS[i]}/24`, '-subnets', subnets[i]!, '-duration', '23h',
          '-out-crt', f(`${names[i]}.crt`), '-out-key', f(`${names[i]}.key`)], { timeoutMs: 30_000 });
        await writeFile(f(`${names[i]}.yml`), nebulaConfig({
          dir, name: names[i]!, listenIp: env.hosts[i]!.underlayIp, dev: `${env.prefix}n${i + 1}`,
          peerOverlayIp: OVERLAY_IPS[1 - i]!, peerUnderlay: env.hosts[1 - i]!.underlayIp, peerSubnet: subnets[1 - i]!,
        }));
      }
      for (let i = 0; i < 2; i++) {
        daemons.push(env.spawnDaemon(env.hosts[i]!.ns, `nebula ${names[i]}`, ['nebula', '-config', f(`${names[i]}.yml`)]));
      }
      return {
        clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu: NEBULA_MTU,
        detail: 'nebula, TUN, routed via unsafe_routes, aes-256-gcm (default cipher)',
      };
    },
    async teardown(): Promise<void> {
      await Promise.all(daemons.splice(0).map((d) => d.stop())); // setup runs again next round
    },
  };
}
