/* The host's memory limit for the tools (host_memory.h). */
#define _POSIX_C_SOURCE 200809L
#include "host_memory.h"

#include <stdint.h>
#include <unistd.h>

#include "core/checked.h"

size_t ptec_host_memory_limit(void) {
  /* 1 TiB; half the address space where size_t has 32 bits (the -m32 build). */
  uint64_t tib = (uint64_t)1 << 40;
  size_t fallback = tib < SIZE_MAX ? (size_t)tib : SIZE_MAX / 2;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  size_t bytes;
  if (pages > 0 && page > 0 && ptec_mul_size((size_t)pages, (size_t)page, &bytes)) return bytes;
#endif
  return fallback;
}

size_t ptec_host_memory_required(const ptec_method_requirements *req) {
  size_t total = req->method_memory_bytes;
  for (size_t i = 0; i < req->num_planned_buffers; i++) {
    if (!ptec_add_size(total, ptec_method_planned_buffer_size(req, i), &total)) return SIZE_MAX;
  }
  return total;
}
