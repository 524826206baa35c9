/* Fuzz target (e): ptec-run's .npy reader (runtime/tools/support/npy.c, npy_parse is what
 * npy_read runs on the file's bytes), then the relayout ptec-run applies to an input in a
 * channels-last dim order, on the parsed array. */
#include "fuzz_common.h"
#include "support/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = fuzz_aligned_copy(data, size);
  if (copy == NULL) return 0;
  npy_array a;
  char err[256];
  if (npy_parse(copy, size, "fuzz.npy", &a, err, sizeof err) == 0) {
    if (a.nbytes != 0 && a.nbytes <= FUZZ_MAX_ALLOC) {
      ptec_tensor_view t = {.nbytes = a.nbytes, .dtype = a.dtype, .rank = a.rank};
      memcpy(t.sizes, a.sizes, sizeof t.sizes);
      for (int d = 0; d < a.rank; d++) t.dim_order[d] = (uint8_t)d;
      if (a.rank == 4) { /* channels-last, as ptec-run lays out NHWC inputs */
        t.dim_order[1] = 2;
        t.dim_order[2] = 3;
        t.dim_order[3] = 1;
      }
      void *laid_out = malloc(a.nbytes);
      if (laid_out != NULL) npy_relayout(&t, a.data, laid_out, 1);
      free(laid_out);
    }
    npy_free(&a);
  }
  free(copy);
  return 0;
}
