/*
 * The event batch: what JavaScript must know (new connections, request heads, body bytes, message
 * ends, closes, drains, handoffs) is appended as records to one byte buffer during the loop turn,
 * and handed to JavaScript once per turn from a uv_check handle, as one flat array — one call into
 * JavaScript for every request of every connection read in that turn, never one per request.
 * A uv_idle handle runs while a batch waits so the loop does not block in poll before the check.
 *
 * Record: zp_record, then its payload (lengths in the record). The flat array per record:
 *   OPEN    [1, id, remoteAddress]
 *   HEAD    [2, id, method, url, httpMinor, flags, rawHeaders[]]
 *   BODY    [3, id, Buffer]
 *   END/CLOSE/DRAIN [4|5|6, id]
 *   HANDOFF [7, id, fd, Buffer (bytes after the head)]
 */
#include <string.h>
#include <unistd.h>
#include "front.h"

typedef struct {
  uint8_t type;
  uint8_t method;
  uint8_t minor;
  uint8_t flags;
  uint32_t a; /* OPEN: address length; HEAD: url length; BODY/HANDOFF: byte count */
  uint32_t b; /* HEAD: field count; HANDOFF: fd */
  uint32_t c; /* HEAD: head bytes */
  double id;
} zp_record;

static const uint32_t SLOTS[] = {0, 3, 7, 3, 2, 2, 2, 4};

static void idle_noop(uv_idle_t *idle) {
  (void)idle;
}

/* Appends a record and its payload parts; -1 when memory ran out (the caller closes the conn). */
static int push(zp_front *f, const zp_record *r, const void *p1, size_t n1, const void *p2, size_t n2) {
  if (zp_bytes_reserve(&f->events, sizeof *r + n1 + n2) != 0) return -1;
  zp_bytes_append(&f->events, r, sizeof *r);
  zp_bytes_append(&f->events, p1, n1);
  zp_bytes_append(&f->events, p2, n2);
  if (f->event_count++ == 0) uv_idle_start(&f->idle, idle_noop);
  return 0;
}

void zp_event_simple(zp_front *f, int type, double id) {
  zp_record r = {.type = (uint8_t)type, .id = id};
  push(f, &r, NULL, 0, NULL, 0);
}

void zp_event_open(zp_front *f, double id, const char *address) {
  size_t n = strlen(address);
  zp_record r = {.type = ZP_EV_OPEN, .a = (uint32_t)n, .id = id};
  push(f, &r, address, n, NULL, 0);
}

void zp_event_head(zp_conn *c, int flags) {
  uint32_t nfields = (uint32_t)(c->fields.len / (4 * sizeof(uint32_t)));
  zp_record r = {
      .type = ZP_EV_HEAD,
      .method = c->parser.method,
      .minor = c->parser.http_minor,
      .flags = (uint8_t)flags,
      .a = c->url_len,
      .b = nfields,
      .c = (uint32_t)c->head.len,
      .id = c->id,
  };
  if (push(c->front, &r, c->fields.data, c->fields.len, c->head.data, c->head.len) != 0) zp_conn_close(c);
}

void zp_event_body(zp_conn *c, const char *at, size_t len) {
  if (len == 0) return;
  zp_record r = {.type = ZP_EV_BODY, .a = (uint32_t)len, .id = c->id};
  if (push(c->front, &r, at, len, NULL, 0) != 0) zp_conn_close(c);
}

void zp_event_handoff(zp_conn *c, int fd) {
  zp_record r = {.type = ZP_EV_HANDOFF, .a = (uint32_t)c->stash.len, .b = (uint32_t)fd, .id = c->id};
  if (push(c->front, &r, c->stash.data, c->stash.len, NULL, 0) != 0) close(fd);
  c->stash.len = 0;
}

static napi_value latin1(napi_env env, const char *p, size_t n) {
  napi_value v;
  napi_create_string_latin1(env, p, n, &v);
  return v;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value buffer_copy(napi_env env, const char *p, size_t n) {
  napi_value v;
  void *unused;
  napi_create_buffer_copy(env, n, p, &unused, &v);
  return v;
}

/* The header list of a HEAD record as node's rawHeaders: [name, value, …]. */
static napi_value raw_headers(napi_env env, const char *fields, uint32_t nfields, const char *head, uint32_t head_len) {
  napi_value list;
  napi_create_array_with_length(env, (size_t)nfields * 2, &list);
  for (uint32_t i = 0; i < nfields; i++) {
    uint32_t q[4];
    memcpy(q, fields + (size_t)i * sizeof q, sizeof q);
    /* Offsets were taken while appending to the same head: they are inside it, but check anyway. */
    if ((uint64_t)q[0] + q[1] > head_len || (uint64_t)q[2] + q[3] > head_len) break;
    napi_set_element(env, list, i * 2, latin1(env, head + q[0], q[1]));
    napi_set_element(env, list, i * 2 + 1, latin1(env, head + q[2], q[3]));
  }
  return list;
}

/* Turns the batch into one flat JS array (see the top of this file). */
static napi_value batch_to_js(napi_env env, const char *p, size_t len, uint32_t count) {
  size_t total = 0;
  size_t at = 0;
  for (uint32_t i = 0; i < count && at + sizeof(zp_record) <= len; i++) {
    zp_record r;
    memcpy(&r, p + at, sizeof r);
    total += SLOTS[r.type < 8 ? r.type : 0];
    at += sizeof r;
    if (r.type == ZP_EV_HEAD) at += (size_t)r.b * 16 + r.c;
    else if (r.type == ZP_EV_OPEN || r.type == ZP_EV_BODY || r.type == ZP_EV_HANDOFF) at += r.a;
  }
  napi_value out;
  napi_create_array_with_length(env, total, &out);
  uint32_t k = 0;
  at = 0;
  for (uint32_t i = 0; i < count && at + sizeof(zp_record) <= len; i++) {
    zp_record r;
    memcpy(&r, p + at, sizeof r);
    at += sizeof r;
    const char *payload = p + at;
    napi_set_element(env, out, k++, number(env, r.type));
    napi_set_element(env, out, k++, number(env, r.id));
    switch (r.type) {
      case ZP_EV_OPEN:
        napi_set_element(env, out, k++, latin1(env, payload, r.a));
        at += r.a;
        break;
      case ZP_EV_HEAD: {
        const char *fields = payload;
        const char *head = payload + (size_t)r.b * 16;
        uint32_t url_len = r.a <= r.c ? r.a : r.c;
        napi_set_element(env, out, k++, latin1(env, llhttp_method_name((llhttp_method_t)r.method), strlen(llhttp_method_name((llhttp_method_t)r.method))));
        napi_set_element(env, out, k++, latin1(env, head, url_len));
        napi_set_element(env, out, k++, number(env, r.minor));
        napi_set_element(env, out, k++, number(env, r.flags));
        napi_set_element(env, out, k++, raw_headers(env, fields, r.b, head, r.c));
        at += (size_t)r.b * 16 + r.c;
        break;
      }
      case ZP_EV_BODY:
        napi_set_element(env, out, k++, buffer_copy(env, payload, r.a));
        at += r.a;
        break;
      case ZP_EV_HANDOFF:
        napi_set_element(env, out, k++, number(env, r.b));
        napi_set_element(env, out, k++, buffer_copy(env, payload, r.a));
        at += r.a;
        break;
      default:
        break;
    }
  }
  return out;
}

void zp_events_flush(uv_check_t *check) {
  zp_front *f = (zp_front *)check->data;
  if (f->event_count == 0) {
    uv_idle_stop(&f->idle);
    return;
  }
  napi_env env = f->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  /* Detach the batch first: JavaScript may cause new events while it runs (they go to the next turn). */
  zp_bytes batch = f->events;
  uint32_t count = f->event_count;
  f->events = (zp_bytes){0};
  f->event_count = 0;
  uv_idle_stop(&f->idle);
  napi_value events = batch_to_js(env, batch.data, batch.len, count);
  /* Keep the larger buffer for the next batch when nothing new arrived meanwhile. */
  if (f->events.data == NULL) {
    f->events = batch;
    f->events.len = 0;
  } else {
    zp_bytes_free(&batch);
  }
  napi_value fn, recv, result;
  napi_get_reference_value(env, f->callback, &fn);
  napi_get_global(env, &recv); /* MakeCallback needs an object receiver */
  if (fn != NULL && napi_make_callback(env, f->async, recv, fn, 1, &events, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err); /* as an uncaught exception in any other callback */
    }
  }
  napi_close_handle_scope(env, scope);
}
