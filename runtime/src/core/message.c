/* A printf subset for error messages: the runtime core has no stdio. */
#include "core/message.h"

#include <stdint.h>

#include "kernels/kernel.h"

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

/* v / 10 by shifts and adds (Hacker's Delight, divu10): on 32-bit targets a
 * 64-bit `/` would link libgcc's 64-bit division, 800 bytes of code. */
static unsigned long long div10(unsigned long long v, unsigned *rem) {
  unsigned long long q = (v >> 1) + (v >> 2);
  q += q >> 4;
  q += q >> 8;
  q += q >> 16;
  q += q >> 32;
  q >>= 3;
  unsigned long long r = v - q * 10;
  if (r > 9) {
    q++;
    r -= 10;
  }
  *rem = (unsigned)r;
  return q;
}

static void put_unsigned(sink *s, unsigned long long v) {
  char digits[24];
  int n = 0;
  do {
    unsigned r;
    v = div10(v, &r);
    digits[n++] = (char)('0' + r);
  } while (v != 0);
  while (n > 0) put_char(s, digits[--n]);
}

static void put_signed(sink *s, long long v) {
  if (v < 0) {
    put_char(s, '-');
    /* Negate in unsigned arithmetic so LLONG_MIN does not overflow. */
    put_unsigned(s, 0ULL - (unsigned long long)v);
  } else {
    put_unsigned(s, (unsigned long long)v);
  }
}

size_t ptec_vformat(char *buf, size_t cap, const char *fmt, va_list ap) {
  sink s = {buf, cap, 0};
  if (cap == 0) return 0;
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      put_char(&s, *p);
      continue;
    }
    p++;
    int longs = 0;
    int size_t_arg = 0;
    while (*p == 'l') {
      longs++;
      p++;
    }
    if (*p == 'z') {
      size_t_arg = 1;
      p++;
    }
    switch (*p) {
      case 'd':
      case 'i':
        if (longs >= 2) put_signed(&s, va_arg(ap, long long));
        else if (longs == 1) put_signed(&s, va_arg(ap, long));
        else put_signed(&s, va_arg(ap, int));
        break;
      case 'u':
        if (size_t_arg) put_unsigned(&s, va_arg(ap, size_t));
        else if (longs >= 2) put_unsigned(&s, va_arg(ap, unsigned long long));
        else if (longs == 1) put_unsigned(&s, va_arg(ap, unsigned long));
        else put_unsigned(&s, va_arg(ap, unsigned));
        break;
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
        put_char(&s, *p);
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

ptec_status ptec_kernel_fail(ptec_kernel_context *ctx, ptec_status status,
                             const char *fmt, ...) {
  if (ctx->message == NULL || ctx->message_capacity == 0) return status;
  size_t n = ptec_format(ctx->message, ctx->message_capacity, "%s: ", ctx->op_name);
  va_list ap;
  va_start(ap, fmt);
  ptec_vformat(ctx->message + n, ctx->message_capacity - n, fmt, ap);
  va_end(ap);
  return status;
}
