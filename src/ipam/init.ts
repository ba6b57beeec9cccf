import { WeftError, IPAM_MAX_ELECTORS, IPAM_MAX_MEMBERS } from '../common/index.js';
import type { IpamInit } from './types.js';
import { isPeerName, parsePeerName } from './wire.js';

/**
 * Parse `--ipalloc-init`: "consensus=N", "seed=NAME,NAME,…" or "observer". Throws
 * WEFT_ERR_BAD_CONFIG with the accepted forms. Pure.
 */
export function parseIpallocInit(spec: string): IpamInit {
  const s = spec.trim();
  const bad = (why: string): WeftError =>
    new WeftError('WEFT_ERR_BAD_CONFIG', `bad --ipalloc-init ${JSON.stringify(s).slice(0, 60)}: ${why} (use consensus=N, seed=NAME,… or observer)`);
  if (s === 'observer') return {};
  const m = /^(consensus|seed)=(.*)$/.exec(s);
  const [, mode, arg = ''] = m ?? [];
  if (!mode) throw bad(s === 'consensus' ? 'consensus needs N, the number of peers expected at bootstrap' : 'unknown mode');
  if (mode === 'consensus') {
    if (!/^[1-9][0-9]*$/.test(arg)) throw bad('N must be a positive integer');
    return validateInit({ consensus: Number(arg) });
  }
  const names = arg.split(',').map((x) => x.trim()).filter(Boolean);
  try {
    return validateInit({ seeds: names.map(parsePeerName) });
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** Check an IpamInit built elsewhere (API/config). Throws WEFT_ERR_BAD_CONFIG. */
export function validateInit(init: IpamInit): IpamInit {
  const { consensus, seeds } = init;
  if (consensus !== undefined && seeds !== undefined) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', 'IPAM init: give consensus=N or seed=…, not both');
  }
  if (consensus !== undefined && !(Number.isInteger(consensus) && consensus >= 1 && consensus <= IPAM_MAX_ELECTORS)) {
    throw new WeftError('WEFT_ERR_BAD_CONFIG', `IPAM init: consensus=N needs 1 ≤ N ≤ ${IPAM_MAX_ELECTORS}`);
  }
  if (seeds !== undefined) {
    if (seeds.length === 0 || seeds.length > IPAM_MAX_MEMBERS) throw new WeftError('WEFT_ERR_BAD_CONFIG', `IPAM init: seed= needs 1..${IPAM_MAX_MEMBERS} peer names`);
    for (const n of seeds) if (!isPeerName(n)) throw new WeftError('WEFT_ERR_BAD_CONFIG', `IPAM init: bad seed peer name ${JSON.stringify(n).slice(0, 40)}`);
    return { seeds: [...new Set(seeds)].sort() };
  }
  return consensus !== undefined ? { consensus } : {};
}
