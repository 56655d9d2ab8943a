/*
 * Writes to a connection: straight from JavaScript's buffers with uv_try_write (one writev of
 * head + body in the common case); only what the socket did not take is copied into a uv_write
 * request, so no JavaScript buffer is referenced after the call returns. The caller learns the
 * bytes still queued (backpressure); a DRAIN event follows when a queue above the high-water mark
 * empties. Endings: FIN (uv_shutdown) then a short linger that reads and discards until the
 * client closes, so a final response (e.g. 431) is not lost to a reset from unread input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "front.h"

typedef struct {
  uv_write_t req;
  zp_conn *conn;
  size_t len;
  char data[];
} zp_write;

static void on_write(uv_write_t *req, int status) {
  zp_write *w = (zp_write *)req;
  zp_conn *c = w->conn;
  c->queued -= w->len;
  free(w);
  if (status < 0) {
    zp_conn_close(c); /* also ECANCELED while closing: close is idempotent, c is alive until on_close */
    return;
  }
  if (c->queued > 0 || c->closing) return;
  if (c->end_after_flush) {
    zp_conn_end(c);
  } else if (c->want_drain) {
    c->want_drain = 0;
    zp_event_simple(c->front, ZP_EV_DRAIN, c->id);
  }
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  zp_conn *c = (zp_conn *)req->handle;
  free(req);
  if (status < 0) zp_conn_close(c);
}

/* FIN now (everything queued is written), then linger reading until EOF or ZP_LINGER_MS. */
void zp_conn_end(zp_conn *c) {
  if (c->closing || c->shut_down) return;
  c->shut_down = 1;
  uv_shutdown_t *req = malloc(sizeof *req);
  if (req == NULL || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    free(req);
    zp_conn_close(c);
    return;
  }
  c->phase = ZP_LINGER;
  c->since = uv_now(c->front->loop);
  zp_conn_update_reading(c);
}

/* Returns the bytes queued after this write, or -1 when the connection is gone or failed. */
long zp_conn_write(zp_conn *c, const uv_buf_t *bufs, unsigned nbufs, int flags) {
  if (c->closing || c->end_after_flush || c->shut_down) return -1;
  size_t total = 0;
  for (unsigned i = 0; i < nbufs; i++) total += bufs[i].len;
  size_t done = 0;
  if (c->queued == 0 && total > 0) {
    int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
    if (r >= 0) {
      done = (size_t)r;
    } else if (r != UV_EAGAIN) {
      zp_conn_close(c);
      return -1;
    }
  }
  if (done < total) {
    size_t rest = total - done;
    zp_write *w = malloc(sizeof *w + rest);
    if (w == NULL) {
      zp_conn_close(c);
      return -1;
    }
    size_t skip = done, at = 0;
    for (unsigned i = 0; i < nbufs; i++) {
      size_t n = bufs[i].len;
      if (skip >= n) {
        skip -= n;
        continue;
      }
      memcpy(w->data + at, bufs[i].base + skip, n - skip);
      at += n - skip;
      skip = 0;
    }
    w->conn = c;
    w->len = rest;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
      free(w);
      zp_conn_close(c);
      return -1;
    }
    c->queued += rest;
    if (c->queued > c->front->high_water_mark) c->want_drain = 1;
  }
  if (flags & ZP_WRITE_CLOSE) {
    c->end_after_flush = 1;
    zp_conn_update_reading(c);
  }
  if (flags & ZP_WRITE_END) zp_conn_request_done(c);
  if (c->closing) return -1;
  if (c->end_after_flush && c->queued == 0) zp_conn_end(c);
  return (long)c->queued;
}

/* The answers of the node:http front door (router/src/http/client-errors.ts), byte for byte. */
static void refusal(int status, const char **reason, const char **message) {
  switch (status) {
    case 408:
      *reason = "Request Timeout";
      *message = "Client Timeout";
      return;
    case 431:
      *reason = "Request Header Fields Too Large";
      *message = "Exceeded maximum allowed HTTP header size";
      return;
    case 503:
      *reason = "Service Unavailable";
      *message = "Service Unavailable";
      return;
    default:
      *reason = "Bad Request";
      *message = "Client Error";
      return;
  }
}

/*
 * A request the front refuses itself (the node front door's answers: 400 malformed, 431 head too
 * large, 408 head too slow) — after the responses to earlier pipelined requests, then the connection
 * ends. A failure inside a body whose head already went to JavaScript just closes the connection:
 * its request sees the client gone.
 */
void zp_conn_fail(zp_conn *c, int status) {
  if (c->closing) return;
  if (c->phase == ZP_IN_BODY) {
    zp_conn_close(c);
    return;
  }
  c->fail_status = status;
  zp_conn_update_reading(c);
  if (c->inflight > 0) return; /* zp_conn_request_done calls again */
  const char *reason, *message;
  refusal(status, &reason, &message);
  char body[160];
  int body_len = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\",\"statusCode\":%d}", reason, message, status);
  if (body_len <= 0 || (size_t)body_len >= sizeof body) {
    zp_conn_close(c);
    return;
  }
  char text[400];
  int n = snprintf(text, sizeof text, "HTTP/1.1 %d %s\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n%s", status, reason, body_len, body);
  if (n <= 0 || (size_t)n >= sizeof text) {
    zp_conn_close(c);
    return;
  }
  uv_buf_t b = uv_buf_init(text, (unsigned)n);
  c->fail_status = 0;
  zp_conn_write(c, &b, 1, ZP_WRITE_CLOSE);
}
