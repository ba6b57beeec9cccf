/* weft data-plane addon: placeholder until the TAP/UDP batch I/O lands (issue 3). */
#include <node_api.h>

static napi_value abi_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_uint32(env, 1, &v);
  return v;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "abiVersion", NAPI_AUTO_LENGTH, abi_version, NULL, &fn);
  napi_set_named_property(env, exports, "abiVersion", fn);
  return exports;
}
