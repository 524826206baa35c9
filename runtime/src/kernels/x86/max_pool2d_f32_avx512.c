/*
 * AVX-512 variant of max_pool2d_with_indices on float32 (pool_body.h's MAX_POOL), for
 * planes whose rows are contiguous (NCHW): sixteen outputs of a row per vector, each tap
 * (ky, kx) one masked load of the input row (stride 1) or two and an even-lane permute
 * (stride 2). Lanes whose column lies in the padding are masked off: they neither load
 * (masked loads do not touch memory) nor update.
 *
 * Equal to the reference bit for bit, indices included: taps go in the reference's order
 * (rows, then columns); a lane takes a tap when `v > max` or v is NaN (the reference's
 * `v > maxval || v != v`), or when it is the lane's first tap inside the input, which is
 * where the reference starts `best` (with max -inf, the first tap's value is taken
 * either way). With dilation 1 and padding <= k / 2 (pool_setup's rule) every window has
 * a tap inside the input, so every lane is set. Planes are split over threads.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <math.h>

#include "kernels/x86/max_pool2d_f32_x86.h"

/* Bits [lo, hi) of a 32-bit mask, the bounds clipped to [0, 32]. */
static inline uint32_t bit_range(int64_t lo, int64_t hi) {
  lo = lo < 0 ? 0 : lo > 32 ? 32 : lo;
  hi = hi < 0 ? 0 : hi > 32 ? 32 : hi;
  uint64_t m = ((1ull << hi) - 1) & ~((1ull << lo) - 1);
  return (uint32_t)m;
}

/* One output row of one plane. */
static void pool_row(const pool_job *j, const float *xp, float *yp, int64_t *ip, int64_t oh) {
  const pool_params *pp = j->pp;
  const view4 I = pp->in, O = pp->out;
  const int64_t s = pp->s[1], kw = pp->k[1], pw = pp->p[1];
  int64_t ih0 = oh * pp->s[0] - pp->p[0];
  int64_t ih1 = ih0 + pp->k[0];
  ih1 = ih1 > I.h ? I.h : ih1;
  if (ih0 < 0) ih0 = 0;
  const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i step = s == 1 ? iota : _mm512_add_epi32(iota, iota);
  /* Even lanes of two vectors: lane i takes element 2i of (lo, hi). */
  const __m512i even = _mm512_add_epi32(iota, iota);
  for (int64_t ow0 = 0; ow0 < O.w; ow0 += 16) {
    __mmask16 out = (__mmask16)bit_range(0, O.w - ow0);
    /* Each tap column's masks and index offsets, the same for every row of the window. */
    struct {
      uint32_t cols;   /* loaded columns c0 .. c0 + 15 (stride 2: .. c0 + 31) inside */
      __mmask16 valid; /* lanes whose column is inside */
      int64_t c0;      /* column of lane 0 */
    } tap[MAX_POOL_F32_KW];
    for (int64_t kx = 0; kx < kw; kx++) {
      int64_t c0 = ow0 * s - pw + kx;
      tap[kx].c0 = c0;
      tap[kx].cols = bit_range(-c0, I.w - c0);
      /* stride 2: lane i is column c0 + 2i, inside for ceil(-c0/2) <= i < ceil((W-c0)/2) */
      int64_t first = c0 >= 0 ? 0 : (1 - c0) / 2, end = I.w - c0 <= 0 ? 0 : (I.w - c0 + 1) / 2;
      tap[kx].valid = out & (s == 1 ? (__mmask16)tap[kx].cols : (__mmask16)bit_range(first, end));
    }
    __m512 best = _mm512_set1_ps(-INFINITY);
    __m512i idx = _mm512_setzero_si512();
    __mmask16 set = 0;
    for (int64_t ih = ih0; ih < ih1; ih++) {
      const float *row = xp + ih * I.sh;
      for (int64_t kx = 0; kx < kw; kx++) {
        const int64_t c0 = tap[kx].c0;
        const __mmask16 valid = tap[kx].valid;
        __m512 v;
        if (s == 1) {
          v = _mm512_maskz_loadu_ps(valid, row + c0);
        } else {
          __m512 lo = _mm512_maskz_loadu_ps((__mmask16)tap[kx].cols, row + c0);
          __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(tap[kx].cols >> 16), row + c0 + 16);
          v = _mm512_permutex2var_ps(lo, even, hi);
        }
        __mmask16 take = valid & (_mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                                  _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) | (__mmask16)~set);
        best = _mm512_mask_mov_ps(best, take, v);
        idx = _mm512_mask_mov_epi32(
            idx, take, _mm512_add_epi32(_mm512_set1_epi32((int32_t)(ih * I.w + c0)), step));
        set |= valid;
      }
    }
    _mm512_mask_storeu_ps(yp + ow0, out, best);
    _mm512_mask_storeu_epi64(ip + ow0, (__mmask8)out,
                             _mm512_cvtepi32_epi64(_mm512_castsi512_si256(idx)));
    _mm512_mask_storeu_epi64(ip + ow0 + 8, (__mmask8)(out >> 8),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(idx, 1)));
  }
}

bool ptec_max_pool2d_f32_avx512(const float *x, float *y, int64_t *yi, view4 X,
                                const pool_params *pp, const struct ptec_parallel_for *par) {
  return max_pool_run(x, y, yi, X, pp, par);
}

#endif /* PTEC_KERNELS_X86 */
