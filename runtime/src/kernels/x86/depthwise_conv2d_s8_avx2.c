/*
 * AVX2 variant of ptec::quantized_conv2d's depthwise case: int8, NHWC
 * input, depth multiplier 1 or a single input channel (DS-CNN's first
 * layer: every output channel reads it, broadcast), weights with channels innermost ([KH, KW, C],
 * dim order 1,2,3,0), at most MAX_TAPS taps; any zero points, shifts,
 * strides, padding and dilation.
 *
 * Per output pixel, the taps inside the input are listed, then sixteen
 * channels at a time take them in pairs: both taps' (x - in_zp) and
 * (w - w_zp), widened to int16, are interleaved so that one VPMADDWD adds
 * x0*w0 + x1*w1 per channel into int32 (exact: each product is at most
 * 255 * 255). Interleaving works within 128-bit halves, so the two
 * accumulators hold channels {0-3, 8-11} and {4-7, 12-15}; one permute
 * puts them back in order before requantization (requantize_avx2.h). The
 * last C % 16 channels go through 16-byte copies of their runs.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <string.h>

#include "kernels/quantized/depthwise_taps.h"
#include "kernels/quantized/variants.h"
#include "kernels/x86/requantize_avx2.h"

enum { MAX_TAPS = PTEC_DEPTHWISE_MAX_TAPS };

static inline __m256i widen(const int8_t *p, __m256i zp) {
  return _mm256_sub_epi16(
      _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p)), zp);
}

/* acc[0..15] = sum over taps t of (x[t][c] - izp) * (w[t][c] - wzp), c < 16. */
static inline __m256i input16(const int8_t *p, bool one, __m256i zp) {
  return one ? _mm256_sub_epi16(_mm256_set1_epi16(*p), zp) : widen(p, zp);
}

/* `one`: a single input channel, its value broadcast to the 16 lanes. */
static void taps16(const int8_t *const *xs, const int8_t *const *ws, int taps, bool one,
                   __m256i izp, __m256i wzp, int32_t acc[16]) {
  __m256i lo = _mm256_setzero_si256(), hi = lo;
  int t = 0;
  for (; t + 2 <= taps; t += 2) {
    __m256i x0 = input16(xs[t], one, izp), x1 = input16(xs[t + 1], one, izp);
    __m256i w0 = widen(ws[t], wzp), w1 = widen(ws[t + 1], wzp);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1),
                                                _mm256_unpacklo_epi16(w0, w1)));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1),
                                                _mm256_unpackhi_epi16(w0, w1)));
  }
  if (t < taps) {
    __m256i x0 = input16(xs[t], one, izp), w0 = widen(ws[t], wzp), z = _mm256_setzero_si256();
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, z),
                                                _mm256_unpacklo_epi16(w0, z)));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, z),
                                                _mm256_unpackhi_epi16(w0, z)));
  }
  _mm256_storeu_si256((__m256i *)(void *)acc, _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256((__m256i *)(void *)(acc + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
}

bool ptec_qconv_depthwise_s8_avx2(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || p->wide ||
      (X.sc != 1 && X.c > 1) || (Y.c != X.c && X.c != 1) || (W.n > 1 && W.sn != 1) ||
      W.h * W.w > MAX_TAPS)
    return false;
  const int8_t *x = p->in->data, *w = p->weight->data;
  int8_t *y = p->out->data;
  const int32_t C = (int32_t)Y.c;
  const bool one = X.c == 1; /* x has no channel offset then */
  const int32_t full = C / 16 * 16;
  const __m256i izp = _mm256_set1_epi16((int16_t)p->in_zp);
  const __m256i wzp = _mm256_set1_epi16((int16_t)p->w_zp);
  const ptec_qout_s8 q = {.bias = p->bias ? p->bias->data : NULL,
                            .multiplier = p->multiplier->data, .shift = p->shift->data,
                            .scale_step = (int32_t)p->scale_step, .out_zp = p->out_zp,
                            .act_min = p->act_min, .act_max = p->act_max};
  const int8_t *xs[MAX_TAPS], *ws[MAX_TAPS], *xt[MAX_TAPS], *wt[MAX_TAPS];
  int8_t tail[2][MAX_TAPS][16];
  int32_t acc[16];
  for (int64_t n = 0; n < Y.n; n++)
    for (int64_t oy = 0; oy < Y.h; oy++)
      for (int64_t ox = 0; ox < Y.w; ox++) {
        int taps = ptec_depthwise_taps(p, x, w, n, oy, ox, xs, ws);
        int8_t *yp = y + n * Y.sn + oy * Y.sh + ox * Y.sw;
        for (int32_t c0 = 0; c0 < full; c0 += 16) {
          for (int t = 0; t < taps; t++) {
            xt[t] = one ? xs[t] : xs[t] + c0;
            wt[t] = ws[t] + c0;
          }
          taps16(xt, wt, taps, one, izp, wzp, acc);
          ptec_avx2_requantize_run(&q, acc, c0, 16, yp + c0 * Y.sc, (ptrdiff_t)Y.sc);
        }
        if (full < C) {
          ptec_depthwise_tail(xs, ws, taps, one, full, (size_t)(C - full), tail, xt, wt);
          taps16(xt, wt, taps, one, izp, wzp, acc);
          ptec_avx2_requantize_run(&q, acc, full, C - full, yp + full * Y.sc, (ptrdiff_t)Y.sc);
        }
      }
  return true;
}

#endif /* PTEC_KERNELS_X86 */
