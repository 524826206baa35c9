/* The kernel table, generated from ops.def at compile time. */
#ifndef PTEC_KERNELS_KERNEL_TABLE_H
#define PTEC_KERNELS_KERNEL_TABLE_H

#include <stddef.h>

#include "kernels/kernel.h"

typedef struct ptec_kernel_entry {
  const char *name;       /* "aten::add.out" */
  ptec_kernel_fn fn;
  const char *signature;  /* see kernel.h */
  ptec_kernel_fn prepare; /* optional: checks static arguments at method init */
} ptec_kernel_entry;

extern const ptec_kernel_entry ptec_kernel_table[];
extern const size_t ptec_kernel_table_size;

/* The entry for `name` (length `len`, not NUL-terminated), or NULL. */
const ptec_kernel_entry *ptec_kernel_find(const char *name, size_t len);

#endif
