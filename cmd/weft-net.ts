import { runWeftNetClient } from '../src/cni/index.js';

/**
 * Entry point of the Node `weft-net` CNI plugin: a thin client of the daemon (the reference
 * for the compiled front end that `weft setup-cni` installs as weft-net).
 */
process.exitCode = await runWeftNetClient();
