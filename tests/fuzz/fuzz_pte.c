/* Fuzz target (a): a .pte of arbitrary bytes through the whole public API: load, every
 * method's requirements, init on exactly the memory it asks for, then execute with
 * zero-filled inputs. Any status is fine; a sanitizer report, a crash or a leak is not. */
#include "fuzz_program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = fuzz_aligned_copy(data, size);
  if (copy == NULL) return 0;
  fuzz_run_program(copy, size, NULL, NULL);
  free(copy);
  return 0;
}
