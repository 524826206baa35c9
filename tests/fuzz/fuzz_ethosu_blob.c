/* Fuzz target (c): the EthosUBackend blob reader (backends/ethosu/vela_bin.c) on arbitrary
 * bytes; after it succeeds, every input and output entry is decoded and checked to lie in
 * the scratch, as the backend relies on. */
#include "backends/ethosu/vela_bin.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = fuzz_aligned_copy(data, size);
  if (copy == NULL) return 0;
  vela_bin bin;
  char msg[PTEC_MESSAGE_CAPACITY];
  if (vela_bin_read(copy, size, &bin, msg, sizeof msg) == PTEC_STATUS_OK) {
    /* What vela_bin.h promises: in the blob, aligned, the I/O inside the scratch. */
    if (bin.cmd_data < copy || bin.cmd_data + bin.cmd_size > copy + size ||
        (uintptr_t)bin.cmd_data % VELA_BIN_ALIGNMENT != 0 || bin.cmd_size % 4 != 0)
      __builtin_trap();
    if (bin.weight_size && (bin.weight_data < copy || bin.weight_data + bin.weight_size > copy + size))
      __builtin_trap();
    for (int side = 0; side < 2; side++) {
      const uint8_t *entries = side ? bin.outputs : bin.inputs;
      uint32_t count = side ? bin.num_outputs : bin.num_inputs;
      for (uint32_t k = 0; k < count; k++) {
        vela_io io;
        vela_io_get(entries, k, &io);
        if (io.offset < 0 || (uint64_t)(uint32_t)io.offset + io.nbytes > bin.scratch_size)
          __builtin_trap();
      }
    }
  }
  free(copy);
  return 0;
}
