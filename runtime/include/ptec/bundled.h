/*
 * Bundled test vectors: ExecuTorch's BundledProgram format
 * (executorch/devtools/bundled_program/schema/bundled_program_schema.fbs,
 * identifier BP08): a .pte with, per method, test cases of inputs and the
 * outputs expected from them. A device runs each case and reports its
 * largest error (ptec-run --verify, the Cortex-M runner's --verify).
 *
 * Everything reads the caller's bytes in place, allocates nothing, and
 * checks every offset and size of the file (the runtime's verifying
 * FlatBuffer reader). Lives outside the core (library ptec_devtools).
 */
#ifndef PTEC_BUNDLED_H
#define PTEC_BUNDLED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptec/ptec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ptec_bundle {
  /* private */
  const uint8_t *data;
  size_t size;
  const uint8_t *program;   /* the .pte inside */
  size_t program_size;
  char message[PTEC_MESSAGE_CAPACITY];
} ptec_bundle;

/* True when `data` carries the BundledProgram identifier. */
bool ptec_bundle_is_bundle(const void *data, size_t size);

/* Checks the file's root and finds the program (for ptec_program_load: it
 * is 32-byte aligned in the file, so a 16-byte aligned `data` keeps it so). */
ptec_status ptec_bundle_open(ptec_bundle *b, const void *data, size_t size);
const void *ptec_bundle_program(const ptec_bundle *b, size_t *size);
const char *ptec_bundle_message(const ptec_bundle *b);

/* The number of test cases for `method` (0 if the bundle has none for it). */
ptec_status ptec_bundle_num_cases(ptec_bundle *b, const char *method, size_t *count);

/* Sets every input of `m` from case `index` of `method`. Tensor data is
 * used in place: the bundle's bytes must outlive the execute. */
ptec_status ptec_bundle_set_inputs(ptec_bundle *b, const char *method, size_t index,
                                   ptec_method *m);

typedef struct ptec_bundle_result {
  size_t outputs;      /* outputs compared */
  double max_error;    /* the largest |actual - expected| of any element */
  size_t worst_output; /* where it is */
  bool passed;         /* every element within atol + rtol * |expected| (integers: equal) */
} ptec_bundle_result;

/* Compares the outputs of `m` after an execute with case `index`'s. */
ptec_status ptec_bundle_check_outputs(ptec_bundle *b, const char *method, size_t index,
                                      const ptec_method *m, double rtol, double atol,
                                      ptec_bundle_result *result);

#ifdef __cplusplus
}
#endif

#endif
