/*
 * Ethos-U85 operation chaining by activation storage CHAINED: an op whose
 * OFM storage is CHAINED leaves its output (after the output stage, in the
 * OFM's type) in the NPU's chaining buffer instead of memory, and the next
 * op reads it as its IFM or IFM2 (storage CHAINED). Vela chains, for
 * example, a convolution into the elementwise ADD that follows it.
 * The simulator keeps the buffer, dense NHWC, at the top of the caller's
 * work buffer (weight decoding uses what is below it) from the producing op
 * to the end of the consuming one.
 */
#include "backends/ethosu/sim/sim_internal.h"

ethosu_sim_status sim_u85_chain_fmap(ethosu_sim *sim, sim_fmap *f, bool is_ofm) {
  uint64_t bytes = (uint64_t)f->h * f->w * f->c * f->elem_size;
  if (is_ofm) {
    uint64_t aligned = (bytes + 7) / 8 * 8;
    SIM_CHECK(sim, aligned <= sim->work_size / 2, ETHOSU_SIM_ERR_WORKSPACE,
              "a chained OFM of %llu bytes, %zu bytes of work buffer",
              (unsigned long long)bytes, sim->work_size);
    sim->chain_bytes = (size_t)aligned;
    sim->chain_shape[0] = f->h;
    sim->chain_shape[1] = f->w;
    sim->chain_shape[2] = f->c;
    sim->chain_shape[3] = f->elem_size;
    sim->chain_state |= SIM_CHAIN_WRITTEN;
  } else {
    SIM_CHECK(sim, (sim->chain_state & SIM_CHAIN_VALID) != 0, ETHOSU_SIM_ERR_REGISTER_RANGE,
              "%s reads the chaining buffer, no op has written it", f->name);
    SIM_CHECK(sim, sim->chain_shape[0] == f->h && sim->chain_shape[1] == f->w &&
                       sim->chain_shape[2] == f->c && sim->chain_shape[3] == f->elem_size,
              ETHOSU_SIM_ERR_REGISTER_RANGE,
              "%s (%ux%ux%u, %u-byte) reads a chained %ux%ux%u %u-byte OFM", f->name, f->h, f->w,
              f->c, f->elem_size, sim->chain_shape[0], sim->chain_shape[1], sim->chain_shape[2],
              sim->chain_shape[3]);
    sim->chain_state |= SIM_CHAIN_READ;
  }
  SIM_CHECK(sim, (sim->chain_state & (SIM_CHAIN_READ | SIM_CHAIN_WRITTEN)) !=
                     (SIM_CHAIN_READ | SIM_CHAIN_WRITTEN),
            ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "an op that both reads and writes the chaining buffer");
  f->mem = (uint8_t *)sim->work + (sim->work_size - sim->chain_bytes) / 8 * 8;
  f->base[0] = f->base[1] = f->base[2] = f->base[3] = 0;
  f->width0 = f->w;
  f->height0 = f->height1 = f->h;
  f->brick = false;
  f->stride_x = (int64_t)f->c * f->elem_size;
  f->stride_y = (int64_t)f->w * f->stride_x;
  return ETHOSU_SIM_OK;
}

void sim_u85_chain_op_done(ethosu_sim *sim) {
  if (sim->chain_state & SIM_CHAIN_WRITTEN) {
    sim->chain_state = SIM_CHAIN_VALID;
  } else if (sim->chain_state & SIM_CHAIN_READ) {
    sim->chain_state = 0;
    sim->chain_bytes = 0;
  }
}
