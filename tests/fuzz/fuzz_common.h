/* Shared by the libFuzzer targets (tests/fuzz/README.md): aligned copies of the input and
 * a cap on what a fuzzed file may make the harness allocate. */
#ifndef PTEC_FUZZ_COMMON_H
#define PTEC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A program may ask for any size; the harness gives at most this much per buffer (a real
 * caller refuses too: ptec-run does above 1 TiB). Larger requests end the input. */
#define FUZZ_MAX_ALLOC ((size_t)64 << 20)

/* A 16-byte-aligned copy (the runtime's PTEC_PROGRAM_ALIGNMENT), freed by the caller. The
 * copy is exactly `size` bytes rounded up to 16 so that ASan sees reads past the input. */
static inline uint8_t *fuzz_aligned_copy(const uint8_t *data, size_t size) {
  size_t cap = size ? (size + 15) / 16 * 16 : 16;
  uint8_t *p = aligned_alloc(16, cap);
  if (p == NULL) return NULL;
  if (size) memcpy(p, data, size);
  memset(p + size, 0, cap - size);
  return p;
}

static inline void *fuzz_alloc_zeroed(size_t n) {
  if (n > FUZZ_MAX_ALLOC) return NULL;
  size_t cap = n ? (n + 15) / 16 * 16 : 16;
  void *p = aligned_alloc(16, cap);
  if (p != NULL) memset(p, 0, cap);
  return p;
}

#endif
