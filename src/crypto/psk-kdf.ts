/**
 * The cluster PSK from one secret: Argon2id for passwords, one BLAKE2b for random secrets.
 * Pure computation (no I/O); Argon2id runs on libuv's thread pool so the event loop keeps
 * serving traffic while it works. Internal to src/crypto; see DESIGN.md "Cluster secret".
 */
import sodium from 'sodium-native';
import {
  CLUSTER_PSK_RAW_LABEL, CLUSTER_PSK_SALT_CONTEXT, PSK_KDF_PARAMS, RAW_SECRET_BINARY_BYTES, RAW_SECRET_HEX_DIGITS, WeftError,
} from '../common/index.js';
import { hash } from './primitives.js';

/** How a secret becomes a PSK: `argon2id` (a password) or `raw` (a random secret, one hash). */
export type PskKdf = 'argon2id' | 'raw';

/** PSK length (the Noise psk). bytes */
export const PSK_BYTES = 32;
const RAW_LABEL = Buffer.from(CLUSTER_PSK_RAW_LABEL, 'ascii');
/** The fixed Argon2id salt: BLAKE2b-128(CLUSTER_PSK_SALT_CONTEXT). */
const SALT = hash([Buffer.from(CLUSTER_PSK_SALT_CONTEXT, 'ascii')], sodium.crypto_pwhash_SALTBYTES);
const HEX_RE = new RegExp(`^[0-9a-fA-F]{${RAW_SECRET_HEX_DIGITS},}$`);

/**
 * The KDF a secret gets. `text` says whether it came from a UTF-8 text (line) or is a binary
 * blob. Random secrets — ≥ 64 hex digits, or ≥ 32 bytes that are not UTF-8 text (e.g.
 * `head -c 32 /dev/urandom`) — have ≥ 256 bits, which no guessing can reach, so Argon2id would
 * only slow start-up; every other secret is treated as a password.
 */
export function pskKdfFor(secret: Buffer, text: boolean): PskKdf {
  if (!text) return secret.length >= RAW_SECRET_BINARY_BYTES ? 'raw' : 'argon2id';
  return HEX_RE.test(secret.toString('latin1')) ? 'raw' : 'argon2id';
}

/**
 * Derive the 32-byte PSK of `secret` for protocol `version` (whose Argon2id parameters are
 * PSK_KDF_PARAMS[version]). The secret is borrowed, not wiped. Throws WEFT_ERR_VERSION for a
 * version without parameters, WEFT_ERR_SECRET if libsodium refuses (e.g. out of memory).
 */
export async function derivePsk(secret: Buffer, kdf: PskKdf, version: number): Promise<Buffer> {
  const params = PSK_KDF_PARAMS[version];
  if (!params) throw new WeftError('WEFT_ERR_VERSION', `no cluster PSK parameters for protocol version ${version}`);
  if (kdf === 'raw') return hash([RAW_LABEL, Buffer.from([version]), secret], PSK_BYTES);
  const out = Buffer.alloc(PSK_BYTES);
  try {
    await sodium.crypto_pwhash_async(out, secret, SALT, params.opslimit, params.memlimitBytes, sodium.crypto_pwhash_ALG_ARGON2ID13);
  } catch (e) {
    throw new WeftError('WEFT_ERR_SECRET',
      `cannot derive the cluster PSK (Argon2id, ${params.memlimitBytes >> 20} MiB): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return out;
}
