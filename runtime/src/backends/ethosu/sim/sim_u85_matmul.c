/*
 * Ethos-U85 NPU_OP_CONV with weights_ifm2 (parameter bit 0): a matrix
 * product whose "weights" are the second feature map, as Vela compiles TOSA
 * MATMUL (after transposing B with an OFM-transposing pool):
 *   OFM[y][x][o] = sum_k (IFM[y][x][k] - IFM_ZP) * (IFM2[y][o][k] - IFM2_ZP)
 * over k < IFM depth, a 1x1 kernel, no bias, in 32-bit (saturating) or
 * 48-bit accumulators (int16 operands: a 48-bit sum of at most 2^16 products of
 * 2^30 cannot overflow int64), then the global OFM scale and the output stage.
 */
#include "backends/ethosu/sim/sim_internal.h"

ethosu_sim_status sim_u85_op_matmul(ethosu_sim *sim) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t oh = r->ofm.height_m1 + 1, ow = r->ofm.width_m1 + 1, oc = r->ofm.depth_m1 + 1;
  uint32_t ic = r->ifm_depth_m1 + 1;
  SIM_CHECK(sim, r->kernel_width_m1 == 0 && r->kernel_height_m1 == 0 &&
                     (r->ifm_pad_top | r->ifm_pad_left | r->ifm_pad_bottom | r->ifm_pad_right) == 0,
            ETHOSU_SIM_ERR_REGISTER_RANGE, "a matrix product with a %ux%u kernel or padding",
            r->kernel_height_m1 + 1, r->kernel_width_m1 + 1);
  SIM_CHECK(sim, r->ifm_upscale == 0 && ((r->acc_format >> 4) & 3) == 0,
            ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "IFM upscale mode %u or accumulators from IFM2 on a matrix product", r->ifm_upscale);
  SIM_CHECK(sim, ((r->ofm.precision >> 8) & 1) == 1, ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "a matrix product with per-channel scales");
  /* ACC_FORMAT I32 or I48 (int16 products, EXT-INT16's int48 MATMUL; the
   * other formats are refused with the register). */
  bool acc48 = (r->acc_format & 3) == 1;
  sim_fmap ifm, ifm2, ofm;
  SIM_TRY(sim_fmap_setup(sim, &ifm, &r->ifm, "IFM", oh, ow, ic, false));
  SIM_TRY(sim_fmap_setup(sim, &ifm2, &r->ifm2, "IFM2", oh, oc, ic, false));
  SIM_TRY(sim_fmap_setup(sim, &ofm, &r->ofm, "OFM", oh, ow, oc, true));
  SIM_TRY(sim_check_activation(sim, &ofm));
  SIM_CHECK(sim, ifm.elem_size <= 2 && ifm2.elem_size <= 2, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "a matrix product of %u- and %u-byte inputs", ifm.elem_size, ifm2.elem_size);
  uint32_t round_mode;
  SIM_TRY(sim_ofm_round_mode(sim, &round_mode));
  for (uint32_t y = 0; y < oh; y++) {
    for (uint32_t x = 0; x < ow; x++) {
      for (uint32_t o = 0; o < oc; o++) {
        int64_t acc = 0;
        for (uint32_t k = 0; k < ic; k++) {
          acc += (sim_fmap_read(sim, &ifm, y, x, k) - ifm.zero_point) *
                 (sim_fmap_read(sim, &ifm2, y, o, k) - ifm2.zero_point);
        }
        if (!acc48) acc = acc > INT32_MAX ? INT32_MAX : acc < INT32_MIN ? INT32_MIN : acc;
        int64_t v = sim_scale_round(acc, r->ofm_scale, r->ofm_scale_shift, round_mode);
        sim_fmap_write(sim, &ofm, y, x, o, sim_activate(sim, &ofm, v));
      }
    }
  }
  sim->cur.macs = (uint64_t)oh * ow * oc * ic;
  return ETHOSU_SIM_OK;
}
