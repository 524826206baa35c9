/* Error messages without stdio: a small formatter into fixed buffers. */
#ifndef PTEC_CORE_MESSAGE_H
#define PTEC_CORE_MESSAGE_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Formats into `buf` (always NUL-terminated, truncated to `cap`). Supports
 * %d %i %u %ld %lu %lld %llu %zu %s %c %% and %v, a list of int32_t (two
 * arguments: const int32_t *items, int count) as "1,2,3"; returns the
 * length written.
 */
size_t ptec_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
size_t ptec_format(char *buf, size_t cap, const char *fmt, ...);

#endif
