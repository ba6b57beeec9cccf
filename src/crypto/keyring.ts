/**
 * The cluster PSKs one host holds: the secret it initiates handshakes with, and during a
 * rotation one more secret it also accepts. Pure (derivation is CPU only). See DESIGN.md
 * "Rotating the cluster secret".
 */
import { PROTOCOL_MAX_VERSION, PROTOCOL_MIN_VERSION, WeftError } from '../common/index.js';
import { wipe } from './primitives.js';
import { type PskKdf, derivePsk } from './psk-kdf.js';

/** One secret of a keyring, as given to {@link ClusterKeyring.derive}. `secret` is borrowed. */
export interface KeyringSecret {
  secret: Buffer;
  kdf: PskKdf;
}

/**
 * Immutable set of PSKs, per protocol version, derived once (Argon2id is the slow part).
 * Entry 0 is the secret this host initiates with; every entry is accepted as responder, in
 * order. A rotation builds a new keyring and swaps it in; connections snapshot the PSKs when
 * their handshake begins, so the old keyring may only be destroyed once those finished.
 */
export class ClusterKeyring {
  private readonly psks: ReadonlyMap<number, readonly Buffer[]>;
  private destroyed = false;

  private constructor(psks: Map<number, Buffer[]>, readonly kdfs: readonly PskKdf[], readonly deriveMs: number) {
    this.psks = psks;
  }

  /** Derive the PSKs of `secrets` (1..n, first = initiate) for every version in [min, max]. */
  static async derive(secrets: readonly KeyringSecret[], min = PROTOCOL_MIN_VERSION, max = PROTOCOL_MAX_VERSION): Promise<ClusterKeyring> {
    if (secrets.length === 0) throw new WeftError('WEFT_ERR_BAD_ARGS', 'a keyring needs at least one secret');
    const started = performance.now();
    const psks = new Map<number, Buffer[]>();
    try {
      for (let v = min; v <= max; v++) {
        // One at a time: peak memory stays at one Argon2id instance (PSK_KDF_PARAMS memlimit).
        const list: Buffer[] = [];
        psks.set(v, list);
        for (const s of secrets) list.push(await derivePsk(s.secret, s.kdf, v));
      }
    } catch (e) {
      for (const list of psks.values()) wipe(...list);
      throw e;
    }
    return new ClusterKeyring(psks, secrets.map((s) => s.kdf), Math.round(performance.now() - started));
  }

  /** Number of secrets (1, or 2 during a rotation). */
  get size(): number {
    return this.kdfs.length;
  }

  /** The PSK this host initiates with at protocol `version`. */
  initiatePsk(version: number): Buffer {
    return this.list(version)[0]!;
  }

  /** Every PSK this host accepts at `version`, the initiating one first. */
  acceptPsks(version: number): readonly Buffer[] {
    return this.list(version);
  }

  /** Wipe every PSK. Idempotent; later lookups throw WEFT_ERR_CLOSED. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const list of this.psks.values()) wipe(...list);
  }

  private list(version: number): readonly Buffer[] {
    if (this.destroyed) throw new WeftError('WEFT_ERR_CLOSED', 'cluster keyring was destroyed (replaced by a rotation)');
    const l = this.psks.get(version);
    if (!l) throw new WeftError('WEFT_ERR_VERSION', `no cluster PSK derived for protocol version ${version}`);
    return l;
  }
}
