/*
 * llhttp per connection: the head is collected into the connection's own buffer (bounded by
 * max_header_size, counted as node counts it: url + field names + values), handed to the batch at
 * headers-complete; body bytes go to the batch as they arrive (llhttp removes chunked framing).
 *
 * The parser pauses (HPE_PAUSED) after a request when the pipelining bound is reached or the
 * request did not allow keep-alive; the unparsed rest is stashed and parsed when responses end.
 */
#include <string.h>
#include "front.h"

static zp_conn *conn_of(llhttp_t *p) {
  return (zp_conn *)p->data;
}

/* Appends head bytes; -1 (parse error) past max_header_size, recorded as 431. */
static int head_append(zp_conn *c, const char *at, size_t len) {
  if (len > c->front->max_header_size || c->head.len + len > c->front->max_header_size) {
    c->overflow = 1;
    return -1;
  }
  return zp_bytes_append(&c->head, at, len) == 0 ? 0 : -1;
}

void zp_conn_reset_head(zp_conn *c) {
  c->head.len = 0;
  c->fields.len = 0;
  c->url_len = 0;
  c->field_open = 0;
  c->value_open = 0;
}

static int on_message_begin(llhttp_t *p) {
  zp_conn *c = conn_of(p);
  zp_conn_reset_head(c);
  if (c->phase != ZP_WAIT_FIRST_HEAD) {
    c->phase = ZP_IN_HEAD;
    c->since = uv_now(c->front->loop);
  }
  c->head_started = c->since;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  zp_conn *c = conn_of(p);
  if (head_append(c, at, len) != 0) return -1;
  c->url_len += (uint32_t)len;
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  zp_conn *c = conn_of(p);
  if (!c->field_open) {
    c->field_open = 1;
    c->value_open = 0;
    c->name_off = (uint32_t)c->head.len;
    c->name_len = 0;
    c->value_len = 0;
  }
  if (head_append(c, at, len) != 0) return -1;
  c->name_len += (uint32_t)len;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  zp_conn *c = conn_of(p);
  if (!c->value_open) {
    c->value_open = 1;
    c->value_off = (uint32_t)c->head.len;
  }
  if (head_append(c, at, len) != 0) return -1;
  c->value_len += (uint32_t)len;
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  zp_conn *c = conn_of(p);
  uint32_t quad[4] = {c->name_off, c->name_len, c->value_open ? c->value_off : (uint32_t)c->head.len, c->value_len};
  c->field_open = 0;
  c->value_open = 0;
  return zp_bytes_append(&c->fields, quad, sizeof quad) == 0 ? 0 : -1;
}

static int on_headers_complete(llhttp_t *p) {
  zp_conn *c = conn_of(p);
  if (p->http_major != 1) return -1; /* HTTP/0.9 or 2.0 request lines: 400, as node:http */
  int flags = 0;
  if (llhttp_should_keep_alive(p)) flags |= ZP_HEAD_KEEP_ALIVE;
  if ((p->flags & F_CHUNKED) || p->content_length > 0) flags |= ZP_HEAD_HAS_BODY;
  c->phase = ZP_IN_BODY;
  if (p->upgrade) {
    /* Upgrade / CONNECT go to node:http with the head and everything after it (the body too):
     * 2 = no body here, llhttp returns HPE_PAUSED_UPGRADE at the end of the head. */
    zp_event_head(c, flags | ZP_HEAD_UPGRADE);
    return 2;
  }
  c->inflight++;
  if (!(flags & ZP_HEAD_KEEP_ALIVE)) c->no_more = 1;
  zp_event_head(c, flags);
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  zp_event_body(conn_of(p), at, len);
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  zp_conn *c = conn_of(p);
  if (p->upgrade) return 0; /* llhttp pauses with HPE_PAUSED_UPGRADE right after */
  zp_event_simple(c->front, ZP_EV_END, c->id);
  if (c->inflight == 0) {
    c->phase = ZP_IDLE; /* answered before its body ended (e.g. 413) */
    c->since = uv_now(c->front->loop);
  } else {
    c->phase = ZP_BUSY;
  }
  if (c->no_more || c->inflight >= ZP_MAX_PIPELINE) return HPE_PAUSED;
  return 0;
}

void zp_parser_settings(llhttp_settings_t *s) {
  llhttp_settings_init(s);
  s->on_message_begin = on_message_begin;
  s->on_url = on_url;
  s->on_header_field = on_header_field;
  s->on_header_value = on_header_value;
  s->on_header_value_complete = on_header_value_complete;
  s->on_headers_complete = on_headers_complete;
  s->on_body = on_body;
  s->on_message_complete = on_message_complete;
}

/* Keeps [from, from + len) for later (the stash is empty or already consumed by the caller). */
static void stash_rest(zp_conn *c, const char *from, size_t len) {
  c->stash.len = 0;
  if (zp_bytes_append(&c->stash, from, len) != 0) zp_conn_close(c);
}

static void begin_handoff(zp_conn *c) {
  if (c->inflight > 0) {
    c->upgrade_pending = 1; /* after the earlier responses (zp_conn_request_done) */
    zp_conn_update_reading(c);
    return;
  }
  zp_conn_handoff(c);
}

void zp_conn_parse(zp_conn *c, const char *data, size_t len) {
  if (c->closing || c->fail_status != 0 || c->phase == ZP_LINGER) return;
  llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
  if (err == HPE_OK) return;
  const char *pos = llhttp_get_error_pos(&c->parser);
  size_t used = (pos != NULL && pos >= data && pos <= data + len) ? (size_t)(pos - data) : len;
  switch (err) {
    case HPE_PAUSED:
      if (c->no_more) {
        c->stash.len = 0; /* nothing after a request without keep-alive is read */
      } else {
        c->stalled = 1;
        stash_rest(c, data + used, len - used);
      }
      zp_conn_update_reading(c);
      return;
    case HPE_PAUSED_UPGRADE:
      stash_rest(c, data + used, len - used);
      if (!c->closing) begin_handoff(c);
      return;
    default:
      zp_conn_fail(c, c->overflow ? 431 : 400);
      return;
  }
}

/* The pipelining bound has room again: parse what was stashed, then read on. */
void zp_conn_resume_parsing(zp_conn *c) {
  if (!c->stalled || c->closing) return;
  c->stalled = 0;
  llhttp_resume(&c->parser);
  zp_bytes rest = c->stash;
  c->stash = (zp_bytes){0};
  zp_conn_parse(c, rest.data, rest.len);
  zp_bytes_free(&rest);
  zp_conn_update_reading(c);
}
