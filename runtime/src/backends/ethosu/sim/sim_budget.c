/*
 * The work budget (ethosu_sim_set_work_budget): what an OP will cost is
 * known from its registers alone (OFM size, kernel, IFM depth, DMA length),
 * so the simulator refuses an op that would overrun the budget before it
 * reads a byte. Without it a ~300-byte stream (fuzzing found several) asks
 * for a POOL of 0.1-1.9 G MACs over a small scratch with every access in
 * bounds; the registers allow 2^16 x 2^16 x 2^16 OFMs and 2^32-tap kernels.
 * The cost is an upper bound of the op's MACs statistic (the dilated
 * kernel extent, not its taps), in 64 bits, saturating.
 */
#include "backends/ethosu/sim/sim_internal.h"

static uint64_t mul_sat(uint64_t a, uint64_t b) {
  return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

void ethosu_sim_set_work_budget(ethosu_sim *sim, uint64_t ops) {
  if (sim != NULL) sim->work_budget = ops;
}

uint64_t ethosu_sim_default_work_budget(size_t cmd_size, const size_t *sizes, int n) {
  uint64_t bytes = cmd_size;
  for (int i = 0; sizes != NULL && i < n; i++) {
    bytes = bytes + sizes[i] < bytes ? UINT64_MAX : bytes + sizes[i];
  }
  uint64_t budget = mul_sat(bytes, 1024);
  const uint64_t base = (uint64_t)1 << 32;
  return budget > UINT64_MAX - base ? UINT64_MAX : budget + base;
}

static const char *op_name(uint32_t op) {
  switch (op) {
    case NPU_OP_CONV: return "NPU_OP_CONV";
    case NPU_OP_DEPTHWISE: return "NPU_OP_DEPTHWISE";
    case NPU_OP_POOL: return "NPU_OP_POOL";
    case NPU_OP_ELEMENTWISE: return "NPU_OP_ELEMENTWISE";
    case NPU_OP_RESIZE: return "NPU_OP_RESIZE";
    default: return "NPU_OP_DMA_START";
  }
}

ethosu_sim_status sim_charge_op(ethosu_sim *sim, uint32_t op, uint32_t param) {
  const ethosu_sim_regs *r = &sim->r;
  uint64_t elems = mul_sat(mul_sat((uint64_t)r->ofm.height_m1 + 1, (uint64_t)r->ofm.width_m1 + 1),
                           (uint64_t)r->ofm.depth_m1 + 1);
  uint64_t taps = mul_sat((uint64_t)r->kernel_height_m1 + 1, (uint64_t)r->kernel_width_m1 + 1);
  uint64_t ic = (uint64_t)r->ifm_depth_m1 + 1, cost;
  switch (op) {
    case NPU_OP_CONV: cost = mul_sat(mul_sat(elems, taps), ic); break;
    case NPU_OP_DEPTHWISE: cost = mul_sat(elems, taps); break;
    case NPU_OP_POOL:
      cost = mul_sat(mul_sat(elems, taps), (param & 7) == SIM_POOL_REDUCE_SUM ? ic : 1);
      break;
    case NPU_OP_ELEMENTWISE: cost = elems; break;
    case NPU_OP_RESIZE: cost = mul_sat(elems, 4); break; /* bilinear: four taps */
    default: cost = sim_dma_bytes(sim); break;
  }
  SIM_CHECK(sim, cost <= sim->work_left, ETHOSU_SIM_ERR_WORK_BUDGET,
            "%s would do %llu operations, %llu left of the run's budget of %llu", op_name(op),
            (unsigned long long)cost, (unsigned long long)sim->work_left,
            (unsigned long long)sim->work_budget);
  sim->work_left -= cost;
  return ETHOSU_SIM_OK;
}
