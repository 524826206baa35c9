/*
 * NPU_OP_ELEMENTWISE: OFM = f(A, B) per element, A and B the two input
 * feature maps minus their zero points. IFM2_BROADCAST's operand order says
 * which input is A (ORDER_B: the IFM; ORDER_A: IFM2), and IFM2 may be a
 * 16-bit scalar (broadcast_constant) or broadcast along H, W and C.
 *
 * ADD/SUB operand scaling (IFM_PRECISION scale mode), inferred from Vela's
 * encoder (ethos_u55_scaling.cpp) and TOSA's RESCALE idiom for int8 ADD:
 *   OPA_OPB_16: A' = A * OPA_SCALE[15:0], B' = B * OPB_SCALE[15:0]
 *   OPA_32:     A' = round(A * OPA_SCALE >> OPA_SHIFT), B' = B << k
 *   OPB_32:     B' = round(B * OPA_SCALE >> OPA_SHIFT), A' = A << k
 * with k = 19 for 8-bit and 14 for 16-bit inputs (TFLite's 20/15-bit input
 * shift times the larger operand's 1/2: the "unscaled" operand's exact TOSA
 * rescale, 2^30 >> 11 for int8), rounding in the IFM round mode. The sum then takes the global OFM scale. MUL takes the
 * OFM scale on the product; LRELU uses it as alpha on negative values; ABS,
 * MIN, MAX scale the result; CLZ and the shifts are unscaled.
 */
#include "backends/ethosu/sim/sim_internal.h"

/* Count of leading zeros of a 32-bit value (32 for 0). */
static int64_t clz32(int64_t v) {
  uint32_t u = (uint32_t)v;
  int64_t n = 0;
  for (uint32_t bit = 0x80000000u; bit != 0 && (u & bit) == 0; bit >>= 1) n++;
  return n;
}

static int64_t sat32(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v; }

typedef struct ew {
  uint32_t mode, scale_mode, ifm_round, ifm2_round, ofm_round;
  bool u85; /* operands scaled by IFM_SCALE / IFM2_SCALE */
  uint32_t unscaled_shift;
  bool wide; /* 32-bit inputs: no operand scaling, no zero points */
  uint32_t ifm_mask; /* the IFM element's bits (LSR) */
} ew;

static int64_t apply(ethosu_sim *sim, const ew *e, int64_t a, int64_t b) {
  const ethosu_sim_regs *r = &sim->r;
  switch (e->mode) {
    case SIM_EW_ADD:
    case SIM_EW_SUB: {
      if (e->u85) {
        a = sim_scale_round(a, r->ifm_scale, r->ifm_scale_shift, e->ifm_round);
        b = sim_scale_round(b, r->ifm2_scale, r->ifm2_scale_shift, e->ifm2_round);
      } else if (e->scale_mode == 1) {
        a = sim_scale_round(a, r->opa_scale, r->opa_scale_shift, e->ifm_round);
        b = b * ((int64_t)1 << e->unscaled_shift);
      } else if (e->scale_mode == 2) {
        b = sim_scale_round(b, r->opa_scale, r->opa_scale_shift, e->ifm_round);
        a = a * ((int64_t)1 << e->unscaled_shift);
      } else if (!e->wide) {
        a *= (int64_t)(r->opa_scale & 0xffff);
        b *= (int64_t)(r->opb_scale & 0xffff);
      }
      int64_t v = sat32(e->mode == SIM_EW_ADD ? a + b : a - b);
      return sim_scale_round(v, r->ofm_scale, r->ofm_scale_shift, e->ofm_round);
    }
    case SIM_EW_MUL:
      /* Operands are at most 33 bits (32-bit data minus a zero point): saturated
       * to 32 bits first, the product fits in 63 and is scaled whole. */
      return sim_scale_round_product(sat32(a) * sat32(b), r->ofm_scale, r->ofm_scale_shift,
                                     e->ofm_round);
    case SIM_EW_MIN:
      return sim_scale_round(a < b ? a : b, r->ofm_scale, r->ofm_scale_shift, e->ofm_round);
    case SIM_EW_MAX:
      return sim_scale_round(a > b ? a : b, r->ofm_scale, r->ofm_scale_shift, e->ofm_round);
    case SIM_EW_LRELU:
      return a >= 0 ? a : sim_scale_round(a, r->ofm_scale, r->ofm_scale_shift, e->ofm_round);
    case SIM_EW_ABS:
      return sim_scale_round(sat32(a < 0 ? -a : a), r->ofm_scale, r->ofm_scale_shift,
                             e->ofm_round);
    case SIM_EW_CLZ: return clz32(a);
    /* Ethos-U85 only: logical shift right, compares, bitwise logic. */
    case SIM_EW_LSR: /* on the IFM element's bits, as unsigned */
      return (int64_t)(int32_t)(((uint32_t)a & e->ifm_mask) >> (b & 31));
    case SIM_EW_DIV: /* TOSA INTDIV: truncated toward zero (b != 0: checked by the caller) */
      return sat32(b == 0 ? 0 : a / b);
    /* Compares give all ones (-1) for true: Vela ANDs the result with 1 for a
     * TOSA bool, and uses it as a bit mask as it is (SELECT: (m & a) | (b &~ m)). */
    case SIM_EW_CMP_EQ: return -(int64_t)(a == b);
    case SIM_EW_CMP_NE: return -(int64_t)(a != b);
    case SIM_EW_CMP_GE: return -(int64_t)(a >= b);
    case SIM_EW_CMP_GT: return -(int64_t)(a > b);
    case SIM_EW_AND: return (int64_t)(int32_t)((uint32_t)a & (uint32_t)b);
    case SIM_EW_OR: return (int64_t)(int32_t)((uint32_t)a | (uint32_t)b);
    case SIM_EW_XOR: return (int64_t)(int32_t)((uint32_t)a ^ (uint32_t)b);
    case SIM_EW_NOT: return (int64_t)(int32_t)~(uint32_t)a;
    case SIM_EW_AND_NOT: return (int64_t)(int32_t)((uint32_t)a & ~(uint32_t)b);
    case SIM_EW_SHR: {
      int64_t s = b & 31; /* TOSA ARITHMETIC_RIGHT_SHIFT: shift in [0, 31] */
      int64_t v = a >= 0 ? a >> s : -((-a - 1) >> s) - 1;
      /* Rounding: the OFM round mode (NATURAL for TOSA's round = true; Vela
       * 5.2.0 leaves the IFM round mode at DBL either way, on the U55 too). */
      if (e->ofm_round == SIM_ROUND_NATURAL && s > 0 && ((a >> (s - 1)) & 1)) v += 1;
      return v;
    }
    case SIM_EW_SHL: {
      int64_t s = b & 31;
      return (int64_t)(int32_t)((uint32_t)a << s);
    }
    default: /* unreachable: sim_op_elementwise admits only the modes above */
      return 0;
  }
}

/* A scalar operand's type (no feature map behind it: storage NONE). */
static ethosu_sim_status scalar_operand(ethosu_sim *sim, const ethosu_sim_fmap_regs *r,
                                        sim_fmap *f) {
  uint32_t prec = (r->precision >> 2) & 3;
  SIM_CHECK(sim, prec <= 2, ETHOSU_SIM_ERR_REGISTER_RANGE, "IFM precision field %u", prec);
  *f = (sim_fmap){0};
  f->name = "IFM";
  f->elem_size = sim_precision_bytes(prec);
  f->is_signed = (r->precision & 1) != 0;
  f->zero_point = r->zero_point;
  return ETHOSU_SIM_OK;
}

ethosu_sim_status sim_op_elementwise(ethosu_sim *sim, uint32_t mode) {
  const ethosu_sim_regs *r = &sim->r;
  bool u85 = sim->product == ETHOSU_SIM_U85;
  SIM_CHECK(sim, mode <= SIM_EW_SHL || (u85 && mode <= 42), ETHOSU_SIM_ERR_REGISTER_RANGE,
            "elementwise mode %u", mode);
  bool known = mode <= SIM_EW_LSR || (mode >= SIM_EW_CMP_EQ && mode <= SIM_EW_CMP_GT) ||
               (mode >= SIM_EW_AND && mode <= SIM_EW_NOT) || mode == SIM_EW_AND_NOT;
  SIM_CHECK(sim, known || mode == SIM_EW_DIV, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "elementwise mode %u", mode);
  SIM_CHECK(sim, r->ifm_upscale == 0, ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "IFM upscale mode %u on an elementwise op", r->ifm_upscale);
  uint32_t oh = r->ofm.height_m1 + 1, ow = r->ofm.width_m1 + 1, oc = r->ofm.depth_m1 + 1;
  bool unary = mode == SIM_EW_LRELU || mode == SIM_EW_ABS || mode == SIM_EW_CLZ ||
               mode == SIM_EW_NOT;
  /* IFM2_BROADCAST: U55/U65 H 1, W 2, C 4, operand order 64, scalar 128
   * (ethos_u55_regs: broadcast bits 16-18, operand_order bit 22,
   * broadcast_scalar bit 23 of the command word); U85 H 1, W 2, C 4,
   * scalar 8, and the IFM may be broadcast too. */
  uint32_t bc = r->ifm2_broadcast, bc1 = u85 ? r->ifm_broadcast : 0;
  bool scalar = !unary && (u85 ? (bc >> 3) & 1 : (bc >> 7) & 1);
  bool ifm2_is_a = !u85 && ((bc >> 6) & 1);
  bool bh = bc & 1, bw = (bc >> 1) & 1, bcc = (bc >> 2) & 1;
  bool ah = bc1 & 1, aw = (bc1 >> 1) & 1, ac = (bc1 >> 2) & 1;
  /* U85 scalar IFM (IFM_BROADCAST SCALAR, storage NONE): Vela's scalar-first
   * SUB, INTDIV, shifts and comparisons; the value is OP_SCALAR, the type
   * IFM_PRECISION's. */
  bool ifm_scalar = (bc1 >> 3) & 1;
  SIM_CHECK(sim, !ifm_scalar || (!unary && !scalar), ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "a scalar IFM with a scalar or no IFM2");
  sim_fmap ifm, ifm2, ofm;
  if (ifm_scalar) {
    SIM_TRY(scalar_operand(sim, &r->ifm, &ifm));
  } else {
    SIM_TRY(sim_fmap_setup(sim, &ifm, &r->ifm, "IFM", ah ? 1 : oh, aw ? 1 : ow, ac ? 1 : oc,
                           false));
  }
  SIM_TRY(sim_fmap_setup(sim, &ofm, &r->ofm, "OFM", oh, ow, oc, true));
  if (!unary && !scalar) {
    SIM_TRY(sim_fmap_setup(sim, &ifm2, &r->ifm2, "IFM2", bh ? 1 : oh, bw ? 1 : ow, bcc ? 1 : oc,
                           false));
  } else {
    ifm2 = ifm;
    ifm2.zero_point = r->ifm2.zero_point;
    ifm2.is_signed = (r->ifm2.precision & 1) != 0;
  }
  SIM_TRY(sim_check_activation(sim, &ofm));
  ew e;
  e.mode = mode;
  e.scale_mode = (r->ifm.precision >> 8) & 3;
  e.u85 = u85;
  e.ifm_round = (r->ifm.precision >> 14) & 3;
  e.ifm2_round = e.ifm_round;
  e.ofm_round = (r->ofm.precision >> 14) & 3;
  if (u85) {
    e.scale_mode = 0;
    SIM_TRY(sim_u85_round_mode(sim, r->ifm_scale_param, false, &e.ifm_round));
    SIM_TRY(sim_u85_round_mode(sim, r->ifm2_scale_param, false, &e.ifm2_round));
    SIM_TRY(sim_ofm_round_mode(sim, &e.ofm_round));
  }
  e.wide = ifm.elem_size == 4;
  e.ifm_mask = ifm.elem_size == 4 ? 0xffffffffu : (1u << (8 * ifm.elem_size)) - 1;
  e.unscaled_shift = ifm.elem_size == 1 ? 19 : 14;
  SIM_CHECK(sim, e.scale_mode <= 2 && (u85 || (e.ifm_round <= 2 && e.ofm_round <= 2)),
            ETHOSU_SIM_ERR_REGISTER_RANGE, "IFM scale mode %u, round modes %u/%u", e.scale_mode,
            e.ifm_round, e.ofm_round);
  /* A scalar IFM2 is 16 bits, signed when IFM2 is signed. */
  int64_t scalar_value = u85              ? (int64_t)r->op_scalar
                         : ifm2.is_signed ? sim_sext16(r->ifm2_scalar)
                                          : (int64_t)(r->ifm2_scalar & 0xffff);
  for (uint32_t y = 0; y < oh; y++) {
    for (uint32_t x = 0; x < ow; x++) {
      for (uint32_t c = 0; c < oc; c++) {
        int64_t v1 = (ifm_scalar ? scalar_value
                                 : sim_fmap_read(sim, &ifm, ah ? 0 : y, aw ? 0 : x, ac ? 0 : c)) -
                     (e.wide ? 0 : ifm.zero_point);
        int64_t v2 = 0;
        if (!unary) {
          v2 = scalar ? scalar_value
                      : sim_fmap_read(sim, &ifm2, bh ? 0 : y, bw ? 0 : x, bcc ? 0 : c);
          v2 -= e.wide ? 0 : ifm2.zero_point;
        }
        /* What the U85 gives for a division by zero is not documented (TOSA
         * forbids it): named, not made up. */
        SIM_CHECK(sim, mode != SIM_EW_DIV || v2 != 0, ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
                  "DIV by zero at OFM (%u, %u, %u)", y, x, c);
        int64_t v = ifm2_is_a ? apply(sim, &e, v2, v1) : apply(sim, &e, v1, v2);
        sim_fmap_write(sim, &ofm, y, x, c, sim_activate(sim, &ofm, v));
      }
    }
  }
  return ETHOSU_SIM_OK;
}
