/*
 * ethosu_sim: a functional simulator of the Arm Ethos-U NPU (U55, U65, U85) that
 * executes Vela's command streams on any CPU, bit for bit what the TOSA
 * graph Vela compiled computes in ptec's C TOSA executor.
 *
 *   ethosu_sim sim;                      // the caller's memory: no malloc,
 *   ethosu_sim_init(&sim, ETHOSU_SIM_U55, 128, work, sizeof work);  // no globals
 *   uint64_t bases[3] = {(uintptr_t)weights, (uintptr_t)scratch, 0};
 *   size_t sizes[3] = {weight_size, scratch_size, 0};
 *   char msg[160];
 *   ethosu_sim_status s = ethosu_sim_run(&sim, cmd, cmd_size, bases, sizes, 3,
 *                                        &stats, msg, sizeof msg);
 *
 * `cmd` is Vela's `cmd_data` (COP1 driver actions around the command
 * stream). The OPTIMIZER_CONFIG action must name the simulated NPU (product,
 * log2 MACs, command stream version), as the real driver demands.
 *
 * What is simulated (functional, not timing): SET register latching; CONV,
 * DEPTHWISE, POOL (MAX, AVERAGE, REDUCE_SUM), ELEMENTWISE (all ten modes,
 * scalar and broadcast IFM2), DMA (memory to memory and to the SHRAM LUT),
 * STOP; NHWC and NHCWB16 feature maps in up to four tiles; the MLW weight
 * stream and the compile-time weight ordering (inverted from the registers
 * and the MAC configuration); the 10-byte scale/bias records; the output
 * stage (per-channel or global scale, DBL/TRUNCATE/NATURAL rounding, clamp,
 * 8-bit LUT). Timing registers (BLOCKDEP, AB_START, IB_END, waits) are
 * accepted and ignored.
 *
 * Ethos-U85 (product 2, command stream version 1; sim_u85_*.c): its own
 * opcode map and register fields, the 10-byte U85 scale records (int32 bias,
 * 31-bit scale; int48 bias, 15-bit scale with 48-bit accumulators), the
 * OFM_SCALE/IFM_SCALE rounding modes, the U85 weight order (depth first,
 * part kernel first, depthwise, 2:4 sparse; one stream per core) from SWD
 * (MLW) or FWD (raw or LUT) streams, operand scaling of ADD/SUB/MUL/MIN/MAX,
 * IFM and IFM2 broadcast, AVERAGE/SUM/NONE/MIN pooling (and NONE with
 * accumulators from IFM2), matrix products (CONV with weights from IFM2),
 * OFM transpose and reverse, op chaining through CHAINED storage, RESIZE
 * (nearest, bilinear) and the elementwise modes beyond the U55's (LSR, DIV,
 * compares, bitwise logic). Not simulated (ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
 * named): BRANCH,
 * accumulator chaining (acc_input KEEP, acc_output DISABLE, IFM2
 * accumulators outside pooling), 48-bit accumulators of matrix products,
 * ARGMAX, LUTs wider than 8 bits but LUT_S16_S32, TILE3X1 storage, gather/scatter DMA,
 * DOUBLE_ASYMMETRIC rounding and double-rounding shifts (docs/ethos-u-simulator.md).
 *
 * Every memory access is checked against the region sizes first; a bad
 * stream gives a status and a message naming the command at fault (its byte
 * offset in the command stream), never a write outside the regions.
 */
#ifndef PTEC_ETHOSU_SIM_H
#define PTEC_ETHOSU_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ethosu_sim_status {
  ETHOSU_SIM_OK = 0,
  ETHOSU_SIM_ERR_ARGUMENT,          /* NULL pointer, bad NPU configuration */
  ETHOSU_SIM_ERR_HEADER,            /* not COP1, bad driver action, no command stream */
  ETHOSU_SIM_ERR_CONFIG_MISMATCH,   /* stream compiled for another NPU */
  ETHOSU_SIM_ERR_TRUNCATED,         /* stream ends inside a command or before STOP */
  ETHOSU_SIM_ERR_UNKNOWN_COMMAND,   /* opcode the NPU does not define */
  ETHOSU_SIM_ERR_REGISTER_RANGE,    /* a register value out of its legal range */
  ETHOSU_SIM_ERR_REGION_ACCESS,     /* an access outside a region (or no such region) */
  ETHOSU_SIM_ERR_WEIGHT_STREAM,     /* weight stream short or malformed */
  ETHOSU_SIM_ERR_UNSUPPORTED_OP,    /* an operation the configured NPU lacks */
  ETHOSU_SIM_ERR_NOT_IMPLEMENTED,   /* valid for the NPU, not simulated yet */
  ETHOSU_SIM_ERR_WORKSPACE,         /* the caller's work buffer is too small */
  ETHOSU_SIM_ERR_WORK_BUDGET,       /* the run would exceed the caller's work budget */
  ETHOSU_SIM_STATUS_COUNT
} ethosu_sim_status;

const char *ethosu_sim_status_to_string(ethosu_sim_status s);

typedef enum ethosu_sim_product {
  ETHOSU_SIM_U55 = 0,
  ETHOSU_SIM_U65 = 1,
  ETHOSU_SIM_U85 = 2,
} ethosu_sim_product;

enum {
  ETHOSU_SIM_MAX_REGIONS = 8,
  /* Larger than any U55/U65 SHRAM (48 KiB on U65-256). */
  ETHOSU_SIM_SHRAM_BYTES = 96 * 1024,
};

/* Statistics of one operation (one NPU_OP_* command). */
typedef struct ethosu_sim_op_stats {
  uint32_t cmd_offset; /* byte offset of the OP in the command stream */
  uint16_t opcode;     /* NPU_OP_* */
  uint16_t mode;       /* the OP's parameter (pooling / elementwise mode) */
  uint64_t macs;
  uint64_t bytes_read[ETHOSU_SIM_MAX_REGIONS];
  uint64_t bytes_written[ETHOSU_SIM_MAX_REGIONS];
} ethosu_sim_op_stats;

typedef struct ethosu_sim_stats {
  uint32_t commands; /* commands executed (SET and OP) */
  uint32_t ops;      /* OP commands that did work; ops[] holds min(ops, ops_cap) */
  uint64_t macs;
  uint64_t bytes_read[ETHOSU_SIM_MAX_REGIONS];
  uint64_t bytes_written[ETHOSU_SIM_MAX_REGIONS];
  ethosu_sim_op_stats *op; /* optional, the caller's array */
  uint32_t op_cap;
} ethosu_sim_stats;

/* The NPU's programmer-visible state: the latched command-stream registers. */
typedef struct ethosu_sim_fmap_regs {
  uint32_t region;
  uint64_t base[4];
  uint64_t stride_x, stride_y, stride_c;
  uint32_t width0_m1, height0_m1, height1_m1;
  uint32_t width_m1, height_m1, depth_m1; /* OFM only: IFM size comes from the OFM */
  uint32_t precision;                     /* the raw SET_*_PRECISION parameter */
  int32_t zero_point;
} ethosu_sim_fmap_regs;

typedef struct ethosu_sim_regs {
  ethosu_sim_fmap_regs ifm, ifm2, ofm;
  uint32_t ifm_pad_top, ifm_pad_left, ifm_pad_right, ifm_pad_bottom;
  uint32_t ifm_depth_m1, ifm_upscale;
  uint32_t ofm_blk_depth_m1;
  uint32_t kernel_width_m1, kernel_height_m1, kernel_stride;
  uint32_t acc_format, activation, activation_min, activation_max;
  uint32_t weight_region, scale_region;
  uint64_t weight_base, weight_length, scale_base, scale_length;
  /* U65-512: PARALLEL_MODE (1 = the two cores split the OFM depth) and the
   * second core's weight and scale streams (WEIGHT1_*, SCALE1_*). */
  uint32_t parallel_mode;
  uint64_t weight1_base, weight1_length, scale1_base, scale1_length;
  uint32_t ofm_scale_shift, opa_scale_shift;
  uint32_t ofm_scale, opa_scale, opb_scale;
  uint32_t ifm2_broadcast, ifm2_scalar;
  uint32_t dma_src_region, dma_dst_region;
  uint64_t dma_src, dma_dst, dma_len;
  uint32_t dma_size0, dma_size1; /* 2-D/3-D DMA counts (U85) */
  /* Ethos-U85 2-D/3-D and indexed DMA: strides of dimensions 0 and 1, the
   * index array (region, address, largest index, bytes skipped per row). */
  uint64_t dma_src_stride[2], dma_dst_stride[2], dma_idx, dma_idx_skip1;
  uint32_t dma_idx_region, dma_idx_max;
  /* Ethos-U85 only (sim_u85_commands.c) */
  uint32_t weight_format;                    /* SET_WEIGHT_FORMAT parameter */
  uint64_t weightn_base[3], weightn_length[3]; /* WEIGHT1..3 */
  uint32_t ofm_scale_param, ifm_scale_param, ifm2_scale_param; /* round mode, dbl_rnd */
  uint32_t ifm_scale, ifm2_scale, ifm_scale_shift, ifm2_scale_shift;
  uint32_t ifm_broadcast;
  int32_t op_scalar;
  uint32_t resize_scale_n_m1[2], resize_offset[2]; /* [0] Y, [1] X */
  uint32_t resize_step_param[2], resize_step[2];   /* NPU_SET_RESIZE_Y/X_STEP */
} ethosu_sim_regs;

typedef struct ethosu_sim {
  /* configuration (ethosu_sim_init) */
  ethosu_sim_product product;
  uint32_t macs;      /* MACs per cycle: 32..256 (U55), 256/512 (U65) */
  uint32_t log2_macs;
  uint32_t shram_bytes;
  void *work;         /* scratch for decoded weights, caller-owned, 8-byte aligned */
  size_t work_size;
  uint64_t work_budget; /* operations one run may do (ethosu_sim_set_work_budget) */
  /* execution state (reset by every ethosu_sim_run) */
  ethosu_sim_regs r;
  const uint32_t *cmd;  /* the command stream being run */
  uint32_t cmd_words;
  uint32_t pc;          /* word index of the current command */
  uint32_t cmd_word0;   /* word offset of the command stream in the payload */
  uint8_t *base[ETHOSU_SIM_MAX_REGIONS];
  size_t size[ETHOSU_SIM_MAX_REGIONS];
  uint32_t nregions;
  uint64_t work_left;   /* of work_budget, in this run */
  ethosu_sim_stats *stats;
  ethosu_sim_op_stats cur; /* the operation being executed */
  char *msg;
  size_t msg_cap;
  /* U85 op chaining: the chaining buffer at the top of the work buffer */
  size_t chain_bytes;       /* reserved for the chained OFM (0: none) */
  uint32_t chain_shape[4];  /* h, w, c, element bytes */
  uint32_t chain_state;     /* SIM_CHAIN_* bits (sim_internal.h) */
  size_t chain_off;         /* the readable chained data's offset in the work buffer */
  size_t chain_out_off;     /* where the running op writes its chained OFM */
  uint32_t chain_out_shape[4];
  uint8_t shram[ETHOSU_SIM_SHRAM_BYTES];
} ethosu_sim;

/*
 * Configures `sim` as one NPU: product and MACs per cycle (Vela's
 * accelerator names: ethos-u55-{32,64,128,256}, ethos-u65-{256,512},
 * ethos-u85-{128,256,512,1024,2048}).
 * `work` (8-byte aligned, may be NULL when no op has weights) holds the
 * decoded weights of one operation: ethosu_sim_work_size tells how much an
 * operation needs.
 */
ethosu_sim_status ethosu_sim_init(ethosu_sim *sim, ethosu_sim_product product, uint32_t macs,
                                  void *work, size_t work_size);

/*
 * The work budget: at most `ops` operations per ethosu_sim_run, counted
 * from each OP's registers before it runs (so a refused op does nothing):
 * MACs of CONV/DEPTHWISE/POOL (the kernel's full extent, every IFM channel
 * for CONV and REDUCE_SUM), OFM elements of ELEMENTWISE, 4 per OFM element
 * of RESIZE, bytes of DMA. An op past the budget fails the run with
 * ETHOSU_SIM_ERR_WORK_BUDGET. ethosu_sim_init sets no limit (UINT64_MAX);
 * a caller running untrusted streams sets one, as the fuzz target and the
 * driver (ethosu_sim_default_work_budget) do: a stream of a few hundred
 * bytes can otherwise ask for 2^60 MACs with every access in bounds.
 */
void ethosu_sim_set_work_budget(ethosu_sim *sim, uint64_t ops);
/* A generous budget for a program from its memory: 2^32 operations plus
 * 1024 per byte of payload and regions (saturating). Real models do far
 * less (ResNet-18 at 224x224: 1.8 G MACs for 12 MB of weights). */
uint64_t ethosu_sim_default_work_budget(size_t cmd_size, const size_t *sizes, int n);

/* Bytes of work buffer an operation with these weights needs: two int16 per
 * encoded weight (the decoded stream and the dense kernel) and a slice. */
size_t ethosu_sim_work_size(uint32_t ofm_depth, uint32_t kernel_h, uint32_t kernel_w,
                            uint32_t ifm_depth);

/*
 * Runs the COP1 payload `cmd` (`cmd_size` bytes) with regions `bases[i]` of
 * `sizes[i]` bytes (i < n <= 8; 0: weights, 1: scratch, 2: fast scratch in
 * Vela's output; a base of 0 means "no region"). `stats` may be NULL;
 * `message` (may be NULL) receives a description of any failure.
 */
ethosu_sim_status ethosu_sim_run(ethosu_sim *sim, const void *cmd, size_t cmd_size,
                                 const uint64_t *bases, const size_t *sizes, int n,
                                 ethosu_sim_stats *stats, char *message, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
