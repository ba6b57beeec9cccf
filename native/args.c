/*
 * weft data-plane addon: argument validation and error helpers.
 *
 * Every JS value that reaches a syscall or a memory access goes through one of the
 * weft_arg_* functions first. They accept only the exact JS type documented (numbers must
 * be integral and in range; byte arenas must be Uint8Array, length arrays Uint32Array) and
 * throw TypeError/RangeError otherwise, so the callers can rely on (pointer, length) pairs.
 */
#include "weft_dp.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define WEFT_MSG_MAX 256

static napi_value throw_fmt(napi_env env,
                            napi_status (*thrower)(napi_env, const char *, const char *),
                            const char *code, const char *fmt, va_list ap) {
  char msg[WEFT_MSG_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  thrower(env, code, msg);
  return NULL;
}

napi_value weft_throw_type(napi_env env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_fmt(env, napi_throw_type_error, "ERR_INVALID_ARG_TYPE", fmt, ap);
  va_end(ap);
  return NULL;
}

napi_value weft_throw_range(napi_env env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_fmt(env, napi_throw_range_error, "ERR_OUT_OF_RANGE", fmt, ap);
  va_end(ap);
  return NULL;
}

napi_value weft_throw_state(napi_env env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_fmt(env, napi_throw_error, "ERR_INVALID_STATE", fmt, ap);
  va_end(ap);
  return NULL;
}

/* "ENOENT" for ENOENT; glibc before 2.32 has no strerrorname_np, so fall back to "E<n>". */
static const char *errno_name(int err, char *buf, size_t cap) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name != NULL) return name;
#endif
  snprintf(buf, cap, "E%d", err);
  return buf;
}

napi_value weft_throw_errno(napi_env env, const char *syscall, int err, const char *detail) {
  char namebuf[16], msg[WEFT_MSG_MAX];
  const char *name = errno_name(err, namebuf, sizeof namebuf);
  napi_value code, text, error, num, sys;
  snprintf(msg, sizeof msg, "%s%s%s failed: %s (%s)", syscall, detail ? " " : "",
           detail ? detail : "", strerror(err), name);
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok) {
    napi_throw_error(env, name, msg); /* fall back to a plain Error */
    return NULL;
  }
  if (napi_create_int32(env, -err, &num) == napi_ok)
    napi_set_named_property(env, error, "errno", num);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok)
    napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
  return NULL;
}

int weft_args(napi_env env, napi_callback_info info, size_t min, size_t max, napi_value *argv) {
  size_t argc = max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    weft_throw_state(env, "cannot read arguments");
    return -1;
  }
  if (argc < min) {
    weft_throw_type(env, "expected at least %zu arguments, got %zu", min, argc);
    return -1;
  }
  return 0; /* N-API fills missing trailing arguments with undefined */
}

static int arg_number(napi_env env, napi_value v, const char *name, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    weft_throw_type(env, "%s must be a number", name);
    return -1;
  }
  napi_get_value_double(env, v, out);
  return 0;
}

int weft_arg_u32(napi_env env, napi_value v, const char *name, uint32_t min, uint32_t max,
                 uint32_t *out) {
  double d;
  if (arg_number(env, v, name, &d) != 0) return -1;
  if (!(d >= (double)min && d <= (double)max) || d != floor(d)) {
    weft_throw_range(env, "%s must be an integer in [%u, %u]", name, min, max);
    return -1;
  }
  *out = (uint32_t)d;
  return 0;
}

int weft_arg_fd(napi_env env, napi_value v, const char *name, int *out) {
  uint32_t fd;
  if (weft_arg_u32(env, v, name, 0, INT32_MAX, &fd) != 0) return -1;
  *out = (int)fd;
  return 0;
}

int weft_arg_bool(napi_env env, napi_value v, const char *name, int dflt, int *out) {
  napi_valuetype t;
  bool b;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined) {
    *out = dflt;
    return 0;
  }
  if (t != napi_boolean) {
    weft_throw_type(env, "%s must be a boolean", name);
    return -1;
  }
  napi_get_value_bool(env, v, &b);
  *out = b ? 1 : 0;
  return 0;
}

/* Shared body of the typed-array getters: checks the element type and returns the data
 * pointer (already adjusted by byteOffset) and the element count. */
static int arg_typed(napi_env env, napi_value v, const char *name, napi_typedarray_type want,
                     const char *want_name, void **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *ptr = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    weft_throw_type(env, "%s must be a %s", name, want_name);
    return -1;
  }
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok ||
      type != want) {
    weft_throw_type(env, "%s must be a %s", name, want_name);
    return -1;
  }
  if (ptr == NULL) length = 0; /* detached or empty: nothing may be touched */
  *data = ptr;
  *len = length;
  return 0;
}

int weft_arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len) {
  void *p;
  if (arg_typed(env, v, name, napi_uint8_array, "Buffer or Uint8Array", &p, len) != 0)
    return -1;
  *data = p;
  return 0;
}

int weft_arg_bytes_opt(napi_env env, napi_value v, const char *name, uint8_t **data,
                       size_t *len, int *present) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  *present = !(t == napi_undefined || t == napi_null);
  if (!*present) {
    *data = NULL;
    *len = 0;
    return 0;
  }
  return weft_arg_bytes(env, v, name, data, len);
}

int weft_arg_u32s(napi_env env, napi_value v, const char *name, uint32_t **data, size_t *len) {
  void *p;
  if (arg_typed(env, v, name, napi_uint32_array, "Uint32Array", &p, len) != 0) return -1;
  *data = p;
  return 0;
}

int weft_arg_str(napi_env env, napi_value v, const char *name, char *buf, size_t cap) {
  napi_valuetype t;
  size_t n = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    weft_throw_type(env, "%s must be a string", name);
    return -1;
  }
  /* Measure first so an over-long string is refused instead of silently truncated. */
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return -1;
  if (n == 0 || n >= cap) {
    weft_throw_range(env, "%s must be 1..%zu bytes long", name, cap - 1);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, cap, &n);
  if (strlen(buf) != n) {
    weft_throw_range(env, "%s must not contain NUL", name);
    return -1;
  }
  return 0;
}

int weft_arg_handle(napi_env env, napi_value v, const char *name, const napi_type_tag *tag,
                    void **out) {
  napi_valuetype t;
  bool ok = false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, tag, &ok) != napi_ok || !ok) {
    weft_throw_type(env, "%s is not a handle of the right kind", name);
    return -1;
  }
  return napi_get_value_external(env, v, out) == napi_ok ? 0 : -1;
}

napi_value weft_u32(napi_env env, uint32_t v) {
  napi_value r = NULL;
  napi_create_uint32(env, v, &r);
  return r;
}

napi_value weft_i32(napi_env env, int32_t v) {
  napi_value r = NULL;
  napi_create_int32(env, v, &r);
  return r;
}

napi_value weft_bool(napi_env env, int v) {
  napi_value r = NULL;
  napi_get_boolean(env, v != 0, &r);
  return r;
}

napi_value weft_undefined(napi_env env) {
  napi_value r = NULL;
  napi_get_undefined(env, &r);
  return r;
}
