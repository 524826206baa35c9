/*
 * ptec::quantized_conv2d_packed on AArch64 with the dot-product instructions
 * (Armv8.2-A dotprod, the cortex-a76 build): the weights packed by the
 * compiler (conv2d.h's ptec_qconv_packed, python/ptec/cpu/pack_sdot.py) in
 * the layout the AVX-512 VNNI kernel reads,
 *
 *   panel[b][k / 4][c][k % 4] = w[32 b + c][k]      (c < 32)
 *
 * which is SDOT's by-element operand as it stands: one 16-byte load holds
 * four values of k for four channels, and SDOT (by element) multiplies it
 * with one 4-byte group of a pixel's window. The microkernel keeps 4 pixels x
 * 16 channels (half a panel) in sixteen accumulators: per sixteen values of k,
 * four pixel loads, sixteen weight loads and 64 SDOT (1024 MACs), with no
 * horizontal reductions: the accumulators are in channel order, so the
 * correction, requantization (requantize_neon.h) and a 16-byte store per pixel
 * follow directly.
 *
 * Arithmetic: SDOT multiplies signed by signed, so the activations go in as
 * they are (VNNI's take x + 128) and
 *
 *   sum (x - in_zp) w = sum x w - in_zp sum w.
 *
 * The packed correction is (128 + in_zp) sum w (minus the bias when it
 * folds); once per call this kernel subtracts 128 sum w from it (one SDOT
 * pass over the panels against ones: n * kp / 16 SDOT, against the call's
 * pixels * n * kp / 16), leaving in_zp sum w (- bias). Every term is below
 * 2^30 for k <= PTEC_Q_MAX_TERMS_I32 and the result is the reference's
 * int32 sum (plus the bias when folded, which ptec_qconv_packed_folds_bias
 * guarantees cannot overflow), so the wrapping int32 subtraction is exact.
 *
 * Pixels: a 1x1 convolution whose channel count is a multiple of 4 reads each
 * pixel's channels where they are (kp == k); other windows are copied (taps in
 * the padding hold in_zp, which then contributes zero; k padded to kp with
 * zeros) into tiles of 8 rows in the call's planned scratch, one run of
 * tiles per concurrent share, as the VNNI kernel does.
 *
 * On a CPU with i8mm (PTEC_CPU_ARM_I8MM) the same panels go through SMMLA
 * instead (conv2d_s8_packed_i8mm.c): the same raw sums, so the same bits.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON_DOTPROD
#include <arm_neon.h>
#include <string.h>

#include "kernels/neon/packed_s8_neon.h"
#include "kernels/parallel.h"

enum { MR = PTEC_QCONV_PACK_MR, NR = PTEC_QCONV_PACK_NR, HALF = 16, MAX_NP = 8192 };

typedef struct sdot_job {
  const ptec_qconv *p;
  const ptec_qconv_packed *pk;
  const int32_t *corr; /* np values: in_zp * sum w (- bias when folded) */
  bool bias_folded;
  bool in_place;       /* 1x1 with kp == k: rows point into the input */
  bool i8mm;           /* the CPU has i8mm: SMMLA blocks (conv2d_s8_packed_i8mm.c) */
  int64_t tiles, units;
} sdot_job;

/* corr[j] = packed corr[j] - 128 * sum_k w[j][k], the correction for signed x. */
static void signed_corrections(const ptec_qconv_packed *pk, int32_t *corr) {
  const int8x16_t ones = vdupq_n_s8(1);
  for (int32_t b = 0; b < pk->np / NR; b++) {
    const int8_t *w = pk->panels + (size_t)b * (size_t)pk->kp * NR;
    int32x4_t s[8];
    for (int q = 0; q < 8; q++) s[q] = vdupq_n_s32(0);
    for (int32_t i = 0; i < pk->kp; i += 4, w += 4 * NR)
      for (int q = 0; q < 8; q++) s[q] = vdotq_s32(s[q], vld1q_s8(w + 16 * q), ones);
    for (int q = 0; q < 8; q++) {
      int32_t c[4];
      memcpy(c, pk->corr + b * NR + 4 * q, sizeof c);
      /* Wrapping (unsigned) arithmetic: the final value fits int32. */
      int32x4_t v = vreinterpretq_s32_u32(vsubq_u32(
          vreinterpretq_u32_s32(vld1q_s32(c)), vshlq_n_u32(vreinterpretq_u32_s32(s[q]), 7)));
      vst1q_s32(corr + b * NR + 4 * q, v);
    }
  }
}

/* Inlined into the driver (its accumulators stay in registers), and behind
 * ptec_neon_dot_4x16_sdot for the SMMLA block's tail. */
static inline __attribute__((always_inline)) void dot_4x16(const int8_t *const x[4],
                                                           const int8_t *w, int32_t i,
                                                           int32_t kp, int32x4_t c[4][4]) {
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  w += (size_t)i * NR;
  for (; i + 16 <= kp; i += 16, w += 16 * NR) {
    const int8x16_t a0 = vld1q_s8(x0 + i), a1 = vld1q_s8(x1 + i), a2 = vld1q_s8(x2 + i),
                    a3 = vld1q_s8(x3 + i);
#define GROUP4(G)                                                                         \
  do {                                                                                    \
    const int8_t *wg = w + (G) * 4 * NR;                                                  \
    const int8x16_t b0 = vld1q_s8(wg), b1 = vld1q_s8(wg + 16), b2 = vld1q_s8(wg + 32),    \
                    b3 = vld1q_s8(wg + 48);                                               \
    c[0][0] = vdotq_laneq_s32(c[0][0], b0, a0, G); c[0][1] = vdotq_laneq_s32(c[0][1], b1, a0, G); \
    c[0][2] = vdotq_laneq_s32(c[0][2], b2, a0, G); c[0][3] = vdotq_laneq_s32(c[0][3], b3, a0, G); \
    c[1][0] = vdotq_laneq_s32(c[1][0], b0, a1, G); c[1][1] = vdotq_laneq_s32(c[1][1], b1, a1, G); \
    c[1][2] = vdotq_laneq_s32(c[1][2], b2, a1, G); c[1][3] = vdotq_laneq_s32(c[1][3], b3, a1, G); \
    c[2][0] = vdotq_laneq_s32(c[2][0], b0, a2, G); c[2][1] = vdotq_laneq_s32(c[2][1], b1, a2, G); \
    c[2][2] = vdotq_laneq_s32(c[2][2], b2, a2, G); c[2][3] = vdotq_laneq_s32(c[2][3], b3, a2, G); \
    c[3][0] = vdotq_laneq_s32(c[3][0], b0, a3, G); c[3][1] = vdotq_laneq_s32(c[3][1], b1, a3, G); \
    c[3][2] = vdotq_laneq_s32(c[3][2], b2, a3, G); c[3][3] = vdotq_laneq_s32(c[3][3], b3, a3, G); \
  } while (0)
    GROUP4(0);
    GROUP4(1);
    GROUP4(2);
    GROUP4(3);
  }
  /* The last 1..3 groups of four: one 4-byte group of each pixel at a time. */
  for (; i < kp; i += 4, w += 4 * NR) {
    int32_t g[4];
    for (int r = 0; r < 4; r++) memcpy(&g[r], x[r] + i, 4);
    const int8x16_t a0 = vreinterpretq_s8_s32(vdupq_n_s32(g[0])),
                    a1 = vreinterpretq_s8_s32(vdupq_n_s32(g[1])),
                    a2 = vreinterpretq_s8_s32(vdupq_n_s32(g[2])),
                    a3 = vreinterpretq_s8_s32(vdupq_n_s32(g[3]));
    GROUP4(0);
  }
#undef GROUP4
}

void ptec_neon_dot_4x16_sdot(const int8_t *const x[4], const int8_t *w, int32_t i, int32_t kp,
                             int32x4_t cio[4][4]) {
  int32x4_t c[4][4]; /* a local array (registers): int8 loads may alias the caller's */
  memcpy(c, cio, sizeof c);
  dot_4x16(x, w, i, kp, c);
  memcpy(cio, c, sizeof c);
}

/* Requantizes c (pixels r < count, channels c0 .. c0 + 15 of n) into y[r] + c0. */
static void store_4x16(const sdot_job *job, int32x4_t c[4][4], int count, int32_t c0,
                       int8_t *const y[4]) {
  const ptec_qconv *p = job->p;
  const int32_t n = job->pk->n, valid = n - c0 < HALF ? n - c0 : HALF;
  int32x4_t m[4], s[4], bb[4], corr[4];
  ptec_neon_params16(p->multiplier->data, (int32_t)p->scale_step, c0, valid, m);
  ptec_neon_params16(p->shift->data, (int32_t)p->scale_step, c0, valid, s);
  if (p->bias && !job->bias_folded) {
    ptec_neon_params16(p->bias->data, 1, c0, valid, bb);
  } else {
    bb[0] = bb[1] = bb[2] = bb[3] = vdupq_n_s32(0);
  }
  for (int q = 0; q < 4; q++) corr[q] = vld1q_s32(job->corr + c0 + 4 * q); /* np entries */
  const int32x4_t zp = vdupq_n_s32(p->out_zp);
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  for (int r = 0; r < count; r++) {
    int32x4_t v[4];
    for (int q = 0; q < 4; q++)
      v[q] = ptec_neon_requantize4(vsubq_s32(c[r][q], corr[q]), bb[q], m[q], s[q], zp, lo, hi);
    ptec_neon_store16(y[r] + c0, v, valid);
  }
}

/* Pixels x[0..3] (count of them real) by the 16 channels from c0 of half panel w.
 * Inlined once per constant `i8mm`, so that the SDOT copy's sums never have their
 * address taken (the SMMLA block's do) and stay in registers. */
static inline __attribute__((always_inline)) void block(const sdot_job *job,
                                                        const int8_t *const x[4],
                                                        const int8_t *w, int count, int32_t c0,
                                                        int8_t *const y[4], bool i8mm) {
  int32x4_t c[4][4];
  for (int r = 0; r < 4; r++)
    for (int q = 0; q < 4; q++) c[r][q] = vdupq_n_s32(0);
  if (i8mm)
    ptec_neon_dot_4x16_i8mm(x, w, 0, job->pk->kp, c);
  else
    dot_4x16(x, w, 0, job->pk->kp, c);
  store_4x16(job, c, count, c0, y);
}

/* Tile t's rows (pointers into the input, or windows copied into `rows`; the
 * last pixel repeated past the image's end) and outputs; returns its pixels. */
static int load_tile(const sdot_job *job, int64_t t, int8_t *rows, const int8_t *x[MR],
                     int8_t *y[MR]) {
  const ptec_qconv *p = job->p;
  const ptec_q_view4 X = p->x, Y = p->y;
  const int64_t pixels = Y.n * Y.h * Y.w;
  const int32_t k = job->pk->k, kp = job->pk->kp;
  const int count = pixels - t * MR < MR ? (int)(pixels - t * MR) : MR;
  for (int r = 0; r < MR; r++) {
    const int64_t px = t * MR + (r < count ? r : 0);
    const int64_t n = px / (Y.h * Y.w), oy = px / Y.w % Y.h, ox = px % Y.w;
    const int64_t iy = oy * p->stride[0] - p->pad[0], ix = ox * p->stride[1] - p->pad[2];
    y[r] = (int8_t *)p->out->data + n * Y.sn + oy * Y.sh + ox * Y.sw;
    if (job->in_place && iy >= 0 && iy < X.h && ix >= 0 && ix < X.w) {
      x[r] = (const int8_t *)p->in->data + n * X.sn + iy * X.sh + ix * X.sw;
      continue;
    }
    int8_t *dst = rows + (size_t)r * (size_t)kp;
    ptec_qconv_s8_window(p, n, oy, ox, dst);
    memset(dst + k, 0, (size_t)(kp - k));
    x[r] = dst;
  }
  return count;
}

/* Tile rows x panel b: two halves of 16 channels, each for pixels 0-3 and 4-7. */
static void tile_panel(const sdot_job *job, const int8_t *const x[MR], int count, int32_t b,
                       int8_t *const y[MR]) {
  const ptec_qconv_packed *pk = job->pk;
  for (int32_t h = 0; h < NR / HALF; h++) {
    const int32_t c0 = b * NR + h * HALF;
    if (c0 >= pk->n) break;
    const int8_t *w = pk->panels + (size_t)b * (size_t)pk->kp * NR + (size_t)h * HALF * 4;
    for (int r0 = 0; r0 < count; r0 += 4) {
      const int n = count - r0 < 4 ? count - r0 : 4;
      if (job->i8mm)
        block(job, x + r0, w, n, c0, y + r0, true);
      else
        block(job, x + r0, w, n, c0, y + r0, false);
    }
  }
}

/* Shares [u0, u1), each its run of tiles with scratch slot u (as the VNNI kernel). */
static void sdot_tiles(const void *arg, int64_t u0, int64_t u1) {
  const sdot_job *job = arg;
  const ptec_qconv_packed *pk = job->pk;
  const size_t tile = (size_t)MR * (size_t)pk->kp;
  const int8_t *x[PTEC_QCONV_PACK_MAX_GROUP][MR];
  int8_t *y[PTEC_QCONV_PACK_MAX_GROUP][MR];
  int count[PTEC_QCONV_PACK_MAX_GROUP];
  for (int64_t u = u0; u < u1; u++) {
    int8_t *rows = (int8_t *)pk->scratch + (size_t)u * (size_t)pk->group * tile;
    const int64_t end = job->tiles * (u + 1) / job->units;
    for (int64_t t = job->tiles * u / job->units; t < end; t += pk->group) {
      const int in_group = end - t < pk->group ? (int)(end - t) : (int)pk->group;
      for (int i = 0; i < in_group; i++)
        count[i] = load_tile(job, t + i, rows + (size_t)i * tile, x[i], y[i]);
      for (int32_t b = 0; b * NR < pk->n; b++)
        for (int i = 0; i < in_group; i++) tile_panel(job, x[i], count[i], b, y[i]);
    }
  }
}

bool ptec_qconv_s8_dotprod_packed(const ptec_qconv *p, const ptec_qconv_packed *pk) {
  ptec_gemm_s8 g;
  if (p->w_zp != 0 || p->y.sc != 1 || pk->np > MAX_NP || !ptec_qconv_s8_gemm(p, &g))
    return false;
  int32_t corr[MAX_NP]; /* 32 KiB at most: hosts' stacks */
  signed_corrections(pk, corr);
  const int64_t tiles = (p->y.n * p->y.h * p->y.w + MR - 1) / MR;
  sdot_job job = {.p = p, .pk = pk, .corr = corr,
                  .bias_folded = ptec_qconv_packed_folds_bias(g.q.bias, pk->n, pk->k),
                  .in_place = p->w.h == 1 && p->w.w == 1 && pk->kp == pk->k,
                  .i8mm = (p->cpu_features & PTEC_CPU_ARM_I8MM) != 0,
                  .tiles = tiles, .units = pk->slots < tiles ? pk->slots : tiles};
  ptec_parallel_range(p->parallel, sdot_tiles, &job, job.units);
  return true;
}

#endif /* PTEC_KERNELS_NEON_DOTPROD */
