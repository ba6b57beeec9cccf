import { runCniPlugin, weftNetPlugin } from '../src/cni/index.js';

/** Entry point of the `weft-net` CNI plugin (installed by `weft setup-cni`). */
process.exitCode = await runCniPlugin(weftNetPlugin);
