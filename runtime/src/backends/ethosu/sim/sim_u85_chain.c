/*
 * Ethos-U85 operation chaining by activation storage CHAINED: an op whose
 * OFM storage is CHAINED leaves its output (after the output stage, in the
 * OFM's type) in the NPU's chaining buffer instead of memory, and the next
 * op reads it as its IFM or IFM2 (storage CHAINED). Vela chains, for
 * example, a convolution into the elementwise ADD that follows it.
 * The simulator keeps the buffer, dense NHWC, at the top of the caller's
 * work buffer (weight decoding uses what is below it) from the producing op
 * to the end of the consuming one; an op in the middle of a chain (Vela's
 * LOGICAL_NOT: a compare chained into an XOR chained into an AND) writes its
 * chained OFM below the chained data it reads.
 */
#include "backends/ethosu/sim/sim_internal.h"

static uint64_t shape_bytes(const uint32_t shape[4]) {
  return (uint64_t)shape[0] * shape[1] * shape[2] * shape[3];
}

ethosu_sim_status sim_u85_chain_fmap(ethosu_sim *sim, sim_fmap *f, bool is_ofm) {
  uint64_t bytes = (uint64_t)f->h * f->w * f->c * f->elem_size;
  size_t top = sim->work_size / 8 * 8;
  if (is_ofm) {
    uint64_t aligned = (bytes + 7) / 8 * 8;
    SIM_CHECK(sim, aligned <= sim->work_size / 2, ETHOSU_SIM_ERR_WORKSPACE,
              "a chained OFM of %llu bytes, %zu bytes of work buffer",
              (unsigned long long)bytes, sim->work_size);
    /* At the top, or below the chained data this op may still read (an op in
     * the middle of a chain reads one buffer and writes the other). */
    size_t off = top - (size_t)aligned, low = off;
    if (sim->chain_state & SIM_CHAIN_VALID) {
      uint64_t in_end = sim->chain_off + shape_bytes(sim->chain_shape);
      if (off < in_end && sim->chain_off < off + aligned) {
        SIM_CHECK(sim, sim->chain_off >= aligned + sim->work_size / 4, ETHOSU_SIM_ERR_WORKSPACE,
                  "two chained maps of %llu and %llu bytes, %zu bytes of work buffer",
                  (unsigned long long)shape_bytes(sim->chain_shape), (unsigned long long)bytes,
                  sim->work_size);
        off = (sim->chain_off - (size_t)aligned) / 8 * 8;
      }
      low = off < sim->chain_off ? off : sim->chain_off;
    }
    sim->chain_bytes = sim->work_size - low;
    sim->chain_out_off = off;
    sim->chain_out_shape[0] = f->h;
    sim->chain_out_shape[1] = f->w;
    sim->chain_out_shape[2] = f->c;
    sim->chain_out_shape[3] = f->elem_size;
    sim->chain_state |= SIM_CHAIN_WRITTEN;
    f->mem = (uint8_t *)sim->work + off;
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
    f->mem = (uint8_t *)sim->work + sim->chain_off;
  }
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
    sim->chain_off = sim->chain_out_off;
    for (int i = 0; i < 4; i++) sim->chain_shape[i] = sim->chain_out_shape[i];
    sim->chain_bytes = sim->work_size - sim->chain_off;
  } else if (sim->chain_state & SIM_CHAIN_READ) {
    sim->chain_state = 0;
    sim->chain_bytes = 0;
  }
}
