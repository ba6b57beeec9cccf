/** Valid pod-directory records (src/dataplane/fastpath/pod-directory.ts), shared by two targets. */
import { peerNameFromNumber, formatIpv4 } from '../../src/net/index.js';
import type { PodRecord } from '../../src/dataplane/fastpath/pod-directory.js';
import type { Rng } from '../rng.js';
import { peerName } from './common.js';

export function validPodRecords(rng: Rng): Map<string, PodRecord> {
  const out = new Map<string, PodRecord>();
  for (let i = rng.chance(0.9) ? rng.int(4) : rng.int(40); i > 0; i--) {
    const macs = [...new Set(Array.from({ length: rng.smallLength(20) }, () => peerNameFromNumber(rng.u32() * 0x10000 + rng.int(0x10000))))];
    const ips = macs.length === 0 ? [] : Array.from({ length: rng.smallLength(20) }, () => ({ ip: formatIpv4(rng.u32()), mac: rng.pick(macs) }));
    const version = rng.chance(0.5) ? Date.now() + rng.int(1e6) : rng.pick([0, 1, 2 ** 53, 1.5, Number.MAX_VALUE]);
    out.set(peerName(rng), { version, macs, ips });
  }
  return out;
}
