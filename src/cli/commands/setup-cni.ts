import { dirname, resolve } from 'node:path';
import {
  CNI_CONFLIST_FILE, CNI_DEFAULT_BIN_DIR, CNI_DEFAULT_CONF_DIR, CNI_DEFAULT_NETWORK, DEFAULT_API_SOCKET,
} from '../../common/index.js';
import type { Command } from '../command.js';
import { absolutePath, expectPositionals, invalid, parseCommandArgs } from '../args.js';

const OPTIONS = {
  'bin-dir': { type: 'string' },
  'conf-dir': { type: 'string' },
  socket: { type: 'string' },
  network: { type: 'string' },
  'lib-dir': { type: 'string' },
  'host-root': { type: 'string' },
  'node-plugin': { type: 'boolean' },
} as const;

const HELP = `Usage: weft setup-cni [--bin-dir DIR] [--conf-dir DIR] [--socket PATH] [--network NAME]
                      [--lib-dir DIR --host-root DIR] [--node-plugin]

Install the CNI plugins weft-net (the compiled front end built by npm ci, with the Node plugin
beside it as weft-net-node) and weft-ipam (a shell wrapper that runs node on this build), and
write an example ${CNI_CONFLIST_FILE} unless that file exists.

Options:
  --bin-dir DIR     CNI plugin directory (default ${CNI_DEFAULT_BIN_DIR})
  --conf-dir DIR    CNI configuration directory (default ${CNI_DEFAULT_CONF_DIR})
  --socket PATH     weft API socket the plugins use (default ${DEFAULT_API_SOCKET})
  --network NAME    network name in the conflist (default ${CNI_DEFAULT_NETWORK})
  --lib-dir DIR     copy node and this build to DIR and point the wrappers there
                    (for installing from a container image onto its host)
  --host-root DIR   where the host's / is mounted (e.g. /host); every path above is a
                    host path and is written under DIR
  --node-plugin     install the Node plugin as weft-net (the reference the compiled
                    front end is tested against; starts ~40 ms slower)`;

/** `weft setup-cni`: see HELP. */
export const setupCniCommand: Command = {
  name: 'setup-cni',
  summary: 'install the CNI plugins and an example network configuration',
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('setup-cni', args, OPTIONS);
    expectPositionals('setup-cni', positionals, 0, 0, '');
    const network = values.network ?? CNI_DEFAULT_NETWORK;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(network)) {
      throw invalid('--network', network, 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"');
    }
    const abs = (flag: string, v: string | undefined, dflt: string): string => {
      const p = v ?? dflt;
      if (p === '') throw invalid(flag, p, 'must not be empty');
      return absolutePath(ctx, p);
    };
    // Lazy: the plugins' install code is only loaded by this command.
    const { installCni } = await import('../../cni/index.js');
    const report = await installCni({
      binDir: abs('--bin-dir', values['bin-dir'], CNI_DEFAULT_BIN_DIR),
      confDir: abs('--conf-dir', values['conf-dir'], CNI_DEFAULT_CONF_DIR),
      socket: abs('--socket', values.socket, DEFAULT_API_SOCKET),
      network,
      appRoot: resolve(dirname(ctx.selfScript), '..', '..'),
      ...(values['lib-dir'] !== undefined ? { libDir: abs('--lib-dir', values['lib-dir'], '') } : {}),
      ...(values['node-plugin'] ? { nodePlugin: true } : {}),
      ...(values['host-root'] !== undefined ? { hostRoot: abs('--host-root', values['host-root'], '').replace(/\/+$/, '') } : {}),
    });
    for (const line of report.actions) ctx.out(`weft setup-cni: ${line}`);
    return 0;
  },
};
