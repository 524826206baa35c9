/* A printf subset for error messages: the runtime core has no stdio. */
#include "core/message.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sink {
  char *buf;
  size_t cap;
  size_t len;
} sink;

static void put_char(sink *s, char c) {
  if (s->len + 1 < s->cap) s->buf[s->len++] = c;
}

/* Strings may come from the file (operator names, ids): bytes outside
 * printable ASCII are shown as '?' so a message is always clean text. */
static void put_string(sink *s, const char *str) {
  if (str == NULL) str = "(null)";
  for (; *str; str++) {
    unsigned char c = (unsigned char)*str;
    put_char(s, (c >= 32 && c < 127) ? (char)c : '?');
  }
}

/* v / 10 in 32-bit divisions (16 bits at a time below the high word): on
 * 32-bit targets a 64-bit `/` would link libgcc's 64-bit division, 800
 * bytes of code. */
static unsigned long long div10(unsigned long long v, unsigned *rem) {
  uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
  uint32_t mid = (hi % 10) << 16 | lo >> 16;
  uint32_t low = (mid % 10) << 16 | (lo & 0xFFFF);
  *rem = low % 10;
  return (unsigned long long)(hi / 10) << 32 | (mid / 10) << 16 | low / 10;
}

/* An integer; `is_signed`: `v` holds a two's-complement value. */
static void put_int(sink *s, unsigned long long v, bool is_signed) {
  char digits[24];
  int n = 0;
  if (is_signed && (long long)v < 0) {
    put_char(s, '-');
    v = 0ULL - v; /* in unsigned arithmetic: LLONG_MIN does not overflow */
  }
  do {
    unsigned r;
    v = div10(v, &r);
    digits[n++] = (char)('0' + r);
  } while (v != 0);
  while (n > 0) put_char(s, digits[--n]);
}

size_t ptec_vformat(char *buf, size_t cap, const char *fmt, va_list ap) {
  sink s = {buf, cap, 0};
  if (cap == 0) return 0;
  for (const char *p = fmt; *p; p++) {
    char c = *p;
    if (c != '%') {
      put_char(&s, c);
      continue;
    }
    int longs = 0;
    bool size_t_arg = false;
    for (c = *++p; c == 'l' || c == 'z'; c = *++p) {
      if (c == 'z') size_t_arg = true;
      else longs++;
    }
    unsigned long long u;
    switch (c) {
      case 'd':
      case 'i':
      case 'u':
        /* Read as the unsigned type of the argument's width, then extend. */
        if (longs >= 2) {
          u = va_arg(ap, unsigned long long);
        } else if (longs == 1 && sizeof(long) > sizeof(int)) {
          u = va_arg(ap, unsigned long);
        } else if (size_t_arg && sizeof(size_t) > sizeof(int)) {
          u = va_arg(ap, size_t);
        } else {
          u = longs        ? va_arg(ap, unsigned long)
              : size_t_arg ? va_arg(ap, size_t)
                           : va_arg(ap, unsigned);
          if (c != 'u') u = (unsigned long long)(long long)(int)u;
        }
        put_int(&s, u, c != 'u');
        break;
      case 'v': { /* int32_t list: (const int32_t *items, int count), "1,2,3" */
        const int32_t *items = va_arg(ap, const int32_t *);
        int count = va_arg(ap, int);
        for (int k = 0; k < count; k++) {
          if (k > 0) put_char(&s, ',');
          put_int(&s, (unsigned long long)(long long)items[k], true);
        }
        break;
      }
      case 's':
        put_string(&s, va_arg(ap, const char *));
        break;
      case 'c':
        put_char(&s, (char)va_arg(ap, int));
        break;
      case '%':
        put_char(&s, '%');
        break;
      case '\0':
        p--; /* a lone '%' at the end: stop at the terminator */
        break;
      default:
        put_char(&s, '%');
        put_char(&s, c);
        break;
    }
  }
  s.buf[s.len] = '\0';
  return s.len;
}

size_t ptec_format(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = ptec_vformat(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}
