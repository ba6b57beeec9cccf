import { main } from '../src/cli/index.js';

/** Entry point of the `weft` command (bin/weft loads this). */
process.exitCode = await main(process.argv.slice(2));
