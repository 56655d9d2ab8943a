/*
 * The N-API surface (plain C, NAPI_VERSION 8), used by router/src/native-front/native-addon.ts:
 *
 *   listen(host, port, options, onEvents) → [front, port]
 *   write(front, id, head: string | null, body: Buffer | null, flags) → bytes queued, or -1 (gone)
 *   pause(front, id), resume(front, id), destroy(front, id) → boolean (false: no such connection)
 *   stop(front)      stop accepting; idle connections close, busy ones after their last response
 *   closeAll(front)  close every connection and the front's handles
 *
 * `front` is an external; it is freed when JavaScript drops it and every handle has closed.
 * Every id is checked against the slot table: a stale id is a no-op, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "front.h"

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error(env, "ZP_NATIVE_FRONT", "native front: " #call); \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

void zp_front_handle_closed(zp_front *f) {
  f->handles_open--;
  if (f->handles_open == 0 && f->finalized) {
    zp_bytes_free(&f->events);
    free(f->slots);
    free(f->gens);
    free(f->free_slots);
    free(f);
  }
}

void zp_front_handle_closed_cb(uv_handle_t *h) {
  zp_front_handle_closed((zp_front *)h->data);
}

static void finalize_front(napi_env env, void *data, void *hint) {
  (void)hint;
  zp_front *f = (zp_front *)data;
  zp_front_close_all(f);
  napi_delete_reference(env, f->callback);
  napi_async_destroy(env, f->async);
  f->finalized = 1;
  f->handles_open++; /* balanced by the call below, which frees when nothing is open */
  zp_front_handle_closed(f);
}

static int64_t get_int(napi_env env, napi_value obj, const char *name, int64_t fallback) {
  napi_value v;
  napi_valuetype t;
  int64_t out = fallback;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return fallback;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return fallback;
  if (napi_get_value_int64(env, v, &out) != napi_ok) return fallback;
  return out;
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "listen(host, port, options, onEvents)");
    return NULL;
  }
  char host[64];
  size_t host_len;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok || host_len >= sizeof host - 1) {
    napi_throw_type_error(env, NULL, "host must be an IP address string");
    return NULL;
  }
  int32_t port;
  CHECK(napi_get_value_int32(env, argv[1], &port));
  zp_front *f = calloc(1, sizeof *f);
  if (f == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  f->env = env;
  f->max_header_size = (uint32_t)get_int(env, argv[2], "maxHeaderSize", 16384);
  f->header_timeout_ms = (uint64_t)get_int(env, argv[2], "headerTimeoutMs", 30000);
  f->body_timeout_ms = (uint64_t)get_int(env, argv[2], "bodyTimeoutMs", 0);
  f->keep_alive_ms = (uint64_t)get_int(env, argv[2], "keepAliveMs", 5000);
  f->high_water_mark = (size_t)get_int(env, argv[2], "highWaterMark", 16384);
  int backlog = (int)get_int(env, argv[2], "backlog", 511);
  int64_t sweep = get_int(env, argv[2], "sweepMs", 1000);
  if (sweep < 10) sweep = 10;
  zp_parser_settings(&f->settings);
  if (napi_get_uv_event_loop(env, &f->loop) != napi_ok) {
    free(f);
    napi_throw_error(env, NULL, "no libuv loop");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "zeroproxy.nativeFront", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &f->async);
  napi_create_reference(env, argv[3], 1, &f->callback);

  uv_check_init(f->loop, &f->check);
  uv_idle_init(f->loop, &f->idle);
  uv_timer_init(f->loop, &f->sweep);
  f->check.data = f;
  f->idle.data = f;
  f->sweep.data = f;
  f->handles_open += 3;
  uv_check_start(&f->check, zp_events_flush);
  uv_timer_start(&f->sweep, zp_front_sweep, (uint64_t)sweep, (uint64_t)sweep);
  /* None of these keeps the process alive: the listener does, and connections. */
  uv_unref((uv_handle_t *)&f->check);
  uv_unref((uv_handle_t *)&f->idle);
  uv_unref((uv_handle_t *)&f->sweep);

  napi_value external;
  CHECK(napi_create_external(env, f, finalize_front, NULL, &external));
  int r = zp_front_listen(f, host, port, backlog);
  if (r != 0) {
    zp_front_close_all(f);
    char message[160];
    snprintf(message, sizeof message, "listen %s:%d: %s", host, port, uv_strerror(r));
    napi_throw_error(env, uv_err_name(r), message);
    return NULL;
  }
  struct sockaddr_storage addr;
  int len = sizeof addr;
  int bound = port;
  if (uv_tcp_getsockname(&f->listener, (struct sockaddr *)&addr, &len) == 0) {
    bound = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port) : ntohs(((struct sockaddr_in *)&addr)->sin_port);
  }
  napi_value out, port_value;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_int32(env, bound, &port_value));
  napi_set_element(env, out, 0, external);
  napi_set_element(env, out, 1, port_value);
  return out;
}

/* The front and connection of (front, id, …) arguments; NULL conn when the id is stale. */
static int front_and_conn(napi_env env, napi_value *argv, size_t argc, zp_front **f, zp_conn **c) {
  double id;
  if (argc < 2 || napi_get_value_external(env, argv[0], (void **)f) != napi_ok || napi_get_value_double(env, argv[1], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected (front, connection id, …)");
    return -1;
  }
  *c = zp_conn_find(*f, id);
  return 0;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value boolean(napi_env env, int b) {
  napi_value v;
  napi_get_boolean(env, b != 0, &v);
  return v;
}

#define HEAD_STACK 2048

static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  zp_front *f;
  zp_conn *c;
  if (argc < 5 || front_and_conn(env, argv, argc, &f, &c) != 0) {
    if (argc < 5) napi_throw_type_error(env, NULL, "write(front, id, head, body, flags)");
    return NULL;
  }
  int32_t flags;
  CHECK(napi_get_value_int32(env, argv[4], &flags));
  if (c == NULL) return number(env, -1);

  uv_buf_t bufs[2];
  unsigned n = 0;
  char stack[HEAD_STACK];
  char *head = NULL;
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[2], &t));
  if (t == napi_string) {
    size_t len;
    CHECK(napi_get_value_string_latin1(env, argv[2], NULL, 0, &len));
    if (len >= UINT32_MAX) {
      napi_throw_range_error(env, NULL, "write: head larger than 4 GiB");
      return NULL;
    }
    head = len < sizeof stack ? stack : malloc(len + 1);
    if (head == NULL) {
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    size_t copied;
    napi_get_value_string_latin1(env, argv[2], head, len + 1, &copied);
    if (copied > 0) bufs[n++] = uv_buf_init(head, (unsigned)copied);
  }
  bool is_buffer = false;
  napi_is_buffer(env, argv[3], &is_buffer);
  if (is_buffer) {
    void *data;
    size_t len;
    napi_get_buffer_info(env, argv[3], &data, &len);
    if (len > UINT32_MAX) { /* uv_buf_t lengths are unsigned int */
      if (head != NULL && head != stack) free(head);
      napi_throw_range_error(env, NULL, "write: body larger than 4 GiB");
      return NULL;
    }
    if (len > 0) bufs[n++] = uv_buf_init((char *)data, (unsigned)len);
  }
  long queued = zp_conn_write(c, bufs, n, flags);
  if (head != NULL && head != stack) free(head);
  return number(env, (double)queued);
}

static napi_value js_conn_op(napi_env env, napi_callback_info info, int op) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  zp_front *f;
  zp_conn *c;
  if (front_and_conn(env, argv, argc, &f, &c) != 0) return NULL;
  if (c == NULL) return boolean(env, 0);
  switch (op) {
    case 0:
      c->js_paused = 1;
      zp_conn_update_reading(c);
      break;
    case 1:
      c->js_paused = 0;
      zp_conn_update_reading(c);
      break;
    default:
      zp_conn_close(c);
      break;
  }
  return boolean(env, 1);
}

static napi_value js_pause(napi_env env, napi_callback_info info) {
  return js_conn_op(env, info, 0);
}
static napi_value js_resume(napi_env env, napi_callback_info info) {
  return js_conn_op(env, info, 1);
}
static napi_value js_destroy(napi_env env, napi_callback_info info) {
  return js_conn_op(env, info, 2);
}

static napi_value js_front_op(napi_env env, napi_callback_info info, int close_all) {
  size_t argc = 1;
  napi_value argv[1];
  zp_front *f;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&f) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected (front)");
    return NULL;
  }
  if (close_all) zp_front_close_all(f);
  else zp_front_stop(f);
  return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  return js_front_op(env, info, 0);
}
static napi_value js_close_all(napi_env env, napi_callback_info info) {
  return js_front_op(env, info, 1);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pause", NULL, js_pause, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resume", NULL, js_resume, NULL, NULL, NULL, napi_enumerable, NULL},
      {"destroy", NULL, js_destroy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeAll", NULL, js_close_all, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
