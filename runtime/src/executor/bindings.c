/* Small queries for language bindings and tools. */
#include "kernels/kernel_table.h"
#include "ptec/ptec.h"

size_t ptec_program_struct_size(void) { return sizeof(ptec_program); }
size_t ptec_method_struct_size(void) { return sizeof(ptec_method); }

size_t ptec_operator_count(void) { return ptec_kernel_table_size; }

const char *ptec_operator_name(size_t i) {
  return i < ptec_kernel_table_size ? ptec_kernel_table[i].name : NULL;
}
