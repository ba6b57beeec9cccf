/**
 * The Docker plugin as the daemon builds it: weft's IPAM for addresses, the one attach path
 * (AttachService, handoff mode) for veths and identities, the state file in the data dir and
 * the Docker Engine API client. Started after the data plane (the bridge exists) and before
 * the policy edge (whose start-up reconcile lists the Docker endpoints).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { DockerEngine, DockerPlugin, DockerPluginServer, type DockerBadInputReason } from '../docker/index.js';
import type { HostPlumbing } from '../host/index.js';
import type { AttachService } from './attach-service.js';
import type { IpamService } from './ipam-service.js';
import { writeFileAtomic } from './atomic-file.js';

/** File name of the plugin's state inside the data dir. */
export const DOCKER_STATE_FILE = 'docker-plugin.json';

/** What {@link buildDockerPlugin} wires together. */
export interface DockerServiceOptions {
  socketPath: string;
  /** dockerd's Engine API socket (container names and labels). */
  engineSocket: string;
  dataDir: string;
  ipam: IpamService;
  attach: AttachService;
  plumbing: HostPlumbing;
  log: Logger;
  onBadInput(reason: DockerBadInputReason): void;
}

/** The plugin and its server (Startable). */
export function buildDockerPlugin(o: DockerServiceOptions): { plugin: DockerPlugin; server: DockerPluginServer } {
  const path = join(o.dataDir, DOCKER_STATE_FILE);
  const plugin = new DockerPlugin({
    addresses: {
      range: () => o.ipam.range,
      allocate: (owner, address) => o.ipam.allocate(owner, address),
      release: (owner) => o.ipam.release(owner),
      gc: (prefix, keep) => o.ipam.gc(prefix, keep),
    },
    endpoints: {
      join: async (s) => {
        const out = await o.attach.attach({
          owner: s.owner, netns: s.sandboxKey, ifname: s.hostIfname, exclusive: true,
          address: { kind: 'fixed', cidr: s.cidr },
          handoff: { hostIfname: s.hostIfname, peerIfname: s.peerIfname, alias: s.alias },
        });
        return { mtu: out.mtu };
      },
      leave: async (owner, hostIfname) => {
        await o.attach.detach({ owner, netns: '', ifname: hostIfname, hostLinks: [hostIfname], release: () => Promise.resolve() });
      },
      identify: (owner, identity) => o.attach.identify(owner, identity),
      hostLinkExists: async (name) => (await o.plumbing.hostLink(name)) !== null,
    },
    engine: new DockerEngine(o.engineSocket),
    store: {
      load: () => readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null;
        throw e;
      }),
      save: (text) => writeFileAtomic(path, text),
    },
    log: o.log,
  });
  const server = new DockerPluginServer({ socketPath: o.socketPath, plugin, log: o.log, onBadInput: o.onBadInput });
  return { plugin, server };
}
