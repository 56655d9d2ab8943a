/* A growable byte buffer with checked sizes (every buffer of the front is one of these). */
#include <stdlib.h>
#include <string.h>
#include "front.h"

int zp_bytes_reserve(zp_bytes *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len) return -1;
  size_t need = b->len + extra;
  if (need <= b->cap) return 0;
  size_t cap = b->cap < 256 ? 256 : b->cap;
  while (cap < need) cap *= 2;
  char *data = realloc(b->data, cap);
  if (data == NULL) return -1;
  b->data = data;
  b->cap = cap;
  return 0;
}

int zp_bytes_append(zp_bytes *b, const void *p, size_t n) {
  if (n == 0) return 0;
  if (zp_bytes_reserve(b, n) != 0) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void zp_bytes_free(zp_bytes *b) {
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}
