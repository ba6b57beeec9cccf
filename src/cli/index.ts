/**
 * The `weft` command line. `main(argv)` runs one command and returns its exit code (0 ok,
 * 1 failure, 2 usage error); it never throws and prints every failure as one line
 * `weft: <message>` on stderr. Commands live in one table (commands/index.ts).
 * `parseLaunchArgs` is the single place a DaemonConfig is built from flags.
 */
export { main, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './main.js';
export { processContext, UsageError, type CliContext, type Command, type RunDaemon } from './command.js';
export { COMMANDS } from './commands/index.js';
export { parseLaunchArgs, type LaunchArgs } from './commands/launch-config.js';
export { formatStatusSummary, formatPeers, formatConnections, formatTargets, formatTable } from './format.js';
export { packageVersion } from '../common/index.js';
