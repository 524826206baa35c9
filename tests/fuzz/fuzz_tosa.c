/* Fuzz target (b): a TOSABackend blob (a TOSA 1.0 flatbuffer) of arbitrary bytes through
 * the backend's own functions: memory_required (the counting pass), init (reader, checks
 * and planner) on exactly that memory, then execute with zero-filled tensors bound to the
 * graph's inputs and outputs (the executor and every TOSA operator it reaches). */
#include "backends/backend.h"
#include "backends/tosa/tosa.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const ptec_backend *b = &ptec_tosa_backend;
  uint8_t *copy = fuzz_aligned_copy(data, size);
  if (copy == NULL) return 0;
  ptec_delegate_blob blob = {copy, size};
  char msg[PTEC_MESSAGE_CAPACITY];
  size_t bytes = 0;
  void *memory = NULL;
  enum { MAX_IO = 2 * TOSA_MAX_TENSOR_LIST };
  ptec_tensor tensors[MAX_IO];
  ptec_value values[MAX_IO];
  int32_t args[MAX_IO];
  void *buffers[MAX_IO] = {0};
  uint32_t n = 0;
  if (b->memory_required(&blob, &bytes, msg, sizeof msg) != PTEC_STATUS_OK) goto done;
  memory = fuzz_alloc_zeroed(bytes);
  void *handle = NULL;
  if (memory == NULL || b->init(&blob, memory, bytes, &handle, msg, sizeof msg) != PTEC_STATUS_OK)
    goto done;
  /* The method's side of the call: one dense tensor per graph input and output. */
  tosa_graph *g = handle;
  static const uint8_t identity[PTEC_MAX_RANK] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (uint32_t k = 0; k < g->num_inputs + g->num_outputs && n < MAX_IO; k++) {
    int32_t index = k < g->num_inputs ? g->inputs[k] : g->outputs[k - g->num_inputs];
    const tosa_tensor *t = &g->tensors[index];
    if (t->t.rank > PTEC_MAX_RANK) goto done;
    buffers[n] = fuzz_alloc_zeroed(t->t.nbytes);
    if (buffers[n] == NULL) goto done;
    tensors[n] = (ptec_tensor){.data = buffers[n], .sizes = t->sizes, .dim_order = identity,
                               .numel = t->t.numel, .nbytes = t->t.nbytes, .dtype = t->t.dtype,
                               .rank = t->t.rank};
    values[n] = (ptec_value){.tag = PTEC_VALUE_TENSOR, .u.tensor = &tensors[n]};
    args[n] = (int32_t)n;
    n++;
  }
  (void)b->execute(handle, values, args, n, msg, sizeof msg);
  (void)b->execute(handle, values, args, n, msg, sizeof msg); /* a second run: no state */
done:
  for (uint32_t k = 0; k < MAX_IO; k++) free(buffers[k]);
  free(memory);
  free(copy);
  return 0;
}
