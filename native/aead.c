/*
 * weft data-plane addon: batched in-place AEAD (AES-256-GCM, ChaCha20-Poly1305 IETF).
 *
 * Uses the OpenSSL EVP API exported by the node binary itself (nothing extra is linked).
 * One handle keeps two initialised EVP_CIPHER_CTX (seal and open) for one key, so each
 * message only sets its 12-byte nonce; that is what makes it ~2-5x cheaper than Node's
 * crypto.createCipheriv per packet. Both algorithms produce RFC 8439 / SP 800-38D output:
 * ciphertext || 16-byte tag, byte-identical to libsodium's *_ietf_encrypt.
 *
 * Open is in place and leaves nothing changed on failure: the message is decrypted in
 * place, and if the tag does not verify the same keystream is applied again (both ciphers
 * are CTR-based), which restores the ciphertext bit for bit. Unauthenticated plaintext is
 * therefore never visible to JS.
 */
#include "weft_dp.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

/* Largest single message the EVP API (int lengths) can take, tag included. bytes */
#define AEAD_MSG_MAX ((uint32_t)INT_MAX - WEFT_AEAD_TAG_BYTES)

typedef struct {
  EVP_CIPHER_CTX *seal; /* NULL after aeadFree */
  EVP_CIPHER_CTX *open;
} weft_aead;

static const napi_type_tag AEAD_TAG = {0x77656674aeadaeadULL, 0x6b65792d63747831ULL};

static void aead_release(weft_aead *a) {
  EVP_CIPHER_CTX_free(a->seal); /* frees and cleanses the key schedule; NULL is a no-op */
  EVP_CIPHER_CTX_free(a->open);
  a->seal = a->open = NULL;
}

static void aead_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  aead_release(data);
  free(data);
}

/* aeadCreate(alg: 'chacha20-poly1305' | 'aes-256-gcm', key: 32 bytes): AeadHandle */
napi_value weft_aead_create(napi_env env, napi_callback_info info) {
  napi_value argv[2], ext;
  char alg[32];
  uint8_t *key;
  size_t key_len;
  const EVP_CIPHER *cipher;
  weft_aead *a;
  if (weft_args(env, info, 2, 2, argv) != 0) return NULL;
  if (weft_arg_str(env, argv[0], "alg", alg, sizeof alg) != 0 ||
      weft_arg_bytes(env, argv[1], "key", &key, &key_len) != 0)
    return NULL;
  if (strcmp(alg, "chacha20-poly1305") == 0)
    cipher = EVP_chacha20_poly1305();
  else if (strcmp(alg, "aes-256-gcm") == 0)
    cipher = EVP_aes_256_gcm();
  else
    return weft_throw_range(env, "alg must be 'chacha20-poly1305' or 'aes-256-gcm'");
  if (key_len != WEFT_AEAD_KEY_BYTES)
    return weft_throw_range(env, "key must be %d bytes", WEFT_AEAD_KEY_BYTES);

  a = calloc(1, sizeof *a);
  if (a == NULL) return weft_throw_state(env, "out of memory");
  a->seal = EVP_CIPHER_CTX_new();
  a->open = EVP_CIPHER_CTX_new();
  if (a->seal == NULL || a->open == NULL ||
      EVP_EncryptInit_ex(a->seal, cipher, NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(a->open, cipher, NULL, key, NULL) != 1 ||
      EVP_CIPHER_CTX_get_iv_length(a->seal) != WEFT_AEAD_NONCE_BYTES) {
    aead_finalize(env, a, NULL);
    return weft_throw_state(env, "OpenSSL could not initialise %s", alg);
  }
  if (napi_create_external(env, a, aead_finalize, NULL, &ext) != napi_ok) {
    aead_finalize(env, a, NULL);
    return weft_throw_state(env, "cannot create AEAD handle");
  }
  napi_type_tag_object(env, ext, &AEAD_TAG);
  return ext;
}

/* aeadFree(h): releases the cipher contexts now (idempotent); later use throws. */
napi_value weft_aead_free(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void *a;
  if (weft_args(env, info, 1, 1, argv) != 0) return NULL;
  if (weft_arg_handle(env, argv[0], "h", &AEAD_TAG, &a) != 0) return NULL;
  aead_release(a);
  return weft_undefined(env);
}

/* The arguments shared by seal and open, validated. */
typedef struct {
  weft_aead *aead;
  uint8_t *arena, *nonces;
  size_t arena_len, nonces_len;
  uint32_t *offs, *lens, *ad_offs, *ad_lens, count;
} batch_args;

/* Parse (h, arena, offs, lens, nonces, adOffs, adLens) from argv[0..6] and count from
 * argv[count_at]; check every message and AD range against the arena. `tag_extra` is the
 * room needed after lens[i]: 16 when sealing (tag appended), 0 when opening. */
static int batch_parse(napi_env env, napi_value *argv, int count_at, uint32_t tag_extra,
                       batch_args *b) {
  void *h;
  size_t n_offs, n_lens, n_adoffs, n_adlens;
  if (weft_arg_handle(env, argv[0], "h", &AEAD_TAG, &h) != 0 ||
      weft_arg_bytes(env, argv[1], "arena", &b->arena, &b->arena_len) != 0 ||
      weft_arg_u32s(env, argv[2], "offs", &b->offs, &n_offs) != 0 ||
      weft_arg_u32s(env, argv[3], "lens", &b->lens, &n_lens) != 0 ||
      weft_arg_bytes(env, argv[4], "nonces", &b->nonces, &b->nonces_len) != 0 ||
      weft_arg_u32s(env, argv[5], "adOffs", &b->ad_offs, &n_adoffs) != 0 ||
      weft_arg_u32s(env, argv[6], "adLens", &b->ad_lens, &n_adlens) != 0 ||
      weft_arg_u32(env, argv[count_at], "count", 0, UINT32_MAX, &b->count) != 0)
    return -1;
  b->aead = h;
  if (b->aead->seal == NULL) {
    napi_throw_error(env, "ERR_WEFT_CLOSED", "AEAD handle was freed");
    return -1;
  }
  if (b->count > n_offs || b->count > n_lens || b->count > n_adoffs || b->count > n_adlens) {
    weft_throw_range(env, "count (%u) exceeds offs/lens/adOffs/adLens length", b->count);
    return -1;
  }
  if ((uint64_t)b->count * WEFT_AEAD_NONCE_BYTES > b->nonces_len) {
    weft_throw_range(env, "nonces must hold 12 * count bytes");
    return -1;
  }
  for (uint32_t i = 0; i < b->count; i++) {
    if (b->lens[i] > AEAD_MSG_MAX || b->ad_lens[i] > AEAD_MSG_MAX) {
      weft_throw_range(env, "message %u: length too large", i);
      return -1;
    }
    if (!weft_in_bounds(b->offs[i], (uint64_t)b->lens[i] + tag_extra, b->arena_len)) {
      weft_throw_range(env, "message %u: offs + lens%s exceeds arena.length", i,
                       tag_extra ? " + 16" : "");
      return -1;
    }
    if (!weft_in_bounds(b->ad_offs[i], b->ad_lens[i], b->arena_len)) {
      weft_throw_range(env, "message %u: adOffs + adLens exceeds arena.length", i);
      return -1;
    }
  }
  return 0;
}

/* Seal one message in place and append its tag. 1 on success. */
static int seal_one(EVP_CIPHER_CTX *c, const uint8_t *nonce, const uint8_t *ad, int ad_len,
                    uint8_t *msg, int len) {
  int outl;
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) != 1) return 0;
  if (ad_len > 0 && EVP_EncryptUpdate(c, NULL, &outl, ad, ad_len) != 1) return 0;
  if (len > 0 && EVP_EncryptUpdate(c, msg, &outl, msg, len) != 1) return 0;
  if (EVP_EncryptFinal_ex(c, msg + len, &outl) != 1) return 0;
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, WEFT_AEAD_TAG_BYTES, msg + len) == 1;
}

/* aeadSealBatch(h, arena, offs, lens, nonces, adOffs, adLens, count): count sealed. */
napi_value weft_aead_seal_batch(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  batch_args b;
  if (weft_args(env, info, 8, 8, argv) != 0) return NULL;
  if (batch_parse(env, argv, 7, WEFT_AEAD_TAG_BYTES, &b) != 0) return NULL;
  for (uint32_t i = 0; i < b.count; i++) {
    if (!seal_one(b.aead->seal, b.nonces + (size_t)i * WEFT_AEAD_NONCE_BYTES,
                  b.arena + b.ad_offs[i], (int)b.ad_lens[i], b.arena + b.offs[i],
                  (int)b.lens[i]))
      return weft_throw_state(env, "OpenSSL seal failed at message %u", i);
  }
  return weft_u32(env, b.count);
}

/* Open one message (ciphertext || tag, total len >= 16) in place. 1 if the tag verified;
 * 0 otherwise, with the ciphertext restored. */
static int open_one(weft_aead *a, const uint8_t *nonce, const uint8_t *ad, int ad_len,
                    uint8_t *msg, int len) {
  int outl, ct_len = len - WEFT_AEAD_TAG_BYTES, ok;
  EVP_CIPHER_CTX *c = a->open;
  if (ct_len < 0) return 0;
  if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) != 1) return 0;
  if (ad_len > 0 && EVP_DecryptUpdate(c, NULL, &outl, ad, ad_len) != 1) return 0;
  if (ct_len > 0 && EVP_DecryptUpdate(c, msg, &outl, msg, ct_len) != 1) return 0;
  ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, WEFT_AEAD_TAG_BYTES, msg + ct_len) == 1 &&
       EVP_DecryptFinal_ex(c, msg + ct_len, &outl) == 1;
  if (!ok && ct_len > 0) {
    /* Re-apply the keystream: CTR mode makes this turn the plaintext back into the
     * original ciphertext. The tag bytes were never written. */
    EVP_EncryptInit_ex(a->seal, NULL, NULL, NULL, nonce);
    EVP_EncryptUpdate(a->seal, msg, &outl, msg, ct_len);
  }
  return ok;
}

/* aeadOpenBatch(h, arena, offs, lens, nonces, adOffs, adLens, ok, count): number verified.
 * ok[i] = 1 when message i verified (its first lens[i] - 16 bytes are now plaintext),
 * 0 when it did not (bytes unchanged; a message shorter than the tag never verifies). */
napi_value weft_aead_open_batch(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  batch_args b;
  uint8_t *ok;
  size_t ok_len;
  uint32_t good = 0;
  if (weft_args(env, info, 9, 9, argv) != 0) return NULL;
  if (batch_parse(env, argv, 8, 0, &b) != 0) return NULL;
  if (weft_arg_bytes(env, argv[7], "ok", &ok, &ok_len) != 0) return NULL;
  if (b.count > ok_len) return weft_throw_range(env, "count (%u) exceeds ok.length", b.count);
  for (uint32_t i = 0; i < b.count; i++) {
    ok[i] = (uint8_t)open_one(b.aead, b.nonces + (size_t)i * WEFT_AEAD_NONCE_BYTES,
                              b.arena + b.ad_offs[i], (int)b.ad_lens[i], b.arena + b.offs[i],
                              (int)b.lens[i]);
    good += ok[i];
  }
  return weft_u32(env, good);
}

/* hasAesNi(): whether the CPU has AES instructions (x86 AES-NI, or ARMv8 AES). */
napi_value weft_has_aes_ni(napi_env env, napi_callback_info info) {
  int has = 0;
  (void)info;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) has = (c & bit_AES) != 0;
#elif defined(__aarch64__)
  has = (getauxval(AT_HWCAP) & HWCAP_AES) != 0;
#endif
  return weft_bool(env, has);
}
