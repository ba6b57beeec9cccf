/*
 * weft data-plane addon: shared declarations.
 *
 * Thread model: every function runs on the JS thread that loaded the addon (main thread or
 * a worker_thread) and never blocks: all fds are non-blocking and every loop ends at EAGAIN
 * or at a caller-given count. The only thread is netlink.c's short-lived, joined setns thread.
 *
 * Safety model: every index, length, offset, count and stride that arrives from JS is
 * checked against the real size of the typed array it refers to before any byte is read
 * or written. A bad argument throws a JS TypeError (wrong type) or RangeError (out of
 * range); an OS failure throws an Error with .code = errno name, .errno and .syscall.
 */
#ifndef WEFT_DP_H
#define WEFT_DP_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* lens[i] value for a frame/datagram that did not fit its arena slot (counted as malformed). */
#define WEFT_LEN_TRUNCATED 0xffffffffu
/* lens[i] value for a datagram whose source is not IPv4 (IPv6 sockets only). */
#define WEFT_LEN_NOT_IPV4 0xfffffffeu
/* Messages per recvmmsg/sendmmsg call; bigger batches are split into chunks of this size. */
#define WEFT_MMSG_CHUNK 64
/* AEAD tag size for both supported algorithms. bytes */
#define WEFT_AEAD_TAG_BYTES 16
/* AEAD nonce size for both supported algorithms. bytes */
#define WEFT_AEAD_NONCE_BYTES 12
/* AEAD key size for both supported algorithms. bytes */
#define WEFT_AEAD_KEY_BYTES 32

/* udpSendBatch per-datagram status written to errs[i]. */
enum weft_send_status {
  WEFT_SEND_OK = 0,        /* sent */
  WEFT_SEND_MSGSIZE = 1,   /* EMSGSIZE: bigger than the path MTU with DF set */
  WEFT_SEND_ERROR = 2,     /* another per-datagram error (unreachable, EPERM by firewall, …) */
  WEFT_SEND_AGAIN = 3      /* not attempted: socket buffer full (EAGAIN) */
};

/* ---- argument helpers (args.c): return 0 on success, -1 after throwing a JS exception ---- */

/* Fetch exactly [min, max] arguments; missing optional ones are left as undefined. */
int weft_args(napi_env env, napi_callback_info info, size_t min, size_t max, napi_value *argv);
/* A file descriptor: an integer number in [0, INT32_MAX]. */
int weft_arg_fd(napi_env env, napi_value v, const char *name, int *out);
/* An integer number in [min, max]. */
int weft_arg_u32(napi_env env, napi_value v, const char *name, uint32_t min, uint32_t max,
                 uint32_t *out);
/* A boolean; undefined counts as `dflt`. */
int weft_arg_bool(napi_env env, napi_value v, const char *name, int dflt, int *out);
/* A Uint8Array (Buffer is one). data may be NULL when len is 0. */
int weft_arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len);
/* Like weft_arg_bytes, but undefined/null is allowed: *present = 0, data = NULL, len = 0.
 * (An empty Uint8Array is present with len 0; its data pointer may be NULL too.) */
int weft_arg_bytes_opt(napi_env env, napi_value v, const char *name, uint8_t **data,
                       size_t *len, int *present);
/* A Uint32Array; len is its element count. */
int weft_arg_u32s(napi_env env, napi_value v, const char *name, uint32_t **data, size_t *len);
/* A string of 1..cap-1 UTF-8 bytes without NUL, copied NUL-terminated into buf[cap]. */
int weft_arg_str(napi_env env, napi_value v, const char *name, char *buf, size_t cap);
/* An AEAD or poll handle: an external created by this addon with the given type tag. */
int weft_arg_handle(napi_env env, napi_value v, const char *name, const napi_type_tag *tag,
                    void **out);

/* Throw helpers; they return NULL so callers can `return weft_throw_…(…)`. */
napi_value weft_throw_type(napi_env env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
napi_value weft_throw_range(napi_env env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
napi_value weft_throw_state(napi_env env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Error with .code = "EAGAIN"-style errno name, .errno = err, .syscall = syscall. */
napi_value weft_throw_errno(napi_env env, const char *syscall, int err, const char *detail);

/* Value constructors (never fail in practice; on failure they return NULL, which N-API
 * turns into undefined). */
napi_value weft_u32(napi_env env, uint32_t v);
napi_value weft_i32(napi_env env, int32_t v);
napi_value weft_bool(napi_env env, int v);
napi_value weft_undefined(napi_env env);

/* off + len <= total, without overflow. */
static inline int weft_in_bounds(uint64_t off, uint64_t len, uint64_t total) {
  return off <= total && len <= total - off;
}

/* ---- exported JS functions, one group per file ---- */

/* tap.c */
napi_value weft_tap_open(napi_env env, napi_callback_info info);
napi_value weft_tap_set_offload(napi_env env, napi_callback_info info);
napi_value weft_read_batch(napi_env env, napi_callback_info info);
napi_value weft_write_batch(napi_env env, napi_callback_info info);
/* udp.c */
napi_value weft_udp_open(napi_env env, napi_callback_info info);
napi_value weft_udp_local_port(napi_env env, napi_callback_info info);
napi_value weft_udp_recv_batch(napi_env env, napi_callback_info info);
napi_value weft_udp_send_batch(napi_env env, napi_callback_info info);
napi_value weft_path_mtu(napi_env env, napi_callback_info info);
/* aead.c */
napi_value weft_aead_create(napi_env env, napi_callback_info info);
napi_value weft_aead_free(napi_env env, napi_callback_info info);
napi_value weft_aead_seal_batch(napi_env env, napi_callback_info info);
napi_value weft_aead_open_batch(napi_env env, napi_callback_info info);
napi_value weft_has_aes_ni(napi_env env, napi_callback_info info);
/* gso.c */
napi_value weft_gso_split(napi_env env, napi_callback_info info);
/* udp_gro.c */
napi_value weft_udp_set_gro(napi_env env, napi_callback_info info);
napi_value weft_udp_recv_batch_gro(napi_env env, napi_callback_info info);
/* tap_gro.c */
napi_value weft_tap_write_coalesced(napi_env env, napi_callback_info info);
/* poll.c */
napi_value weft_poll_start(napi_env env, napi_callback_info info);
napi_value weft_poll_stop(napi_env env, napi_callback_info info);
napi_value weft_close(napi_env env, napi_callback_info info);
/* netlink.c (the kernel edge: sockets in any netns, netlink bytes, two ioctls) */
napi_value weft_netns_socket(napi_env env, napi_callback_info info);
napi_value weft_nl_setup(napi_env env, napi_callback_info info);
napi_value weft_nl_send(napi_env env, napi_callback_info info);
napi_value weft_nl_recv(napi_env env, napi_callback_info info);
napi_value weft_ethtool_set_tx_csum(napi_env env, napi_callback_info info);
napi_value weft_tun_set_persist(napi_env env, napi_callback_info info);
/* Per-env setup of poll.c (instance data + async cleanup hook); 0 on success. */
int weft_poll_init_env(napi_env env);

#endif /* WEFT_DP_H */
