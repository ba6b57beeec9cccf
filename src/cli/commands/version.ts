import { PROTOCOL_MAX_VERSION, PROTOCOL_MIN_VERSION } from '../../common/index.js';
import type { Command } from '../command.js';
import { expectPositionals, parseCommandArgs } from '../args.js';
import { packageVersion } from '../../common/index.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the weft version and protocol range',
  help: 'Usage: weft version\n\nPrint the version of this weft build and the protocol versions it speaks (no daemon needed).',
  async run(args, ctx) {
    const { positionals } = parseCommandArgs('version', args, {});
    expectPositionals('version', positionals, 0, 0, '');
    ctx.out(`weft ${packageVersion()} (protocol ${PROTOCOL_MIN_VERSION}..${PROTOCOL_MAX_VERSION}, node ${process.version})`);
    return 0;
  },
};
