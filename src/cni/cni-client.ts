/**
 * weft-net as a process: a thin client of the daemon. It validates env and stdin with the same
 * shell as every plugin (so bad input fails the same way with or without a daemon), answers
 * VERSION itself, and forwards everything else as one `POST /cni` (the CNI_* variables and
 * the exact stdin) to the daemon named by "socket"; it prints the daemon's answer and exits
 * with its code. The compiled front end (native/cni_front.c) does the same and falls back to
 * this program when the daemon is not running, so both print the same errors.
 */
import { processIo, runCniShell, type PluginIo } from './plugin-main.js';
import { FORWARDED_CNI_VARS, type CniInvocation } from './cni-server.js';
import { WeftDaemon } from './weft-daemon.js';

/** Run weft-net once through the daemon. Returns the exit code; never throws. */
export function runWeftNetClient(io: PluginIo = processIo()): Promise<number> {
  let stdin = '';
  const read = io.readStdin;
  return runCniShell('weft-net', { ...io, readStdin: async () => { const b = await read(); stdin = b.toString('utf8'); return b; } }, async (req) => {
    const env: CniInvocation['env'] = {};
    for (const k of FORWARDED_CNI_VARS) {
      const v = io.env[k];
      if (v !== undefined) env[k] = v;
    }
    const daemon = await WeftDaemon.connect(req.conf.socket);
    return daemon.cni({ env, stdin });
  });
}
