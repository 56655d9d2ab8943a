/*
 * Listener and connections on Node's own libuv loop: accept, read, the h2c preface sniff, the
 * handoff to node:http, close, and the timeout sweep.
 *
 * Lifetime: a connection is found by id through the slot table (zp_conn_find); once closing it is
 * never found again, and its memory is freed only in the uv_close callback, which libuv runs after
 * the callbacks of every write still pending on it — so no callback ever sees freed memory.
 */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include "front.h"

#define SLOT_SCALE ((double)ZP_MAX_SLOTS)

static const char H2_PREFACE_START[4] = {'P', 'R', 'I', ' '};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  zp_front *f = ((zp_conn *)h)->front;
  buf->base = f->read_buffer;
  buf->len = sizeof f->read_buffer;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

void zp_conn_update_reading(zp_conn *c) {
  if (c->closing) return;
  int want = c->phase == ZP_LINGER ||
             (!c->js_paused && !c->stalled && !c->upgrade_pending && c->fail_status == 0 && !c->end_after_flush);
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = 1;
    else zp_conn_close(c);
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* Gives the connection (a dup of its fd) and the bytes read past the head to node:http. */
void zp_conn_handoff(zp_conn *c) {
  c->upgrade_pending = 0;
  uv_os_fd_t fd;
  /* close-on-exec: the copy must not leak into child processes before node:http owns it. */
  int copy = uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (copy < 0) {
    zp_conn_close(c);
    return;
  }
  zp_event_handoff(c, copy);
  c->handed_off = 1;
  zp_conn_close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  zp_conn *c = (zp_conn *)s;
  if (nread < 0) {
    zp_conn_close(c); /* EOF or error: in-flight requests see the client gone (as node aborts them) */
    return;
  }
  if (nread == 0 || c->phase == ZP_LINGER) return;
  const char *data = buf->base;
  size_t len = (size_t)nread;
  if (c->sniffed < sizeof H2_PREFACE_START) {
    /* h2c with prior knowledge opens with "PRI " (no HTTP/1.x method): node:http2 serves it. */
    size_t take = sizeof H2_PREFACE_START - c->sniffed;
    if (take > len) take = len;
    int differs = memcmp(data, H2_PREFACE_START + c->sniffed, take) != 0;
    memcpy(c->sniff + c->sniffed, data, take);
    c->sniffed += take;
    if (differs) {
      c->sniffed = sizeof H2_PREFACE_START;
      size_t held = c->sniff_held; /* bytes held back from earlier reads (a prefix of "PRI ") */
      c->sniff_held = 0;
      if (held > 0) zp_conn_parse(c, c->sniff, held);
      if (!c->closing) zp_conn_parse(c, data, len);
      return;
    }
    if (c->sniffed < sizeof H2_PREFACE_START) {
      c->sniff_held = c->sniffed;
      return;
    }
    c->stash.len = 0;
    if (zp_bytes_append(&c->stash, c->sniff, c->sniff_held) != 0 || zp_bytes_append(&c->stash, data, len) != 0) {
      zp_conn_close(c);
      return;
    }
    zp_conn_handoff(c);
    return;
  }
  zp_conn_parse(c, data, len);
}

static void on_close(uv_handle_t *h) {
  zp_conn *c = (zp_conn *)h;
  zp_front *f = c->front;
  f->slots[c->slot] = NULL;
  f->gens[c->slot]++;
  f->free_slots[f->free_count++] = c->slot;
  zp_bytes_free(&c->head);
  zp_bytes_free(&c->fields);
  zp_bytes_free(&c->stash);
  free(c);
  f->open_conns--;
  zp_front_handle_closed(f);
}

void zp_conn_close(zp_conn *c) {
  if (c->closing) return;
  c->closing = 1;
  if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = 0;
  if (!c->handed_off) zp_event_simple(c->front, ZP_EV_CLOSE, c->id);
  uv_close((uv_handle_t *)&c->tcp, on_close);
}

zp_conn *zp_conn_find(zp_front *f, double id) {
  if (!(id >= 0) || id > 4503599627370495.0) return NULL;
  double gen = (double)(uint64_t)(id / SLOT_SCALE);
  double slot_d = id - gen * SLOT_SCALE;
  if (slot_d < 0 || slot_d >= (double)f->next_slot) return NULL;
  uint32_t slot = (uint32_t)slot_d;
  if ((double)slot != slot_d) return NULL;
  zp_conn *c = f->slots[slot];
  if (c == NULL || c->closing || (double)f->gens[slot] != gen) return NULL;
  return c;
}

/* A free slot index, growing the tables up to ZP_MAX_SLOTS; -1 when full or out of memory. */
static int64_t take_slot(zp_front *f) {
  if (f->free_count > 0) return f->free_slots[--f->free_count];
  if (f->next_slot == f->slot_cap) {
    if (f->slot_cap >= ZP_MAX_SLOTS) return -1;
    uint32_t cap = f->slot_cap == 0 ? 1024 : f->slot_cap * 2;
    zp_conn **slots = realloc(f->slots, cap * sizeof *slots);
    if (slots == NULL) return -1;
    f->slots = slots;
    uint32_t *gens = realloc(f->gens, cap * sizeof *gens);
    if (gens == NULL) return -1;
    f->gens = gens;
    uint32_t *free_slots = realloc(f->free_slots, cap * sizeof *free_slots);
    if (free_slots == NULL) return -1;
    f->free_slots = free_slots;
    for (uint32_t i = f->slot_cap; i < cap; i++) {
      f->slots[i] = NULL;
      f->gens[i] = 0;
    }
    f->slot_cap = cap;
  }
  return f->next_slot++;
}

static void close_unaccounted(uv_handle_t *h) {
  free(h);
}

static void peer_address(zp_conn *c, char *out, size_t size) {
  struct sockaddr_storage addr;
  int len = sizeof addr;
  out[0] = '\0';
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len) != 0) return;
  if (addr.ss_family == AF_INET6) uv_ip6_name((struct sockaddr_in6 *)&addr, out, size);
  else uv_ip4_name((struct sockaddr_in *)&addr, out, size);
}

static void on_connection(uv_stream_t *server, int status) {
  zp_front *f = (zp_front *)server->data;
  if (status < 0) return;
  zp_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return; /* libuv offers the connection again on the next turn */
  uv_tcp_init(f->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, close_unaccounted);
    return;
  }
  int64_t slot = f->stopped ? -1 : take_slot(f);
  if (slot < 0) {
    uv_close((uv_handle_t *)&c->tcp, close_unaccounted);
    return;
  }
  c->front = f;
  c->slot = (uint32_t)slot;
  c->id = (double)f->gens[slot] * SLOT_SCALE + (double)slot;
  f->slots[slot] = c;
  f->open_conns++;
  f->handles_open++;
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, &f->settings);
  c->parser.data = c;
  c->phase = ZP_WAIT_FIRST_HEAD;
  c->since = uv_now(f->loop);
  char address[INET6_ADDRSTRLEN + 1];
  peer_address(c, address, sizeof address);
  zp_event_open(f, c->id, address);
  zp_conn_update_reading(c);
}

int zp_front_listen(zp_front *f, const char *host, int port, int backlog) {
  struct sockaddr_storage addr;
  int r = strchr(host, ':') != NULL ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (r != 0) return r;
  r = uv_tcp_init(f->loop, &f->listener);
  if (r != 0) return r;
  f->listener.data = f;
  f->handles_open++;
  f->listening = 1;
  r = uv_tcp_bind(&f->listener, (struct sockaddr *)&addr, 0);
  if (r == 0) r = uv_listen((uv_stream_t *)&f->listener, backlog, on_connection);
  return r;
}

/* A request's response ended: what waited for it (a failure, a handoff, stashed requests) goes on. */
void zp_conn_request_done(zp_conn *c) {
  if (c->inflight > 0) c->inflight--;
  if (c->closing) return;
  if (c->inflight == 0 && c->fail_status != 0) {
    zp_conn_fail(c, c->fail_status);
  } else if (c->inflight == 0 && c->upgrade_pending) {
    zp_conn_handoff(c);
  } else if (c->end_after_flush) {
    return;
  } else if (c->stalled && c->inflight < ZP_MAX_PIPELINE) {
    zp_conn_resume_parsing(c);
  } else if (c->inflight == 0 && (c->no_more || c->front->stopped)) {
    c->end_after_flush = 1; /* the last response of a connection that ends (or a front that stops) */
    zp_conn_update_reading(c);
  } else if (c->inflight == 0 && c->phase == ZP_BUSY) {
    c->phase = ZP_IDLE;
    c->since = uv_now(c->front->loop);
  }
}

/* Timeouts, checked every sweep interval (as node checks its connections list). */
void zp_front_sweep(uv_timer_t *t) {
  zp_front *f = (zp_front *)t->data;
  uint64_t now = uv_now(f->loop);
  for (uint32_t i = 0; i < f->next_slot; i++) {
    zp_conn *c = f->slots[i];
    if (c == NULL || c->closing) continue;
    switch (c->phase) {
      case ZP_WAIT_FIRST_HEAD:
      case ZP_IN_HEAD:
        if (c->fail_status == 0 && now - c->since >= f->header_timeout_ms) zp_conn_fail(c, 408);
        break;
      case ZP_IN_BODY:
        /* The request is already with the dispatcher: cut, it sees the client gone. */
        if (f->body_timeout_ms > 0 && now - c->head_started >= f->body_timeout_ms) zp_conn_close(c);
        break;
      case ZP_IDLE:
        if (now - c->since >= f->keep_alive_ms) zp_conn_close(c);
        break;
      case ZP_LINGER:
        if (now - c->since >= ZP_LINGER_MS) zp_conn_close(c);
        break;
      case ZP_BUSY:
        break;
    }
  }
}

/* Stops accepting; idle connections close now, busy ones after their last response. */
void zp_front_stop(zp_front *f) {
  f->stopped = 1;
  if (f->listening) {
    f->listening = 0;
    uv_close((uv_handle_t *)&f->listener, zp_front_handle_closed_cb);
  }
  for (uint32_t i = 0; i < f->next_slot; i++) {
    zp_conn *c = f->slots[i];
    if (c == NULL || c->closing) continue;
    if (c->phase == ZP_IDLE || (c->phase == ZP_WAIT_FIRST_HEAD && c->inflight == 0)) zp_conn_close(c);
  }
}

void zp_front_close_all(zp_front *f) {
  zp_front_stop(f);
  for (uint32_t i = 0; i < f->next_slot; i++) {
    zp_conn *c = f->slots[i];
    if (c != NULL) zp_conn_close(c);
  }
  if (!f->timers_closed) {
    f->timers_closed = 1;
    uv_close((uv_handle_t *)&f->check, zp_front_handle_closed_cb);
    uv_close((uv_handle_t *)&f->idle, zp_front_handle_closed_cb);
    uv_close((uv_handle_t *)&f->sweep, zp_front_handle_closed_cb);
  }
}
