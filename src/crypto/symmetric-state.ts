/**
 * Noise §5.1 CipherState (handshake-internal) and §5.2 SymmetricState. Internal to src/crypto.
 *
 * Failures return null / throw HandshakeError so the handshake can turn them into one-line,
 * actionable messages; nothing here knows which handshake message is being processed.
 */
import { AEAD_KEY_BYTES } from '../common/index.js';
import { HASHLEN, aeadOpen, aeadSeal, hash, hkdf, newNonce, wipe } from './primitives.js';

/** Handshake-time cipher: key k (or none) and nonce n. Handshakes use only a handful of nonces. */
export class NoiseCipher {
  private key: Buffer | null = null;
  private n = 0;
  private readonly nonce = newNonce();

  get hasKey(): boolean {
    return this.key !== null;
  }

  /** InitializeKey: takes ownership of `key` (AEAD_KEY_BYTES) and resets the nonce. */
  initializeKey(key: Buffer): void {
    wipe(this.key);
    this.key = key;
    this.n = 0;
  }

  /** EncryptWithAd: plaintext is returned as-is (copied) while there is no key. */
  encryptWithAd(ad: Buffer, plaintext: Buffer): Buffer {
    if (this.key === null) return Buffer.from(plaintext);
    const out = aeadSeal(this.key, this.nonce, this.n, ad, plaintext);
    this.n++;
    return out;
  }

  /** DecryptWithAd: null when authentication fails (n is then not advanced). */
  decryptWithAd(ad: Buffer, ciphertext: Buffer): Buffer | null {
    if (this.key === null) return Buffer.from(ciphertext);
    const out = aeadOpen(this.key, this.nonce, this.n, ad, ciphertext);
    if (out !== null) this.n++;
    return out;
  }

  destroy(): void {
    wipe(this.key);
    this.key = null;
  }
}

/** Noise SymmetricState: chaining key ck, handshake hash h, and the current cipher. */
export class SymmetricState {
  private ck: Buffer;
  private h: Buffer;
  private readonly cipher = new NoiseCipher();

  /** InitializeSymmetric(protocolName). */
  constructor(protocolName: string) {
    const name = Buffer.from(protocolName, 'ascii');
    if (name.length <= HASHLEN) {
      this.h = Buffer.alloc(HASHLEN);
      name.copy(this.h);
    } else {
      this.h = hash([name]);
    }
    this.ck = Buffer.from(this.h);
  }

  get hasKey(): boolean {
    return this.cipher.hasKey;
  }

  /** A copy of the current handshake hash h. */
  handshakeHash(): Buffer {
    return Buffer.from(this.h);
  }

  /** The chaining key itself (not a copy): read it only to derive keys right before destroy(). */
  chainingKey(): Buffer {
    return this.ck;
  }

  mixHash(data: Buffer): void {
    const next = hash([this.h, data]);
    wipe(this.h);
    this.h = next;
  }

  mixKey(ikm: Buffer): void {
    const [ck, tempK] = hkdf(this.ck, ikm, 2) as [Buffer, Buffer];
    wipe(this.ck);
    this.ck = ck;
    this.cipher.initializeKey(truncateKey(tempK));
  }

  mixKeyAndHash(ikm: Buffer): void {
    const [ck, tempH, tempK] = hkdf(this.ck, ikm, 3) as [Buffer, Buffer, Buffer];
    wipe(this.ck);
    this.ck = ck;
    this.mixHash(tempH);
    wipe(tempH);
    this.cipher.initializeKey(truncateKey(tempK));
  }

  encryptAndHash(plaintext: Buffer): Buffer {
    const ct = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  /** DecryptAndHash; null when authentication fails (h is then left unchanged). */
  decryptAndHash(ciphertext: Buffer): Buffer | null {
    const pt = this.cipher.decryptWithAd(this.h, ciphertext);
    if (pt === null) return null;
    this.mixHash(ciphertext);
    return pt;
  }

  /** Split(): the two transport keys (initiator→responder, responder→initiator), 32 bytes each. */
  split(): [Buffer, Buffer] {
    const [k1, k2] = hkdf(this.ck, Buffer.alloc(0), 2) as [Buffer, Buffer];
    return [truncateKey(k1), truncateKey(k2)];
  }

  /** Wipe ck, h and the cipher key. Idempotent. */
  destroy(): void {
    wipe(this.ck, this.h);
    this.cipher.destroy();
  }
}

/** First AEAD_KEY_BYTES of a HASHLEN output, as a fresh buffer; the input is wiped. */
export function truncateKey(full: Buffer): Buffer {
  const k = Buffer.alloc(AEAD_KEY_BYTES);
  full.copy(k, 0, 0, AEAD_KEY_BYTES);
  wipe(full);
  return k;
}
