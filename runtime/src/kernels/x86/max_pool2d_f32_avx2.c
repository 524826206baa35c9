/*
 * AVX2 variant of max_pool2d_with_indices on float32, for CPUs without AVX-512 (and
 * valgrind, which does not emulate it): max_pool2d_f32_avx512.c's walk on eight lanes.
 * Masked loads (VMASKMOVPS does not touch memory in masked lanes) for taps in the padding;
 * stride 2 deinterleaves sixteen loaded columns with one shuffle and one permute. The same
 * rule per lane (take a tap when v > max, v is NaN, or it is the lane's first tap inside
 * the input), so values and indices are the reference's bit for bit; the same calls
 * qualify (rows contiguous, dilation 1, stride along rows 1 or 2).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <math.h>

#include "kernels/x86/max_pool2d_f32_x86.h"

/* Lanes i with lo <= i < hi, as all-ones 32-bit lanes (bounds clipped to int32 range). */
static inline __m256i lane_range(int64_t lo, int64_t hi) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  lo = lo < -1 ? -1 : lo > 9 ? 9 : lo;
  hi = hi < -1 ? -1 : hi > 9 ? 9 : hi;
  return _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), iota),
                          _mm256_cmpgt_epi32(iota, _mm256_set1_epi32((int)lo - 1)));
}

static void pool_row(const pool_job *j, const float *xp, float *yp, int64_t *ip, int64_t oh) {
  const pool_params *pp = j->pp;
  const view4 I = pp->in, O = pp->out;
  const int64_t s = pp->s[1], kw = pp->k[1], pw = pp->p[1];
  int64_t ih0 = oh * pp->s[0] - pp->p[0];
  int64_t ih1 = ih0 + pp->k[0] > I.h ? I.h : ih0 + pp->k[0];
  if (ih0 < 0) ih0 = 0;
  const __m256i step = _mm256_setr_epi32(0, (int)s, 2 * (int)s, 3 * (int)s, 4 * (int)s,
                                         5 * (int)s, 6 * (int)s, 7 * (int)s);
  for (int64_t ow0 = 0; ow0 < O.w; ow0 += 8) {
    const __m256i out = lane_range(0, O.w - ow0);
    __m256 best = _mm256_set1_ps(-INFINITY);
    __m256i idx = _mm256_setzero_si256(), set = _mm256_setzero_si256();
    for (int64_t ih = ih0; ih < ih1; ih++) {
      const float *row = xp + ih * I.sh;
      for (int64_t kx = 0; kx < kw; kx++) {
        int64_t c0 = ow0 * s - pw + kx; /* column of lane 0 */
        __m256 v;
        __m256i valid;
        if (s == 1) {
          valid = _mm256_and_si256(lane_range(-c0, I.w - c0), out);
          v = _mm256_maskload_ps(row + c0, valid);
        } else {
          __m256 lo = _mm256_maskload_ps(row + c0, lane_range(-c0, I.w - c0));
          __m256 hi = _mm256_maskload_ps(row + c0 + 8, lane_range(-c0 - 8, I.w - c0 - 8));
          /* [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6] -> [lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6] */
          __m256 even = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
          int64_t first = c0 >= 0 ? 0 : (1 - c0) / 2, end = I.w - c0 <= 0 ? 0 : (I.w - c0 + 1) / 2;
          valid = _mm256_and_si256(lane_range(first, end), out);
        }
        __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ), nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
        __m256i take = _mm256_and_si256(
            valid, _mm256_or_si256(_mm256_castps_si256(_mm256_or_ps(gt, nan)),
                                   _mm256_xor_si256(set, _mm256_set1_epi32(-1))));
        best = _mm256_blendv_ps(best, v, _mm256_castsi256_ps(take));
        __m256i cand = _mm256_add_epi32(_mm256_set1_epi32((int32_t)(ih * I.w + c0)), step);
        idx = _mm256_blendv_epi8(idx, cand, take);
        set = _mm256_or_si256(set, valid);
      }
    }
    _mm256_maskstore_ps(yp + ow0, out, best);
    _mm256_maskstore_epi64((long long *)(ip + ow0), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(out)),
                           _mm256_cvtepi32_epi64(_mm256_castsi256_si128(idx)));
    _mm256_maskstore_epi64((long long *)(ip + ow0 + 4),
                           _mm256_cvtepi32_epi64(_mm256_extracti128_si256(out, 1)),
                           _mm256_cvtepi32_epi64(_mm256_extracti128_si256(idx, 1)));
  }
}

bool ptec_max_pool2d_f32_avx2(const float *x, float *y, int64_t *yi, view4 X,
                              const pool_params *pp, const struct ptec_parallel_for *par) {
  return max_pool_run(x, y, yi, X, pp, par);
}

#endif /* PTEC_KERNELS_X86 */
