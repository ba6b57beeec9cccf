import { setTimeout as sleep } from 'node:timers/promises';
import { WeftError, isWeftError, CLI_POLL_INTERVAL_MS, DEFAULT_API_SOCKET, STOP_WAIT_TIMEOUT_MS } from '../../common/index.js';
import { ApiClient, API_ROUTES, parsePeerList } from '../../api/index.js';
import type { Command, CliContext } from '../command.js';
import { API_SOCKET_OPTION, apiSocketPath, expectPositionals, parseCommandArgs } from '../args.js';

const SOCKET_HELP = `  --api-socket PATH   control API socket (default $WEFT_API_SOCKET or ${DEFAULT_API_SOCKET})`;

/** Client for the API socket chosen by `--api-socket` / $WEFT_API_SOCKET / the default. */
export function clientFor(ctx: CliContext, flag: string | undefined): ApiClient {
  return new ApiClient({ socketPath: apiSocketPath(ctx, flag) });
}

export const stopCommand: Command = {
  name: 'stop',
  summary: 'stop the weft peer on this host',
  help: `Usage: weft stop [--api-socket PATH]\n\nAsk the daemon to stop and wait (at most ${STOP_WAIT_TIMEOUT_MS / 1000} s) until its API socket is gone.\n\nOptions:\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('stop', args, API_SOCKET_OPTION);
    expectPositionals('stop', positionals, 0, 0, '');
    const client = clientFor(ctx, values['api-socket']);
    try {
      await client.stop();
    } catch (e) {
      // The daemon may drop the connection while shutting down: that is success too.
      if (!isWeftError(e, 'WEFT_ERR_CLOSED')) throw e;
    }
    const deadline = Date.now() + STOP_WAIT_TIMEOUT_MS;
    while (await client.isRunning()) {
      if (Date.now() > deadline) {
        throw new WeftError('WEFT_ERR_TIMEOUT', `weft still answers on ${client.socketPath} ${STOP_WAIT_TIMEOUT_MS / 1000} s after stop`);
      }
      await sleep(CLI_POLL_INTERVAL_MS);
    }
    ctx.out('weft: stopped');
    return 0;
  },
};

export const connectCommand: Command = {
  name: 'connect',
  summary: 'add peers to connect to',
  help: `Usage: weft connect [--replace] HOST[:PORT]...\n\nAsk the daemon to connect to these peers (IPv6: [addr]:port).\n\nOptions:\n  --replace           forget every peer given before (at launch or by connect) first\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('connect', args, { ...API_SOCKET_OPTION, replace: { type: 'boolean' } });
    const replace = values.replace ?? false;
    if (!replace) expectPositionals('connect', positionals, 1, Infinity, 'peer address');
    const peers = parsePeerList(positionals);
    await clientFor(ctx, values['api-socket']).call(API_ROUTES.connect, { peers, replace });
    return 0;
  },
};

export const forgetCommand: Command = {
  name: 'forget',
  summary: 'stop connecting to peers',
  help: `Usage: weft forget HOST[:PORT]...\n\nAsk the daemon to stop (re)connecting to these peers; established connections stay.\n\nOptions:\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('forget', args, API_SOCKET_OPTION);
    expectPositionals('forget', positionals, 1, Infinity, 'peer address');
    await clientFor(ctx, values['api-socket']).call(API_ROUTES.forget, { peers: parsePeerList(positionals) });
    return 0;
  },
};

export { SOCKET_HELP };
