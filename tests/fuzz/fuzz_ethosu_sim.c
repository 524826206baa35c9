/* Fuzz target (d): the Ethos-U simulator's command-stream decoder and operations
 * (backends/ethosu/sim, its public API ethosu_sim_run) on fuzzed COP1 payloads.
 *
 * Input: byte 0 picks the NPU (below), bytes 1..4 the command payload's length L
 * (little-endian, clamped), then L bytes of payload (Vela's cmd_data), then the weight
 * region. The scratch and fast-scratch regions are fixed zeroed buffers; each region is
 * its own allocation so that ASan catches any access outside one. A work budget of
 * WORK_BUDGET operations per run keeps every input fast (under ASan and coverage about
 * 4 M simulated MACs a second): a stream asking for more must stop with
 * ETHOSU_SIM_ERR_WORK_BUDGET before doing the work. */
#include "backends/ethosu/sim/ethosu_sim.h"
#include "fuzz_common.h"

static const struct {
  ethosu_sim_product product;
  uint32_t macs;
} kNpus[] = {{ETHOSU_SIM_U55, 128}, {ETHOSU_SIM_U55, 32},  {ETHOSU_SIM_U55, 256},
             {ETHOSU_SIM_U65, 256}, {ETHOSU_SIM_U65, 512}, {ETHOSU_SIM_U85, 256}};

#define SCRATCH_BYTES (64 * 1024)
#define FAST_BYTES (16 * 1024)
#define WORK_BYTES (256 * 1024)
#define WORK_BUDGET (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  size_t npu = data[0] % (sizeof kNpus / sizeof kNpus[0]);
  size_t cmd_size = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 |
                    (size_t)data[4] << 24;
  data += 5;
  size -= 5;
  if (cmd_size > size) cmd_size = size;
  uint8_t *cmd = fuzz_aligned_copy(data, cmd_size);
  uint8_t *weights = fuzz_aligned_copy(data + cmd_size, size - cmd_size);
  uint8_t *scratch = fuzz_alloc_zeroed(SCRATCH_BYTES);
  uint8_t *fast = fuzz_alloc_zeroed(FAST_BYTES);
  void *work = fuzz_alloc_zeroed(WORK_BYTES);
  ethosu_sim *sim = fuzz_alloc_zeroed(sizeof *sim);
  if (cmd && weights && scratch && fast && work && sim &&
      ethosu_sim_init(sim, kNpus[npu].product, kNpus[npu].macs, work, WORK_BYTES) ==
          ETHOSU_SIM_OK) {
    ethosu_sim_set_work_budget(sim, WORK_BUDGET);
    uint64_t bases[3] = {(uintptr_t)weights, (uintptr_t)scratch, (uintptr_t)fast};
    size_t sizes[3] = {size - cmd_size, SCRATCH_BYTES, FAST_BYTES};
    ethosu_sim_op_stats ops[4];
    ethosu_sim_stats stats = {.op = ops, .op_cap = 4}; /* the caller's fields, set */
    char msg[160];
    (void)ethosu_sim_run(sim, cmd, cmd_size, bases, sizes, 3, &stats, msg, sizeof msg);
  }
  free(sim);
  free(work);
  free(fast);
  free(scratch);
  free(weights);
  free(cmd);
  return 0;
}
