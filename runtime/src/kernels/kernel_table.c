/* Builds the kernel table from ops.def: no registration at start-up. */
#include "kernels/kernel_table.h"

#include <string.h>

#include "kernels/ops_decl.h"

const ptec_kernel_entry ptec_kernel_table[] = {
#define PTEC_OP(name, fn, signature) {name, fn, signature, NULL},
#define PTEC_OP_PREPARED(name, fn, prepare, signature) {name, fn, signature, prepare},
#include PTEC_OPS_DEF
#undef PTEC_OP
#undef PTEC_OP_PREPARED
    {NULL, NULL, NULL, NULL}};

const size_t ptec_kernel_table_size =
    sizeof(ptec_kernel_table) / sizeof(ptec_kernel_table[0]) - 1;

const ptec_kernel_entry *ptec_kernel_find(const char *name, size_t len) {
  for (size_t i = 0; i < ptec_kernel_table_size; i++) {
    const char *n = ptec_kernel_table[i].name;
    if (strlen(n) == len && memcmp(n, name, len) == 0) return &ptec_kernel_table[i];
  }
  return NULL;
}
