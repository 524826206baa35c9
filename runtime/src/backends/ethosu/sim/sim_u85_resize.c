/*
 * Ethos-U85 NPU_OP_RESIZE: TOSA RESIZE in hardware. The IFM's size is in
 * KERNEL_HEIGHT/WIDTH_M1, the scale n/d of each axis in RESIZE_*_SCALE_N_M1
 * (n - 1) and RESIZE_*_STEP (d = one_step_int * n + one_step_mod), the
 * offset in RESIZE_*_OFFSET (12-bit signed); the OFM size gives the border.
 * Output (oy, ox) samples the IFM at (oy * d + offset) / n, as TOSA's integer
 * RESIZE does: NEAREST (mode 2) takes the nearest element (halves up),
 * BILINEAR (0) weighs the four neighbours by (n - r) and r. The accumulator
 * carries 16 fraction bits (Vela's OFM_SCALE shift is TOSA's + 16: shift 16
 * for NEAREST, 16 + log2(n_y n_x) for a bilinear RESIZE with its RESCALE
 * fused), then the output stage. REPLICATE (1) is not simulated.
 */
#include "backends/ethosu/sim/sim_internal.h"

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clamp_index(int64_t i, uint32_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

ethosu_sim_status sim_u85_op_resize(ethosu_sim *sim, uint32_t mode) {
  const ethosu_sim_regs *r = &sim->r;
  SIM_CHECK(sim, mode == 0 || mode == 2, mode == 1 ? ETHOSU_SIM_ERR_NOT_IMPLEMENTED
                                                   : ETHOSU_SIM_ERR_REGISTER_RANGE,
            "resize mode %u (BILINEAR 0 and NEAREST 2 are simulated)", mode);
  uint32_t oh = r->ofm.height_m1 + 1, ow = r->ofm.width_m1 + 1, oc = r->ofm.depth_m1 + 1;
  uint32_t ih = r->kernel_height_m1 + 1, iw = r->kernel_width_m1 + 1;
  int64_t n[2], d[2], off[2];
  for (int a = 0; a < 2; a++) {
    n[a] = (int64_t)r->resize_scale_n_m1[a] + 1;
    d[a] = (int64_t)(r->resize_step_param[a] & 15) * n[a] + (r->resize_step[a] & 0x7ff);
    off[a] = (int64_t)(int32_t)(r->resize_offset[a] << 20) / (1 << 20); /* 12-bit signed */
    SIM_CHECK(sim, d[a] >= 1, ETHOSU_SIM_ERR_REGISTER_RANGE, "resize scale %lld/0",
              (long long)n[a]);
  }
  sim_fmap ifm, ofm;
  SIM_TRY(sim_fmap_setup(sim, &ifm, &r->ifm, "IFM", ih, iw, oc, false));
  SIM_TRY(sim_fmap_setup(sim, &ofm, &r->ofm, "OFM", oh, ow, oc, true));
  SIM_TRY(sim_check_activation(sim, &ofm));
  SIM_CHECK(sim, ifm.elem_size <= 2, ETHOSU_SIM_ERR_REGISTER_RANGE, "a %u-byte IFM to resize",
            ifm.elem_size);
  uint32_t round_mode;
  SIM_TRY(sim_ofm_round_mode(sim, &round_mode));
  for (uint32_t y = 0; y < oh; y++) {
    int64_t sy = (int64_t)y * d[0] + off[0], iy = floor_div(sy, n[0]), ry = sy - iy * n[0];
    int64_t y0 = clamp_index(iy, ih), y1 = clamp_index(iy + 1, ih);
    for (uint32_t x = 0; x < ow; x++) {
      int64_t sx = (int64_t)x * d[1] + off[1], ix = floor_div(sx, n[1]), rx = sx - ix * n[1];
      int64_t x0 = clamp_index(ix, iw), x1 = clamp_index(ix + 1, iw);
      for (uint32_t c = 0; c < oc; c++) {
        int64_t acc;
        if (mode == 2) {
          int64_t ny = 2 * ry >= n[0] ? y1 : y0, nx = 2 * rx >= n[1] ? x1 : x0;
          acc = sim_fmap_read(sim, &ifm, (uint32_t)ny, (uint32_t)nx, c) - ifm.zero_point;
        } else {
          int64_t v00 = sim_fmap_read(sim, &ifm, (uint32_t)y0, (uint32_t)x0, c) - ifm.zero_point;
          int64_t v01 = sim_fmap_read(sim, &ifm, (uint32_t)y0, (uint32_t)x1, c) - ifm.zero_point;
          int64_t v10 = sim_fmap_read(sim, &ifm, (uint32_t)y1, (uint32_t)x0, c) - ifm.zero_point;
          int64_t v11 = sim_fmap_read(sim, &ifm, (uint32_t)y1, (uint32_t)x1, c) - ifm.zero_point;
          acc = v00 * (n[0] - ry) * (n[1] - rx) + v01 * (n[0] - ry) * rx +
                v10 * ry * (n[1] - rx) + v11 * ry * rx;
        }
        /* |acc| < 2^16 * 2^22: with 16 fraction bits below 2^54. */
        int64_t v = sim_scale_round(acc * 65536, r->ofm_scale, r->ofm_scale_shift, round_mode);
        sim_fmap_write(sim, &ofm, y, x, c, sim_activate(sim, &ofm, v));
      }
    }
  }
  sim->cur.macs = (uint64_t)oh * ow * oc * (mode == 0 ? 4 : 1);
  return ETHOSU_SIM_OK;
}
