import { WeftError } from '../../src/common/index.js';
import type { Scenario } from '../types.js';

/**
 * Placeholder rows for weft's own data paths until the daemon can be launched in the host
 * namespaces. `check()` always refuses, so the row reads "skipped: pending …" and the run goes
 * on. Replace with a real scenario (same {@link Scenario} contract) in the same list position.
 */
export function weftPendingScenario(mode: 'sleeve' | 'fastdp'): Scenario {
  return {
    name: `weft-${mode}`,
    description: `weft ${mode === 'sleeve' ? 'encrypted TAP/UDP sleeve' : 'kernel VXLAN fast path'} (pending)`,
    userspace: mode === 'sleeve',
    check: async () => 'pending: weft daemon not yet integrated into the harness',
    async setup(): Promise<never> {
      throw new WeftError('WEFT_ERR_INTERNAL', 'weft scenario is pending'); // check() refuses first
    },
    async teardown(): Promise<void> {
      // nothing was set up
    },
  };
}
