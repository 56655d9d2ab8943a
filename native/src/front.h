/*
 * zeroproxy native HTTP/1.1 front (spike, issue 13): shared types.
 *
 * One `zp_front` per listening socket. It owns its connections (uv_tcp_t on Node's own libuv
 * loop), parses them with llhttp, queues what JavaScript must know as records in one byte buffer
 * (the event batch) and hands the whole batch to JavaScript once per loop turn (events.c). Writes
 * come from JavaScript by connection id (write.c); a stale or closed id is a no-op (-1), never a
 * dangling pointer: connections are found through a slot table with a generation per slot.
 */
#ifndef ZP_FRONT_H
#define ZP_FRONT_H

#include <stddef.h>
#include <stdint.h>
#include <node_api.h>
#include <uv.h>
#include "../llhttp/llhttp.h"

/* A growable byte buffer. Every append is bounds-checked; growth fails cleanly (-1) on OOM. */
typedef struct {
  char *data;
  size_t len;
  size_t cap;
} zp_bytes;

int zp_bytes_reserve(zp_bytes *b, size_t extra);
int zp_bytes_append(zp_bytes *b, const void *p, size_t n);
void zp_bytes_free(zp_bytes *b);

/* Where a connection is in its request cycle: decides which timeout applies (conn.c, sweep). */
typedef enum {
  ZP_WAIT_FIRST_HEAD, /* accepted, no complete head yet: --header-timeout from accept → 408 */
  ZP_IN_HEAD,         /* a head has begun: --header-timeout from its first byte → 408 */
  ZP_IN_BODY,         /* head done, body arriving: --body-timeout from the head's start → close */
  ZP_BUSY,            /* request read, responses pending: no front timeout (the dispatcher's own) */
  ZP_IDLE,            /* nothing pending: keep-alive timeout → silent close */
  ZP_LINGER           /* last bytes written and FIN sent: reading and discarding until EOF or a bound */
} zp_phase;

/* Event record types (the first byte of each record in the batch; mirrored in native-addon.ts). */
enum {
  ZP_EV_OPEN = 1,    /* id, remote address */
  ZP_EV_HEAD = 2,    /* id, method, url, http minor, flags, raw header list */
  ZP_EV_BODY = 3,    /* id, bytes */
  ZP_EV_END = 4,     /* id: the request's message is complete */
  ZP_EV_CLOSE = 5,   /* id: the connection is gone; later writes to it are no-ops */
  ZP_EV_DRAIN = 6,   /* id: the write queue emptied after a write that left bytes queued */
  ZP_EV_HANDOFF = 7  /* id, fd, bytes read after the head: the connection now belongs to node:http */
};

/* ZP_EV_HEAD flags. */
enum {
  ZP_HEAD_KEEP_ALIVE = 1,
  ZP_HEAD_HAS_BODY = 2,
  ZP_HEAD_UPGRADE = 4 /* Upgrade or CONNECT: not dispatched, a handoff follows */
};

/* Write flags (from JavaScript). */
enum {
  ZP_WRITE_END = 1,  /* this write ends the response to the oldest pending request */
  ZP_WRITE_CLOSE = 2 /* end the connection once everything queued is written */
};

typedef struct zp_front zp_front;

typedef struct zp_conn {
  uv_tcp_t tcp; /* first member: the handle's address is the connection's */
  zp_front *front;
  double id; /* generation * 2^20 + slot: exact in a double, never reused */
  uint32_t slot;
  llhttp_t parser;
  zp_phase phase;
  uint64_t since; /* uv_now when the current phase's timeout started */
  uint64_t head_started; /* uv_now when the current request's head began */

  /* The head being parsed: url bytes then field bytes (bounded by max_header_size). */
  zp_bytes head;
  uint32_t url_len;
  /* (name_off, name_len, value_off, value_len) per field, offsets into head. */
  zp_bytes fields;
  uint32_t name_off, name_len, value_off, value_len;
  int field_open, value_open;
  int overflow; /* the head grew past max_header_size: 431 */

  /* Requests whose head reached JS and whose response has not ended (pipelining depth). */
  uint32_t inflight;
  /* Bytes the parser stopped before (pipelining bound, handoff): parsed or handed on later. */
  zp_bytes stash;
  int stalled;      /* parser paused for the pipelining bound */
  int js_paused;    /* JavaScript asked to stop reading (request body backpressure) */
  int no_more;      /* a request without keep-alive: nothing after it is read */
  int upgrade_pending; /* an Upgrade/CONNECT head waits for the earlier responses, then handoff */
  int fail_status;  /* 400/408/431 to write once earlier responses have ended (0: none) */
  int end_after_flush; /* FIN once the write queue is empty */
  int want_drain;
  int reading;
  int handed_off;   /* the fd went to node:http: no CLOSE event */
  int shut_down;    /* FIN sent */
  char sniff[4];    /* the first bytes, until they tell HTTP/1.x from the h2c preface */
  size_t sniffed, sniff_held;
  int closing;
  size_t queued;    /* bytes handed to uv_write and not yet written */
} zp_conn;

/* Bounds of the spike (documented in native/README.md). */
#define ZP_READ_BUFFER 65536
#define ZP_MAX_PIPELINE 32
#define ZP_SLOT_BITS 20
#define ZP_MAX_SLOTS (1u << ZP_SLOT_BITS)
#define ZP_LINGER_MS 2000

struct zp_front {
  napi_env env;
  napi_ref callback;        /* onEvents(events: unknown[]) */
  napi_async_context async; /* for napi_make_callback: nextTicks and microtasks run after each batch */
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_check_t check;  /* flushes the batch once per loop turn */
  uv_idle_t idle;    /* started while a batch waits, so the loop does not block in poll first */
  uv_timer_t sweep;  /* header / body / keep-alive / linger timeouts */
  int listening;
  int handles_open;  /* handles not yet closed (the front is freed when it reaches 0) */
  int stopped;
  int timers_closed;
  int finalized;     /* the JavaScript handle is gone: free once every handle has closed */

  /* Options. */
  uint32_t max_header_size;
  uint64_t header_timeout_ms;
  uint64_t body_timeout_ms; /* 0 = none */
  uint64_t keep_alive_ms;
  size_t high_water_mark;   /* write() reports backpressure past this; DRAIN when the queue empties */

  zp_conn **slots;
  uint32_t *gens;
  uint32_t slot_cap;
  uint32_t *free_slots;
  uint32_t free_count;
  uint32_t next_slot;
  uint32_t open_conns;

  zp_bytes events;   /* the batch: records (events.c) */
  uint32_t event_count;
  char read_buffer[ZP_READ_BUFFER]; /* one buffer: each read is parsed before the next alloc */
  llhttp_settings_t settings;
};

/* conn.c */
int zp_front_listen(zp_front *f, const char *host, int port, int backlog);
zp_conn *zp_conn_find(zp_front *f, double id);
void zp_conn_close(zp_conn *c);
void zp_conn_update_reading(zp_conn *c);
void zp_conn_request_done(zp_conn *c);
void zp_front_sweep(uv_timer_t *t);
void zp_front_stop(zp_front *f);
void zp_front_close_all(zp_front *f);
void zp_conn_handoff(zp_conn *c);
void zp_front_handle_closed(zp_front *f);
void zp_front_handle_closed_cb(uv_handle_t *h);

/* parse.c */
void zp_parser_settings(llhttp_settings_t *s);
void zp_conn_reset_head(zp_conn *c);
void zp_conn_parse(zp_conn *c, const char *data, size_t len);
void zp_conn_resume_parsing(zp_conn *c);

/* write.c */
long zp_conn_write(zp_conn *c, const uv_buf_t *bufs, unsigned nbufs, int flags);
void zp_conn_fail(zp_conn *c, int status);
void zp_conn_end(zp_conn *c);

/* events.c */
void zp_event_simple(zp_front *f, int type, double id);
void zp_event_open(zp_front *f, double id, const char *address);
void zp_event_head(zp_conn *c, int flags);
void zp_event_body(zp_conn *c, const char *at, size_t len);
void zp_event_handoff(zp_conn *c, int fd);
void zp_events_flush(uv_check_t *check);

#endif
