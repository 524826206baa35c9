/* Error messages without stdio: a small formatter into fixed buffers. */
#ifndef PTEC_CORE_MESSAGE_H
#define PTEC_CORE_MESSAGE_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Formats into `buf` (always NUL-terminated, truncated to `cap`). Supports
 * %d %i %u %ld %lu %lld %llu %zu %s %c %%; returns the length written.
 */
size_t ptec_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
size_t ptec_format(char *buf, size_t cap, const char *fmt, ...);

#endif
