import { runCniPlugin, weftIpamPlugin } from '../src/cni/index.js';

/** Entry point of the `weft-ipam` CNI IPAM plugin (installed by `weft setup-cni`). */
process.exitCode = await runCniPlugin(weftIpamPlugin);
