/*
 * weft data-plane addon: module init. Registers the functions implemented in tap.c, gso.c, tap_gro.c, udp_gro.c,
 * udp.c, aead.c, poll.c and netlink.c. See native/README.md for the contract of each call.
 */
#include "weft_dp.h"

#include <openssl/crypto.h>

/* Bumped whenever the JS-visible surface changes incompatibly (checked by native.ts). */
#define WEFT_DP_ABI_VERSION 3

static napi_value abi_version(napi_env env, napi_callback_info info) {
  (void)info;
  return weft_u32(env, WEFT_DP_ABI_VERSION);
}

/* OpenSSL version string of the node binary the addon runs in (for logs and bench rows). */
static napi_value openssl_version(napi_env env, napi_callback_info info) {
  napi_value v = NULL;
  (void)info;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &v);
  return v;
}

#define FN(js, c) {js, NULL, c, NULL, NULL, NULL, napi_enumerable, NULL}

NAPI_MODULE_INIT() {
  static const napi_property_descriptor fns[] = {
      FN("abiVersion", abi_version),
      FN("opensslVersion", openssl_version),
      FN("tapOpen", weft_tap_open),
      FN("tapSetOffload", weft_tap_set_offload),
      FN("readBatch", weft_read_batch),
      FN("writeBatch", weft_write_batch),
      FN("gsoSplit", weft_gso_split),
      FN("tapWriteCoalesced", weft_tap_write_coalesced),
      FN("udpOpen", weft_udp_open),
      FN("udpLocalPort", weft_udp_local_port),
      FN("udpRecvBatch", weft_udp_recv_batch),
      FN("udpSendBatch", weft_udp_send_batch),
      FN("udpSetGro", weft_udp_set_gro),
      FN("udpRecvBatchGro", weft_udp_recv_batch_gro),
      FN("pathMtu", weft_path_mtu),
      FN("aeadCreate", weft_aead_create),
      FN("aeadFree", weft_aead_free),
      FN("aeadSealBatch", weft_aead_seal_batch),
      FN("aeadOpenBatch", weft_aead_open_batch),
      FN("hasAesNi", weft_has_aes_ni),
      FN("pollStart", weft_poll_start),
      FN("pollStop", weft_poll_stop),
      FN("close", weft_close),
      FN("netnsSocket", weft_netns_socket),
      FN("nlSetup", weft_nl_setup),
      FN("nlSend", weft_nl_send),
      FN("nlRecv", weft_nl_recv),
      FN("ethtoolSetTxCsum", weft_ethtool_set_tx_csum),
      FN("tunSetPersist", weft_tun_set_persist),
  };
  if (weft_poll_init_env(env) != 0) {
    napi_throw_error(env, "ERR_INVALID_STATE", "weft_dp: cannot initialise per-env state");
    return NULL;
  }
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok)
    return NULL;
  return exports;
}
