/* How much memory a host tool may give a program: a program states its sizes and may state
 * any, so the tools refuse what the machine cannot have before allocating anything. */
#ifndef PTEC_TOOLS_HOST_MEMORY_H
#define PTEC_TOOLS_HOST_MEMORY_H

#include <stddef.h>

#include "ptec/ptec.h"

/* The machine's physical memory in bytes (1 TiB when the system does not say). */
size_t ptec_host_memory_limit(void);

/* Total bytes of req's method memory and planned buffers, or SIZE_MAX if the sum
 * overflows. */
size_t ptec_host_memory_required(const ptec_method_requirements *req);

#endif
