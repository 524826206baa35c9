/*
 * Helium variants of ptec::quantized_avg_pool2d and
 * ptec::quantized_max_pool2d over NHWC int8 (channels innermost in input
 * and output), sixteen channels per vector.
 *
 * avg: window sums in int16 lanes (VLDRB.S16 + VADD), exact while the
 * window has at most 256 elements (|sum| <= 256 * 128 = 2^15), so larger
 * kernels return false. Then per pixel: widen (VMOVLB/VMOVLT), subtract
 * count * izp, apply_scale_32 with reciprocal_scale(count) (shift 30 + k
 * for count <= 2^k, so |v| <= 255 * count < 2^shift and the low form is
 * exact), zero point, clamp, narrow back (VMOVNB/VMOVNT) and store.
 * max: VMAX.S8 over the window, clamp, store.
 */
#include "kernels/quantized/variants.h"

#if PTEC_KERNELS_MVE
#include "kernels/mve/requantize_mve.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* The window of output (oy, ox) clipped to the input. */
static void window(const ptec_qpool *w, int32_t oy, int32_t ox, int32_t *y0, int32_t *y1,
                   int32_t *x0, int32_t *x1) {
  int32_t iy = oy * (int32_t)w->stride[0] - (int32_t)w->pad[0];
  int32_t ix = ox * (int32_t)w->stride[1] - (int32_t)w->pad[2];
  int32_t kh = (int32_t)w->kernel[0], kw = (int32_t)w->kernel[1];
  *y0 = iy < 0 ? 0 : iy;
  *x0 = ix < 0 ? 0 : ix;
  *y1 = iy + kh < (int32_t)w->x.h ? iy + kh : (int32_t)w->x.h;
  *x1 = ix + kw < (int32_t)w->x.w ? ix + kw : (int32_t)w->x.w;
}

/* Eight int16 window sums to int8 outputs (int16 lanes holding them). */
static ALWAYS_INLINE int16x8_t average8(int16x8_t sum, int32_t off, int32_t m, int32_t s,
                                        int32_t zp, int32x4_t lo, int32x4_t hi) {
  int32x4_t e = vaddq_n_s32(vmovlbq_s16(sum), off), o = vaddq_n_s32(vmovltq_s16(sum), off);
  if (s >= 32) {
    e = vrshlq_n_s32(vqdmulhq_n_s32(e, m), 31 - s);
    o = vrshlq_n_s32(vqdmulhq_n_s32(o, m), 31 - s);
  } else {
    e = vqrdmulhq_n_s32(vshlq_r_s32(e, 31 - s), m);
    o = vqrdmulhq_n_s32(vshlq_r_s32(o, 31 - s), m);
  }
  e = ptec_mve_offset_clamp(e, zp, lo, hi);
  o = ptec_mve_offset_clamp(o, zp, lo, hi);
  return vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), e), o);
}

bool ptec_qavg_pool_s8_mve(const ptec_qpool *w, int32_t in_zp, int32_t out_zp, int32_t lo,
                           int32_t hi) {
  const ptec_q_view4 X = w->x, Y = w->y;
  if (w->in->dtype != PTEC_DTYPE_INT8 || X.sc != 1 || Y.sc != 1 ||
      w->kernel[0] * w->kernel[1] > 256)
    return false;
  const int8_t *x = w->in->data;
  int8_t *y = w->out->data;
  const int32_t channels = (int32_t)X.c;
  const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
  for (int32_t n = 0; n < (int32_t)Y.n; n++)
    for (int32_t oy = 0; oy < (int32_t)Y.h; oy++)
      for (int32_t ox = 0; ox < (int32_t)Y.w; ox++) {
        int32_t y0, y1, x0, x1, m, s;
        window(w, oy, ox, &y0, &y1, &x0, &x1);
        const int32_t count = (y1 - y0) * (x1 - x0);
        ptec_reciprocal_scale((uint32_t)count, &m, &s);
        const int32_t off = -count * in_zp;
        const int8_t *xn = x + n * (ptrdiff_t)X.sn;
        int8_t *yp = y + n * (ptrdiff_t)Y.sn + oy * (ptrdiff_t)Y.sh + ox * (ptrdiff_t)Y.sw;
        for (int32_t c0 = 0; c0 < channels; c0 += 16) {
          const int32_t left = channels - c0;
          int16x8_t s0 = vdupq_n_s16(0), s1 = vdupq_n_s16(0);
          if (left >= 16) {
            for (int32_t iy = y0; iy < y1; iy++) {
              const int8_t *xp = xn + iy * (ptrdiff_t)X.sh + x0 * (ptrdiff_t)X.sw + c0;
              for (int32_t ix = x0; ix < x1; ix++, xp += X.sw) {
                s0 = vaddq_s16(s0, vldrbq_s16(xp));
                s1 = vaddq_s16(s1, vldrbq_s16(xp + 8));
              }
            }
            vstrbq_s16(yp + c0, average8(s0, off, m, s, out_zp, vlo, vhi));
            vstrbq_s16(yp + c0 + 8, average8(s1, off, m, s, out_zp, vlo, vhi));
          } else {
            const mve_pred16_t p0 = vctp16q((uint32_t)left);
            const mve_pred16_t p1 = vctp16q((uint32_t)(left > 8 ? left - 8 : 0));
            for (int32_t iy = y0; iy < y1; iy++) {
              const int8_t *xp = xn + iy * (ptrdiff_t)X.sh + x0 * (ptrdiff_t)X.sw + c0;
              for (int32_t ix = x0; ix < x1; ix++, xp += X.sw) {
                s0 = vaddq_s16(s0, vldrbq_z_s16(xp, p0));
                s1 = vaddq_s16(s1, vldrbq_z_s16(xp + 8, p1));
              }
            }
            vstrbq_p_s16(yp + c0, average8(s0, off, m, s, out_zp, vlo, vhi), p0);
            vstrbq_p_s16(yp + c0 + 8, average8(s1, off, m, s, out_zp, vlo, vhi), p1);
          }
        }
      }
  return true;
}

bool ptec_qmax_pool_s8_mve(const ptec_qpool *w, int32_t lo, int32_t hi) {
  const ptec_q_view4 X = w->x, Y = w->y;
  if (w->in->dtype != PTEC_DTYPE_INT8 || X.sc != 1 || Y.sc != 1) return false;
  const int8_t *x = w->in->data;
  int8_t *y = w->out->data;
  const int32_t channels = (int32_t)X.c, ih = (int32_t)X.h, iw = (int32_t)X.w;
  const int32_t kh = (int32_t)w->kernel[0], kw = (int32_t)w->kernel[1];
  const int32_t dh = (int32_t)w->dilation[0], dw = (int32_t)w->dilation[1];
  const int8x16_t vlo = vdupq_n_s8((int8_t)lo), vhi = vdupq_n_s8((int8_t)hi);
  for (int32_t n = 0; n < (int32_t)Y.n; n++)
    for (int32_t oy = 0; oy < (int32_t)Y.h; oy++)
      for (int32_t ox = 0; ox < (int32_t)Y.w; ox++) {
        const int32_t iy0 = oy * (int32_t)w->stride[0] - (int32_t)w->pad[0];
        const int32_t ix0 = ox * (int32_t)w->stride[1] - (int32_t)w->pad[2];
        const int8_t *xn = x + n * (ptrdiff_t)X.sn;
        int8_t *yp = y + n * (ptrdiff_t)Y.sn + oy * (ptrdiff_t)Y.sh + ox * (ptrdiff_t)Y.sw;
        for (int32_t c0 = 0; c0 < channels; c0 += 16) {
          const mve_pred16_t pr = vctp8q((uint32_t)(channels - c0));
          int8x16_t best = vdupq_n_s8(INT8_MIN);
          for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky * dh;
            if (iy < 0 || iy >= ih) continue;
            for (int32_t kx = 0; kx < kw; kx++) {
              const int32_t ix = ix0 + kx * dw;
              if (ix < 0 || ix >= iw) continue;
              const int8_t *xp = xn + iy * (ptrdiff_t)X.sh + ix * (ptrdiff_t)X.sw + c0;
              best = vmaxq_s8(best, channels - c0 >= 16 ? vldrbq_s8(xp) : vldrbq_z_s8(xp, pr));
            }
          }
          best = vminq_s8(vmaxq_s8(best, vlo), vhi);
          if (channels - c0 >= 16) vstrbq_s8(yp + c0, best);
          else vstrbq_p_s8(yp + c0, best, pr);
        }
      }
  return true;
}

#endif /* PTEC_KERNELS_MVE */
