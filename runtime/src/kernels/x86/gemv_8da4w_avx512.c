/*
 * AVX-512 VNNI variant of ptec::linear_8da4w (kernels/llm/op_linear_8da4w.c), equal to
 * the reference bit for bit: the group dots are the same integers, the float steps the
 * same IEEE operations in the same order per output (llm_quant.h).
 *
 * VPDPBUSD multiplies unsigned bytes by signed bytes: the stored nibbles u = w + 8
 * (0..15) are the unsigned side, the quantized activations q (int8) the signed one, and
 * the nibble offset comes off per group (sum q w = sum q u - 8 sum q). The zero point's
 * term is per output, after the groups (llm_quant.h: the weight sums stored with the
 * weights), so the inner loop is two VPDPBUSD per 64 weight bytes and row of x.
 *
 * Sixteen outputs by four groups at a time: one 64-byte load is one output's four groups
 * (a 128-bit lane per group: low nibbles are weights 0..15, high ones 16..31), the
 * activations' four groups rearranged once per step into matching low and high halves.
 * Each lane then holds a quarter of a group's dot; a transpose tree (unpack and add)
 * turns four outputs' registers into one with a whole dot per element, and a 4x4
 * transpose of 128-bit lanes gives, per group, one vector of the sixteen outputs' dots.
 * Then acc += (float)dot * scale for the sixteen outputs at once, group by group in
 * order, as the reference does for each output. A prompt's rows go through up to four
 * at a time: each output's unpacked nibbles and the transposed scales serve them all.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <math.h>

#include "kernels/llm/llm_quant.h"

/* Per 128-bit lane: a's four lane sums, b's, c's, d's -> one element each, in that order. */
static inline __m512i sum4(__m512i a, __m512i b, __m512i c, __m512i d) {
  __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
  __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
}

/* One output's four groups: 64 packed bytes (masked past the chunk) -> the low and high
 * nibbles (lane j: group j's weights 0..15 / 16..31). */
static inline void unpack(const uint8_t *w, __mmask64 m, __m512i *lo, __m512i *hi) {
  const __m512i nib = _mm512_set1_epi8(15);
  const __m512i raw = _mm512_maskz_loadu_epi8(m, w);
  *lo = _mm512_and_si512(raw, nib);
  *hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), nib);
}

/* The chunk's scales of outputs n..n+15 (s: output n's, G apart) transposed: st[16 j + e]
 * = scale of output n + e, group j (groups < `groups` <= 16). A 16 x 16 transpose in four
 * stages of shuffles, once per sixteen groups (a gather per group measured no faster). */
static void scales_by_group(const float *s, int64_t G, int64_t groups, float *st) {
  const __mmask16 m = groups >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << groups) - 1u);
  __m512 r[16], t[16], u[16];
  for (int o = 0; o < 16; o++) r[o] = _mm512_maskz_loadu_ps(m, s + o * G);
  for (int k = 0; k < 8; k++) {
    t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 4; k++) { /* u[4k + c], lane L: outputs 4k..4k+3 of group 4L + c */
    __m512d t0 = _mm512_castps_pd(t[4 * k]), t1 = _mm512_castps_pd(t[4 * k + 1]);
    __m512d t2 = _mm512_castps_pd(t[4 * k + 2]), t3 = _mm512_castps_pd(t[4 * k + 3]);
    u[4 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    u[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    u[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    u[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  for (int c = 0; c < 4; c++) { /* lane L of u[c], u[4 + c], u[8 + c], u[12 + c] */
    __m512 x0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), x1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
    __m512 y0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
    __m512 y1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
    _mm512_storeu_ps(st + 16 * c, _mm512_shuffle_f32x4(x0, y0, 0x88));
    _mm512_storeu_ps(st + 16 * (4 + c), _mm512_shuffle_f32x4(x0, y0, 0xDD));
    _mm512_storeu_ps(st + 16 * (8 + c), _mm512_shuffle_f32x4(x1, y1, 0x88));
    _mm512_storeu_ps(st + 16 * (12 + c), _mm512_shuffle_f32x4(x1, y1, 0xDD));
  }
}

/* A mask of the first n bytes (n <= 0: none, n >= 64: all). */
static inline __mmask64 bytes(int64_t n) {
  if (n <= 0) return 0;
  return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/* Outputs between the weights being read and those prefetched. */
#ifndef AHEAD
#define AHEAD 32
#endif

/* Outputs n..n+15 of R (1..4) rows of x over one chunk. */
static inline __attribute__((always_inline)) void block16(const ptec_llm_8da4w *p, int64_t n,
                                                          const ptec_llm_chunk *c, const int R,
                                                          float *out) {
  const int64_t G = p->K / PTEC_LLM_GROUP, row = p->K / 2, groups = c[0].groups;
  const uint8_t *w = p->w + n * row + c[0].g0 * (PTEC_LLM_GROUP / 2);
  const float *s = p->scales + n * G + c[0].g0;
  float st[16 * 16];
  __m512 acc[4];
  for (int r = 0; r < R; r++) acc[r] = _mm512_loadu_ps(out + r * p->N + n);
  for (int64_t g = 0; g < groups; g += 4) {
    if (g % 16 == 0) /* the next sixteen groups' scales, by group */
      scales_by_group(s + g, G, groups - g < 16 ? groups - g : 16, st);
    const int64_t ng = groups - g < 4 ? groups - g : 4; /* groups in this step */
    __m512i qlo[4], qhi[4]; /* lane j: group g + j's activations 0..15 / 16..31 */
    for (int r = 0; r < R; r++) {
      const int8_t *qg = c[r].q + g * PTEC_LLM_GROUP;
      const __m512i q0 = _mm512_maskz_loadu_epi8(bytes(32 * ng), qg);
      const __m512i q1 = _mm512_maskz_loadu_epi8(bytes(32 * ng - 64), qg + 64);
      qlo[r] = _mm512_shuffle_i32x4(q0, q1, 0x88);
      qhi[r] = _mm512_shuffle_i32x4(q0, q1, 0xDD);
    }
    const __mmask64 wm = bytes(16 * ng);
    const uint8_t *wg = w + g * (PTEC_LLM_GROUP / 2);
    if (n + 16 + AHEAD <= p->N) /* the same bytes of the rows AHEAD outputs on */
      for (int i = 0; i < 16; i++)
        _mm_prefetch((const char *)(wg + (AHEAD + i) * row), _MM_HINT_T0);
    __m512i sums[4][4]; /* sums[r][i]: lane j, element e = output 4i + e's dot of group g + j */
    for (int i = 0; i < 4; i++) {
      __m512i lo[4], hi[4], d[4][4];
      for (int o = 0; o < 4; o++) unpack(wg + (4 * i + o) * row, wm, &lo[o], &hi[o]);
      for (int r = 0; r < R; r++) {
        for (int o = 0; o < 4; o++)
          d[r][o] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[o],
                                                            qlo[r]), hi[o], qhi[r]);
        sums[r][i] = sum4(d[r][0], d[r][1], d[r][2], d[r][3]);
      }
    }
    for (int r = 0; r < R; r++) {
      const __m512i x0 = _mm512_shuffle_i32x4(sums[r][0], sums[r][1], 0x44);
      const __m512i x1 = _mm512_shuffle_i32x4(sums[r][0], sums[r][1], 0xEE);
      const __m512i y0 = _mm512_shuffle_i32x4(sums[r][2], sums[r][3], 0x44);
      const __m512i y1 = _mm512_shuffle_i32x4(sums[r][2], sums[r][3], 0xEE);
      __m512i dots[4]; /* dots[j]: the sixteen outputs' dots of group g + j */
      dots[0] = _mm512_shuffle_i32x4(x0, y0, 0x88);
      dots[1] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
      dots[2] = _mm512_shuffle_i32x4(x1, y1, 0x88);
      dots[3] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
      for (int64_t j = 0; j < ng; j++) {
        const __m512i dot = _mm512_sub_epi32(dots[j], _mm512_set1_epi32(8 * c[r].qsum[g + j]));
        const __m512 scale = _mm512_loadu_ps(st + 16 * ((g + j) % 16));
        acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(_mm512_cvtepi32_ps(dot), scale));
      }
    }
  }
  for (int r = 0; r < R; r++) _mm512_storeu_ps(out + r * p->N + n, acc[r]);
}

/* Outputs n..n+15 of `rows` rows over one chunk (ptec_llm_block_fn). */
static void sixteen_outputs(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c,
                            int rows, float *out) {
  switch (rows) {
  case 1: block16(p, n, c, 1, out); break;
  case 2: block16(p, n, c, 2, out); break;
  case 3: block16(p, n, c, 3, out); break;
  default: block16(p, n, c, 4, out); break;
  }
}

/* ptec_llm_act_params with sixteen lanes: min and max are exact in any order (NaNs
 * never taken: MINPS returns its second operand, the running value, for a NaN; equal
 * zeros keep the running +0 as the scalar code does). */
static ptec_llm_act_q params(const float *x, int64_t K) {
  __m512 lo = _mm512_setzero_ps(), hi = lo;
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + k); /* lanes past K: 0, which changes nothing */
    lo = _mm512_min_ps(v, lo);
    hi = _mm512_max_ps(v, hi);
  }
  ptec_llm_act_q q;
  const float l = _mm512_reduce_min_ps(lo), h = _mm512_reduce_max_ps(hi);
  q.scale = (h - l) / 255.0f;
  if (!(q.scale > 0.0f) || !isfinite(q.scale)) q.scale = 1.0f;
  q.zp = ptec_llm_clampf(rintf(-128.0f - l / q.scale), -128.0f, 127.0f);
  return q;
}

/* ptec_llm_act_quantize plus the per-group sums, 32 values (a group) per step: the same
 * IEEE operations per value (divide, round to nearest even, add zp, clamp with NaN to
 * -128: MAXPS returns its second operand for a NaN). */
static void quantize(const float *x, int64_t len, ptec_llm_act_q aq, int8_t *q, int32_t *qsum) {
  const __m512 scale = _mm512_set1_ps(aq.scale), zp = _mm512_set1_ps(aq.zp);
  const __m512 lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
  for (int64_t g = 0; g < len / PTEC_LLM_GROUP; g++) {
    __m512i qs = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
      const int64_t k = g * PTEC_LLM_GROUP + 16 * h;
      __m512 v = _mm512_roundscale_ps(_mm512_div_ps(_mm512_loadu_ps(x + k), scale),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, zp), lo), hi);
      const __m512i qi = _mm512_cvttps_epi32(v);
      _mm_storeu_si128((__m128i *)(q + k), _mm512_cvtepi32_epi8(qi));
      qs = _mm512_add_epi32(qs, qi);
    }
    qsum[g] = _mm512_reduce_add_epi32(qs);
  }
}

void ptec_llm_linear_8da4w_avx512(const ptec_llm_8da4w *p, int64_t n0, int64_t n1) {
  static const ptec_llm_8da4w_variant v = {
      {16, 8}, {sixteen_outputs, ptec_llm_8da4w_block8_avx2}, PTEC_LLM_ROWS, params, quantize};
  ptec_llm_8da4w_rows(p, n0, n1, &v);
}

#endif /* PTEC_KERNELS_X86 */
