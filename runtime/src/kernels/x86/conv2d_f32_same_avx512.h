/*
 * Where the taps of sixteen outputs of a "same" stride-1 float convolution
 * (output plane as large as the input, NCHW, rows contiguous) are, for the
 * AVX-512 kernels that read the input planes in place
 * (depthwise_conv2d_f32_direct_avx512.c, conv2d_f32_implicit_avx512.c).
 * Included only by *_avx512.c files (compiled with AVX-512 F/BW/VL).
 *
 * Outputs are taken along the flattened plane, across rows: output
 * q = oy * w + ox's tap (ky, kx) is input q + dy * w + dx (dy = ky dil - pad,
 * dx = kx dil - pad), read where iy = oy + dy and ix = ox + dx are inside the
 * image. The address of a masked lane may lie outside the plane; AVX-512
 * masked loads do not touch those lanes.
 */
#ifndef PTEC_KERNELS_X86_CONV2D_F32_SAME_AVX512_H
#define PTEC_KERNELS_X86_CONV2D_F32_SAME_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "kernels/portable/variants.h"

/* For outputs q .. q + 15 of a plane of P = h * w (lanes past P: none), tap
 * t = ky * kw + kx: m[t * ms] the lanes to read, off[t * os] = q + dy w + dx. */
static inline void ptec_avx512_same_taps(const ptec_conv_f32 *p, int64_t q, uint32_t *m,
                                         int64_t ms, int64_t *off, int64_t os) {
  const int64_t left = p->h * p->w_ - q;
  const __mmask16 tail =
      left <= 0 ? 0 : left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
  const __m512i wv = _mm512_set1_epi32((int)p->w_), hv = _mm512_set1_epi32((int)p->h);
  /* Row and column of each lane: q's, then carried across row ends. */
  __m512i oy = _mm512_set1_epi32((int)(q / p->w_)),
          ox = _mm512_add_epi32(_mm512_set1_epi32((int)(q % p->w_)),
                                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                  14, 15));
  for (__mmask16 c; (c = _mm512_cmpge_epi32_mask(ox, wv)) != 0;) {
    ox = _mm512_mask_sub_epi32(ox, c, ox, wv);
    oy = _mm512_mask_add_epi32(oy, c, oy, _mm512_set1_epi32(1));
  }
  for (int64_t ky = 0; ky < p->kh; ky++) {
    const int64_t dy = ky * p->dil[0] - p->pad[0];
    /* Unsigned compares: a row or column below 0 wraps past h or w. */
    const __mmask16 rm =
        _mm512_mask_cmplt_epu32_mask(tail, _mm512_add_epi32(oy, _mm512_set1_epi32((int)dy)), hv);
    for (int64_t kx = 0; kx < p->kw; kx++) {
      const int64_t dx = kx * p->dil[1] - p->pad[1], t = ky * p->kw + kx;
      m[t * ms] = _mm512_mask_cmplt_epu32_mask(rm, _mm512_add_epi32(ox, _mm512_set1_epi32((int)dx)),
                                               wv);
      off[t * os] = q + dy * p->w_ + dx;
    }
  }
}

/* Lanes [lo, hi) of a load of n <= 64 lanes from input column `base` whose
 * columns are inside [0, w) (the row-by-row kernels' masks). */
static inline uint64_t ptec_avx512_cols_inside(int64_t base, int64_t n, int64_t w) {
  const int64_t lo = base < 0 ? -base : 0, hi = w - base < n ? w - base : n;
  if (hi <= lo) return 0;
  const uint64_t upto = hi >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << hi) - 1;
  return upto & ~(((uint64_t)1 << lo) - 1);
}

/* Whether p is such a convolution with rows and planes contiguous (any
 * groups, kernel layout or dilation). */
static inline bool ptec_avx512_same_plane(const ptec_conv_f32 *p) {
  return p->stride[0] == 1 && p->stride[1] == 1 && p->oh == p->h && p->ow == p->w_ &&
         p->xs[3] == 1 && p->xs[2] == p->w_ && p->ys[3] == 1 && p->ys[2] == p->ow &&
         p->h < (1 << 28) && p->w_ < (1 << 28) && p->h * p->w_ < (1 << 30);
}

#endif
