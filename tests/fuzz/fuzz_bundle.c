/* Fuzz target: a bundled program (ExecuTorch's BundledProgram, ptec/bundled.h) of arbitrary
 * bytes as ptec-run --verify reads it: open, load the program inside, init "forward", and
 * for each test case (at most 4) set its inputs from the bundle, execute and compare the
 * outputs. Any status is fine; a sanitizer report, a crash or a leak is not. */
#include "fuzz_common.h"
#include "ptec/bundled.h"

#define FUZZ_MAX_PLANNED 16
#define FUZZ_MAX_CASES 4

static void verify(ptec_bundle *b, ptec_program *prog) {
  size_t index;
  ptec_method_requirements req;
  if (ptec_program_find_method(prog, "forward", &index) != PTEC_STATUS_OK ||
      ptec_program_method_requirements(prog, index, &req) != PTEC_STATUS_OK ||
      req.num_planned_buffers > FUZZ_MAX_PLANNED) {
    return;
  }
  void *planned[FUZZ_MAX_PLANNED] = {0};
  size_t sizes[FUZZ_MAX_PLANNED] = {0};
  void *memory = fuzz_alloc_zeroed(req.method_memory_bytes);
  ptec_method *m = fuzz_alloc_zeroed(ptec_method_struct_size());
  int ok = memory != NULL && m != NULL;
  for (size_t i = 0; ok && i < req.num_planned_buffers; i++) {
    sizes[i] = ptec_method_planned_buffer_size(&req, i);
    ok = (planned[i] = fuzz_alloc_zeroed(sizes[i])) != NULL;
  }
  size_t cases = 0;
  if (ok && ptec_method_init(m, prog, index, memory, req.method_memory_bytes, planned, sizes,
                             req.num_planned_buffers) == PTEC_STATUS_OK &&
      ptec_bundle_num_cases(b, "forward", &cases) == PTEC_STATUS_OK) {
    for (size_t k = 0; k < cases && k < FUZZ_MAX_CASES; k++) {
      ptec_bundle_result r;
      if (ptec_bundle_set_inputs(b, "forward", k, m) != PTEC_STATUS_OK) continue;
      if (ptec_method_execute(m) != PTEC_STATUS_OK) continue;
      (void)ptec_bundle_check_outputs(b, "forward", k, m, 1e-5, 1e-8, &r);
    }
  }
  for (size_t i = 0; i < FUZZ_MAX_PLANNED; i++) free(planned[i]);
  free(m);
  free(memory);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = fuzz_aligned_copy(data, size);
  if (copy == NULL) return 0;
  ptec_bundle b;
  if (ptec_bundle_open(&b, copy, size) == PTEC_STATUS_OK) {
    size_t program_size;
    const void *program = ptec_bundle_program(&b, &program_size);
    ptec_program prog;
    if (ptec_program_load(&prog, program, program_size) == PTEC_STATUS_OK) verify(&b, &prog);
  }
  free(copy);
  return 0;
}
