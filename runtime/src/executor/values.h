/* Decoding a method's EValue table into runtime values (values.c). */
#ifndef PTEC_EXECUTOR_VALUES_H
#define PTEC_EXECUTOR_VALUES_H

#include "executor/internal.h"

/* Counts of what the value table needs in method memory. */
typedef struct ptec_value_counts {
  uint32_t values;
  uint32_t tensors;
  size_t int_list_items;
} ptec_value_counts;

/* Walks the value table, checking union tags, and counts. */
ptec_status ptec_values_count(ptec_program *prog, fb_reader *r, const fb_vector *values,
                              ptec_value_counts *counts);

/* Where decoded values and their parts go. */
typedef struct ptec_value_storage {
  ptec_value *values;
  ptec_tensor *tensors;
  int64_t *int_items;
  uint8_t *const *planned;         /* caller's planned buffers */
  const int64_t *planned_sizes;    /* sizes the program declares, 0-based */
  uint32_t num_planned;
} ptec_value_storage;

/* Decodes and verifies every value. */
ptec_status ptec_values_decode(ptec_program *prog, fb_reader *r, const fb_vector *values,
                               const ptec_value_storage *storage);

#endif
