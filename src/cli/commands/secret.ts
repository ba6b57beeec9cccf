import { API_ROUTES } from '../../api/index.js';
import { UsageError, type Command } from '../command.js';
import { API_SOCKET_OPTION, absolutePath, expectPositionals, parseCommandArgs } from '../args.js';
import { SOCKET_HELP, clientFor } from './control.js';

const HELP = `Usage: weft secret rotate [--password-file PATH]

Load the cluster secret file again (or PATH, which then stays the file for later rotations)
and use it for new handshakes. Established connections keep their session keys: nothing
drops. The file holds one or two lines: line 1 is the secret this host initiates with, line 2
(optional) one more secret it accepts. Rotating a cluster from secret A to B, one host at a
time, each step done on every host before the next step starts:

  1. file "A\\nB"   (use A, also accept B)
  2. file "B\\nA"   (use B, still accept A from hosts not yet at this step)
  3. file "B"       (A is refused from now on)

The daemon reads the file itself; the secret never passes through this command or the API.

Options:
  --password-file PATH  the new secret file (default: the daemon's --password-file)
${SOCKET_HELP}`;

/** `weft secret rotate`: ask the daemon to reload its secret file (POST /secret/rotate). */
export const secretCommand: Command = {
  name: 'secret',
  summary: 'rotate the cluster secret without downtime',
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('secret', args, { ...API_SOCKET_OPTION, 'password-file': { type: 'string' } });
    expectPositionals('secret', positionals, 1, 1, 'subcommand (rotate)');
    if (positionals[0] !== 'rotate') throw new UsageError(`unknown secret subcommand "${positionals[0]}" (expected: rotate)`);
    const pf = values['password-file'];
    if (pf === '') throw new UsageError('--password-file must not be empty');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.secretRotate, pf === undefined ? {} : { passwordFile: absolutePath(ctx, pf) });
    const which = r.secrets === 2 ? 'initiating with line 1, accepting lines 1 and 2' : 'one secret';
    ctx.out(`weft: secret rotated: ${which} (${r.kdf.join(', ')}, derived in ${r.deriveMs} ms); established connections kept`);
    return 0;
  },
};
