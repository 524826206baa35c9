/*
 * The simulator's internals: command opcodes and register fields (from
 * Arm's ethosu55_interface.h, the NPU's ISA description), the feature-map
 * view every op family uses, and the helpers shared between the files.
 */
#ifndef PTEC_ETHOSU_SIM_INTERNAL_H
#define PTEC_ETHOSU_SIM_INTERNAL_H

#include <stdbool.h>

#include "backends/ethosu/sim/ethosu_sim.h"

/* Command word: bits 0..9 opcode, bit 14 set for a command with a 32-bit
 * payload word (cmd1), bits 16..31 the parameter. */
#define SIM_CMD1_FLAG 0x4000u
#define SIM_OPCODE(w) ((w) & 0x3ffu)
#define SIM_PARAM(w) ((w) >> 16)

enum sim_cmd0 {
  NPU_OP_STOP = 0, NPU_OP_IRQ = 1, NPU_OP_CONV = 2, NPU_OP_DEPTHWISE = 3, NPU_OP_POOL = 5,
  NPU_OP_ELEMENTWISE = 6, NPU_OP_DMA_START = 16, NPU_OP_DMA_WAIT = 17,
  NPU_OP_KERNEL_WAIT = 18, NPU_OP_PMU_MASK = 19,
  NPU_SET_IFM_PAD_TOP = 256, NPU_SET_IFM_PAD_LEFT = 257, NPU_SET_IFM_PAD_RIGHT = 258,
  NPU_SET_IFM_PAD_BOTTOM = 259, NPU_SET_IFM_DEPTH_M1 = 260, NPU_SET_IFM_PRECISION = 261,
  NPU_SET_IFM_UPSCALE = 263, NPU_SET_IFM_ZERO_POINT = 265, NPU_SET_IFM_WIDTH0_M1 = 266,
  NPU_SET_IFM_HEIGHT0_M1 = 267, NPU_SET_IFM_HEIGHT1_M1 = 268, NPU_SET_IFM_IB_END = 269,
  NPU_SET_IFM_REGION = 271, NPU_SET_OFM_WIDTH_M1 = 273, NPU_SET_OFM_HEIGHT_M1 = 274,
  NPU_SET_OFM_DEPTH_M1 = 275, NPU_SET_OFM_PRECISION = 276, NPU_SET_OFM_BLK_WIDTH_M1 = 277,
  NPU_SET_OFM_BLK_HEIGHT_M1 = 278, NPU_SET_OFM_BLK_DEPTH_M1 = 279,
  NPU_SET_OFM_ZERO_POINT = 280, NPU_SET_OFM_WIDTH0_M1 = 282, NPU_SET_OFM_HEIGHT0_M1 = 283,
  NPU_SET_OFM_HEIGHT1_M1 = 284, NPU_SET_OFM_REGION = 287, NPU_SET_KERNEL_WIDTH_M1 = 288,
  NPU_SET_KERNEL_HEIGHT_M1 = 289, NPU_SET_KERNEL_STRIDE = 290, NPU_SET_PARALLEL_MODE = 291,
  NPU_SET_ACC_FORMAT = 292, NPU_SET_ACTIVATION = 293, NPU_SET_ACTIVATION_MIN = 294,
  NPU_SET_ACTIVATION_MAX = 295, NPU_SET_WEIGHT_REGION = 296, NPU_SET_SCALE_REGION = 297,
  NPU_SET_AB_START = 301, NPU_SET_BLOCKDEP = 303, NPU_SET_DMA0_SRC_REGION = 304,
  NPU_SET_DMA0_DST_REGION = 305, NPU_SET_DMA0_SIZE0 = 306, NPU_SET_DMA0_SIZE1 = 307,
  NPU_SET_IFM2_BROADCAST = 384, NPU_SET_IFM2_SCALAR = 385, NPU_SET_IFM2_PRECISION = 389,
  NPU_SET_IFM2_ZERO_POINT = 393, NPU_SET_IFM2_WIDTH0_M1 = 394, NPU_SET_IFM2_HEIGHT0_M1 = 395,
  NPU_SET_IFM2_HEIGHT1_M1 = 396, NPU_SET_IFM2_IB_START = 397, NPU_SET_IFM2_REGION = 399,
};

enum sim_cmd1 {
  NPU_SET_IFM_BASE0 = 0, NPU_SET_IFM_STRIDE_X = 4, NPU_SET_IFM_STRIDE_Y = 5,
  NPU_SET_IFM_STRIDE_C = 6, NPU_SET_OFM_BASE0 = 16, NPU_SET_OFM_STRIDE_X = 20,
  NPU_SET_OFM_STRIDE_Y = 21, NPU_SET_OFM_STRIDE_C = 22, NPU_SET_WEIGHT_BASE = 32,
  NPU_SET_WEIGHT_LENGTH = 33, NPU_SET_SCALE_BASE = 34, NPU_SET_SCALE_LENGTH = 35,
  NPU_SET_OFM_SCALE = 36, NPU_SET_OPA_SCALE = 37, NPU_SET_OPB_SCALE = 38,
  NPU_SET_DMA0_SRC = 48, NPU_SET_DMA0_DST = 49, NPU_SET_DMA0_LEN = 50,
  NPU_SET_DMA0_SKIP0 = 51, NPU_SET_DMA0_SKIP1 = 52, /* U65 */
  NPU_SET_WEIGHT1_BASE = 144, NPU_SET_WEIGHT1_LENGTH = 145, NPU_SET_SCALE1_BASE = 146,
  NPU_SET_SCALE1_LENGTH = 147, /* U65 */
  NPU_SET_IFM2_BASE0 = 128, NPU_SET_IFM2_STRIDE_X = 132, NPU_SET_IFM2_STRIDE_Y = 133,
  NPU_SET_IFM2_STRIDE_C = 134, NPU_SET_USER_DEFINED0 = 160, NPU_SET_USER_DEFINED7 = 167,
};

/* Rounding of sim_scale_round: the U55/U65 round_mode values, then the U85's
 * further modes (sim_u85_round_mode maps the U85's enum onto these). */
enum {
  SIM_ROUND_DBL = 0, SIM_ROUND_TRUNCATE = 1, SIM_ROUND_NATURAL = 2,
  SIM_ROUND_SYMMETRIC = 3,     /* half away from zero */
  SIM_ROUND_TRUNCATE_LOWER = 4 /* floor */
};
enum { SIM_ACC_I32 = 0, SIM_ACC_I40 = 1 };
enum {
  SIM_POOL_MAX = 0, SIM_POOL_AVERAGE = 1, SIM_POOL_REDUCE_SUM = 2,
  SIM_POOL_SUM = 3, SIM_POOL_NONE = 4, SIM_POOL_MIN = 5, /* U85 */
  SIM_POOL_ARGMAX_X = 6, SIM_POOL_ARGMAX_Y = 7
};
enum {
  SIM_EW_MUL = 0, SIM_EW_ADD, SIM_EW_SUB, SIM_EW_MIN, SIM_EW_MAX, SIM_EW_LRELU, SIM_EW_ABS,
  SIM_EW_CLZ, SIM_EW_SHR, SIM_EW_SHL,
  /* Ethos-U85 (ethosu85_interface.h elementwise_mode) */
  SIM_EW_LSR = 10, SIM_EW_DIV = 11, SIM_EW_CMP_EQ = 16, SIM_EW_CMP_NE, SIM_EW_CMP_GE,
  SIM_EW_CMP_GT, SIM_EW_AND = 33, SIM_EW_OR, SIM_EW_XOR, SIM_EW_NOT, SIM_EW_AND_NOT = 42
};

/* Ethos-U85 opcodes that differ from the U55's (ethosu85_interface.h). */
enum sim_u85_cmd {
  NPU_OP_RESIZE = 7, NPU_SET_IFM_BROADCAST = 264, NPU_SET_RESIZE_X_SCALE_N_M1 = 298,
  NPU_SET_RESIZE_Y_SCALE_N_M1 = 299, NPU_SET_RESIZE_X_OFFSET = 300,
  NPU_SET_RESIZE_Y_OFFSET = 301, NPU_SET_WEIGHT_FORMAT = 302, NPU_SET_DMA0_IDX_REGION = 308,
  /* cmd1 */
  NPU_SET_IFM_SCALE = 37, NPU_SET_IFM2_SCALE = 38, NPU_SET_OP_SCALAR = 39,
  NPU_SET_DMA0_SRC_STRIDE0 = 51, NPU_SET_DMA0_SRC_STRIDE1 = 52, NPU_SET_DMA0_DST_STRIDE0 = 53,
  NPU_SET_DMA0_DST_STRIDE1 = 54, NPU_SET_DMA0_IDX = 55, NPU_SET_DMA0_IDX_MAX = 56,
  NPU_SET_DMA0_IDX_SKIP1 = 57, NPU_SET_WEIGHT3_LENGTH = 149,
  NPU_SET_RESIZE_X = 150, NPU_SET_RESIZE_Y = 151, NPU_OP_BRANCH = 256,
};

/* Fails the current command: formats the message (prefixed with the
 * command's byte offset) and returns `status`. */
ethosu_sim_status sim_fail(ethosu_sim *sim, ethosu_sim_status status, const char *fmt, ...);

#define SIM_CHECK(sim, cond, status, ...) \
  do {                                    \
    if (!(cond)) return sim_fail((sim), (status), __VA_ARGS__); \
  } while (0)

#define SIM_TRY(expr)                        \
  do {                                       \
    ethosu_sim_status sim_try_s_ = (expr);   \
    if (sim_try_s_ != ETHOSU_SIM_OK) return sim_try_s_; \
  } while (0)

/* A region's bytes [offset, offset + len), checked; NULL after sim_fail. */
ethosu_sim_status sim_region_span(ethosu_sim *sim, uint32_t region, uint64_t offset, uint64_t len,
                                  const char *what, uint8_t **out);

/* ------------------------------------------------------------ feature maps */

/* A feature map as an op reads or writes it: element type, the four tiles
 * and the extent in which reads return real data (outside it: padding). */
typedef struct sim_fmap {
  const char *name;
  uint32_t region;
  uint64_t base[4];
  int64_t stride_x, stride_y, stride_c; /* signed 40-bit: Vela's U55 REVERSE is a negative stride */
  uint32_t width0, height0, height1;
  uint32_t elem_size; /* bytes: 1, 2, 4 */
  bool is_signed;
  bool brick;          /* NHCWB16 */
  int32_t zero_point;
  uint32_t h, w, c;    /* logical extent */
  uint8_t *mem;        /* NULL, or the U85's chaining buffer (dense NHWC) */
  uint32_t transpose, reverse; /* U85 OFM: the tensor permutes the op's (h, w, c) */
} sim_fmap;
/* The tensor's (h, w, c) of an op's (h, w, c) under ACTIVATION_TRANSPOSE. */
void sim_permute(uint32_t transpose, const uint32_t in[3], uint32_t out[3]);

/* Builds the view from the latched registers and checks every tile's span
 * against its region (so element access needs no further check). */
ethosu_sim_status sim_fmap_setup(ethosu_sim *sim, sim_fmap *f, const ethosu_sim_fmap_regs *r,
                                 const char *name, uint32_t h, uint32_t w, uint32_t c,
                                 bool is_ofm);
int64_t sim_fmap_read(ethosu_sim *sim, const sim_fmap *f, uint32_t y, uint32_t x, uint32_t c);
void sim_fmap_write(ethosu_sim *sim, const sim_fmap *f, uint32_t y, uint32_t x, uint32_t c,
                    int64_t v);
uint32_t sim_precision_bytes(uint32_t precision_field);

/* ------------------------------------------------------------ output stage */

typedef struct sim_scale {
  int64_t bias;
  uint32_t scale;
  uint32_t shift;
} sim_scale;

/* Reads OFM channel `c`'s 10-byte scale/bias record (checked at op start). */
sim_scale sim_scale_record(const uint8_t *stream, uint32_t c);
/* The scale streams of an op: one, or in the U65-512's PARALLEL_MODE 1 one per
 * core, core k holding OFM channels k, k + 2, ... (record c / 2 of stream c % 2). */
typedef struct sim_scales {
  const uint8_t *core[2];
  uint32_t cores;
} sim_scales;
/* The number of cores splitting the OFM depth (2: U65-512 in PARALLEL_MODE 1). */
uint32_t sim_ofm_cores(const ethosu_sim *sim);
/* Checks and maps the records of `channels` OFM channels. */
ethosu_sim_status sim_scale_stream(ethosu_sim *sim, uint32_t channels, sim_scales *out);
/* Channel c's record in the product's format (U55/U65, U85, U85 48-bit). */
sim_scale sim_channel_scale(const ethosu_sim *sim, const sim_scales *s, uint32_t c);

/* (v * scale + rounding) >> shift in the given round mode, exact for
 * |v| < 2^40 and any 32-bit scale, or |v| < 2^48 and a scale below 2^16
 * (wider values saturate first); the result
 * saturates to int32 like TOSA's apply_scale_32. */
int64_t sim_scale_round(int64_t v, uint32_t scale, uint32_t shift, uint32_t round_mode);
/* The same for MUL's full product of two 32-bit operands (|p| <= 2^62). */
int64_t sim_scale_round_product(int64_t p, uint32_t scale, uint32_t shift, uint32_t round_mode);
/* Adds the OFM zero point, applies the activation (clamp or LUT) and the
 * OFM type's range. */
int64_t sim_activate(const ethosu_sim *sim, const sim_fmap *ofm, int64_t v);
ethosu_sim_status sim_check_activation(ethosu_sim *sim, const sim_fmap *ofm);

/* ------------------------------------------------------------ Ethos-U85 */

/* U85 activation storage (IFM/IFM2/OFM_PRECISION bits 14-15). */
enum { SIM_STORAGE_TILE2X2 = 0, SIM_STORAGE_TILE3X1 = 1, SIM_STORAGE_CHAINED = 2 };
/* A CHAINED feature map (sim_u85_chain.c): an OFM goes to the chaining
 * buffer (the top of the work buffer, kept until the next op has read it),
 * an IFM reads it back; shapes and types must match. */
ethosu_sim_status sim_u85_chain_fmap(ethosu_sim *sim, sim_fmap *f, bool is_ofm);
enum { SIM_CHAIN_VALID = 1, SIM_CHAIN_READ = 2, SIM_CHAIN_WRITTEN = 4 };
/* After each op: a written buffer becomes valid, a read one is released. */
void sim_u85_chain_op_done(ethosu_sim *sim);

/* Latches a register every product has in the same place (sim_cop.c);
 * false for a product-specific opcode. */
bool sim_latch_common_cmd0(ethosu_sim *sim, uint32_t op, uint32_t p);
bool sim_latch_common_cmd1(ethosu_sim *sim, uint32_t op, uint32_t p, uint32_t payload);
/* Latches one U85 cmd0 SET / cmd1 command (sim_u85_commands.c). */
ethosu_sim_status sim_u85_set_cmd0(ethosu_sim *sim, uint32_t op, uint32_t p);
ethosu_sim_status sim_u85_set_cmd1(ethosu_sim *sim, uint32_t op, uint32_t p, uint32_t payload);
/* Checks the U85 state an operation needs and the simulator models (no
 * chaining, transposes, reversal, sparsity; plain storage). */
ethosu_sim_status sim_u85_check_op(ethosu_sim *sim, uint32_t op, uint32_t param);
/* The rounding mode (SIM_ROUND_*) of a U85 OFM_SCALE / IFM_SCALE parameter. */
ethosu_sim_status sim_u85_round_mode(ethosu_sim *sim, uint32_t param, bool ofm, uint32_t *mode);
/* The OFM rounding mode of the current op, U55/U65 or U85 (SIM_ROUND_*). */
ethosu_sim_status sim_ofm_round_mode(ethosu_sim *sim, uint32_t *mode);
/* A U85 scale record (EncodeBias32: int32 bias, uint31 scale, 6-bit shift). */
sim_scale sim_u85_scale_record(const uint8_t *stream, uint32_t c);
/* ... with 48-bit accumulators (EncodeBias48: int48 bias, uint15 scale). */
sim_scale sim_u85_scale_record48(const uint8_t *stream, uint32_t c);
/* The OFM microblock depth of the U85's ACC_FORMAT microblock (MACs/8 / area). */
uint32_t sim_u85_ofm_ublock_depth(const ethosu_sim *sim);

/* Charges the OP about to run (opcode, parameter) to the run's work
 * budget from its registers (sim_budget.c); fails before any work. */
ethosu_sim_status sim_charge_op(ethosu_sim *sim, uint32_t op, uint32_t param);

/* ------------------------------------------------------------ op families */

/* U85 NPU_OP_RESIZE (sim_u85_resize.c). */
ethosu_sim_status sim_u85_op_resize(ethosu_sim *sim, uint32_t mode);

/* U85 NPU_OP_CONV with weights_ifm2: a matrix product (sim_u85_matmul.c). */
ethosu_sim_status sim_u85_op_matmul(ethosu_sim *sim);

ethosu_sim_status sim_op_conv(ethosu_sim *sim, bool depthwise);
ethosu_sim_status sim_op_pool(ethosu_sim *sim, uint32_t mode);
ethosu_sim_status sim_op_elementwise(ethosu_sim *sim, uint32_t mode);
ethosu_sim_status sim_op_dma(ethosu_sim *sim);
/* Bytes one NPU_OP_DMA_START moves (rows and planes of a U85 2-D/3-D DMA). */
uint64_t sim_dma_bytes(const ethosu_sim *sim);

/* Decodes the MLW weight stream of the current op into the dense kernel
 * `w[o][ky][kx][i]` (int16, zero points already removed by the encoder). */
typedef struct sim_kernel {
  uint32_t ofm_depth, kh, kw, ifm_depth;
  uint32_t stride_x, stride_y, dil_x, dil_y;
  int16_t *w;
} sim_kernel;
ethosu_sim_status sim_weights_decode(ethosu_sim *sim, sim_kernel *k, bool depthwise,
                                     uint32_t ifm_bits);
/* The work buffer of one op's weights: the dense kernel (zeroed), room for
 * the decoded stream and the MLW decoder's temporaries. */
typedef struct sim_weight_work {
  int16_t *dense, *decoded;
  size_t cap;
  int32_t *tmp;
  size_t tmp_cap;
} sim_weight_work;
ethosu_sim_status sim_weight_work_setup(ethosu_sim *sim, size_t dense, sim_weight_work *ww);

/* The U85's weights (sim_weights_u85.c): SWD streams (MLW, one per core:
 * WEIGHT, WEIGHT1..3) or one FWD stream, in the U85's weight order. */
ethosu_sim_status sim_u85_weights_decode(ethosu_sim *sim, sim_kernel *k, bool depthwise,
                                         uint32_t ifm_bits);

/* The FWD ("fast weight decoder") stream decoder (sim_fwd.c): returns the
 * number of values written to `out`, -1 with `*why` set for a malformed
 * stream, -2 when it has more values than `cap`. */
int64_t sim_fwd_decode(const uint8_t *in, size_t in_size, int16_t *out, size_t cap,
                       const char **why);

/* The plain MLW decoder: returns the number of values written to `out`
 * (at most `cap`), or -1 with `*why` set when the stream is malformed, -2
 * when it has more values than `cap`. */
int64_t sim_mlw_decode(const uint8_t *in, size_t in_size, int16_t *out, size_t cap,
                       int32_t *tmp, size_t tmp_cap, const char **why);

/* IFM_UPSCALE (transposed convolution, 2x nearest resize): the kernel runs
 * over the IFM upscaled 2x in H and W, each element repeated (NEAREST, 1) or
 * followed by inserted zeros (ZEROS, 2: they add nothing, like padding). Maps
 * a tap (iy, ix) of the upscaled IFM to the stored element; false for an
 * inserted zero. */
static inline bool sim_upscaled_tap(uint32_t mode, int64_t *iy, int64_t *ix) {
  if (mode == 0) return true;
  if (mode == 2 && ((*iy | *ix) & 1) != 0) return false;
  *iy >>= 1;
  *ix >>= 1;
  return true;
}
/* The stored IFM's extent of an upscaled extent n. */
static inline uint32_t sim_upscaled_extent(uint32_t mode, uint32_t n) {
  return mode == 0 ? n : (n + 1) / 2;
}

/* The IFM extent a kernel op reads (see sim_conv.c): upscaled when IFM_UPSCALE
 * is set. */
ethosu_sim_status sim_kernel_ifm(ethosu_sim *sim, const sim_kernel *k, uint32_t oh, uint32_t ow,
                                 uint32_t *ih, uint32_t *iw);
/* Kernel extent (undilated), stride and dilation from the KERNEL registers. */
ethosu_sim_status sim_kernel_geometry(ethosu_sim *sim, sim_kernel *k);

/* A cmd1 address: bits 32-39 in the parameter, 0-31 in the payload. */
static inline uint64_t sim_cmd1_addr(uint32_t p, uint32_t payload) {
  return ((uint64_t)(p & 0xffu) << 32) | payload;
}
static inline int32_t sim_sext16(uint32_t v) { return (int32_t)(int16_t)(uint16_t)v; }

#endif
