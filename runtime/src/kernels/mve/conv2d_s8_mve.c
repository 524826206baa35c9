/*
 * Helium variant of ptec::quantized_conv2d (not depthwise): int8 in and
 * out, NHWC input (dim order 0,2,3,1), OHWI weights (input channels
 * innermost), groups == 1, weight_zp == 0 (ptec's quantizer makes weights
 * symmetric), every shift >= 31 (any scale below 1 with a normalised
 * multiplier). Anything else returns false and the reference runs.
 *
 * Blocks of four output channels. For an output pixel, each kernel row's
 * taps are one contiguous run in the input and in each weight row (dense
 * NHWC / OHWI, dilation 1 along W), so a pixel is a few long dot products
 * of one input run with four weight runs: VMLADAVA, 16 MACs each. The
 * input zero point comes off once per output:
 *
 *   sum_valid_taps (x - izp) * w = sum_valid x * w - izp * sum_valid w
 *
 * where sum_valid w is the whole filter's sum for interior pixels (one
 * constant per channel, computed once per block) and, at the borders, a
 * sum of per-tap sums. Every term fits int32 and the lanes wrap, so the
 * result is the reference's exact int32 accumulator. Then bias
 * (saturating), apply_scale_32 (requantize_mve.h), zero point and clamp on
 * four lanes, and one byte store per pixel when output channels are
 * contiguous.
 *
 * Fast path (dense layouts, at most MAX_TAPS taps): the
 * pixel loop itself is assembly (run_job), writing four int32
 * accumulators per pixel to a small stack buffer that the requantization
 * loop then reads; GCC 12 cannot keep this loop's pointers and
 * accumulators in registers. Other shapes take a plain intrinsics path
 * (padded taps there count as inputs equal to izp, which contribute
 * izp * w and cancel the per-channel constant).
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_MVE
#include <stddef.h>

#include "kernels/mve/dot_mve.h"
#include "kernels/mve/requantize_mve.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

enum {
  MAX_TAPS = 64, /* per-tap weight sums kept on the stack (fast path) */
  CHUNK = 32     /* pixels per run_job call: 512 bytes of accumulators */
};

/* ------------------------------------------------------------ fast path */

/* A stretch of output pixels that share their valid taps. run_job reads and
 * advances x, pixels and out; the field offsets are fixed by its assembly. */
typedef struct conv_job {
  const int8_t *x;       /* 0: the first input byte of the pixel's first run */
  int32_t pixels;        /* 4: >= 1 */
  int32_t x_pixel_step;  /* 8: bytes from one pixel's x to the next's */
  int32_t runs;          /* 12: kernel rows, >= 1 */
  int32_t x_run_adv;     /* 16: bytes from a run's end to the next run's start */
  int32_t w_run_adv;     /* 20: the same in the weights */
  int32_t blocks;        /* 24: whole 16-byte blocks per run */
  const int8_t *w[4];    /* 28: the four channels' first weight of the first run */
  int32_t *out;          /* 44: four accumulators per pixel */
  int32_t tail;          /* 48: bytes after the blocks of a run, 0..15 */
  int32_t run;           /* 52: bytes of a run (run_job1) */
  int32_t x_next;        /* 56: from x after a run's last block to the next pixel's x (run_job1) */
  int32_t start[4];      /* 60: the accumulators' start, -izp * the valid taps' weight sums */
} conv_job;

_Static_assert(offsetof(conv_job, x_pixel_step) == 8 && offsetof(conv_job, blocks) == 24 &&
                   offsetof(conv_job, w) == 28 && offsetof(conv_job, out) == 44 &&
                   offsetof(conv_job, tail) == 48 && offsetof(conv_job, x_next) == 56 &&
                   offsetof(conv_job, start) == 60 &&
                   sizeof(void *) == 4,
               "run_job's assembly reads conv_job at these offsets");

/*
 * For each pixel: four accumulators r0, r2, r4, r6 (VMLADAVA wants even
 * registers) start at job->start (the zero point correction); for each
 * run, a low-overhead loop (WLS/LE) of 16-byte blocks: one input load, four
 * weight loads, four VMLADAVA, all
 * loads post-incremented; then the run's tail, if any, with loads
 * predicated by VCTP (inactive lanes read as 0); between runs the pointers
 * skip to the next kernel row. The accumulators go to out with one STM.
 */
static void run_job(conv_job *job) {
  register conv_job *j __asm__("r10") = job;
  __asm__ volatile(
      "1:\n\t"
      "ldrd r0, r2, [%[j], #60]\n\t"
      "ldrd r4, r6, [%[j], #68]\n\t"
      "ldr r1, [%[j], #0]\n\t"
      "ldrd r3, r5, [%[j], #28]\n\t"
      "ldrd r8, r9, [%[j], #36]\n\t"
      "ldr r11, [%[j], #12]\n"
      "2:\n\t"
      "ldr lr, [%[j], #24]\n\t"
      "wls lr, lr, 5f\n"
      "3:\n\t"
      "vldrb.8 q0, [r1], #16\n\t"
      "vldrb.8 q1, [r3], #16\n\t"
      "vmladava.s8 r0, q0, q1\n\t"
      "vldrb.8 q2, [r5], #16\n\t"
      "vmladava.s8 r2, q0, q2\n\t"
      "vldrb.8 q3, [r8], #16\n\t"
      "vmladava.s8 r4, q0, q3\n\t"
      "vldrb.8 q1, [r9], #16\n\t"
      "vmladava.s8 r6, q0, q1\n\t"
      "le lr, 3b\n"
      "5:\n\t"
      "ldr r12, [%[j], #48]\n\t"
      "cmp r12, #0\n\t"
      "beq 6f\n\t"
      "vctp.8 r12\n\t"
      "vpstt\n\t"
      "vldrbt.8 q0, [r1]\n\t"
      "vldrbt.8 q1, [r3]\n\t"
      "vmladava.s8 r0, q0, q1\n\t"
      "vpstt\n\t"
      "vldrbt.8 q2, [r5]\n\t"
      "vldrbt.8 q3, [r8]\n\t"
      "vmladava.s8 r2, q0, q2\n\t"
      "vmladava.s8 r4, q0, q3\n\t"
      "vpst\n\t"
      "vldrbt.8 q1, [r9]\n\t"
      "vmladava.s8 r6, q0, q1\n"
      "6:\n\t"
      "subs r11, r11, #1\n\t"
      "beq 4f\n\t"
      "ldr r12, [%[j], #16]\n\t"
      "add r1, r1, r12\n\t"
      "ldr r12, [%[j], #20]\n\t"
      "add r3, r3, r12\n\t"
      "add r5, r5, r12\n\t"
      "add r8, r8, r12\n\t"
      "add r9, r9, r12\n\t"
      "b 2b\n"
      "4:\n\t"
      "ldr r12, [%[j], #44]\n\t"
      "stm r12!, {r0, r2, r4, r6}\n\t"
      "str r12, [%[j], #44]\n\t"
      "ldr r12, [%[j], #0]\n\t"
      "ldr r11, [%[j], #8]\n\t"
      "add r12, r12, r11\n\t"
      "str r12, [%[j], #0]\n\t"
      "ldr r12, [%[j], #4]\n\t"
      "subs r12, r12, #1\n\t"
      "str r12, [%[j], #4]\n\t"
      "bne 1b"
      : [j] "+r"(j)
      :
      : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r11", "r12", "lr", "q0", "q1",
        "q2", "q3", "memory", "cc");
}

/*
 * run_job for one run per pixel (1x1 kernels; kernel rows clipped to one),
 * where the per-pixel bookkeeping of run_job outweighs a short run (16-32
 * bytes in MobileNetV2's expansions). A tail-predicated loop (WLSTP/LETP)
 * covers the run, its last block predicated by the hardware, so there is no
 * tail code; x and out stay in registers from pixel to pixel. Leaves job->x
 * and job->out as they were.
 */
static void run_job1(conv_job *job) {
  register conv_job *j __asm__("r10") = job;
  __asm__ volatile(
      "ldr r1, [%[j], #0]\n\t"
      "ldr r11, [%[j], #4]\n\t"
      "ldr r7, [%[j], #44]\n"
      "1:\n\t"
      "ldrd r0, r2, [%[j], #60]\n\t"
      "ldrd r4, r6, [%[j], #68]\n\t"
      "ldrd r3, r5, [%[j], #28]\n\t"
      "ldrd r8, r9, [%[j], #36]\n\t"
      "ldr r12, [%[j], #52]\n\t"
      "wlstp.8 lr, r12, 5f\n"
      "3:\n\t"
      "vldrb.8 q0, [r1], #16\n\t"
      "vldrb.8 q1, [r3], #16\n\t"
      "vmladava.s8 r0, q0, q1\n\t"
      "vldrb.8 q2, [r5], #16\n\t"
      "vmladava.s8 r2, q0, q2\n\t"
      "vldrb.8 q3, [r8], #16\n\t"
      "vmladava.s8 r4, q0, q3\n\t"
      "vldrb.8 q1, [r9], #16\n\t"
      "vmladava.s8 r6, q0, q1\n\t"
      "letp lr, 3b\n"
      "5:\n\t"
      "ldr r12, [%[j], #56]\n\t"
      "add r1, r1, r12\n\t"
      "stm r7!, {r0, r2, r4, r6}\n\t"
      "subs r11, r11, #1\n\t"
      "bne 1b"
      : [j] "+r"(j)
      :
      : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r11", "r12", "lr", "q0",
        "q1", "q2", "q3", "memory", "cc");
}

/* ---------------------------------------------------------- common parts */

static int32_t sum_s8(const int8_t *w, int32_t n) {
  int32_t s = 0;
  for (; n >= 16; n -= 16, w += 16) s = vaddvaq_s8(s, vldrbq_s8(w));
  if (n > 0) s = vaddvaq_s8(s, vldrbq_z_s8(w, vctp8q((uint32_t)n)));
  return s;
}

/* Per block of four output channels: what the epilogue needs. */
typedef struct block {
  int32x4_t corr, bias, mul, nk; /* corr: -izp * the whole filter's sum */
  mve_pred16_t lanes31;          /* lanes with shift 31 */
  int32_t count;                 /* valid channels, 1..4 */
} block;

/* bias, apply_scale_32, zero point, clamp, store; v = acc - izp * sum w. */
static ALWAYS_INLINE void finish(const block *b, int32x4_t v, int8_t *yp, ptrdiff_t ysc,
                                 int32_t zp, int32x4_t lo, int32x4_t hi) {
  v = vqaddq_s32(v, b->bias);
  v = ptec_mve_offset_clamp(ptec_mve_scale_lanes(v, b->mul, b->nk, b->lanes31), zp, lo, hi);
  if (ysc == 1 && b->count == 4) {
    vstrbq_s32(yp, v);
  } else if (ysc == 1) {
    vstrbq_p_s32(yp, v, vctp32q((uint32_t)b->count));
  } else {
    int32_t out[4];
    vst1q_s32(out, v);
    for (int32_t j = 0; j < b->count; j++) yp[j * ysc] = (int8_t)out[j];
  }
}

/* Requantizes `pixels` outputs from acc (four per pixel, the correction included). */
static void finish_run(const block *b, const int32_t *acc, int32_t pixels, int8_t *yp, ptrdiff_t ysw, ptrdiff_t ysc, int32_t zp, int32x4_t lo,
                       int32x4_t hi) {
  if (ysc == 1 && b->count == 4 && b->lanes31 == 0) { /* the common case, branch-free */
    /* Locals: the block's fields would be reloaded per pixel (acc may alias them). */
    const int32x4_t bias = b->bias, mul = b->mul, nk = b->nk;
    for (int32_t i = 0; i < pixels; i++, acc += 4, yp += ysw) {
      int32x4_t v = vqaddq_s32(vld1q_s32(acc), bias);
      v = vrshlq_s32(vqdmulhq_s32(v, mul), nk);
      vstrbq_s32(yp, ptec_mve_offset_clamp(v, zp, lo, hi));
    }
    return;
  }
  for (int32_t i = 0; i < pixels; i++, acc += 4, yp += ysw)
    finish(b, vld1q_s32(acc), yp, ysc, zp, lo, hi);
}

/* acc.j += sum over r < count, k < run of x[r * xs + k] * w_j[off + r * ws + k]:
 * `count` runs of `run` bytes (general path). Not inlined: the caller's
 * loops would starve the dot product of registers. */
static __attribute__((noinline)) int32x4_t dot4_runs(int32x4_t acc, const int8_t *x,
                                                     ptrdiff_t xs, const int8_t *const w[4],
                                                     ptrdiff_t off, ptrdiff_t ws, int32_t run,
                                                     int32_t count) {
  int32_t a[4];
  vst1q_s32(a, acc);
  for (int32_t r = 0; r < count; r++, x += xs, off += ws)
    ptec_mve_dot4(x, w[0] + off, w[1] + off, w[2] + off, w[3] + off, run, a);
  return vld1q_s32(a);
}

/* dot4_runs of one run with every x[k] == xc (a padded tap: xc = izp). */
static int32x4_t dot4_const(int32x4_t acc, int8_t xc, const int8_t *const w[4], ptrdiff_t off,
                            int32_t n) {
  int8x16_t xv = vdupq_n_s8(xc);
  int32_t a0 = vgetq_lane_s32(acc, 0), a1 = vgetq_lane_s32(acc, 1);
  int32_t a2 = vgetq_lane_s32(acc, 2), a3 = vgetq_lane_s32(acc, 3);
  for (int32_t k = 0; k < n; k += 16) {
    mve_pred16_t p = vctp8q((uint32_t)(n - k));
    a0 = vmladavaq_s8(a0, xv, vldrbq_z_s8(w[0] + off + k, p));
    a1 = vmladavaq_s8(a1, xv, vldrbq_z_s8(w[1] + off + k, p));
    a2 = vmladavaq_s8(a2, xv, vldrbq_z_s8(w[2] + off + k, p));
    a3 = vmladavaq_s8(a3, xv, vldrbq_z_s8(w[3] + off + k, p));
  }
  acc = vsetq_lane_s32(a0, acc, 0);
  acc = vsetq_lane_s32(a1, acc, 1);
  acc = vsetq_lane_s32(a2, acc, 2);
  return vsetq_lane_s32(a3, acc, 3);
}

/* ------------------------------------------------------------- the kernel */

typedef struct conv_geo {
  int32_t depth, kh, kw, ih, iw, oh, ow, sh, sw, dh, dw, pt, pl;
  ptrdiff_t xsn, xsh, xsw, wsh, wsw, ysn, ysh, ysw, ysc;
} conv_geo;

/* Valid kernel taps [k0, k1) along one dim for the window starting at i0. */
static ALWAYS_INLINE void valid_taps(int32_t i0, int32_t k, int32_t d, int32_t in, int32_t *k0,
                                     int32_t *k1) {
  int32_t a = 0, b = k;
  while (a < k && i0 + a * d < 0) a++;
  while (b > a && i0 + (b - 1) * d >= in) b--;
  *k0 = a;
  *k1 = b;
}

/* Accumulates `count` pixels from the one at (iy0, ix0) (window origin,
 * with valid taps [ky0, ky1) x [kx0, kx1), shared by all of them) into acc. */
static void accumulate(const conv_geo *g, const int8_t *const wb[4], const int8_t *xn,
                       int32_t iy0, int32_t ix0, int32_t ky0, int32_t ky1, int32_t kx0,
                       int32_t kx1, int32_t count, int32x4_t corr, int32_t *acc) {
  if (ky0 >= ky1 || kx0 >= kx1) { /* every tap padded */
    for (int32_t i = 0; i < count; i++) vst1q_s32(acc + 4 * i, corr);
    return;
  }
  const int32_t run = (kx1 - kx0) * g->depth, whole = run & ~15; /* the pointers' advance */
  const ptrdiff_t woff = ky0 * g->wsh + kx0 * g->wsw;
  conv_job job = {xn + (iy0 + ky0 * g->dh) * g->xsh + (ix0 + kx0 * g->dw) * g->xsw,
                  count,
                  (int32_t)(g->sw * g->xsw),
                  ky1 - ky0,
                  (int32_t)(g->dh * g->xsh - whole),
                  (int32_t)(g->wsh - whole),
                  run / 16,
                  {wb[0] + woff, wb[1] + woff, wb[2] + woff, wb[3] + woff},
                  acc,
                  run % 16,
                  run,
                  /* the loop advances x by whole 16-byte blocks, the last one partly used */
                  (int32_t)(g->sw * g->xsw) - ((run + 15) & ~15),
                  {0, 0, 0, 0}};
  vst1q_s32(job.start, corr);
  if (ky1 - ky0 == 1)
    run_job1(&job);
  else
    run_job(&job);
}

/* The fast path over one block of four output channels. */
static void block_fast(const conv_geo *g, const block *b, const int8_t *const wb[4],
                       const int32_t *tapsum, const int8_t *x, int8_t *y, int32_t batches,
                       int32_t izp, int32_t zp, int32x4_t lo, int32x4_t hi) {
  int32_t acc[4 * CHUNK];
  const int32_t kh = g->kh, kw = g->kw, ow = g->ow;
  /* Output columns whose windows lie inside the input: [ox_lo, ox_hi). */
  int32_t ox_lo = (g->pl + g->sw - 1) / g->sw, right = g->iw - 1 - (kw - 1) * g->dw + g->pl;
  int32_t ox_hi = right < 0 ? 0 : right / g->sw + 1;
  if (ox_lo > ow) ox_lo = ow;
  if (ox_hi > ow) ox_hi = ow;
  if (ox_hi < ox_lo) ox_hi = ox_lo;
  int32_t oy_lo = (g->pt + g->sh - 1) / g->sh, bottom = g->ih - 1 - (kh - 1) * g->dh + g->pt;
  int32_t oy_hi = bottom < 0 ? 0 : bottom / g->sh + 1;
  if (oy_hi > g->oh) oy_hi = g->oh;
  /* Every window inside, and rows of pixels one after another in input and
   * output: the image is one long row of pixels. */
  const bool flat = ox_lo == 0 && ox_hi == ow && oy_lo == 0 && oy_hi == g->oh &&
                    ow * g->sw * g->xsw == g->sh * g->xsh && ow * g->ysw == g->ysh;
  for (int32_t n = 0; n < batches; n++) {
    const int8_t *xn = x + n * g->xsn;
    int8_t *yn = y + n * g->ysn;
    if (flat) {
      const int32_t total = g->oh * ow;
      for (int32_t i = 0; i < total; i += CHUNK) {
        const int32_t count = total - i < CHUNK ? total - i : CHUNK;
        const int32_t oy = i / ow, ox = i % ow;
        accumulate(g, wb, xn, oy * g->sh - g->pt, ox * g->sw - g->pl, 0, kh, 0, kw, count,
                   b->corr, acc);
        finish_run(b, acc, count, yn + i * g->ysw, g->ysw, g->ysc, zp, lo, hi);
      }
      continue;
    }
    for (int32_t oy = 0; oy < g->oh; oy++) {
      const int32_t iy0 = oy * g->sh - g->pt;
      int32_t ky0, ky1;
      valid_taps(iy0, kh, g->dh, g->ih, &ky0, &ky1);
      int8_t *yrow = yn + oy * g->ysh;
      for (int32_t ox = 0; ox < ow;) {
        const int32_t ix0 = ox * g->sw - g->pl;
        int32_t kx0 = 0, kx1 = kw, count = 1;
        if (ox >= ox_lo && ox < ox_hi)
          count = ox_hi - ox < CHUNK ? ox_hi - ox : CHUNK;
        else
          valid_taps(ix0, kw, g->dw, g->iw, &kx0, &kx1);
        int32x4_t corr = b->corr;
        if (ky0 > 0 || ky1 < kh || kx0 > 0 || kx1 < kw) {
          /* -izp * the valid taps' weight sums */
          int32x4_t s = vdupq_n_s32(0);
          for (int32_t ky = ky0; ky < ky1; ky++)
            for (int32_t kx = kx0; kx < kx1; kx++)
              s = vaddq_s32(s, vld1q_s32(tapsum + 4 * (ky * kw + kx)));
          corr = vmulq_n_s32(s, -izp);
        }
        accumulate(g, wb, xn, iy0, ix0, ky0, ky1, kx0, kx1, count, corr, acc);
        finish_run(b, acc, count, yrow + ox * g->ysw, g->ysw, g->ysc, zp, lo, hi);
        ox += count;
      }
    }
  }
}

/* Any layout the fast path does not take: per pixel, per kernel row (or tap). */
static void block_general(const conv_geo *g, const block *b, const int8_t *const wb[4],
                          const int8_t *x, int8_t *y, int32_t batches, int8_t izp, int32_t zp,
                          int32x4_t lo, int32x4_t hi) {
  const int32_t depth = g->depth, kh = g->kh, kw = g->kw;
  const bool rows = g->dw == 1 && g->xsw == depth && g->wsw == depth;
  const int32_t run = rows ? kw * depth : depth, runs = rows ? 1 : kw;
  for (int32_t n = 0; n < batches; n++) {
    const int8_t *xn = x + n * g->xsn;
    for (int32_t oy = 0; oy < g->oh; oy++) {
      const int32_t iy0 = oy * g->sh - g->pt;
      const bool rows_inside = iy0 >= 0 && iy0 + (kh - 1) * g->dh < g->ih;
      int8_t *yp = y + n * g->ysn + oy * g->ysh;
      for (int32_t ox = 0; ox < g->ow; ox++, yp += g->ysw) {
        const int32_t ix0 = ox * g->sw - g->pl;
        int32x4_t a = vdupq_n_s32(0);
        if (rows_inside && ix0 >= 0 && ix0 + (kw - 1) * g->dw < g->iw) {
          const int8_t *xp = xn + iy0 * g->xsh + ix0 * g->xsw;
          if (rows) {
            a = dot4_runs(a, xp, g->dh * g->xsh, wb, 0, g->wsh, run, kh);
          } else {
            for (int32_t ky = 0; ky < kh; ky++, xp += g->dh * g->xsh)
              a = dot4_runs(a, xp, g->dw * g->xsw, wb, ky * g->wsh, g->wsw, run, runs);
          }
        } else {
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * g->dh;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ix0 + kx * g->dw;
              const ptrdiff_t wo = ky * g->wsh + kx * g->wsw;
              if (iy >= 0 && iy < g->ih && ix >= 0 && ix < g->iw)
                a = dot4_runs(a, xn + iy * g->xsh + ix * g->xsw, 0, wb, wo, 0, depth, 1);
              else if (izp != 0)
                a = dot4_const(a, izp, wb, wo, depth);
            }
          }
        }
        finish(b, vaddq_s32(a, b->corr), yp, g->ysc, zp, lo, hi);
      }
    }
  }
}

/* ---------------------------------------------------------- gather path */

/*
 * Filters of at most GATHER_K bytes over few input channels (MobileNetV2's
 * first layer: 3x3x3 = 27 bytes, nine-byte rows). The runs of the fast path
 * would be one partly used 16-byte block each, and every block of four output
 * channels would read the input again. Instead each output pixel's window is
 * gathered once per CHUNK pixels ([ky][kx][c], as OHWI weights; padded taps as
 * izp, so the whole filter's correction is exact for every pixel; zeros after
 * the K bytes) and every block of four channels reuses it: per pixel and pair
 * of channels, one or two window loads and two or four VMLADAV against
 * filters held in registers.
 */
enum { GATHER_K = 32 };

static ALWAYS_INLINE void copy_run(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n > 0; n -= 16, src += 16, dst += 16) {
    const mve_pred16_t q = vctp8q((uint32_t)n);
    vstrbq_p_s8(dst, vldrbq_z_s8(src, q), q);
  }
}

static ALWAYS_INLINE void fill_run(int8_t *dst, int8_t v, int32_t n) {
  for (; n > 0; n -= 16, dst += 16) vstrbq_p_s8(dst, vdupq_n_s8(v), vctp8q((uint32_t)n));
}

/* The windows of output pixels (oy, ox0 .. ox0 + count - 1), kp bytes apart;
 * 16 bytes after the last window may be written. */
static void gather(const conv_geo *g, const int8_t *xn, int32_t oy, int32_t ox0, int32_t count,
                   int8_t izp, int8_t *win, int32_t kp) {
  const int32_t depth = g->depth, kh = g->kh, kw = g->kw, row = kw * depth, K = kh * row;
  /* A kernel row's taps are one run of at most 16 bytes: one 16-byte store per
   * row, whose excess the next row's store overwrites and the last one's the
   * zeros after the window. */
  const bool rows = g->dw == 1 && g->xsw == depth && row <= 16;
  const mve_pred16_t rp = vctp8q((uint32_t)(row < 16 ? row : 16));
  const int8x16_t fill = vdupq_n_s8(izp), zero = vdupq_n_s8(0);
  const int32_t iy0 = oy * g->sh - g->pt;
  for (int32_t i = 0; i < count; i++, win += kp) {
    const int32_t ix0 = (ox0 + i) * g->sw - g->pl;
    int8_t *o = win;
    if (rows && ix0 >= 0 && ix0 + kw - 1 < g->iw) {
      const int8_t *xr = xn + iy0 * g->xsh + ix0 * g->xsw;
      for (int32_t ky = 0, iy = iy0; ky < kh; ky++, iy += g->dh, o += row, xr += g->dh * g->xsh)
        vstrbq_s8(o, iy >= 0 && iy < g->ih ? vldrbq_z_s8(xr, rp) : fill);
      vstrbq_s8(win + K, zero);
      continue;
    }
    for (int32_t ky = 0; ky < kh; ky++, o += row) {
      const int32_t iy = iy0 + ky * g->dh;
      for (int32_t kx = 0; kx < kw; kx++) {
        const int32_t ix = ix0 + kx * g->dw;
        if (iy >= 0 && iy < g->ih && ix >= 0 && ix < g->iw)
          copy_run(o + kx * depth, xn + iy * g->xsh + ix * g->xsw, depth);
        else
          fill_run(o + kx * depth, izp, depth);
      }
    }
    fill_run(o, 0, kp - K);
  }
}

/* acc[4 i + j], j in {pair, pair + 1}: c0 / c1 plus window i times filters w0 / w1
 * (K <= 16). */
static void dot_pair1(const int8_t *win, int32_t count, int32_t c0, int8x16_t w0, int32_t c1,
                      int8x16_t w1, int32_t *acc) {
  for (int32_t i = 0; i < count; i++, win += 16, acc += 4) {
    const int8x16_t x0 = vldrbq_s8(win);
    acc[0] = vmladavaq_s8(c0, x0, w0);
    acc[1] = vmladavaq_s8(c1, x0, w1);
  }
}

/* The same for 16 < K <= 32: filters (w0, v0) and (w1, v1). */
static void dot_pair2(const int8_t *win, int32_t count, int32_t c0, int8x16_t w0,
                      int8x16_t v0, int32_t c1, int8x16_t w1, int8x16_t v1, int32_t *acc) {
  for (int32_t i = 0; i < count; i++, win += 32, acc += 4) {
    const int8x16_t x0 = vldrbq_s8(win), x1 = vldrbq_s8(win + 16);
    acc[0] = vmladavaq_s8(vmladavaq_s8(c0, x0, w0), x1, v0);
    acc[1] = vmladavaq_s8(vmladavaq_s8(c1, x0, w1), x1, v1);
  }
}

/* ------------------------------------------------------------- the kernel */

typedef struct conv_call {
  const ptec_qconv *p;
  conv_geo g;
  const int8_t *x, *w;
  int8_t *y;
  int32x4_t lo, hi;
} conv_call;

/* Block b of output channels oc0 .. oc0 + 3: weights, correction, scales;
 * per-tap weight sums into tapsum when it is not NULL; `dense`: each filter is
 * one run (only without tapsum). */
static void block_setup(const conv_call *c, int32_t oc0, block *b, const int8_t *wb[4],
                        int32_t *tapsum, bool dense) {
  const ptec_qconv *p = c->p;
  const conv_geo *g = &c->g;
  const int32_t *mul = p->multiplier->data, *shift = p->shift->data;
  const int32_t *bias = p->bias ? p->bias->data : NULL;
  const int32_t taps = g->kh * g->kw, outs = (int32_t)p->y.c;
  b->count = outs - oc0 < 4 ? outs - oc0 : 4;
  int32_t corr[4], bs[4], ms[4], nks[4];
  uint32_t lanes31 = 0; /* predicate bits of the lanes with shift 31 */
  for (int32_t j = 0; j < 4; j++) {
    /* tail lanes repeat the last channel (their outputs are not stored) */
    const int32_t oc = oc0 + (j < b->count ? j : b->count - 1);
    wb[j] = c->w + oc * (ptrdiff_t)p->w.sn;
    int32_t sum = 0;
    if (dense) /* one run of K bytes */
      sum = sum_s8(wb[j], taps * g->depth);
    for (int32_t t = 0; t < taps && !dense; t++) {
      int32_t s = sum_s8(wb[j] + (t / g->kw) * g->wsh + (t % g->kw) * g->wsw, g->depth);
      if (tapsum) tapsum[4 * t + j] = s;
      sum += s;
    }
    corr[j] = (int32_t)(0u - (uint32_t)p->in_zp * (uint32_t)sum);
    bs[j] = bias ? bias[oc] : 0;
    ms[j] = mul[oc * p->scale_step];
    nks[j] = 31 - shift[oc * p->scale_step];
    if (nks[j] == 0) lanes31 |= 0xFu << (4 * j);
  }
  b->corr = vldrwq_s32(corr), b->bias = vldrwq_s32(bs), b->mul = vldrwq_s32(ms);
  b->nk = vldrwq_s32(nks), b->lanes31 = (mve_pred16_t)lanes31;
}

/* The fast and general paths: blocks of four output channels outermost. */
static __attribute__((noinline)) void conv_blocks(const conv_call *c, bool fast) {
  const ptec_qconv *p = c->p;
  int32_t tapsum[4 * MAX_TAPS];
  for (int32_t oc0 = 0; oc0 < (int32_t)p->y.c; oc0 += 4) {
    block b;
    const int8_t *wb[4];
    block_setup(c, oc0, &b, wb, fast ? tapsum : NULL, false);
    int8_t *yb = c->y + oc0 * c->g.ysc;
    if (fast)
      block_fast(&c->g, &b, wb, tapsum, c->x, yb, (int32_t)p->y.n, p->in_zp, p->out_zp, c->lo,
                 c->hi);
    else
      block_general(&c->g, &b, wb, c->x, yb, (int32_t)p->y.n, (int8_t)p->in_zp, p->out_zp,
                    c->lo, c->hi);
  }
}

/* The gather path: CHUNK pixels of one output row outermost. */
static __attribute__((noinline)) void conv_gather(const conv_call *c) {
  const ptec_qconv *p = c->p;
  const conv_geo *g = &c->g;
  const int32_t K = g->kh * g->kw * g->depth, kp = K > 16 ? 32 : 16;
  const mve_pred16_t k0 = vctp8q((uint32_t)K), k1 = vctp8q((uint32_t)(K > 16 ? K - 16 : 0));
  int8_t win[CHUNK * GATHER_K + 16];
  int32_t acc[4 * CHUNK];
  for (int32_t n = 0; n < (int32_t)p->y.n; n++) {
    const int8_t *xn = c->x + n * g->xsn;
    for (int32_t oy = 0; oy < g->oh; oy++) {
      int8_t *yrow = c->y + n * g->ysn + oy * g->ysh;
      for (int32_t ox = 0; ox < g->ow; ox += CHUNK) {
        const int32_t count = g->ow - ox < CHUNK ? g->ow - ox : CHUNK;
        gather(g, xn, oy, ox, count, (int8_t)p->in_zp, win, kp);
        for (int32_t oc0 = 0; oc0 < (int32_t)p->y.c; oc0 += 4) {
          block b;
          const int8_t *wb[4];
          block_setup(c, oc0, &b, wb, NULL, true);
          int32_t corr[4];
          vst1q_s32(corr, b.corr);
          for (int32_t j = 0; j < 4; j += 2) { /* predicated: no read past a filter */
            const int8x16_t w0 = vldrbq_z_s8(wb[j], k0), w1 = vldrbq_z_s8(wb[j + 1], k0);
            if (kp == 16)
              dot_pair1(win, count, corr[j], w0, corr[j + 1], w1, acc + j);
            else
              dot_pair2(win, count, corr[j], w0, vldrbq_z_s8(wb[j] + 16, k1), corr[j + 1], w1,
                        vldrbq_z_s8(wb[j + 1] + 16, k1), acc + j);
          }
          finish_run(&b, acc, count, yrow + ox * g->ysw + oc0 * g->ysc, g->ysw, g->ysc,
                     p->out_zp, c->lo, c->hi);
        }
      }
    }
  }
}

bool ptec_qconv_s8_mve(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 ||
      p->groups != 1 || X.sc != 1 || W.sc != 1 || p->w_zp != 0 ||
      W.c * W.h * W.w > PTEC_Q_MAX_TERMS_I32)
    return false;
  const int32_t *shift = p->shift->data;
  const int32_t nscale = p->scale_step ? (int32_t)Y.c : 1;
  for (int32_t c = 0; c < nscale; c++)
    if (shift[c] < 31) return false;

  /* A size-1 kernel dim's stride is never applied (kx or ky is always 0): the
   * compiler stores 1x1 weights OIHW ([O, I, 1, 1], W stride 1), which are the
   * same bytes as OHWI. Taking it as dense OHWI keeps such weights on the fast path. */
  const ptrdiff_t wsw = W.w == 1 ? (ptrdiff_t)W.c : (ptrdiff_t)W.sw;
  const ptrdiff_t wsh = W.h == 1 ? (ptrdiff_t)(W.w * W.c) : (ptrdiff_t)W.sh;
  const conv_call c = {
      p,
      {(int32_t)W.c, (int32_t)W.h, (int32_t)W.w, (int32_t)X.h, (int32_t)X.w, (int32_t)Y.h,
       (int32_t)Y.w, (int32_t)p->stride[0], (int32_t)p->stride[1], (int32_t)p->dilation[0],
       (int32_t)p->dilation[1], (int32_t)p->pad[0], (int32_t)p->pad[2], (ptrdiff_t)X.sn,
       (ptrdiff_t)X.sh, (ptrdiff_t)X.sw, wsh, wsw, (ptrdiff_t)Y.sn, (ptrdiff_t)Y.sh,
       (ptrdiff_t)Y.sw, (ptrdiff_t)Y.sc},
      p->in->data, p->weight->data, p->out->data,
      vdupq_n_s32(p->act_min), vdupq_n_s32(p->act_max)};
  const conv_geo *g = &c.g;
  const int32_t K = g->kh * g->kw * g->depth;
  if (g->depth < 16 && K <= GATHER_K && g->wsw == g->depth && g->wsh == g->kw * g->depth) {
    conv_gather(&c);
    return true;
  }
  conv_blocks(&c, g->dw == 1 && g->xsw == g->depth && g->wsw == g->depth &&
                      g->kh * g->kw <= MAX_TAPS);
  return true;
}

#endif /* PTEC_KERNELS_MVE */
