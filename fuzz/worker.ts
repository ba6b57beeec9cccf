/**
 * One worker thread of `npm run fuzz` (main.ts): takes target names from the parent, runs each
 * with the run's count, seed and budget, and posts the statistics back. Exits when the parent
 * sends `null`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runTarget, type RunOptions } from './engine.js';
import { TARGETS, cleanupIpamScratch } from './targets/index.js';

const opts = workerData as RunOptions;
const port = parentPort;
if (!port) throw new Error('fuzz/worker.js runs only as a worker thread of fuzz/main.js');
port.on('message', (name: string | null) => {
  if (name === null) {
    cleanupIpamScratch();
    port.close();
    return;
  }
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`fuzz worker: no target ${name}`);
  void runTarget(t, opts).then((stats) => {
    cleanupIpamScratch();
    port.postMessage(stats);
  });
});
