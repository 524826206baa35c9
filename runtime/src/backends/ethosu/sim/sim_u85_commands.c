/*
 * The Ethos-U85's command set (Arm's ethosu85_interface.h): its CMD0/CMD1
 * opcode map differs from the U55's (+RESIZE, +IFM_BROADCAST, +RESIZE_*,
 * +WEIGHT_FORMAT, +DMA0_IDX_*, +WEIGHT1..3, IFM/IFM2_SCALE with round modes,
 * OP_SCALAR; -AB_START, -IFM_IB_END, -IFM2_IB_START, -IFM2_SCALAR), and a
 * few registers keep their opcode but change fields:
 *   OFM_SCALE / IFM_SCALE / IFM2_SCALE parameter: shift bits 0-5, dbl_rnd
 *     bits 6-10, round mode bits 13-15 (OFM: DOUBLE_SYMMETRIC, NATURAL,
 *     DOUBLE_ASYMMETRIC, SYMMETRIC, TRUNCATE_TO_ZERO, TRUNCATE_TO_LOWER; IFM:
 *     DOUBLE_SYMMETRIC, NATURAL); payload: 31-bit scale;
 *   OFM_PRECISION: reverse bits 9-10, transpose bits 11-13, storage 14-15;
 *   ACC_FORMAT: format bits 0-1 (I32, I48), acc_input bits 4-5 (RESET, KEEP,
 *     IFM2), acc_output bit 6 (ENABLE, DISABLE), microblock bits 8-10;
 *   ACTIVATION: function bits 0-4 (LUT_*), table bits 5-7, clip range bit 12
 *     (B16, NONE);
 *   IFM/IFM2_BROADCAST: H 1, W 2, C 4, SCALAR 8 (no operand order);
 *   RESIZE_X/Y (cmd1 150/151, RESIZE_X/Y_STEP): parameter one_step_int bits
 *     0-3, blk_step_int 4-14; payload one_step_mod bits 0-10, blk_step_mod
 *     16-26 (d / n and d % n of the scale n/d: d = int * n + mod).
 */
#include "backends/ethosu/sim/sim_internal.h"

ethosu_sim_status sim_u85_set_cmd0(ethosu_sim *sim, uint32_t op, uint32_t p) {
  ethosu_sim_regs *r = &sim->r;
  if (sim_latch_common_cmd0(sim, op, p)) return ETHOSU_SIM_OK;
  switch (op) {
    case NPU_SET_IFM_BROADCAST: r->ifm_broadcast = p & 15; break;
    case NPU_SET_IFM2_BROADCAST: r->ifm2_broadcast = p & 15; break;
    case NPU_SET_ACC_FORMAT: r->acc_format = p; break;
    case NPU_SET_WEIGHT_FORMAT: r->weight_format = p; break;
    /* RESIZE (sim_u85_resize.c): 11-bit scale numerators, 12-bit offsets. */
    case NPU_SET_RESIZE_Y_SCALE_N_M1: r->resize_scale_n_m1[0] = p & 0x7ff; break;
    case NPU_SET_RESIZE_X_SCALE_N_M1: r->resize_scale_n_m1[1] = p & 0x7ff; break;
    case NPU_SET_RESIZE_Y_OFFSET: r->resize_offset[0] = p & 0xfff; break;
    case NPU_SET_RESIZE_X_OFFSET: r->resize_offset[1] = p & 0xfff; break;
    case NPU_SET_DMA0_IDX_REGION: r->dma_idx_region = p & 7; break;
    default:
      return sim_fail(sim, ETHOSU_SIM_ERR_UNKNOWN_COMMAND, "cmd0 opcode %u (Ethos-U85)", op);
  }
  return ETHOSU_SIM_OK;
}

/* A U85 scale register: shift in the parameter, 31-bit scale in the payload. */
static void latch_scale(uint32_t p, uint32_t payload, uint32_t *param, uint32_t *shift,
                        uint32_t *scale) {
  *param = p;
  *shift = p & 63;
  *scale = payload & 0x7fffffffu;
}

ethosu_sim_status sim_u85_set_cmd1(ethosu_sim *sim, uint32_t op, uint32_t p, uint32_t payload) {
  ethosu_sim_regs *r = &sim->r;
  if (sim_latch_common_cmd1(sim, op, p, payload)) return ETHOSU_SIM_OK;
  if (op >= NPU_SET_WEIGHT1_BASE && op <= NPU_SET_WEIGHT3_LENGTH) {
    uint32_t n = (op - NPU_SET_WEIGHT1_BASE) / 2;
    if ((op - NPU_SET_WEIGHT1_BASE) % 2 == 0) {
      r->weightn_base[n] = ((uint64_t)(p & 0xffu) << 32) | payload;
    } else {
      r->weightn_length[n] = payload;
    }
    return ETHOSU_SIM_OK;
  }
  switch (op) {
    case NPU_SET_OFM_SCALE:
      latch_scale(p, payload, &r->ofm_scale_param, &r->ofm_scale_shift, &r->ofm_scale);
      break;
    case NPU_SET_IFM_SCALE:
      latch_scale(p, payload, &r->ifm_scale_param, &r->ifm_scale_shift, &r->ifm_scale);
      break;
    case NPU_SET_IFM2_SCALE:
      latch_scale(p, payload, &r->ifm2_scale_param, &r->ifm2_scale_shift, &r->ifm2_scale);
      break;
    case NPU_SET_OP_SCALAR: r->op_scalar = (int32_t)payload; break;
    case NPU_SET_RESIZE_Y:
    case NPU_SET_RESIZE_X: { /* RESIZE_Y/X_STEP: the denominator's steps */
      int axis = op == NPU_SET_RESIZE_Y ? 0 : 1;
      r->resize_step_param[axis] = p;
      r->resize_step[axis] = payload;
      break;
    }
    case NPU_OP_BRANCH:
      return sim_fail(sim, ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "NPU_OP_BRANCH (control flow)");
    /* 2-D/3-D and indexed DMA (sim_dma.c). */
    case NPU_SET_DMA0_SRC_STRIDE0: r->dma_src_stride[0] = sim_cmd1_addr(p, payload); break;
    case NPU_SET_DMA0_SRC_STRIDE1: r->dma_src_stride[1] = sim_cmd1_addr(p, payload); break;
    case NPU_SET_DMA0_DST_STRIDE0: r->dma_dst_stride[0] = sim_cmd1_addr(p, payload); break;
    case NPU_SET_DMA0_DST_STRIDE1: r->dma_dst_stride[1] = sim_cmd1_addr(p, payload); break;
    case NPU_SET_DMA0_IDX: r->dma_idx = sim_cmd1_addr(p, payload); break;
    case NPU_SET_DMA0_IDX_MAX: r->dma_idx_max = payload; break;
    case NPU_SET_DMA0_IDX_SKIP1: r->dma_idx_skip1 = sim_cmd1_addr(p, payload); break;
    default:
      SIM_CHECK(sim, op >= NPU_SET_USER_DEFINED0 && op <= NPU_SET_USER_DEFINED7,
                ETHOSU_SIM_ERR_UNKNOWN_COMMAND, "cmd1 opcode %u (Ethos-U85)", op);
      break;
  }
  return ETHOSU_SIM_OK;
}

ethosu_sim_status sim_u85_round_mode(ethosu_sim *sim, uint32_t param, bool ofm, uint32_t *mode) {
  uint32_t m = (param >> 13) & 7, dbl_rnd = (param >> 6) & 31;
  if (!ofm) {
    SIM_CHECK(sim, m <= 1, ETHOSU_SIM_ERR_REGISTER_RANGE, "IFM round mode %u", m);
    m = m == 1 ? 1 : 0; /* IFM: DOUBLE_SYMMETRIC, NATURAL: the OFM's first two */
  }
  SIM_CHECK(sim, dbl_rnd == 0, ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "a double rounding shift of %u (TFLite-style operand scaling)", dbl_rnd);
  switch (m) {
    case 0: *mode = SIM_ROUND_DBL; break;
    case 1: *mode = SIM_ROUND_NATURAL; break;
    case 3: *mode = SIM_ROUND_SYMMETRIC; break;
    case 4: *mode = SIM_ROUND_TRUNCATE; break;
    case 5: *mode = SIM_ROUND_TRUNCATE_LOWER; break;
    case 2:
      return sim_fail(sim, ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "round mode DOUBLE_ASYMMETRIC");
    default:
      return sim_fail(sim, ETHOSU_SIM_ERR_REGISTER_RANGE, "OFM round mode %u", m);
  }
  return ETHOSU_SIM_OK;
}

ethosu_sim_status sim_ofm_round_mode(ethosu_sim *sim, uint32_t *mode) {
  if (sim->product == ETHOSU_SIM_U85) {
    return sim_u85_round_mode(sim, sim->r.ofm_scale_param, true, mode);
  }
  *mode = (sim->r.ofm.precision >> 14) & 3;
  SIM_CHECK(sim, *mode <= 2, ETHOSU_SIM_ERR_REGISTER_RANGE, "OFM round mode 3");
  return ETHOSU_SIM_OK;
}

uint32_t sim_u85_ofm_ublock_depth(const ethosu_sim *sim) {
  /* microblock: U1X1, U1X2, U1X4, U2X2, U2X4, U4X4 */
  static const uint32_t area[8] = {1, 2, 4, 4, 8, 16, 0, 0};
  uint32_t a = area[(sim->r.acc_format >> 8) & 7];
  return a == 0 ? 0 : sim->macs / 8 / a;
}

ethosu_sim_status sim_u85_check_op(ethosu_sim *sim, uint32_t op, uint32_t param) {
  const ethosu_sim_regs *r = &sim->r;
  (void)param;
  if (op == NPU_OP_DMA_START) return ETHOSU_SIM_OK;
  uint32_t acc_input = (r->acc_format >> 4) & 3, acc_output = (r->acc_format >> 6) & 1;
  /* acc_input IFM2 (accumulators loaded from IFM2): POOL (sim_pool.c) and
   * CONV/DEPTHWISE (sim_conv.c: Vela's CONV3D sums its depth slices so). */
  bool from_ifm2 = op == NPU_OP_POOL || op == NPU_OP_CONV || op == NPU_OP_DEPTHWISE;
  SIM_CHECK(sim, (acc_input == 0 || (acc_input == 2 && from_ifm2)) && acc_output == 0,
            ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "operation chaining (acc_input %u, acc_output %u)", acc_input, acc_output);
  SIM_CHECK(sim, (r->acc_format & 3) <= 1, ETHOSU_SIM_ERR_REGISTER_RANGE, "acc_format %u",
            r->acc_format & 3);
  SIM_CHECK(sim, sim_u85_ofm_ublock_depth(sim) != 0, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "microblock %u", (r->acc_format >> 8) & 7);
  /* Storage: TILE2X2 (the tiles every op here reads), CHAINED (sim_u85_chain.c)
   * or, for an elementwise op's scalar IFM, NONE. */
  uint32_t ofm_storage = (r->ofm.precision >> 14) & 3, ifm_storage = (r->ifm.precision >> 14) & 3;
  uint32_t ifm2_storage = op == NPU_OP_ELEMENTWISE ? (r->ifm2.precision >> 14) & 3 : 0;
  if (op == NPU_OP_ELEMENTWISE && (r->ifm_broadcast & 8) && ifm_storage == 3) ifm_storage = 0;
  if (op == NPU_OP_ELEMENTWISE && (r->ifm2_broadcast & 8) && ifm2_storage == 3) ifm2_storage = 0;
  SIM_CHECK(sim, (ofm_storage & 1) == 0 && (ifm_storage & 1) == 0 && (ifm2_storage & 1) == 0,
            ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "activation storage IFM %u / IFM2 %u / OFM %u",
            ifm_storage, ifm2_storage, ofm_storage);
  return ETHOSU_SIM_OK;
}
