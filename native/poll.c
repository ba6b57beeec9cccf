/*
 * weft data-plane addon: fd readiness via uv_poll on the calling thread's event loop, and
 * close().
 *
 * Lifetime of a poll record: it is created by pollStart and referenced from two places, the
 * JS external (the PollHandle) and libuv (until uv_close completes). It is freed only when
 * both are gone, so a stale PollHandle can always be passed to pollStop safely. Records
 * that are started sit in a per-env list so that close(fd) can stop a poll on that fd
 * first (closing a polled fd under libuv is undefined behaviour) and so that env teardown
 * (process exit, worker termination) closes every handle.
 */
#include "weft_dp.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

typedef struct weft_poll {
  uv_poll_t handle;          /* handle.data points back here */
  napi_env env;
  napi_ref cb;               /* the JS callback; NULL once stopped */
  napi_async_context actx;   /* async_hooks context of the callback */
  int fd;
  int closed;                /* uv_close finished: libuv no longer uses the record */
  int finalized;             /* the JS external was collected */
  struct weft_poll *next;    /* per-env list of records not yet closed */
} weft_poll;

typedef struct {
  weft_poll *polls;                            /* started, not yet closed */
  napi_async_cleanup_hook_handle cleanup_hook; /* set while teardown waits for closes */
} weft_env;

static const napi_type_tag POLL_TAG = {0x77656674706f6c6cULL, 0x66642d7265616479ULL};

static weft_env *env_state(napi_env env) {
  void *st = NULL;
  napi_get_instance_data(env, &st);
  return st;
}

static void env_unlink(weft_env *st, weft_poll *p) {
  for (weft_poll **pp = &st->polls; *pp; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      return;
    }
  }
}

static void on_closed(uv_handle_t *h) {
  weft_poll *p = h->data;
  weft_env *st = env_state(p->env);
  p->closed = 1;
  if (st != NULL) {
    env_unlink(st, p);
    if (st->polls == NULL && st->cleanup_hook != NULL) {
      napi_remove_async_cleanup_hook(st->cleanup_hook); /* teardown may proceed */
      st->cleanup_hook = NULL;
    }
  }
  if (p->finalized) free(p);
}

/* Stop watching and start closing. Idempotent. */
static void poll_stop(weft_poll *p) {
  if (p->cb == NULL) return;
  uv_poll_stop(&p->handle);
  napi_delete_reference(p->env, p->cb);
  p->cb = NULL;
  napi_async_destroy(p->env, p->actx);
  uv_close((uv_handle_t *)&p->handle, on_closed);
}

static void poll_finalize(napi_env env, void *data, void *hint) {
  weft_poll *p = data;
  (void)env;
  (void)hint;
  p->finalized = 1;
  if (p->closed) free(p); /* otherwise on_closed frees it */
}

/* libuv readiness callback: call the JS callback with no arguments. */
static void on_ready(uv_poll_t *h, int status, int events) {
  weft_poll *p = h->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_value cb, global;
  napi_status s;
  (void)events;
  if (p->cb == NULL) return;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, p->cb, &cb) == napi_ok &&
      napi_get_global(env, &global) == napi_ok) {
    /* make_callback runs the microtask queue and nextTicks afterwards, like any I/O cb. */
    s = napi_make_callback(env, p->actx, global, cb, 0, NULL, NULL);
    if (s == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err); /* -> process 'uncaughtException' */
    }
  }
  napi_close_handle_scope(env, scope);
  /* On error (POLLERR) libuv has already stopped the watcher: release our side too. The
   * callback above ran once so the owner's next read surfaces the error. */
  if (status < 0) poll_stop(p);
}

/* pollStart(fd, cb): PollHandle */
napi_value weft_poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[2], ext, name;
  napi_valuetype t;
  uv_loop_t *loop;
  weft_env *st = env_state(env);
  weft_poll *p;
  int fd, r;
  if (weft_args(env, info, 2, 2, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
    return weft_throw_type(env, "cb must be a function");
  if (st == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok)
    return weft_throw_state(env, "no event loop");
  for (weft_poll *q = st->polls; q; q = q->next)
    if (q->fd == fd && q->cb != NULL)
      return weft_throw_state(env, "fd %d is already polled", fd);

  p = calloc(1, sizeof *p);
  if (p == NULL) return weft_throw_state(env, "out of memory");
  p->env = env;
  p->fd = fd;
  r = uv_poll_init(loop, &p->handle, fd);
  if (r != 0) {
    free(p);
    return weft_throw_errno(env, "uv_poll_init", -r, NULL);
  }
  p->handle.data = p;
  r = uv_poll_start(&p->handle, UV_READABLE, on_ready);
  if (r != 0) {
    p->finalized = 1; /* no external exists yet: on_closed frees it */
    uv_close((uv_handle_t *)&p->handle, on_closed);
    return weft_throw_errno(env, "uv_poll_start", -r, NULL);
  }
  napi_create_reference(env, argv[1], 1, &p->cb);
  napi_create_string_utf8(env, "weft:poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->actx);
  p->next = st->polls;
  st->polls = p;
  if (napi_create_external(env, p, poll_finalize, NULL, &ext) != napi_ok) {
    p->finalized = 1;
    poll_stop(p);
    return weft_throw_state(env, "cannot create poll handle");
  }
  napi_type_tag_object(env, ext, &POLL_TAG);
  return ext;
}

/* pollStop(h): stops the readiness callbacks (idempotent). */
napi_value weft_poll_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void *p;
  if (weft_args(env, info, 1, 1, argv) != 0) return NULL;
  if (weft_arg_handle(env, argv[0], "h", &POLL_TAG, &p) != 0) return NULL;
  poll_stop(p);
  return weft_undefined(env);
}

/* close(fd): stops any poll on fd, then closes it. EBADF throws (double close is a bug). */
napi_value weft_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  weft_env *st = env_state(env);
  int fd;
  if (weft_args(env, info, 1, 1, argv) != 0) return NULL;
  if (weft_arg_fd(env, argv[0], "fd", &fd) != 0) return NULL;
  if (st != NULL)
    for (weft_poll *q = st->polls; q; q = q->next)
      if (q->fd == fd) poll_stop(q);
  /* Linux always releases the fd, even when close() reports EINTR/EIO: never retry. */
  if (close(fd) != 0 && errno == EBADF) return weft_throw_errno(env, "close", EBADF, NULL);
  return weft_undefined(env);
}

/* Env teardown: stop every poll and let the env go once libuv has closed them all. */
static void env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  weft_env *st = arg;
  if (st->polls == NULL) {
    napi_remove_async_cleanup_hook(hook);
    return;
  }
  st->cleanup_hook = hook;
  for (weft_poll *q = st->polls; q; q = q->next) poll_stop(q);
}

static void env_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

int weft_poll_init_env(napi_env env) {
  weft_env *st = calloc(1, sizeof *st);
  if (st == NULL) return -1;
  if (napi_set_instance_data(env, st, env_finalize, NULL) != napi_ok) {
    free(st);
    return -1;
  }
  return napi_add_async_cleanup_hook(env, env_cleanup, st, NULL) == napi_ok ? 0 : -1;
}
