/*
 * NPU_OP_CONV and NPU_OP_DEPTHWISE: for each OFM element,
 *   acc = sum over the kernel of (ifm - IFM_ZERO_POINT) * w  (+ bias)
 * with w the decoded weights (the encoder has removed their zero point),
 * then the output stage with the channel's scale record.
 *
 * The IFM's extent is not a register: the hardware knows only the OFM size,
 * the kernel and the padding, so the valid IFM area is what those imply,
 *   ifm_h = (ofm_h - 1) * stride_y + (kernel_h - 1) * dilation_y + 1 - pad_top - pad_bottom,
 * and reads outside it are padding (the zero point, i.e. they add nothing).
 */
#include "backends/ethosu/sim/sim_internal.h"

ethosu_sim_status sim_kernel_ifm(ethosu_sim *sim, const sim_kernel *k, uint32_t oh, uint32_t ow,
                                 uint32_t *ih, uint32_t *iw) {
  const ethosu_sim_regs *r = &sim->r;
  int64_t h = (int64_t)(oh - 1) * k->stride_y + (int64_t)(k->kh - 1) * k->dil_y + 1 -
              (int64_t)r->ifm_pad_top - (int64_t)r->ifm_pad_bottom;
  int64_t w = (int64_t)(ow - 1) * k->stride_x + (int64_t)(k->kw - 1) * k->dil_x + 1 -
              (int64_t)r->ifm_pad_left - (int64_t)r->ifm_pad_right;
  SIM_CHECK(sim, h >= 1 && w >= 1 && h <= 65536 && w <= 65536, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "padding %u/%u/%u/%u leaves no IFM for a %ux%u OFM", r->ifm_pad_top,
            r->ifm_pad_bottom, r->ifm_pad_left, r->ifm_pad_right, oh, ow);
  SIM_CHECK(sim, r->ifm_upscale <= 2, ETHOSU_SIM_ERR_REGISTER_RANGE, "IFM upscale mode %u",
            r->ifm_upscale);
  *ih = (uint32_t)h;
  *iw = (uint32_t)w;
  return ETHOSU_SIM_OK;
}

ethosu_sim_status sim_op_conv(ethosu_sim *sim, bool depthwise) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t oh = r->ofm.height_m1 + 1, ow = r->ofm.width_m1 + 1, oc = r->ofm.depth_m1 + 1;
  uint32_t ic = depthwise ? oc : r->ifm_depth_m1 + 1;
  SIM_CHECK(sim, !depthwise || r->ifm_depth_m1 + 1 >= oc, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "depthwise IFM depth %u < OFM depth %u", r->ifm_depth_m1 + 1, oc);
  sim_kernel k;
  SIM_TRY(sim_kernel_geometry(sim, &k));
  k.ofm_depth = oc;
  k.ifm_depth = ic;
  uint32_t ih, iw;
  SIM_TRY(sim_kernel_ifm(sim, &k, oh, ow, &ih, &iw));
  sim_fmap ifm, ofm;
  uint32_t up = r->ifm_upscale;
  SIM_TRY(sim_fmap_setup(sim, &ifm, &r->ifm, "IFM", sim_upscaled_extent(up, ih),
                         sim_upscaled_extent(up, iw), ic, false));
  SIM_TRY(sim_fmap_setup(sim, &ofm, &r->ofm, "OFM", oh, ow, oc, true));
  SIM_TRY(sim_check_activation(sim, &ofm));
  SIM_CHECK(sim, ifm.elem_size <= 2, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "a %u-byte IFM for a convolution", ifm.elem_size);
  SIM_CHECK(sim, ((r->ofm.precision >> 8) & 1) == 0, ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "global OFM scale on a convolution");
  sim_scales scales;
  SIM_TRY(sim_scale_stream(sim, oc, &scales));
  bool u85 = sim->product == ETHOSU_SIM_U85;
  SIM_TRY(u85 ? sim_u85_weights_decode(sim, &k, depthwise, ifm.elem_size * 8)
              : sim_weights_decode(sim, &k, depthwise, ifm.elem_size * 8));
  uint32_t round_mode;
  SIM_TRY(sim_ofm_round_mode(sim, &round_mode));
  /* U85 acc_input IFM2: the accumulators start from IFM2 (an OFM-shaped map of
   * earlier partial sums, no zero point), as Vela chains CONV3D's depth slices. */
  bool from_ifm2 = u85 && ((r->acc_format >> 4) & 3) == 2;
  sim_fmap ifm2;
  if (from_ifm2) SIM_TRY(sim_fmap_setup(sim, &ifm2, &r->ifm2, "IFM2", oh, ow, oc, false));
  uint32_t kid = depthwise ? 1 : ic;
  for (uint32_t c = 0; c < oc; c++) {
    sim_scale s = sim_channel_scale(sim, &scales, c);
    const int16_t *wc = k.w + (size_t)c * k.kh * k.kw * kid;
    for (uint32_t y = 0; y < oh; y++) {
      for (uint32_t x = 0; x < ow; x++) {
        int64_t acc = from_ifm2 ? sim_fmap_read(sim, &ifm2, y, x, c) : 0;
        for (uint32_t ky = 0; ky < k.kh; ky++) {
          int64_t iy = (int64_t)y * k.stride_y + (int64_t)ky * k.dil_y - r->ifm_pad_top;
          if (iy < 0 || iy >= ih) continue;
          for (uint32_t kx = 0; kx < k.kw; kx++) {
            int64_t ix = (int64_t)x * k.stride_x + (int64_t)kx * k.dil_x - r->ifm_pad_left;
            if (ix < 0 || ix >= iw) continue;
            int64_t ry = iy, rx = ix;
            if (!sim_upscaled_tap(up, &ry, &rx)) continue;
            const int16_t *wk = wc + ((size_t)ky * k.kw + kx) * kid;
            if (depthwise) {
              acc += (sim_fmap_read(sim, &ifm, (uint32_t)ry, (uint32_t)rx, c) - ifm.zero_point) *
                     wk[0];
              continue;
            }
            for (uint32_t i = 0; i < ic; i++) {
              acc += (sim_fmap_read(sim, &ifm, (uint32_t)ry, (uint32_t)rx, i) - ifm.zero_point) *
                     wk[i];
            }
          }
        }
        acc += s.bias;
        /* A 32-bit accumulator saturates (TOSA's int32 conv result does too). */
        if ((r->acc_format & 3) == SIM_ACC_I32) {
          acc = acc > INT32_MAX ? INT32_MAX : acc < INT32_MIN ? INT32_MIN : acc;
        }
        int64_t v = sim_scale_round(acc, s.scale, s.shift, round_mode);
        sim_fmap_write(sim, &ofm, y, x, c, sim_activate(sim, &ofm, v));
      }
    }
  }
  sim->cur.macs = (uint64_t)oh * ow * oc * k.kh * k.kw * kid;
  return ETHOSU_SIM_OK;
}
