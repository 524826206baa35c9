/*
 * NPU_OP_POOL: MAX, AVERAGE and REDUCE_SUM over the kernel window, on
 * (ifm - IFM_ZERO_POINT), then the global OFM scale (OFM_SCALE) and the
 * output stage.
 *
 * Padding: MAX ignores padded positions. AVERAGE without padding is the
 * sum times OFM_SCALE (Vela puts the reciprocal of the kernel size there,
 * ((2^31 + 1) << k) / n with shift 31 + k). With padding Vela leaves
 * OFM_SCALE at 1: the hardware divides the sum of the valid positions by
 * their count itself (hence Vela's limit of 8x8 kernels with padding). That
 * divisor's rounding is not documented; the simulator uses TOSA's
 * (apply_scale_32 with reciprocal_scale(count)), then OFM_SCALE.
 * REDUCE_SUM sums the window over all IFM channels into each OFM element.
 * The U85 always divides AVERAGE by the count itself (OFM_SCALE 1 even
 * without padding), and adds SUM (large averages, scaled by OFM_SCALE), NONE
 * (a 1x1 window: rescales and copies), MIN and ARGMAX_X/Y.
 */
#include "backends/ethosu/sim/sim_internal.h"

/* TOSA reciprocal_scale: m * 2^-s ~ 1/count. */
static void reciprocal(uint32_t count, uint32_t *m, uint32_t *s) {
  uint32_t k = 0;
  while ((1u << k) < count) k++;
  *m = (uint32_t)(((((int64_t)1 << 30) + 1) << k) / count);
  *s = 30 + k;
}

/* The output scale of channel c: the global OFM_SCALE, or (OFM_PRECISION bit 8
 * clear: Vela's per-channel RESCALE written as a POOL) channel c's record of
 * the scale stream, bias included. */
static sim_scale channel_scale(const ethosu_sim *sim, const sim_scales *scales, uint32_t c) {
  const ethosu_sim_regs *r = &sim->r;
  sim_scale s = {0, r->ofm_scale, r->ofm_scale_shift};
  return scales->cores == 0 ? s : sim_channel_scale(sim, scales, c);
}

/* The scale streams when the OFM is scaled per channel, else none (cores 0). */
static ethosu_sim_status channel_scales(ethosu_sim *sim, uint32_t oc, sim_scales *scales) {
  scales->cores = 0;
  if (((sim->r.ofm.precision >> 8) & 1) == 0) return sim_scale_stream(sim, oc, scales);
  return ETHOSU_SIM_OK;
}

/* U85 POOL NONE with acc_input IFM2 (Vela's "null pool" for 32-bit copies,
 * rescales and transposes): the accumulators are loaded from IFM2 as they
 * are (no zero point), the IFM is not read; then the output stage, with the
 * global OFM_SCALE or (OFM_PRECISION bit 8 clear: a per-channel RESCALE of
 * int32 data) each channel's scale record, bias included. */
static ethosu_sim_status pool_from_ifm2(ethosu_sim *sim) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t oh = r->ofm.height_m1 + 1, ow = r->ofm.width_m1 + 1, oc = r->ofm.depth_m1 + 1;
  SIM_CHECK(sim, r->kernel_width_m1 == 0 && r->kernel_height_m1 == 0, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "accumulators from IFM2 with a %ux%u kernel", r->kernel_height_m1 + 1,
            r->kernel_width_m1 + 1);
  sim_fmap ifm2, ofm;
  SIM_TRY(sim_fmap_setup(sim, &ifm2, &r->ifm2, "IFM2", oh, ow, oc, false));
  SIM_TRY(sim_fmap_setup(sim, &ofm, &r->ofm, "OFM", oh, ow, oc, true));
  SIM_TRY(sim_check_activation(sim, &ofm));
  uint32_t round_mode;
  SIM_TRY(sim_ofm_round_mode(sim, &round_mode));
  sim_scales scales;
  SIM_TRY(channel_scales(sim, oc, &scales));
  for (uint32_t y = 0; y < oh; y++) {
    for (uint32_t x = 0; x < ow; x++) {
      for (uint32_t c = 0; c < oc; c++) {
        sim_scale s = channel_scale(sim, &scales, c);
        int64_t v = sim_scale_round(sim_fmap_read(sim, &ifm2, y, x, c) + s.bias, s.scale,
                                    s.shift, round_mode);
        sim_fmap_write(sim, &ofm, y, x, c, sim_activate(sim, &ofm, v));
      }
    }
  }
  return ETHOSU_SIM_OK;
}

/* U85 ARGMAX_X / ARGMAX_Y (Vela's TOSA ARGMAX: the reduced axis laid along the
 * kernel's width, a 1-high kernel): each OFM element is the position in the
 * window of the first largest (ifm - IFM_ZERO_POINT), ties to the lowest
 * position as TOSA's. Vela scales it with OFM_SCALE 1, shift 16 and round
 * TRUNCATE_TO_LOWER, so the accumulator carries the position at bit 16; the
 * simulator puts it there (what the hardware keeps in the low 16 bits is not
 * documented and that scale drops it). Padded windows and 2-D windows (which
 * position would a 2-D window number?) are not simulated. */
static ethosu_sim_status pool_argmax(ethosu_sim *sim, bool along_y) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t oh = r->ofm.height_m1 + 1, ow = r->ofm.width_m1 + 1, oc = r->ofm.depth_m1 + 1;
  sim_kernel k;
  SIM_TRY(sim_kernel_geometry(sim, &k));
  SIM_CHECK(sim, (along_y ? k.kw : k.kh) == 1 && r->ifm_upscale == 0 &&
                     (r->ifm_pad_top | r->ifm_pad_left | r->ifm_pad_bottom | r->ifm_pad_right) == 0,
            ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "ARGMAX over a %ux%u window, padded or upscaled",
            k.kh, k.kw);
  uint32_t ih, iw;
  SIM_TRY(sim_kernel_ifm(sim, &k, oh, ow, &ih, &iw));
  sim_fmap ifm, ofm;
  SIM_TRY(sim_fmap_setup(sim, &ifm, &r->ifm, "IFM", ih, iw, oc, false));
  SIM_TRY(sim_fmap_setup(sim, &ofm, &r->ofm, "OFM", oh, ow, oc, true));
  SIM_TRY(sim_check_activation(sim, &ofm));
  uint32_t round_mode, n = along_y ? k.kh : k.kw;
  SIM_TRY(sim_ofm_round_mode(sim, &round_mode));
  for (uint32_t y = 0; y < oh; y++) {
    for (uint32_t x = 0; x < ow; x++) {
      for (uint32_t c = 0; c < oc; c++) {
        int64_t best = INT64_MIN, at = 0;
        for (uint32_t i = 0; i < n; i++) {
          uint32_t iy = y * k.stride_y + (along_y ? i * k.dil_y : 0);
          uint32_t ix = x * k.stride_x + (along_y ? 0 : i * k.dil_x);
          int64_t v = sim_fmap_read(sim, &ifm, iy, ix, c) - ifm.zero_point;
          if (v > best) best = v, at = i;
        }
        int64_t v = sim_scale_round(at * 65536, r->ofm_scale, r->ofm_scale_shift, round_mode);
        sim_fmap_write(sim, &ofm, y, x, c, sim_activate(sim, &ofm, v));
      }
    }
  }
  sim->cur.macs = (uint64_t)oh * ow * oc * n;
  return ETHOSU_SIM_OK;
}

ethosu_sim_status sim_op_pool(ethosu_sim *sim, uint32_t mode) {
  const ethosu_sim_regs *r = &sim->r;
  bool u85 = sim->product == ETHOSU_SIM_U85;
  if (u85 && ((r->acc_format >> 4) & 3) == 2) {
    SIM_CHECK(sim, mode == SIM_POOL_NONE, ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
              "pooling mode %u with accumulators from IFM2", mode);
    return pool_from_ifm2(sim);
  }
  SIM_CHECK(sim, mode <= SIM_POOL_REDUCE_SUM || u85, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "pooling mode %u", mode);
  SIM_CHECK(sim, mode <= SIM_POOL_ARGMAX_Y, ETHOSU_SIM_ERR_REGISTER_RANGE, "pooling mode %u", mode);
  if (mode >= SIM_POOL_ARGMAX_X) return pool_argmax(sim, mode == SIM_POOL_ARGMAX_Y);
  /* U85: SUM and NONE (1x1 kernels) add the window, MIN is MAX's mirror. The
   * U85 divides AVERAGE by the window's valid positions itself, padded or not. */
  bool average = mode == SIM_POOL_AVERAGE, minimum = mode == SIM_POOL_MIN;
  if (mode == SIM_POOL_SUM || mode == SIM_POOL_NONE) mode = SIM_POOL_AVERAGE;
  if (minimum) mode = SIM_POOL_MAX;
  uint32_t oh = r->ofm.height_m1 + 1, ow = r->ofm.width_m1 + 1, oc = r->ofm.depth_m1 + 1;
  uint32_t ic = mode == SIM_POOL_REDUCE_SUM ? r->ifm_depth_m1 + 1 : oc;
  sim_kernel k;
  SIM_TRY(sim_kernel_geometry(sim, &k));
  uint32_t ih, iw;
  SIM_TRY(sim_kernel_ifm(sim, &k, oh, ow, &ih, &iw));
  sim_fmap ifm, ofm;
  uint32_t up = r->ifm_upscale;
  SIM_TRY(sim_fmap_setup(sim, &ifm, &r->ifm, "IFM", sim_upscaled_extent(up, ih),
                         sim_upscaled_extent(up, iw), ic, false));
  SIM_TRY(sim_fmap_setup(sim, &ofm, &r->ofm, "OFM", oh, ow, oc, true));
  SIM_TRY(sim_check_activation(sim, &ofm));
  uint32_t round_mode;
  SIM_TRY(sim_ofm_round_mode(sim, &round_mode));
  sim_scales scales;
  SIM_TRY(channel_scales(sim, oc, &scales));
  uint32_t full = k.kh * k.kw;
  bool padded = (r->ifm_pad_top | r->ifm_pad_left | r->ifm_pad_bottom | r->ifm_pad_right) != 0;
  for (uint32_t y = 0; y < oh; y++) {
    for (uint32_t x = 0; x < ow; x++) {
      for (uint32_t c = 0; c < oc; c++) {
        int64_t acc = mode == SIM_POOL_MAX ? (minimum ? INT64_MAX : INT64_MIN) : 0;
        uint32_t count = 0;
        for (uint32_t ky = 0; ky < k.kh; ky++) {
          int64_t iy = (int64_t)y * k.stride_y + (int64_t)ky * k.dil_y - r->ifm_pad_top;
          if (iy < 0 || iy >= ih) continue;
          for (uint32_t kx = 0; kx < k.kw; kx++) {
            int64_t ix = (int64_t)x * k.stride_x + (int64_t)kx * k.dil_x - r->ifm_pad_left;
            if (ix < 0 || ix >= iw) continue;
            count++;
            int64_t ry = iy, rx = ix;
            /* An inserted zero (upscale ZEROS) counts as a valid 0 of the window. */
            bool stored = sim_upscaled_tap(up, &ry, &rx);
            if (mode == SIM_POOL_REDUCE_SUM) {
              for (uint32_t i = 0; stored && i < ic; i++) {
                acc += sim_fmap_read(sim, &ifm, (uint32_t)ry, (uint32_t)rx, i) - ifm.zero_point;
              }
              continue;
            }
            int64_t v = stored ? sim_fmap_read(sim, &ifm, (uint32_t)ry, (uint32_t)rx, c) -
                                     ifm.zero_point
                               : 0;
            if (mode == SIM_POOL_MAX) {
              acc = minimum ? (v < acc ? v : acc) : (v > acc ? v : acc);
            } else {
              acc += v;
            }
          }
        }
        if (count == 0) acc = 0; /* a window entirely in the padding */
        if (average && (padded || u85) && count > 0) {
          uint32_t m, s;
          reciprocal(count, &m, &s);
          acc = sim_scale_round(acc, m, s, SIM_ROUND_NATURAL);
        }
        sim_scale s = channel_scale(sim, &scales, c);
        int64_t v = sim_scale_round(acc + s.bias, s.scale, s.shift, round_mode);
        sim_fmap_write(sim, &ofm, y, x, c, sim_activate(sim, &ofm, v));
      }
    }
  }
  sim->cur.macs = (uint64_t)oh * ow * oc * full * (mode == SIM_POOL_REDUCE_SUM ? ic : 1);
  return ETHOSU_SIM_OK;
}
