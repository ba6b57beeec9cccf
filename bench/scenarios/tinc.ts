import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeftError } from '../../src/common/index.js';
import { missingCommands } from '../netns.js';
import type { Daemon, Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';
import { isListening, waitUntil } from '../wait.js';

const TINC_PORT = 655;
/** Inner MTU: 1400 + 14 (Ethernet) + tinc's seqno/padding/MAC + 28 (IPv4/UDP) fits 1500. bytes */
const TINC_MTU = 1400;
const RSA_BITS = 2048;
const LISTEN_WAIT_MS = 10_000;
const SCRIPT_PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin; export PATH';

/**
 * tinc 1.0 in switch mode (L2): each host's TAP is bridged with its pod veth. Default cipher
 * (Blowfish-CBC + SHA1 HMAC, 4-byte MAC). PMTU discovery is off and the TAP MTU fixed so
 * that frames always take UDP (with discovery on, tinc sends large frames over its TCP meta
 * connection until the path MTU is probed, which would measure the warm-up, not the tunnel).
 */
export function tincScenario(): Scenario {
  const daemons: Daemon[] = [];
  return {
    name: 'tinc',
    description: 'tinc 1.0 switch mode, TAP bridged with the pod veth (blowfish/sha1 default)',
    userspace: true,
    check: () => missingCommands(['tincd', 'ethtool']),
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const pods = await env.bridgedPods({ mtu: TINC_MTU, txOffloadOff: true });
      const names = ['h1', 'h2'];
      const dirs = names.map((n) => join(env.tmpDir, `tinc-${n}`));
      for (let i = 0; i < 2; i++) {
        const dir = dirs[i]!;
        const host = env.hosts[i]!;
        await mkdir(join(dir, 'hosts'), { recursive: true, mode: 0o700 });
        await writeFile(join(dir, 'tinc.conf'), [
          `Name = ${names[i]}`,
          'Mode = switch',
          `Interface = ${env.prefix}t${i + 1}`,
          'AddressFamily = ipv4',
          `BindToAddress = ${host.underlayIp}`,
          `Port = ${TINC_PORT}`,
          'PMTUDiscovery = no',
          ...(i === 0 ? [`ConnectTo = ${names[1]}`] : []),
          '',
        ].join('\n'));
        await writeFile(join(dir, 'hosts', names[i]!), [
          `Address = ${host.underlayIp}`,
          `Port = ${TINC_PORT}`,
          'PMTUDiscovery = no',
          '',
        ].join('\n'));
        await writeFile(join(dir, 'tinc-up'), [
          '#!/bin/sh',
          SCRIPT_PATH,
          `ip link set "$INTERFACE" mtu ${TINC_MTU} master ${pods.bridges[i]} up`,
          '',
        ].join('\n'), { mode: 0o755 });
        // Non-interactive: stdin is not a TTY, so tincd writes to the default key paths and
        // appends the public key to hosts/<Name>.
        await env.exec(null, ['tincd', '-c', dir, `-K${RSA_BITS}`], { timeoutMs: 30_000 });
      }
      for (let i = 0; i < 2; i++) {
        await copyFile(join(dirs[i]!, 'hosts', names[i]!), join(dirs[1 - i]!, 'hosts', names[i]!));
      }
      if (!(await readFile(join(dirs[0]!, 'hosts', names[1]!), 'utf8')).includes('BEGIN RSA PUBLIC KEY')) {
        throw new WeftError('WEFT_ERR_HOST', 'tincd -K wrote no public key into hosts/<Name>');
      }
      // Start the listening side first so the connecting side does not enter its retry backoff.
      for (const i of [1, 0]) {
        const d = env.spawnDaemon(env.hosts[i]!.ns, `tincd ${names[i]}`, [
          'tincd', '-c', dirs[i]!, '-D', '-d0', `--pidfile=${join(dirs[i]!, 'tinc.pid')}`,
        ]);
        daemons.push(d);
        if (i === 1) {
          await waitUntil('tincd listener', LISTEN_WAIT_MS, () => isListening(env.hosts[1].ns, 'tcp', TINC_PORT, env.signal),
            { daemons: [d], signal: env.signal });
        }
      }
      return {
        clientNs: pods.clientNs, serverNs: pods.serverNs, serverIp: pods.serverIp, mtu: TINC_MTU,
        detail: 'tinc 1.0 switch mode, blowfish-cbc/sha1 (defaults), PMTUDiscovery off',
      };
    },
    async teardown(): Promise<void> {
      await Promise.all(daemons.splice(0).map((d) => d.stop())); // setup runs again next round
    },
  };
}
