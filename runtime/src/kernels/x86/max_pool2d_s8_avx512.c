/*
 * AVX-512 variant of ptec::quantized_max_pool2d: int8, channels innermost in
 * input and output (NHWC), any window, stride, padding and dilation; 64
 * channels per vector (the last ones masked), taps in the padding skipped
 * (TOSA's rule keeps every window on at least one input element), then the
 * activation clamp. Output rows are split over the platform's threads. The
 * same walk as kernels/mve/pool2d_s8_mve.c's, on wider vectors.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/parallel.h"
#include "kernels/quantized/variants.h"

typedef struct pool_job {
  const ptec_qpool *w;
  int32_t lo, hi;
} pool_job;

static void pool_rows(const void *arg, int64_t r0, int64_t r1) {
  const pool_job *job = arg;
  const ptec_qpool *w = job->w;
  const ptec_q_view4 X = w->x, Y = w->y;
  const int8_t *x = w->in->data;
  int8_t *y = w->out->data;
  const int64_t C = X.c;
  const __m512i lo = _mm512_set1_epi8((char)job->lo), hi = _mm512_set1_epi8((char)job->hi);
  for (int64_t r = r0; r < r1; r++) {
    const int64_t n = r / Y.h, oy = r % Y.h;
    for (int64_t ox = 0; ox < Y.w; ox++) {
      const int64_t iy0 = oy * w->stride[0] - w->pad[0], ix0 = ox * w->stride[1] - w->pad[2];
      const int8_t *xn = x + n * X.sn;
      int8_t *yp = y + n * Y.sn + oy * Y.sh + ox * Y.sw;
      for (int64_t c0 = 0; c0 < C; c0 += 64) {
        const __mmask64 m = C - c0 >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (C - c0)) - 1);
        __m512i best = _mm512_set1_epi8(INT8_MIN);
        for (int64_t ky = 0; ky < w->kernel[0]; ky++) {
          const int64_t iy = iy0 + ky * w->dilation[0];
          if (iy < 0 || iy >= X.h) continue;
          for (int64_t kx = 0; kx < w->kernel[1]; kx++) {
            const int64_t ix = ix0 + kx * w->dilation[1];
            if (ix < 0 || ix >= X.w) continue;
            best = _mm512_max_epi8(best, _mm512_maskz_loadu_epi8(m, xn + iy * X.sh + ix * X.sw + c0));
          }
        }
        _mm512_mask_storeu_epi8(yp + c0, m, _mm512_min_epi8(_mm512_max_epi8(best, lo), hi));
      }
    }
  }
}

bool ptec_qmax_pool_s8_avx512(const ptec_qpool *w, int32_t lo, int32_t hi) {
  if (w->in->dtype != PTEC_DTYPE_INT8 || w->x.sc != 1 || w->y.sc != 1) return false;
  const pool_job job = {w, lo, hi};
  ptec_parallel_range(NULL, pool_rows, &job, w->y.n * w->y.h);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
