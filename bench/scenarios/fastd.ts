import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeftError } from '../../src/common/index.js';
import { missingCommands } from '../netns.js';
import type { Daemon, Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';
import { isListening, waitUntil } from '../wait.js';

const FASTD_PORT = 10000;
/** Inner MTU of the TAP; frame + fastd/salsa2012+umac overhead + IPv4/UDP fits 1500. bytes */
const FASTD_MTU = 1400;
const METHOD = 'salsa2012+umac';
const LISTEN_WAIT_MS = 10_000;

/** Parses `fastd --generate-key` output ("Secret: …" / "Public: …"). Pure. */
export function parseFastdKeys(text: string): { secret: string; pub: string } {
  const secret = /^Secret:\s*([0-9a-f]{64})\s*$/m.exec(text)?.[1];
  const pub = /^Public:\s*([0-9a-f]{64})\s*$/m.exec(text)?.[1];
  if (!secret || !pub) throw new WeftError('WEFT_ERR_DECODE', 'fastd --generate-key printed no Secret/Public pair');
  return { secret, pub };
}

/** fastd config for one host: TAP mode, one static peer, the bridge join in the up hook. */
function fastdConfig(p: { dev: string; secret: string; bindIp: string; peerKey: string; peerIp: string; bridge: string }): string {
  return `log level warn;
mode tap;
interface "${p.dev}";
method "${METHOD}";
secret "${p.secret}";
mtu ${FASTD_MTU};
bind ${p.bindIp}:${FASTD_PORT};
on up sync "PATH=/usr/sbin:/usr/bin:/sbin:/bin; ip link set \\"$INTERFACE\\" master ${p.bridge} up";
peer "peer" {
  key "${p.peerKey}";
  remote ${p.peerIp}:${FASTD_PORT};
}
`;
}

/**
 * fastd in TAP mode (L2), its interface bridged with the pod veth, with the fast
 * salsa2012+umac method; keys from `fastd --generate-key`.
 */
export function fastdScenario(): Scenario {
  const daemons: Daemon[] = [];
  return {
    name: 'fastd',
    description: `fastd TAP mode bridged with the pod veth (${METHOD})`,
    userspace: true,
    check: () => missingCommands(['fastd', 'ethtool']),
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const pods = await env.bridgedPods({ mtu: FASTD_MTU, txOffloadOff: true });
      const keys = [];
      for (let i = 0; i < 2; i++) {
        keys.push(parseFastdKeys((await env.exec(null, ['fastd', '--generate-key'], { timeoutMs: 30_000 })).stdout));
      }
      const files: string[] = [];
      for (let i = 0; i < 2; i++) {
        const file = join(env.tmpDir, `fastd-h${i + 1}.conf`);
        await writeFile(file, fastdConfig({
          dev: `${env.prefix}f${i + 1}`, secret: keys[i]!.secret, bindIp: env.hosts[i]!.underlayIp,
          peerKey: keys[1 - i]!.pub, peerIp: env.hosts[1 - i]!.underlayIp, bridge: pods.bridges[i]!,
        }), { mode: 0o600 });
        files.push(file);
      }
      // Responder first: a handshake sent before the peer listens is retried only after ~15 s.
      for (const i of [1, 0]) {
        const d = env.spawnDaemon(env.hosts[i]!.ns, `fastd h${i + 1}`, ['fastd', '--config', files[i]!]);
        daemons.push(d);
        await waitUntil(`fastd h${i + 1} socket`, LISTEN_WAIT_MS, () => isListening(env.hosts[i]!.ns, 'udp', FASTD_PORT, env.signal),
          { daemons: [d], signal: env.signal });
      }
      return {
        clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu: FASTD_MTU,
        detail: `fastd TAP, ${METHOD}`,
      };
    },
    async teardown(): Promise<void> {
      await Promise.all(daemons.splice(0).map((d) => d.stop())); // setup runs again next round
    },
  };
}
