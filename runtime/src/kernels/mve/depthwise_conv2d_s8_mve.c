/*
 * Helium variant of ptec::quantized_conv2d when depthwise (groups == input
 * channels, depth multiplier 1): int8, NHWC input (channels innermost),
 * weights [KH, KW, C] in memory (dim order 1,2,3,0, TOSA's HWCM; the
 * compiler's layout for depthwise), weight_zp == 0, every shift >= 31.
 * Anything else returns false and the reference runs.
 *
 * Helium has no per-lane vector-by-vector multiply-accumulate, so each tap
 * loads eight channels of input and of weights widened to int16
 * (VLDRB.S16), multiplies them into int32 with VMULLB / VMULLT (even and
 * odd channels) and adds: six instructions per eight MACs. Sixteen channels
 * per block make four int32x4 accumulators (even and odd lanes of two
 * groups of eight); the outputs are narrowed back into channel order with
 * VMOVNB / VMOVNT.
 *
 * As in the convolution variant, the input zero point is one constant per
 * channel, -izp * sum_taps w, and a padded tap counts as an input of izp
 * rather than being skipped, so no per-tap subtraction is needed. Lanes
 * wrap; the exact sum fits int32, so the result is the reference's
 * accumulator.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_MVE
#include <stddef.h>

#include "kernels/mve/requantize_mve.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

enum { BLOCK = 16 }; /* channels per block: two groups of eight */

/* Per-channel constants of a block, each group of eight stored as its even
 * lanes (channels 0, 2, 4, 6) then its odd lanes (1, 3, 5, 7). */
typedef struct dw_block {
  int32_t corr[BLOCK], bias[BLOCK], mul[BLOCK], nk[BLOCK];
  uint32_t lanes31[4]; /* per vector of four: the lanes with shift 31 */
} dw_block;

/* Lane order of channel j of the block in dw_block's arrays. */
static inline int32_t lane_slot(int32_t j) {
  int32_t g = j / 8, k = j % 8;
  return g * 8 + (k % 2) * 4 + k / 2;
}

/* Requantizes one int32x4 (slot vector i of the block). */
static ALWAYS_INLINE int32x4_t finish(const dw_block *b, int32_t i, int32x4_t acc, int32_t zp,
                                      int32x4_t lo, int32x4_t hi) {
  int32x4_t v = vqaddq_s32(acc, vldrwq_s32(b->bias + 4 * i));
  v = ptec_mve_scale_lanes(v, vldrwq_s32(b->mul + 4 * i), vldrwq_s32(b->nk + 4 * i),
                           (mve_pred16_t)b->lanes31[i]);
  return ptec_mve_offset_clamp(v, zp, lo, hi);
}

/* Stores eight channels from their even and odd lanes (`lanes` valid). */
static ALWAYS_INLINE void store8(int8_t *yp, ptrdiff_t ysc, int32x4_t even, int32x4_t odd,
                                 int32_t lanes) {
  int16x8_t v = vmovntq_s32(vmovnbq_s32(vuninitializedq_s16(), even), odd);
  if (ysc == 1 && lanes >= 8) {
    vstrbq_s16(yp, v);
  } else if (ysc == 1) {
    vstrbq_p_s16(yp, v, vctp16q((uint32_t)lanes));
  } else {
    int16_t out[8];
    vst1q_s16(out, v);
    for (int32_t j = 0; j < lanes && j < 8; j++) yp[j * ysc] = (int8_t)out[j];
  }
}

/* ------------------------------------------------------------ fast path */

enum { CHUNK = 16 }; /* pixels per dw_run call: 1 KiB of accumulators */

/* A rectangle of output pixels (row by row) sharing their valid taps, for
 * one full block of 16 channels. dw_run reads and advances x, pixels,
 * left and out; the field offsets are fixed by its assembly. */
typedef struct dw_job {
  const int8_t *x;       /* 0: the first valid tap's input (channel c0) */
  int32_t pixels;        /* 4: >= 1 */
  int32_t x_pixel_step;  /* 8 */
  int32_t rows;          /* 12: valid kernel rows, >= 1 */
  int32_t cols;          /* 16: valid kernel columns, >= 1 */
  int32_t x_tap_step;    /* 20 */
  int32_t x_row_adv;     /* 24: from after a kernel row's last tap to the next row's first */
  int32_t w_tap_step;    /* 28 */
  int32_t w_row_adv;     /* 32 */
  const int8_t *w;       /* 36: the first valid tap's weights (channel c0) */
  const int32_t *corr;   /* 40: 16 starting values (dw_block order) */
  int32_t *out;          /* 44: 16 accumulators per pixel */
  int32_t row_pixels;    /* 48: pixels per output row of the rectangle */
  int32_t left;          /* 52: pixels left in the current output row */
  int32_t x_row_jump;    /* 56: from after a row's last pixel to the next row's first */
} dw_job;

_Static_assert(offsetof(dw_job, cols) == 16 && offsetof(dw_job, w) == 36 &&
                   offsetof(dw_job, out) == 44 && offsetof(dw_job, x_row_jump) == 56 &&
                   sizeof(void *) == 4,
               "dw_run's assembly reads dw_job at these offsets");

/*
 * Per pixel: q0..q3 start from corr; per tap, eight channels at a time are
 * loaded widened to int16 (VLDRB.S16), multiplied into int32 even and odd
 * lanes (VMULLB / VMULLT) and added; the taps of a kernel row run as a
 * low-overhead loop. The four accumulators go to out.
 */
static void dw_run(dw_job *job) {
  register dw_job *j __asm__("r10") = job;
  __asm__ volatile(
      "ldr r4, [%[j], #20]\n\t"
      "ldr r5, [%[j], #28]\n"
      "1:\n\t"
      "ldr r12, [%[j], #40]\n\t"
      "vldrw.32 q0, [r12]\n\t"
      "vldrw.32 q1, [r12, #16]\n\t"
      "vldrw.32 q2, [r12, #32]\n\t"
      "vldrw.32 q3, [r12, #48]\n\t"
      "ldr r1, [%[j], #0]\n\t"
      "ldr r2, [%[j], #36]\n\t"
      "ldr r3, [%[j], #12]\n"
      "2:\n\t"
      "ldr lr, [%[j], #16]\n\t"
      "dls lr, lr\n"
      "3:\n\t"
      "vldrb.s16 q4, [r1]\n\t"
      "vldrb.s16 q5, [r2]\n\t"
      "vmullb.s16 q6, q4, q5\n\t"
      "vadd.i32 q0, q0, q6\n\t"
      "vmullt.s16 q6, q4, q5\n\t"
      "vadd.i32 q1, q1, q6\n\t"
      "vldrb.s16 q4, [r1, #8]\n\t"
      "vldrb.s16 q5, [r2, #8]\n\t"
      "vmullb.s16 q6, q4, q5\n\t"
      "vadd.i32 q2, q2, q6\n\t"
      "vmullt.s16 q6, q4, q5\n\t"
      "vadd.i32 q3, q3, q6\n\t"
      "add r1, r1, r4\n\t"
      "add r2, r2, r5\n\t"
      "le lr, 3b\n\t"
      "subs r3, r3, #1\n\t"
      "beq 4f\n\t"
      "ldr r12, [%[j], #24]\n\t"
      "add r1, r1, r12\n\t"
      "ldr r12, [%[j], #32]\n\t"
      "add r2, r2, r12\n\t"
      "b 2b\n"
      "4:\n\t"
      "ldr r12, [%[j], #44]\n\t"
      "vstrw.32 q0, [r12]\n\t"
      "vstrw.32 q1, [r12, #16]\n\t"
      "vstrw.32 q2, [r12, #32]\n\t"
      "vstrw.32 q3, [r12, #48]\n\t"
      "add r12, r12, #64\n\t"
      "str r12, [%[j], #44]\n\t"
      "ldr r12, [%[j], #0]\n\t"
      "ldr r3, [%[j], #8]\n\t"
      "add r12, r12, r3\n\t"
      "ldr r3, [%[j], #52]\n\t"
      "subs r3, r3, #1\n\t"
      "bne 5f\n\t"
      "ldr r3, [%[j], #56]\n\t"
      "add r12, r12, r3\n\t"
      "ldr r3, [%[j], #48]\n"
      "5:\n\t"
      "str r3, [%[j], #52]\n\t"
      "str r12, [%[j], #0]\n\t"
      "ldr r12, [%[j], #4]\n\t"
      "subs r12, r12, #1\n\t"
      "str r12, [%[j], #4]\n\t"
      "bne 1b"
      : [j] "+r"(j)
      :
      : "r1", "r2", "r3", "r4", "r5", "r12", "lr", "q0", "q1", "q2", "q3", "q4", "q5", "q6",
        "memory", "cc");
}

typedef struct dw_geo {
  int32_t kh, kw, ih, iw, oh, ow, sh, sw, dh, dw, pt, pl;
  ptrdiff_t xsn, xsh, xsw, wsh, wsw, ysn, ysh, ysw, ysc;
} dw_geo;

static inline void valid_taps(int32_t i0, int32_t k, int32_t d, int32_t in, int32_t *k0,
                              int32_t *k1) {
  int32_t a = 0, b = k;
  while (a < k && i0 + a * d < 0) a++;
  while (b > a && i0 + (b - 1) * d >= in) b--;
  *k0 = a;
  *k1 = b;
}

/* -izp * the weight sums of the taps [ky0, ky1) x [kx0, kx1), in dw_block
 * order. Border patterns recur along the edges, so each is computed once. */
typedef struct corr_cache {
  int32_t corr[16 * 9];
  uint32_t key[9];
  int32_t count;
} corr_cache;

static const int32_t *border_corr(corr_cache *cc, const dw_geo *g, const int8_t *w, int32_t izp,
                                  int32_t ky0, int32_t ky1, int32_t kx0, int32_t kx1) {
  const uint32_t key = (uint32_t)ky0 | (uint32_t)ky1 << 8 | (uint32_t)kx0 << 16 |
                       (uint32_t)kx1 << 24;
  int32_t slot = 0;
  while (slot < cc->count && cc->key[slot] != key) slot++;
  if (slot < cc->count) return cc->corr + 16 * slot;
  if (slot == 9) slot = 8; /* full: reuse the last entry */
  else cc->count++;
  int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
  for (int32_t ky = ky0; ky < ky1; ky++)
    for (int32_t kx = kx0; kx < kx1; kx++) {
      const int8_t *wp = w + ky * g->wsh + kx * g->wsw;
      int16x8_t w0 = vldrbq_s16(wp), w1 = vldrbq_s16(wp + 8);
      s0 = vaddq_s32(s0, vmovlbq_s16(w0));
      s1 = vaddq_s32(s1, vmovltq_s16(w0));
      s2 = vaddq_s32(s2, vmovlbq_s16(w1));
      s3 = vaddq_s32(s3, vmovltq_s16(w1));
    }
  int32_t *c = cc->corr + 16 * slot;
  vst1q_s32(c, vmulq_n_s32(s0, -izp));
  vst1q_s32(c + 4, vmulq_n_s32(s1, -izp));
  vst1q_s32(c + 8, vmulq_n_s32(s2, -izp));
  vst1q_s32(c + 12, vmulq_n_s32(s3, -izp));
  cc->key[slot] = key;
  return c;
}

/* Requantizes and stores one pixel's 16 accumulators. */
static ALWAYS_INLINE void store16(const dw_block *b, const int32_t *a, int8_t *yp, ptrdiff_t ysc,
                                  bool simple, int32_t zp, int32x4_t lo, int32x4_t hi) {
  if (simple) { /* contiguous channels, no shift of 31 */
    int32x4_t v[4];
    for (int32_t k = 0; k < 4; k++) {
      int32x4_t t = vqaddq_s32(vld1q_s32(a + 4 * k), vld1q_s32(b->bias + 4 * k));
      t = vrshlq_s32(vqdmulhq_s32(t, vld1q_s32(b->mul + 4 * k)), vld1q_s32(b->nk + 4 * k));
      v[k] = ptec_mve_offset_clamp(t, zp, lo, hi);
    }
    vstrbq_s16(yp, vmovntq_s32(vmovnbq_s32(vuninitializedq_s16(), v[0]), v[1]));
    vstrbq_s16(yp + 8, vmovntq_s32(vmovnbq_s32(vuninitializedq_s16(), v[2]), v[3]));
    return;
  }
  store8(yp, ysc, finish(b, 0, vld1q_s32(a), zp, lo, hi),
         finish(b, 1, vld1q_s32(a + 4), zp, lo, hi), 8);
  store8(yp + 8 * ysc, ysc, finish(b, 2, vld1q_s32(a + 8), zp, lo, hi),
         finish(b, 3, vld1q_s32(a + 12), zp, lo, hi), 8);
}

/*
 * The output pixels [oy0, oy1) x [ox0, ox1), which share their valid taps
 * (those of the first), for one full block of 16 channels: x, w and y are
 * already offset to channel c0.
 */
static void rect(const dw_geo *g, const dw_block *b, corr_cache *cc, const int8_t *xn,
                 const int8_t *w, int8_t *yn, int32_t oy0, int32_t oy1, int32_t ox0,
                 int32_t ox1, int32_t izp, int32_t zp, int32x4_t lo, int32x4_t hi) {
  if (oy0 >= oy1 || ox0 >= ox1) return;
  int32_t acc[16 * CHUNK];
  const int32_t iy0 = oy0 * g->sh - g->pt, ix0 = ox0 * g->sw - g->pl;
  int32_t ky0, ky1, kx0, kx1;
  valid_taps(iy0, g->kh, g->dh, g->ih, &ky0, &ky1);
  valid_taps(ix0, g->kw, g->dw, g->iw, &kx0, &kx1);
  const int32_t *start = ky0 > 0 || ky1 < g->kh || kx0 > 0 || kx1 < g->kw
                             ? border_corr(cc, g, w, izp, ky0, ky1, kx0, kx1)
                             : b->corr;
  const int32_t width = ox1 - ox0, total = (oy1 - oy0) * width, cols = kx1 - kx0;
  const bool taps = ky0 < ky1 && kx0 < kx1;
  const bool simple = g->ysc == 1 && (b->lanes31[0] | b->lanes31[1] | b->lanes31[2] |
                                      b->lanes31[3]) == 0;
  dw_job job = {xn + (iy0 + ky0 * g->dh) * g->xsh + (ix0 + kx0 * g->dw) * g->xsw,
                0,
                (int32_t)(g->sw * g->xsw),
                ky1 - ky0,
                cols,
                (int32_t)(g->dw * g->xsw),
                (int32_t)(g->dh * g->xsh - cols * g->dw * g->xsw),
                (int32_t)g->wsw,
                (int32_t)(g->wsh - cols * g->wsw),
                w + ky0 * g->wsh + kx0 * g->wsw,
                start,
                acc,
                width,
                width,
                (int32_t)(g->sh * g->xsh - width * g->sw * g->xsw)};
  int8_t *yp = yn + oy0 * g->ysh + ox0 * g->ysw;
  int32_t col = 0; /* of the next pixel to store, in its row */
  for (int32_t done = 0; done < total; done += CHUNK) {
    const int32_t count = total - done < CHUNK ? total - done : CHUNK;
    if (taps) {
      job.pixels = count;
      job.out = acc;
      dw_run(&job);
    } else {
      for (int32_t i = 0; i < count; i++)
        for (int32_t k = 0; k < 16; k++) acc[16 * i + k] = start[k];
    }
    for (int32_t i = 0; i < count; i++) {
      store16(b, acc + 16 * i, yp, g->ysc, simple, zp, lo, hi);
      yp += g->ysw;
      if (++col == width) {
        col = 0;
        yp += g->ysh - width * g->ysw;
      }
    }
  }
}

/* One full block of 16 channels: the interior rectangle in one piece, the
 * border rows by segments, the border columns as vertical strips. */
static void block_fast(const dw_geo *g, const dw_block *b, const int8_t *x, const int8_t *w,
                       int8_t *y, int32_t batches, int32_t izp, int32_t zp, int32x4_t lo,
                       int32x4_t hi) {
  corr_cache cc;
  cc.count = 0;
  const int32_t ow = g->ow, oh = g->oh;
  /* Interior: windows inside the input, [oy_lo, oy_hi) x [ox_lo, ox_hi). */
  int32_t ox_lo = (g->pl + g->sw - 1) / g->sw, right = g->iw - 1 - (g->kw - 1) * g->dw + g->pl;
  int32_t ox_hi = right < 0 ? 0 : right / g->sw + 1;
  int32_t oy_lo = (g->pt + g->sh - 1) / g->sh, bottom = g->ih - 1 - (g->kh - 1) * g->dh + g->pt;
  int32_t oy_hi = bottom < 0 ? 0 : bottom / g->sh + 1;
  if (ox_lo > ow) ox_lo = ow;
  if (ox_hi > ow) ox_hi = ow;
  if (ox_hi < ox_lo) ox_hi = ox_lo;
  if (oy_lo > oh) oy_lo = oh;
  if (oy_hi > oh) oy_hi = oh;
  if (oy_hi < oy_lo) oy_hi = oy_lo;
  for (int32_t n = 0; n < batches; n++) {
    const int8_t *xn = x + n * g->xsn;
    int8_t *yn = y + n * g->ysn;
    rect(g, b, &cc, xn, w, yn, oy_lo, oy_hi, ox_lo, ox_hi, izp, zp, lo, hi);
    for (int32_t ox = 0; ox < ox_lo; ox++)
      rect(g, b, &cc, xn, w, yn, oy_lo, oy_hi, ox, ox + 1, izp, zp, lo, hi);
    for (int32_t ox = ox_hi; ox < ow; ox++)
      rect(g, b, &cc, xn, w, yn, oy_lo, oy_hi, ox, ox + 1, izp, zp, lo, hi);
    for (int32_t oy = 0; oy < oh; oy++) {
      if (oy == oy_lo) oy = oy_hi; /* the middle rows are done */
      if (oy >= oh) break;
      rect(g, b, &cc, xn, w, yn, oy, oy + 1, ox_lo, ox_hi, izp, zp, lo, hi);
      for (int32_t ox = 0; ox < ox_lo; ox++)
        rect(g, b, &cc, xn, w, yn, oy, oy + 1, ox, ox + 1, izp, zp, lo, hi);
      for (int32_t ox = ox_hi; ox < ow; ox++)
        rect(g, b, &cc, xn, w, yn, oy, oy + 1, ox, ox + 1, izp, zp, lo, hi);
    }
  }
}

/* ------------------------------------------- one input channel, many outputs */

/*
 * Depthwise with a single input channel (groups == C == 1, weights [KH, KW,
 * O] with O innermost: a network's first layer on a one-channel input, as
 * DS-CNN's): every tap is one input value times a vector of O weights, so
 * sixteen outputs accumulate with VMLA (vector by scalar) on x - izp, four
 * int32 lanes per instruction. Padded taps (x == izp) add nothing.
 */
static void single_channel(const ptec_qconv *p, int32x4_t lo, int32x4_t hi) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t *bias = p->bias ? p->bias->data : NULL;
  const int32_t *mul = p->multiplier->data, *shift = p->shift->data;
  const int32_t outs = (int32_t)Y.c, kh = (int32_t)W.h, kw = (int32_t)W.w;
  const int32_t ih = (int32_t)X.h, iw = (int32_t)X.w, izp = p->in_zp, zp = p->out_zp;
  const ptrdiff_t xsh = (ptrdiff_t)X.sh, xsw = (ptrdiff_t)X.sw, wsh = (ptrdiff_t)W.sh;
  const ptrdiff_t wsw = (ptrdiff_t)W.sw, ysc = (ptrdiff_t)Y.sc;
  for (int32_t o0 = 0; o0 < outs; o0 += 16) {
    const int32_t count = outs - o0 < 16 ? outs - o0 : 16;
    int32_t bs[16], ms[16], nks[16];
    uint32_t lanes31[4] = {0, 0, 0, 0};
    for (int32_t j = 0; j < 16; j++) {
      int32_t o = o0 + (j < count ? j : count - 1);
      bs[j] = bias ? bias[o] : 0;
      ms[j] = mul[o * p->scale_step];
      nks[j] = 31 - shift[o * p->scale_step];
      if (nks[j] == 0) lanes31[j / 4] |= 0xFu << (4 * (j % 4));
    }
    const mve_pred16_t q0 = vctp32q((uint32_t)count);
    const mve_pred16_t q1 = vctp32q((uint32_t)(count > 4 ? count - 4 : 0));
    const mve_pred16_t q2 = vctp32q((uint32_t)(count > 8 ? count - 8 : 0));
    const mve_pred16_t q3 = vctp32q((uint32_t)(count > 12 ? count - 12 : 0));
    for (int32_t n = 0; n < (int32_t)Y.n; n++)
      for (int32_t oy = 0; oy < (int32_t)Y.h; oy++)
        for (int32_t ox = 0; ox < (int32_t)Y.w; ox++) {
          const int32_t iy0 = oy * (int32_t)p->stride[0] - (int32_t)p->pad[0];
          const int32_t ix0 = ox * (int32_t)p->stride[1] - (int32_t)p->pad[2];
          int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * (int32_t)p->dilation[0];
            if (iy < 0 || iy >= ih) continue;
            const int8_t *xr = x + n * (ptrdiff_t)X.sn + iy * xsh;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ix0 + kx * (int32_t)p->dilation[1];
              if (ix < 0 || ix >= iw) continue;
              const int32_t xv = xr[ix * xsw] - izp;
              const int8_t *wp = w + ky * wsh + kx * wsw + o0;
              a0 = vmlaq_n_s32(a0, vldrbq_z_s32(wp, q0), xv);
              a1 = vmlaq_n_s32(a1, vldrbq_z_s32(wp + 4, q1), xv);
              a2 = vmlaq_n_s32(a2, vldrbq_z_s32(wp + 8, q2), xv);
              a3 = vmlaq_n_s32(a3, vldrbq_z_s32(wp + 12, q3), xv);
            }
          }
          int8_t *yp = y + n * (ptrdiff_t)Y.sn + o0 * ysc + oy * (ptrdiff_t)Y.sh +
                       ox * (ptrdiff_t)Y.sw;
          const int32x4_t acc[4] = {a0, a1, a2, a3};
          const mve_pred16_t pr[4] = {q0, q1, q2, q3};
          for (int32_t k = 0; k < 4 && 4 * k < count; k++) {
            int32x4_t v = vqaddq_s32(acc[k], vld1q_s32(bs + 4 * k));
            v = ptec_mve_scale_lanes(v, vld1q_s32(ms + 4 * k), vld1q_s32(nks + 4 * k),
                                     (mve_pred16_t)lanes31[k]);
            v = ptec_mve_offset_clamp(v, zp, lo, hi);
            if (ysc == 1) {
              vstrbq_p_s32(yp + 4 * k, v, pr[k]);
            } else {
              int32_t out[4];
              vst1q_s32(out, v);
              for (int32_t j = 0; j < 4 && 4 * k + j < count; j++)
                yp[(4 * k + j) * ysc] = (int8_t)out[j];
            }
          }
        }
  }
}

bool ptec_qconv_depthwise_s8_mve(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 ||
      (X.sc != 1 && X.c != 1) || W.sn != 1 || (Y.c != X.c && X.c != 1) ||
      p->w_zp != 0 || W.h * W.w > PTEC_Q_MAX_TERMS_I32)
    return false;
  const int32_t *mul = p->multiplier->data, *shift = p->shift->data;
  const int32_t nscale = p->scale_step ? (int32_t)Y.c : 1;
  for (int32_t c = 0; c < nscale; c++)
    if (shift[c] < 31) return false;
  if (X.c == 1) {
    single_channel(p, vdupq_n_s32(p->act_min), vdupq_n_s32(p->act_max));
    return true;
  }

  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t *bias = p->bias ? p->bias->data : NULL;
  const int32_t channels = (int32_t)X.c, kh = (int32_t)W.h, kw = (int32_t)W.w;
  const int32_t ih = (int32_t)X.h, iw = (int32_t)X.w, oh = (int32_t)Y.h, ow = (int32_t)Y.w;
  const int32_t sh = (int32_t)p->stride[0], sw = (int32_t)p->stride[1];
  const int32_t dh = (int32_t)p->dilation[0], dw = (int32_t)p->dilation[1];
  const int32_t pt = (int32_t)p->pad[0], pl = (int32_t)p->pad[2];
  const ptrdiff_t xsh = (ptrdiff_t)X.sh, xsw = (ptrdiff_t)X.sw;
  const ptrdiff_t wsh = (ptrdiff_t)W.sh, wsw = (ptrdiff_t)W.sw;
  const ptrdiff_t ysh = (ptrdiff_t)Y.sh, ysw = (ptrdiff_t)Y.sw, ysc = (ptrdiff_t)Y.sc;
  const int32_t izp = p->in_zp;
  const int16x8_t vizp = vdupq_n_s16((int16_t)izp);
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  dw_block b;

  for (int32_t c0 = 0; c0 < channels; c0 += BLOCK) {
    const int32_t count = channels - c0 < BLOCK ? channels - c0 : BLOCK;
    for (int32_t j = 0; j < BLOCK; j++) {
      int32_t c = c0 + (j < count ? j : count - 1); /* tail lanes repeat the last */
      int32_t sum = 0, s = lane_slot(j);
      if (count < BLOCK) /* (full blocks: summed below, 16 channels at a time) */
        for (int32_t ky = 0; ky < kh; ky++)
          for (int32_t kx = 0; kx < kw; kx++) sum += w[c + ky * wsh + kx * wsw];
      b.corr[s] = (int32_t)(0u - (uint32_t)izp * (uint32_t)sum);
      b.bias[s] = bias ? bias[c] : 0;
      b.mul[s] = mul[c * p->scale_step];
      b.nk[s] = 31 - shift[c * p->scale_step];
    }
    for (int32_t i = 0; i < 4; i++) {
      b.lanes31[i] = 0;
      for (int32_t j = 0; j < 4; j++)
        if (b.nk[4 * i + j] == 0) b.lanes31[i] |= 0xFu << (4 * j);
    }
    if (count == BLOCK) {
      const dw_geo g = {kh, kw, ih, iw, oh, ow, sh, sw, dh, dw, pt, pl, (ptrdiff_t)X.sn, xsh,
                        xsw, wsh, wsw, (ptrdiff_t)Y.sn, ysh, ysw, ysc};
      corr_cache cc;
      cc.count = 0;
      const int32_t *all = border_corr(&cc, &g, w + c0, izp, 0, kh, 0, kw);
      for (int32_t k = 0; k < BLOCK; k++) b.corr[k] = all[k];
      block_fast(&g, &b, x + c0, w + c0, y + c0 * ysc, (int32_t)Y.n, izp, p->out_zp, lo, hi);
      continue;
    }
    const int32_t rest = count - 8; /* valid channels of the second group */
    const mve_pred16_t p0 = vctp16q((uint32_t)count);
    const mve_pred16_t p1 = vctp16q((uint32_t)(rest > 0 ? rest : 0));
    const bool full = count == BLOCK;
    const int8_t *wc = w + c0;
    for (int32_t n = 0; n < (int32_t)Y.n; n++)
      for (int32_t oy = 0; oy < oh; oy++) {
        const int32_t iy0 = oy * sh - pt;
        const bool rows_inside = iy0 >= 0 && iy0 + (kh - 1) * dh < ih;
        const int8_t *xn = x + n * (ptrdiff_t)X.sn + c0;
        for (int32_t ox = 0; ox < ow; ox++) {
          const int32_t ix0 = ox * sw - pl;
          int32x4_t e0 = vldrwq_s32(b.corr), o0 = vldrwq_s32(b.corr + 4);
          int32x4_t e1 = vldrwq_s32(b.corr + 8), o1 = vldrwq_s32(b.corr + 12);
          if (full && rows_inside && ix0 >= 0 && ix0 + (kw - 1) * dw < iw) {
            for (int32_t ky = 0; ky < kh; ky++) {
              const int8_t *xp = xn + (iy0 + ky * dh) * xsh + ix0 * xsw;
              const int8_t *wp = wc + ky * wsh;
              for (int32_t kx = 0; kx < kw; kx++, xp += dw * xsw, wp += wsw) {
                int16x8_t xv = vldrbq_s16(xp), wv = vldrbq_s16(wp);
                e0 = vaddq_s32(e0, vmullbq_int_s16(xv, wv));
                o0 = vaddq_s32(o0, vmulltq_int_s16(xv, wv));
                xv = vldrbq_s16(xp + 8);
                wv = vldrbq_s16(wp + 8);
                e1 = vaddq_s32(e1, vmullbq_int_s16(xv, wv));
                o1 = vaddq_s32(o1, vmulltq_int_s16(xv, wv));
              }
            }
          } else {
            for (int32_t ky = 0; ky < kh; ky++) {
              const int32_t iy = iy0 + ky * dh;
              for (int32_t kx = 0; kx < kw; kx++) {
                const int32_t ix = ix0 + kx * dw;
                const int8_t *wp = wc + ky * wsh + kx * wsw;
                int16x8_t xv0 = vizp, xv1 = vizp;
                if (iy >= 0 && iy < ih && ix >= 0 && ix < iw) {
                  const int8_t *xp = xn + iy * xsh + ix * xsw;
                  xv0 = vldrbq_z_s16(xp, p0);
                  xv1 = vldrbq_z_s16(xp + 8, p1);
                } else if (izp == 0) {
                  continue;
                }
                int16x8_t wv0 = vldrbq_z_s16(wp, p0), wv1 = vldrbq_z_s16(wp + 8, p1);
                e0 = vaddq_s32(e0, vmullbq_int_s16(xv0, wv0));
                o0 = vaddq_s32(o0, vmulltq_int_s16(xv0, wv0));
                e1 = vaddq_s32(e1, vmullbq_int_s16(xv1, wv1));
                o1 = vaddq_s32(o1, vmulltq_int_s16(xv1, wv1));
              }
            }
          }
          int8_t *yp = y + n * (ptrdiff_t)Y.sn + c0 * ysc + oy * ysh + ox * ysw;
          store8(yp, ysc, finish(&b, 0, e0, p->out_zp, lo, hi),
                 finish(&b, 1, o0, p->out_zp, lo, hi), count < 8 ? count : 8);
          if (rest > 0)
            store8(yp + 8 * ysc, ysc, finish(&b, 2, e1, p->out_zp, lo, hi),
                   finish(&b, 3, o1, p->out_zp, lo, hi), rest);
        }
      }
  }
  return true;
}

#endif /* PTEC_KERNELS_MVE */
