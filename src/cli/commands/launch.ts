import {
  WeftError, describeError, DEFAULT_DOCKER_PLUGIN_SOCKET, DEFAULT_DOCKER_API_SOCKET, DEFAULT_API_SOCKET, DEFAULT_CONN_LIMIT, DEFAULT_DATA_DIR, DEFAULT_PORT, DEFAULT_STATUS_ADDR,
  DEFAULT_VXLAN_PORT,
} from '../../common/index.js';
import { ApiClient } from '../../api/index.js';
import type { DaemonConfig } from '../../daemon/index.js';
import type { Command, CliContext } from '../command.js';
import { parseLaunchArgs } from './launch-config.js';
import { checkLaunchFiles } from './launch-files.js';
import { launchInBackground } from './launch-background.js';

const HELP = `Usage: weft launch [PEER...] [options]

Start this host's weft peer and connect it to PEERs (host, host:port or [ipv6]:port).
Runs in the background (log: <data-dir>/weft.log) unless --foreground is given.

Options:
  --name NAME             peer name override, 6 hex bytes (default: derived from the identity key)
  --nickname NAME         display name (default: the host name)
  --port PORT             TCP control and UDP data port (default ${DEFAULT_PORT})
  --host ADDR             address to bind the control listener to (default 0.0.0.0)
  --password-file PATH    file holding the cluster secret (or set WEFT_PASSWORD);
                          without a secret, traffic is NOT encrypted. Two lines during a
                          rotation (see weft secret --help)
  --password-fd FD        with --foreground: read the secret from this inherited descriptor
  --data-dir DIR          identity, persisted state and log (default ${DEFAULT_DATA_DIR})
  --api-socket PATH       control API socket (default $WEFT_API_SOCKET or ${DEFAULT_API_SOCKET})
  --status-addr HOST:PORT read-only status/metrics listener (default ${DEFAULT_STATUS_ADDR}; '' disables)
  --conn-limit N          most control connections (default ${DEFAULT_CONN_LIMIT})
  --bridge NAME           Linux bridge pods attach to (default weft)
  --mtu BYTES             pod MTU (default: underlay MTU minus the sleeve overhead)
  --pod-tx-offload on|off TX checksum offload/TSO on pod interfaces (default on; off = Weave's setting)
  --no-fastdp             no kernel fast paths (VXLAN, host-gw): every connection uses the sleeve
  --no-hostgw             no host-gw (routed IPv4 between peers on one L2 segment); VXLAN stays
  --relay                 volunteer as preferred relay: peers without a direct or punched path
                          between them route their traffic through this host where it is as close
  --vxlan-port PORT       UDP port of the kernel VXLAN path (default ${DEFAULT_VXLAN_PORT}; probes use PORT+1)
  --trusted-subnets CIDR,...  with a cluster secret, peers in these subnets may get unencrypted
                          fast paths; all other peers stay on the encrypted sleeve
  --ipalloc-range CIDR    address range for pods (default 10.32.0.0/12)
  --ipalloc-init MODE     consensus=N (wait for N peers) or seed=NAME,... (named peers split the range)
  --ipalloc-reclaim-after SECONDS  reclaim addresses of peers unreachable this long (default: never)
  --kube                  Kubernetes mode, in a pod: read pods, namespaces and NetworkPolicies
                          from the API server with the pod's service account (docs/policy.md)
  --kubeconfig FILE       Kubernetes mode with the API server and credentials of a kubeconfig file
  --docker-plugin-socket PATH  Docker network + IPAM plugin "weft" (default ${DEFAULT_DOCKER_PLUGIN_SOCKET}; docs/docker.md)
  --no-docker-plugin      do not serve the Docker plugin
  --docker-api-socket PATH  dockerd's Engine API, for container names and labels (default ${DEFAULT_DOCKER_API_SOCKET})
  --dns-domain NAME       domain workload names are answered under (default weft.local; docs/dns.md)
  --dns-upstream ADDR[:PORT]  resolver every other name is forwarded to (repeatable; default: the
                          nameservers of /etc/resolv.conf)
  --no-dns                no DNS server (it listens on the host's overlay address, see weft expose)
  --log-level LEVEL       fatal, error, warn, info, debug, trace or silent (default info)
  --foreground            run in this process until stopped

There is no --password flag: a secret on the command line would show in ps.`;

/** Files are usable and no daemon answers on the socket yet. */
async function checkBeforeStart(config: DaemonConfig, ctx: CliContext): Promise<void> {
  checkLaunchFiles(config, ctx);
  if (await new ApiClient({ socketPath: config.apiSocket }).isRunning()) {
    throw new WeftError('WEFT_ERR_ALREADY_RUNNING', `a weft daemon is already running (API socket ${config.apiSocket} answers)`);
  }
}

/** `weft launch`: validate, refuse if a daemon already answers, then run here or in the background. */
export const launchCommand: Command = {
  name: 'launch',
  summary: 'start the weft peer on this host',
  help: HELP,
  async run(args: string[], ctx: CliContext): Promise<number> {
    const { config, foreground } = parseLaunchArgs(args, ctx);
    if (!foreground) {
      await checkBeforeStart(config, ctx);
      return launchInBackground(args, config, ctx);
    }
    try {
      await checkBeforeStart(config, ctx);
      const runDaemon = await ctx.loadDaemon();
      // Readiness is observed through the API socket; nothing to do here.
      await runDaemon(config, { onReady: () => undefined });
      return 0;
    } catch (e) {
      // With the code, so a background launcher reading the log can keep it.
      ctx.err(`weft: ${describeError(e).split('\n')[0]}`);
      return 1;
    }
  },
};
