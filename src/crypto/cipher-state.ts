/**
 * Post-handshake transport cipher for ordered (TCP) control messages.
 */
import { AEAD_KEY_BYTES, AEAD_TAG_BYTES, SESSION_MAX_MESSAGES, WeftError } from '../common/index.js';
import { aeadOpen, aeadSeal, newNonce, wipe } from './primitives.js';

/**
 * One direction of an established session: ChaCha20-Poly1305 IETF under a 32-byte key with the
 * Noise nonce (4 zero bytes ‖ 64-bit little-endian counter). The counter starts at 0 and goes up
 * by one per message, so a nonce is never reused under a key.
 *
 * Guarantees: `seal` output is `plaintext.length + 16` bytes (ciphertext ‖ tag), no associated
 * data. `open` expects messages in exactly the order they were sealed (TCP); a dropped,
 * reordered, replayed, truncated or altered message fails with WEFT_ERR_AUTH, after which the
 * connection must be closed (the counter does not advance on failure). Both refuse with
 * WEFT_ERR_CLOSED after SESSION_MAX_MESSAGES messages (far before the counter could wrap; the
 * mesh reconnects, which runs a new handshake) and after `destroy()`.
 *
 * Lifecycle: created by `Handshake.split()`; owned by one connection; `destroy()` (idempotent)
 * wipes the key when the connection closes.
 */
export class CipherState {
  private key: Buffer | null;
  private counter: number;
  private readonly nonce = newNonce();

  /** Copies `key` (32 bytes). `startCounter` exists for tests of the exhaustion limit. */
  constructor(key: Buffer, startCounter = 0) {
    if (key.length !== AEAD_KEY_BYTES) throw new WeftError('WEFT_ERR_INTERNAL', `cipher key must be ${AEAD_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
    this.counter = startCounter;
  }

  /** Messages sealed or opened so far (the next nonce counter). */
  get messages(): number {
    return this.counter;
  }

  /** Encrypt and authenticate one message. */
  seal(plaintext: Buffer): Buffer {
    const key = this.usableKey();
    const out = aeadSeal(key, this.nonce, this.counter, null, plaintext);
    this.counter++;
    return out;
  }

  /** Authenticate and decrypt the next message. Throws WEFT_ERR_AUTH if it does not verify. */
  open(ciphertext: Buffer): Buffer {
    const key = this.usableKey();
    const out = aeadOpen(key, this.nonce, this.counter, null, ciphertext);
    if (out === null) {
      const why = ciphertext.length < AEAD_TAG_BYTES
        ? `message of ${ciphertext.length} bytes is shorter than its ${AEAD_TAG_BYTES}-byte tag`
        : `message ${this.counter} failed authentication (altered, reordered or not from this peer)`;
      throw new WeftError('WEFT_ERR_AUTH', `session decrypt failed: ${why}; closing the connection`);
    }
    this.counter++;
    return out;
  }

  /** Wipe the key; later seal/open throw WEFT_ERR_CLOSED. Idempotent. */
  destroy(): void {
    wipe(this.key);
    this.key = null;
  }

  private usableKey(): Buffer {
    if (this.key === null) throw new WeftError('WEFT_ERR_CLOSED', 'session cipher already destroyed (connection closed)');
    if (this.counter >= SESSION_MAX_MESSAGES) {
      throw new WeftError('WEFT_ERR_CLOSED', `session cipher exhausted after ${SESSION_MAX_MESSAGES} messages; reconnect to rekey`);
    }
    return this.key;
  }
}
