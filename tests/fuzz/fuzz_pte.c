/* Fuzz target (a): a .pte of arbitrary bytes through the whole public API: load, every
 * method's requirements, init on exactly the memory it asks for, then execute with
 * zero-filled inputs. Any status is fine; a sanitizer report, a crash or a leak is not. */
#include "fuzz_common.h"
#include "ptec/ptec.h"

#define MAX_METHODS 4
#define MAX_PLANNED 16
#define MAX_INPUTS 16

static void run_method(ptec_program *prog, size_t index) {
  ptec_method_requirements req;
  if (ptec_program_method_requirements(prog, index, &req) != PTEC_STATUS_OK) return;
  if (req.num_planned_buffers > MAX_PLANNED) return;
  void *planned[MAX_PLANNED] = {0};
  size_t planned_sizes[MAX_PLANNED] = {0};
  void *inputs[MAX_INPUTS] = {0};
  void *memory = fuzz_alloc_zeroed(req.method_memory_bytes);
  ptec_method *m = fuzz_alloc_zeroed(ptec_method_struct_size());
  int ok = memory != NULL && m != NULL;
  for (size_t i = 0; ok && i < req.num_planned_buffers; i++) {
    planned_sizes[i] = ptec_method_planned_buffer_size(&req, i);
    planned[i] = fuzz_alloc_zeroed(planned_sizes[i]);
    ok = planned[i] != NULL;
  }
  if (ok && ptec_method_init(m, prog, index, memory, req.method_memory_bytes, planned,
                             planned_sizes, req.num_planned_buffers) == PTEC_STATUS_OK) {
    size_t n = ptec_method_num_inputs(m);
    for (size_t i = 0; ok && i < n && i < MAX_INPUTS; i++) {
      ptec_tensor_view v;
      if (ptec_method_input_info(m, i, &v) != PTEC_STATUS_OK) continue;
      v.data = inputs[i] = fuzz_alloc_zeroed(v.nbytes);
      ok = v.data != NULL;
      if (ok) (void)ptec_method_set_input(m, i, &v);
    }
    if (ok) {
      (void)ptec_method_execute(m);
      for (size_t i = 0; i < ptec_method_num_outputs(m); i++) {
        ptec_tensor_view out;
        (void)ptec_method_get_output(m, i, &out);
      }
    }
  }
  for (size_t i = 0; i < MAX_INPUTS; i++) free(inputs[i]);
  for (size_t i = 0; i < MAX_PLANNED; i++) free(planned[i]);
  free(m);
  free(memory);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = fuzz_aligned_copy(data, size);
  if (copy == NULL) return 0;
  ptec_program prog;
  if (ptec_program_load(&prog, copy, size) == PTEC_STATUS_OK) {
    size_t n = ptec_program_num_methods(&prog);
    for (size_t i = 0; i < n && i < MAX_METHODS; i++) {
      char name[64];
      (void)ptec_program_method_name(&prog, i, name, sizeof name);
      run_method(&prog, i);
    }
  }
  free(copy);
  return 0;
}
