/**
 * Noise primitives for the `25519_ChaChaPoly_BLAKE2b` suite, over sodium-native (libsodium).
 * Pure functions, no I/O. Internal to src/crypto.
 *
 * - HASH: BLAKE2b with 64-byte output (crypto_generichash); HASHLEN 64, BLOCKLEN 128.
 * - HMAC: RFC 2104 over HASH with a 128-byte block (Noise §4.3), not BLAKE2b's keyed mode.
 * - HKDF: Noise §4.3 (two or three HASHLEN outputs chained from one HMAC temp key).
 * - DH: X25519; an all-zero result (low-order point) is refused.
 * - AEAD: ChaCha20-Poly1305 IETF, nonce = 4 zero bytes ‖ little-endian 64-bit counter (Noise §5.1).
 */
import sodium from 'sodium-native';
import { WeftError, X25519_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from '../common/index.js';

/** BLAKE2b output length used by Noise. bytes */
export const HASHLEN = 64;
/** BLAKE2b block length (HMAC padding). bytes */
export const BLOCKLEN = 128;

/** An X25519 key pair. `secretKey` is owned by whoever created it and wiped by them. */
export interface KeyPair {
  publicKey: Buffer;
  secretKey: Buffer;
}

/** HASH(parts[0] ‖ parts[1] ‖ …) with a 64-byte (or `outLen`) BLAKE2b output. */
export function hash(parts: readonly Buffer[], outLen: number = HASHLEN): Buffer {
  const out = Buffer.alloc(outLen);
  sodium.crypto_generichash_batch(out, parts as Buffer[]);
  return out;
}

/** HMAC-BLAKE2b(key, parts…) with BLOCKLEN 128, output HASHLEN. Key is not modified. */
export function hmac(key: Buffer, parts: readonly Buffer[]): Buffer {
  const block = Buffer.alloc(BLOCKLEN);
  if (key.length > BLOCKLEN) {
    const hk = hash([key]);
    hk.copy(block);
    sodium.sodium_memzero(hk);
  } else {
    key.copy(block);
  }
  const ipad = Buffer.allocUnsafe(BLOCKLEN);
  const opad = Buffer.allocUnsafe(BLOCKLEN);
  for (let i = 0; i < BLOCKLEN; i++) {
    ipad[i] = block[i]! ^ 0x36;
    opad[i] = block[i]! ^ 0x5c;
  }
  const inner = hash([ipad, ...parts]);
  const out = hash([opad, inner]);
  sodium.sodium_memzero(block);
  sodium.sodium_memzero(ipad);
  sodium.sodium_memzero(opad);
  sodium.sodium_memzero(inner);
  return out;
}

const ONE = Buffer.from([0x01]);
const TWO = Buffer.from([0x02]);
const THREE = Buffer.from([0x03]);

/**
 * Noise HKDF(chainingKey, ikm, n): n ∈ {2, 3} outputs of HASHLEN bytes each. The caller owns
 * (and wipes) the outputs; the temporary key is wiped here.
 */
export function hkdf(chainingKey: Buffer, ikm: Buffer, n: 2 | 3): Buffer[] {
  const tempKey = hmac(chainingKey, [ikm]);
  const o1 = hmac(tempKey, [ONE]);
  const o2 = hmac(tempKey, [o1, TWO]);
  const out = [o1, o2];
  if (n === 3) out.push(hmac(tempKey, [o2, THREE]));
  sodium.sodium_memzero(tempKey);
  return out;
}

/** A fresh random X25519 key pair. */
export function generateKeyPair(): KeyPair {
  const publicKey = Buffer.alloc(X25519_KEY_BYTES);
  const secretKey = Buffer.alloc(X25519_KEY_BYTES);
  sodium.crypto_box_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

/** The X25519 public key of `secretKey` (32 bytes). */
export function publicKeyOf(secretKey: Buffer): Buffer {
  const pk = Buffer.alloc(X25519_KEY_BYTES);
  sodium.crypto_scalarmult_base(pk, secretKey);
  return pk;
}

/**
 * X25519(secretKey, publicKey). Throws WEFT_ERR_HANDSHAKE when the peer sent a low-order
 * point (shared secret all zeros) — a malicious or broken peer, never a honest one.
 */
export function dh(secretKey: Buffer, publicKey: Buffer): Buffer {
  const out = Buffer.alloc(X25519_KEY_BYTES);
  try {
    sodium.crypto_scalarmult(out, secretKey, publicKey);
  } catch (e) {
    throw new WeftError('WEFT_ERR_HANDSHAKE', 'handshake failed: the peer sent an invalid (low-order) public key', { cause: e });
  }
  return out;
}

/** Write the Noise ChaChaPoly nonce for `counter` (0 ≤ counter < 2^53) into `nonce` (12 bytes). */
export function writeNonce(nonce: Buffer, counter: number): void {
  nonce.writeUInt32LE(0, 0);
  nonce.writeUInt32LE(counter >>> 0, 4);
  nonce.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
}

/** ENCRYPT(k, n, ad, plaintext) → ciphertext ‖ tag. `nonce` is a caller-owned scratch buffer. */
export function aeadSeal(key: Buffer, nonce: Buffer, counter: number, ad: Buffer | null, plaintext: Buffer): Buffer {
  writeNonce(nonce, counter);
  const out = Buffer.allocUnsafe(plaintext.length + AEAD_TAG_BYTES);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad, null, nonce, key);
  return out;
}

/** DECRYPT(k, n, ad, ciphertext ‖ tag) → plaintext, or null when authentication fails or it is too short. */
export function aeadOpen(key: Buffer, nonce: Buffer, counter: number, ad: Buffer | null, ciphertext: Buffer): Buffer | null {
  if (ciphertext.length < AEAD_TAG_BYTES) return null;
  writeNonce(nonce, counter);
  const out = Buffer.allocUnsafe(ciphertext.length - AEAD_TAG_BYTES);
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, ad, nonce, key);
  } catch {
    return null;
  }
  return out;
}

/** A scratch nonce buffer. */
export function newNonce(): Buffer {
  return Buffer.alloc(AEAD_NONCE_BYTES);
}

/** sodium_memzero every given buffer (null/undefined ignored). */
export function wipe(...bufs: Array<Buffer | null | undefined>): void {
  for (const b of bufs) if (b) sodium.sodium_memzero(b);
}

/** Constant-time equality of two equal-length buffers (false when lengths differ). */
export function equalConstantTime(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && sodium.sodium_memcmp(a, b);
}
