/** Minimal typings for the parts of sodium-native (libsodium) that weft uses. */
declare module 'sodium-native' {
  const sodium: {
    crypto_scalarmult_BYTES: number;
    crypto_scalarmult_SCALARBYTES: number;
    crypto_box_PUBLICKEYBYTES: number;
    crypto_box_SECRETKEYBYTES: number;
    crypto_aead_chacha20poly1305_ietf_ABYTES: number;
    crypto_aead_chacha20poly1305_ietf_KEYBYTES: number;
    crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number;
    crypto_generichash_BYTES: number;
    crypto_generichash_BYTES_MAX: number;
    crypto_generichash_KEYBYTES_MAX: number;
    crypto_secretbox_KEYBYTES: number;
    crypto_secretbox_NONCEBYTES: number;
    crypto_secretbox_MACBYTES: number;
    randombytes_buf(buf: Buffer): void;
    randombytes_uniform(upper: number): number;
    crypto_box_keypair(pk: Buffer, sk: Buffer): void;
    crypto_scalarmult_base(q: Buffer, n: Buffer): void;
    crypto_scalarmult(q: Buffer, n: Buffer, p: Buffer): void;
    crypto_generichash(out: Buffer, input: Buffer, key?: Buffer): void;
    crypto_generichash_batch(out: Buffer, inputs: Buffer[], key?: Buffer): void;
    crypto_aead_chacha20poly1305_ietf_encrypt(
      c: Buffer, m: Buffer, ad: Buffer | null, nsec: null, npub: Buffer, k: Buffer): number;
    crypto_aead_chacha20poly1305_ietf_decrypt(
      m: Buffer, nsec: null, c: Buffer, ad: Buffer | null, npub: Buffer, k: Buffer): number;
    crypto_secretbox_easy(c: Buffer, m: Buffer, n: Buffer, k: Buffer): void;
    crypto_secretbox_open_easy(m: Buffer, c: Buffer, n: Buffer, k: Buffer): boolean;
    crypto_pwhash_SALTBYTES: number;
    crypto_pwhash_ALG_ARGON2ID13: number;
    /** Argon2 on libuv's thread pool; resolves when `out` holds the hash. */
    crypto_pwhash_async(out: Buffer, passwd: Buffer, salt: Buffer, opslimit: number, memlimit: number, alg: number): Promise<void>;
    sodium_memzero(buf: Buffer): void;
    sodium_memcmp(a: Buffer, b: Buffer): boolean;
  };
  export default sodium;
}
