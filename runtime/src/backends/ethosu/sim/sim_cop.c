/*
 * The driver payload (COP1 driver actions, Vela's driver_actions.py format)
 * and the command processor: SET commands latch registers, OP commands run
 * one op family with the latched state.
 */
#include <stdarg.h>
#include <string.h>

#include "backends/ethosu/sim/sim_internal.h"
#include "core/message.h"

static const char *const STATUS_NAMES[ETHOSU_SIM_STATUS_COUNT] = {
    [ETHOSU_SIM_OK] = "ok",
    [ETHOSU_SIM_ERR_ARGUMENT] = "bad argument",
    [ETHOSU_SIM_ERR_HEADER] = "bad COP1 header",
    [ETHOSU_SIM_ERR_CONFIG_MISMATCH] = "stream compiled for another NPU",
    [ETHOSU_SIM_ERR_TRUNCATED] = "command stream truncated",
    [ETHOSU_SIM_ERR_UNKNOWN_COMMAND] = "unknown command",
    [ETHOSU_SIM_ERR_REGISTER_RANGE] = "register out of range",
    [ETHOSU_SIM_ERR_REGION_ACCESS] = "access outside a region",
    [ETHOSU_SIM_ERR_WEIGHT_STREAM] = "bad weight stream",
    [ETHOSU_SIM_ERR_UNSUPPORTED_OP] = "operation not supported by this NPU",
    [ETHOSU_SIM_ERR_NOT_IMPLEMENTED] = "not simulated",
    [ETHOSU_SIM_ERR_WORKSPACE] = "work buffer too small",
    [ETHOSU_SIM_ERR_WORK_BUDGET] = "work budget exceeded",
};

const char *ethosu_sim_status_to_string(ethosu_sim_status s) {
  return (unsigned)s < ETHOSU_SIM_STATUS_COUNT ? STATUS_NAMES[s] : "unknown status";
}

ethosu_sim_status sim_fail(ethosu_sim *sim, ethosu_sim_status status, const char *fmt, ...) {
  if (sim->msg != NULL && sim->msg_cap > 0) {
    size_t n = ptec_format(sim->msg, sim->msg_cap, "%s: command at byte %u: ",
                           ethosu_sim_status_to_string(status),
                           (unsigned)((sim->cmd_word0 + sim->pc) * 4));
    va_list ap;
    va_start(ap, fmt);
    ptec_vformat(sim->msg + n, sim->msg_cap - n, fmt, ap);
    va_end(ap);
  }
  return status;
}

ethosu_sim_status sim_region_span(ethosu_sim *sim, uint32_t region, uint64_t offset, uint64_t len,
                                  const char *what, uint8_t **out) {
  SIM_CHECK(sim, region < sim->nregions && sim->base[region] != NULL,
            ETHOSU_SIM_ERR_REGION_ACCESS, "%s: region %u is not given", what, region);
  SIM_CHECK(sim, offset <= sim->size[region] && len <= sim->size[region] - offset,
            ETHOSU_SIM_ERR_REGION_ACCESS, "%s: bytes [%llu, +%llu) outside region %u (%zu bytes)",
            what, (unsigned long long)offset, (unsigned long long)len, region, sim->size[region]);
  *out = sim->base[region] + offset;
  return ETHOSU_SIM_OK;
}

ethosu_sim_status ethosu_sim_init(ethosu_sim *sim, ethosu_sim_product product, uint32_t macs,
                                  void *work, size_t work_size) {
  if (sim == NULL) return ETHOSU_SIM_ERR_ARGUMENT;
  memset(sim, 0, sizeof *sim);
  /* Vela's accelerator configurations; the SHRAM one core addresses. */
  uint32_t shram_kib = 0;
  if (product == ETHOSU_SIM_U55) {
    shram_kib = macs == 32 || macs == 64 ? 16 : macs == 128 ? 24 : macs == 256 ? 48 : 0;
  } else if (product == ETHOSU_SIM_U65) {
    /* The U65-512 is two cores of 48 KiB SHRAM each: its config word says 96 KiB
     * (cores x SHRAM, Vela's driver_actions.py), but the stream addresses one
     * core's 48 KiB (Vela puts LUTs at 46 KiB on U65-256 and U65-512 alike). */
    shram_kib = macs == 256 || macs == 512 ? 48 : 0;
  } else if (product == ETHOSU_SIM_U85) {
    /* No SHRAM: the 2 KiB LUT memory is the only DMA-able internal memory. */
    shram_kib = macs == 128 || macs == 256 || macs == 512 || macs == 1024 || macs == 2048 ? 2 : 0;
  }
  if (shram_kib == 0) return ETHOSU_SIM_ERR_ARGUMENT;
  if (work == NULL && work_size != 0) return ETHOSU_SIM_ERR_ARGUMENT;
  if (((uintptr_t)work & 7u) != 0) return ETHOSU_SIM_ERR_ARGUMENT;
  sim->product = product;
  sim->macs = macs;
  uint32_t log2 = 0;
  while ((1u << log2) < macs) log2++;
  sim->log2_macs = log2;
  sim->shram_bytes = shram_kib * 1024;
  sim->work = work;
  sim->work_size = work_size;
  sim->work_budget = UINT64_MAX;
  return ETHOSU_SIM_OK;
}

size_t ethosu_sim_work_size(uint32_t ofm_depth, uint32_t kernel_h, uint32_t kernel_w,
                            uint32_t ifm_depth) {
  /* The encoded order pads the kernel to a multiple of 4 (U55/U65) or 5 or
   * 10 elements (U85, whose depthwise streams add up to 6 per 10), the OFM
   * depth to a microblock (up to 64 deep) and the IFM depth to an IFM block
   * (up to 64): upper bounds over every configuration. */
  size_t o = ((size_t)ofm_depth + 63) / 64 * 64, i = ((size_t)ifm_depth + 63) / 64 * 64;
  size_t k = ((size_t)kernel_h * kernel_w + 9) / 10 * 16 + 64;
  size_t dense = (size_t)ofm_depth * kernel_h * kernel_w * ifm_depth;
  return (o * k * i + dense) * sizeof(int16_t) + 2 * (32769 * sizeof(int32_t)) + 64;
}

/* ------------------------------------------------------------ commands */

bool sim_latch_common_cmd0(ethosu_sim *sim, uint32_t op, uint32_t p) {
  ethosu_sim_regs *r = &sim->r;
  switch (op) {
    case NPU_SET_IFM_PAD_TOP: r->ifm_pad_top = p; break;
    case NPU_SET_IFM_PAD_LEFT: r->ifm_pad_left = p; break;
    case NPU_SET_IFM_PAD_RIGHT: r->ifm_pad_right = p; break;
    case NPU_SET_IFM_PAD_BOTTOM: r->ifm_pad_bottom = p; break;
    case NPU_SET_IFM_DEPTH_M1: r->ifm_depth_m1 = p; break;
    case NPU_SET_IFM_PRECISION: r->ifm.precision = p; break;
    case NPU_SET_IFM_UPSCALE: r->ifm_upscale = p & 3; break;
    case NPU_SET_IFM_ZERO_POINT: r->ifm.zero_point = sim_sext16(p); break;
    case NPU_SET_IFM_WIDTH0_M1: r->ifm.width0_m1 = p; break;
    case NPU_SET_IFM_HEIGHT0_M1: r->ifm.height0_m1 = p; break;
    case NPU_SET_IFM_HEIGHT1_M1: r->ifm.height1_m1 = p; break;
    case NPU_SET_IFM_REGION: r->ifm.region = p & 7; break;
    case NPU_SET_OFM_WIDTH_M1: r->ofm.width_m1 = p; break;
    case NPU_SET_OFM_HEIGHT_M1: r->ofm.height_m1 = p; break;
    case NPU_SET_OFM_DEPTH_M1: r->ofm.depth_m1 = p; break;
    case NPU_SET_OFM_PRECISION: r->ofm.precision = p; break;
    case NPU_SET_OFM_BLK_DEPTH_M1: r->ofm_blk_depth_m1 = p; break;
    case NPU_SET_OFM_ZERO_POINT: r->ofm.zero_point = sim_sext16(p); break;
    case NPU_SET_OFM_WIDTH0_M1: r->ofm.width0_m1 = p; break;
    case NPU_SET_OFM_HEIGHT0_M1: r->ofm.height0_m1 = p; break;
    case NPU_SET_OFM_HEIGHT1_M1: r->ofm.height1_m1 = p; break;
    case NPU_SET_OFM_REGION: r->ofm.region = p & 7; break;
    case NPU_SET_KERNEL_WIDTH_M1: r->kernel_width_m1 = p; break;
    case NPU_SET_KERNEL_HEIGHT_M1: r->kernel_height_m1 = p; break;
    case NPU_SET_KERNEL_STRIDE: r->kernel_stride = p; break;
    case NPU_SET_ACTIVATION: r->activation = p; break;
    case NPU_SET_ACTIVATION_MIN: r->activation_min = p; break;
    case NPU_SET_ACTIVATION_MAX: r->activation_max = p; break;
    case NPU_SET_WEIGHT_REGION: r->weight_region = p & 7; break;
    case NPU_SET_SCALE_REGION: r->scale_region = p & 7; break;
    case NPU_SET_DMA0_SRC_REGION: r->dma_src_region = p; break;
    case NPU_SET_DMA0_DST_REGION: r->dma_dst_region = p; break;
    case NPU_SET_IFM2_PRECISION: r->ifm2.precision = p; break;
    case NPU_SET_IFM2_ZERO_POINT: r->ifm2.zero_point = sim_sext16(p); break;
    case NPU_SET_IFM2_WIDTH0_M1: r->ifm2.width0_m1 = p; break;
    case NPU_SET_IFM2_HEIGHT0_M1: r->ifm2.height0_m1 = p; break;
    case NPU_SET_IFM2_HEIGHT1_M1: r->ifm2.height1_m1 = p; break;
    case NPU_SET_IFM2_REGION: r->ifm2.region = p & 7; break;
    /* Scheduling only: block sizes, dependencies, DMA block sizes. */
    case NPU_SET_OFM_BLK_WIDTH_M1:
    case NPU_SET_OFM_BLK_HEIGHT_M1:
    case NPU_SET_BLOCKDEP:
      break;
    case NPU_SET_DMA0_SIZE0: r->dma_size0 = p; break;
    case NPU_SET_DMA0_SIZE1: r->dma_size1 = p; break;
    default:
      return false;
  }
  return true;
}

static ethosu_sim_status set_cmd0(ethosu_sim *sim, uint32_t op, uint32_t p) {
  ethosu_sim_regs *r = &sim->r;
  if (sim_latch_common_cmd0(sim, op, p)) return ETHOSU_SIM_OK;
  switch (op) {
    case NPU_SET_ACC_FORMAT: r->acc_format = p & 3; break;
    case NPU_SET_IFM2_BROADCAST: r->ifm2_broadcast = p; break;
    case NPU_SET_IFM2_SCALAR: r->ifm2_scalar = p; break;
    /* Scheduling only: SHRAM partitioning. */
    case NPU_SET_IFM_IB_END:
    case NPU_SET_AB_START:
    case NPU_SET_IFM2_IB_START:
      break;
    case NPU_SET_PARALLEL_MODE:
      /* 0 single core, 1 dual core splitting the OFM depth: only the U65-512
       * has two cores (Vela sets ncores - 1 on every U65). */
      SIM_CHECK(sim, p == 0 || (p == 1 && sim->product == ETHOSU_SIM_U65 && sim->macs == 512),
                ETHOSU_SIM_ERR_UNSUPPORTED_OP, "NPU_SET_PARALLEL_MODE %u on a single-core NPU", p);
      r->parallel_mode = p;
      break;
    default:
      return sim_fail(sim, ETHOSU_SIM_ERR_UNKNOWN_COMMAND, "cmd0 opcode %u", op);
  }
  return ETHOSU_SIM_OK;
}

bool sim_latch_common_cmd1(ethosu_sim *sim, uint32_t op, uint32_t p, uint32_t payload) {
  ethosu_sim_regs *r = &sim->r;
  /* Addresses are 40-bit: bits 32..39 in the parameter's low byte. */
  uint64_t addr = sim_cmd1_addr(p, payload);
  if (op <= NPU_SET_IFM_BASE0 + 3) {
    r->ifm.base[op - NPU_SET_IFM_BASE0] = addr;
    return true;
  }
  if (op >= NPU_SET_OFM_BASE0 && op <= NPU_SET_OFM_BASE0 + 3) {
    r->ofm.base[op - NPU_SET_OFM_BASE0] = addr;
    return true;
  }
  if (op >= NPU_SET_IFM2_BASE0 && op <= NPU_SET_IFM2_BASE0 + 3) {
    r->ifm2.base[op - NPU_SET_IFM2_BASE0] = addr;
    return true;
  }
  switch (op) {
    case NPU_SET_IFM_STRIDE_X: r->ifm.stride_x = addr; break;
    case NPU_SET_IFM_STRIDE_Y: r->ifm.stride_y = addr; break;
    case NPU_SET_IFM_STRIDE_C: r->ifm.stride_c = addr; break;
    case NPU_SET_OFM_STRIDE_X: r->ofm.stride_x = addr; break;
    case NPU_SET_OFM_STRIDE_Y: r->ofm.stride_y = addr; break;
    case NPU_SET_OFM_STRIDE_C: r->ofm.stride_c = addr; break;
    case NPU_SET_IFM2_STRIDE_X: r->ifm2.stride_x = addr; break;
    case NPU_SET_IFM2_STRIDE_Y: r->ifm2.stride_y = addr; break;
    case NPU_SET_IFM2_STRIDE_C: r->ifm2.stride_c = addr; break;
    case NPU_SET_WEIGHT_BASE: r->weight_base = addr; break;
    case NPU_SET_WEIGHT_LENGTH: r->weight_length = payload; break;
    case NPU_SET_SCALE_BASE: r->scale_base = addr; break;
    case NPU_SET_SCALE_LENGTH: r->scale_length = payload; break;
    case NPU_SET_DMA0_SRC: r->dma_src = addr; break;
    case NPU_SET_DMA0_DST: r->dma_dst = addr; break;
    case NPU_SET_DMA0_LEN: r->dma_len = addr; break;
    default:
      return false;
  }
  return true;
}

static ethosu_sim_status set_cmd1(ethosu_sim *sim, uint32_t op, uint32_t p, uint32_t payload) {
  ethosu_sim_regs *r = &sim->r;
  uint64_t addr = sim_cmd1_addr(p, payload);
  if (sim_latch_common_cmd1(sim, op, p, payload)) return ETHOSU_SIM_OK;
  switch (op) {
    case NPU_SET_OFM_SCALE: r->ofm_scale_shift = p & 63; r->ofm_scale = payload; break;
    case NPU_SET_OPA_SCALE: r->opa_scale_shift = p & 63; r->opa_scale = payload; break;
    case NPU_SET_OPB_SCALE: r->opb_scale = payload; break;
    case NPU_SET_DMA0_SKIP0:
    case NPU_SET_DMA0_SKIP1:
      /* 2-D DMA strides; only D1 (linear) transfers are simulated, checked at DMA_START. */
      SIM_CHECK(sim, sim->product == ETHOSU_SIM_U65, ETHOSU_SIM_ERR_UNSUPPORTED_OP,
                "cmd1 opcode %u (DMA skip) on U55", op);
      break;
    case NPU_SET_WEIGHT1_BASE:
    case NPU_SET_WEIGHT1_LENGTH:
    case NPU_SET_SCALE1_BASE:
    case NPU_SET_SCALE1_LENGTH:
      /* The second core's streams: the U65 has the registers (Vela writes them,
       * length 0, on the U65-512 only); they are read in PARALLEL_MODE 1. */
      SIM_CHECK(sim, sim->product == ETHOSU_SIM_U65, ETHOSU_SIM_ERR_UNSUPPORTED_OP,
                "cmd1 opcode %u (second core's weights) on a single-core NPU", op);
      if (op == NPU_SET_WEIGHT1_BASE) r->weight1_base = addr;
      if (op == NPU_SET_WEIGHT1_LENGTH) r->weight1_length = payload;
      if (op == NPU_SET_SCALE1_BASE) r->scale1_base = addr;
      if (op == NPU_SET_SCALE1_LENGTH) r->scale1_length = payload;
      break;
    default:
      SIM_CHECK(sim, op >= NPU_SET_USER_DEFINED0 && op <= NPU_SET_USER_DEFINED7,
                ETHOSU_SIM_ERR_UNKNOWN_COMMAND, "cmd1 opcode %u", op);
      break; /* user-defined registers: no effect on the data */
  }
  return ETHOSU_SIM_OK;
}

static void stats_begin(ethosu_sim *sim, uint32_t op, uint32_t param) {
  memset(&sim->cur, 0, sizeof sim->cur);
  sim->cur.cmd_offset = (sim->cmd_word0 + sim->pc) * 4;
  sim->cur.opcode = (uint16_t)op;
  sim->cur.mode = (uint16_t)param;
}

static void stats_end(ethosu_sim *sim) {
  ethosu_sim_stats *st = sim->stats;
  if (st == NULL) return;
  st->macs += sim->cur.macs;
  for (int i = 0; i < ETHOSU_SIM_MAX_REGIONS; i++) {
    st->bytes_read[i] += sim->cur.bytes_read[i];
    st->bytes_written[i] += sim->cur.bytes_written[i];
  }
  if (st->op != NULL && st->ops < st->op_cap) st->op[st->ops] = sim->cur;
  st->ops++;
}

static ethosu_sim_status run_op(ethosu_sim *sim, uint32_t op, uint32_t p) {
  switch (op) {
    case NPU_OP_CONV:
      if (sim->product == ETHOSU_SIM_U85 && (p & 1) != 0) return sim_u85_op_matmul(sim);
      return sim_op_conv(sim, false);
    case NPU_OP_DEPTHWISE: return sim_op_conv(sim, true);
    case NPU_OP_POOL: return sim_op_pool(sim, p & 7);
    case NPU_OP_ELEMENTWISE: return sim_op_elementwise(sim, p & 63);
    case NPU_OP_DMA_START: return sim_op_dma(sim);
    case NPU_OP_RESIZE: return sim_u85_op_resize(sim, p & 3);
    default: return ETHOSU_SIM_OK;
  }
}

/* Runs the command stream cmd[0, words); returns at NPU_OP_STOP. */
static ethosu_sim_status run_stream(ethosu_sim *sim) {
  const uint32_t *cmd = sim->cmd;
  for (sim->pc = 0; sim->pc < sim->cmd_words;) {
    uint32_t w = cmd[sim->pc], op = SIM_OPCODE(w), p = SIM_PARAM(w);
    if (sim->stats != NULL) sim->stats->commands++;
    if (w & SIM_CMD1_FLAG) {
      SIM_CHECK(sim, sim->pc + 1 < sim->cmd_words, ETHOSU_SIM_ERR_TRUNCATED,
                "cmd1 opcode %u has no payload word", op);
      SIM_TRY(sim->product == ETHOSU_SIM_U85 ? sim_u85_set_cmd1(sim, op, p, cmd[sim->pc + 1])
                                             : set_cmd1(sim, op, p, cmd[sim->pc + 1]));
      sim->pc += 2;
      continue;
    }
    SIM_CHECK(sim, (w & 0xc000u) == 0, ETHOSU_SIM_ERR_UNKNOWN_COMMAND,
              "control bits %u in command word %u", (w >> 14) & 3, w);
    if (op >= 256) {
      SIM_TRY(sim->product == ETHOSU_SIM_U85 ? sim_u85_set_cmd0(sim, op, p) : set_cmd0(sim, op, p));
      sim->pc++;
      continue;
    }
    switch (op) {
      case NPU_OP_STOP: return ETHOSU_SIM_OK;
      case NPU_OP_IRQ:
      case NPU_OP_DMA_WAIT:
      case NPU_OP_KERNEL_WAIT:
      case NPU_OP_PMU_MASK:
        break; /* synchronisation and profiling: the simulator is sequential */
      case NPU_OP_CONV:
      case NPU_OP_DEPTHWISE:
      case NPU_OP_POOL:
      case NPU_OP_ELEMENTWISE:
      case NPU_OP_DMA_START:
      case NPU_OP_RESIZE:
        SIM_CHECK(sim, op != NPU_OP_RESIZE || sim->product == ETHOSU_SIM_U85,
                  ETHOSU_SIM_ERR_UNKNOWN_COMMAND, "cmd0 operation %u", op);
        stats_begin(sim, op, p);
        if (sim->product == ETHOSU_SIM_U85) SIM_TRY(sim_u85_check_op(sim, op, p));
        SIM_TRY(sim_charge_op(sim, op, p));
        SIM_TRY(run_op(sim, op, p));
        sim_u85_chain_op_done(sim);
        stats_end(sim);
        break;
      default:
        return sim_fail(sim, ETHOSU_SIM_ERR_UNKNOWN_COMMAND, "cmd0 operation %u", op);
    }
    sim->pc++;
  }
  return sim_fail(sim, ETHOSU_SIM_ERR_TRUNCATED, "the stream ends without NPU_OP_STOP");
}

/* ------------------------------------------------------------ COP1 */

enum { DA_CONFIG = 1, DA_CMD_STREAM = 2, DA_READ_APB = 3, DA_DUMP_SHRAM = 4, DA_NOP = 5 };

static uint32_t load_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static ethosu_sim_status check_config(ethosu_sim *sim, uint32_t config) {
  uint32_t macs_log2 = config & 0xf, version = (config >> 4) & 0xf, product = config >> 28;
  SIM_CHECK(sim, product == (uint32_t)sim->product, ETHOSU_SIM_ERR_CONFIG_MISMATCH,
            "config word %u is for product %u, this NPU is product %u", config, product,
            (unsigned)sim->product);
  SIM_CHECK(sim, macs_log2 == sim->log2_macs, ETHOSU_SIM_ERR_CONFIG_MISMATCH,
            "config word %u is for %u MACs, this NPU has %u", config, 1u << macs_log2,
            sim->macs);
  uint32_t want = sim->product == ETHOSU_SIM_U85 ? 1 : 0;
  SIM_CHECK(sim, version == want, ETHOSU_SIM_ERR_CONFIG_MISMATCH,
            "command stream version %u (this NPU runs version %u)", version, want);
  return ETHOSU_SIM_OK;
}

ethosu_sim_status ethosu_sim_run(ethosu_sim *sim, const void *cmd, size_t cmd_size,
                                 const uint64_t *bases, const size_t *sizes, int n,
                                 ethosu_sim_stats *stats, char *message, size_t cap) {
  if (message != NULL && cap > 0) message[0] = '\0';
  if (sim == NULL) return ETHOSU_SIM_ERR_ARGUMENT;
  sim->msg = message;
  sim->msg_cap = cap;
  sim->cmd = NULL;
  sim->cmd_words = 0;
  sim->pc = 0;
  sim->cmd_word0 = 0;
  SIM_CHECK(sim, cmd != NULL && (((uintptr_t)cmd) & 3u) == 0 && cmd_size % 4 == 0,
            ETHOSU_SIM_ERR_ARGUMENT, "the payload must be 4-byte aligned, a multiple of 4 bytes");
  SIM_CHECK(sim, n >= 0 && n <= ETHOSU_SIM_MAX_REGIONS && (n == 0 || (bases && sizes)),
            ETHOSU_SIM_ERR_ARGUMENT, "%d regions (at most %d)", n, ETHOSU_SIM_MAX_REGIONS);
  memset(&sim->r, 0, sizeof sim->r);
  sim->chain_bytes = 0;
  sim->chain_state = 0;
  sim->nregions = (uint32_t)n;
  sim->work_left = sim->work_budget;
  for (int i = 0; i < ETHOSU_SIM_MAX_REGIONS; i++) {
    sim->base[i] = i < n ? (uint8_t *)(uintptr_t)bases[i] : NULL;
    sim->size[i] = i < n && bases[i] != 0 ? sizes[i] : 0;
  }
  sim->stats = stats;
  if (stats != NULL) {
    ethosu_sim_op_stats *keep = stats->op;
    uint32_t keep_cap = stats->op_cap;
    memset(stats, 0, sizeof *stats);
    stats->op = keep;
    stats->op_cap = keep_cap;
  }
  const uint8_t *bytes = cmd;
  size_t words = cmd_size / 4;
  SIM_CHECK(sim, words >= 1 && memcmp(bytes, "COP1", 4) == 0, ETHOSU_SIM_ERR_HEADER,
            "the payload does not start with COP1");
  bool configured = false, ran = false;
  for (size_t i = 1; i < words;) {
    uint32_t tag = load_u32(bytes + 4 * i), action = tag & 0xff;
    sim->cmd_word0 = (uint32_t)i;
    switch (action) {
      case DA_CONFIG:
        SIM_CHECK(sim, i + 2 < words, ETHOSU_SIM_ERR_HEADER, "OPTIMIZER_CONFIG is truncated");
        SIM_TRY(check_config(sim, load_u32(bytes + 4 * (i + 1))));
        configured = true;
        i += 3;
        break;
      case DA_CMD_STREAM: {
        size_t len = (tag >> 16) | ((tag >> 8) & 0xff) << 16;
        SIM_CHECK(sim, configured, ETHOSU_SIM_ERR_HEADER,
                  "COMMAND_STREAM before OPTIMIZER_CONFIG");
        SIM_CHECK(sim, len <= words - i - 1, ETHOSU_SIM_ERR_TRUNCATED,
                  "COMMAND_STREAM of %zu words, %zu left", len, words - i - 1);
        sim->cmd = (const uint32_t *)(const void *)(bytes + 4 * (i + 1));
        sim->cmd_words = (uint32_t)len;
        sim->cmd_word0 = (uint32_t)(i + 1);
        SIM_TRY(run_stream(sim));
        ran = true;
        i += 1 + len;
        break;
      }
      case DA_READ_APB:
      case DA_DUMP_SHRAM:
      case DA_NOP:
        i += 1; /* debug and padding actions: no effect on the data */
        break;
      default:
        return sim_fail(sim, ETHOSU_SIM_ERR_HEADER, "driver action %u at word %zu", action, i);
    }
  }
  SIM_CHECK(sim, ran, ETHOSU_SIM_ERR_HEADER, "the payload has no COMMAND_STREAM");
  return ETHOSU_SIM_OK;
}
