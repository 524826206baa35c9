/*
 * AVX2 variant of ptec::linear_8da4w (kernels/llm/op_linear_8da4w.c), equal to
 * the reference bit for bit (llm_quant.h: the integer group dots are exact,
 * the float steps are the same IEEE operations in the same order per output).
 *
 * Eight outputs at a time: for each group of 32 input channels, each weight row's 16
 * packed bytes become one 32-byte vector of its nibbles u = w + 8 (low nibbles, weights
 * 0..15, in the low half; high ones, 16..31, in the high half: llm_quant.h's packing),
 * which VPMADDUBSW multiplies by the group's 32 quantized activations q (u unsigned, q
 * signed: a pair's sum is at most 2 * 15 * 128, no saturation) and VPMADDWD by ones
 * sums in int32; a horizontal-add tree turns the eight rows' lane sums into one vector
 * of eight group dots. The nibble offset comes off once per group as 8 * sum(q) (the
 * same integer: sum q (u - 8) = sum q u - 8 sum q). Then acc += (float)dot * scale for
 * the eight outputs at once, as the reference does for each. Two rows of x at a time
 * share each unpacked weight vector (a prompt).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/llm/llm_quant.h"

/* The lane sums of v[0..7] (8 x int32 each) as one vector: element j = sum of v[j]. */
static inline __m256i hsum8(const __m256i v[8]) {
  __m256i s01 = _mm256_hadd_epi32(v[0], v[1]), s23 = _mm256_hadd_epi32(v[2], v[3]);
  __m256i s45 = _mm256_hadd_epi32(v[4], v[5]), s67 = _mm256_hadd_epi32(v[6], v[7]);
  __m256i t0 = _mm256_hadd_epi32(s01, s23), t1 = _mm256_hadd_epi32(s45, s67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20),
                          _mm256_permute2x128_si256(t0, t1, 0x31));
}

/* One row's group: 16 packed bytes at b -> its 32 nibbles in weight order. */
static inline __m256i unpack(const uint8_t *b) {
  const __m128i raw = _mm_loadu_si128((const __m128i *)b), nib = _mm_set1_epi8(15);
  const __m128i lo = _mm_and_si128(raw, nib), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), nib);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

/* sum u q of a group in 8 int32 lanes. */
static inline __m256i group_dot(__m256i u, __m256i q) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), _mm256_set1_epi16(1));
}

/* Outputs n..n+7 of R (1 or 2) rows of x over one chunk. */
static inline __attribute__((always_inline)) void block8(const ptec_llm_8da4w *p, int64_t n,
                                                         const ptec_llm_chunk *c, const int R,
                                                         float *out) {
  const int64_t G = p->K / PTEC_LLM_GROUP, row = p->K / 2;
  const uint8_t *w = p->w + n * row + c[0].g0 * (PTEC_LLM_GROUP / 2);
  const float *s = p->scales + n * G + c[0].g0;
  __m256 acc[2];
  for (int r = 0; r < R; r++) acc[r] = _mm256_loadu_ps(out + r * p->N + n);
  for (int64_t g = 0; g < c[0].groups; g++) {
    __m256i q[2], v[2][8];
    for (int r = 0; r < R; r++)
      q[r] = _mm256_loadu_si256((const __m256i *)(c[r].q + g * PTEC_LLM_GROUP));
    const uint8_t *b = w + g * (PTEC_LLM_GROUP / 2);
    for (int j = 0; j < 8; j++) {
      const __m256i u = unpack(b + j * row);
      for (int r = 0; r < R; r++) v[r][j] = group_dot(u, q[r]);
    }
    const float *sg = s + g;
    const __m256 scale = _mm256_setr_ps(sg[0], sg[G], sg[2 * G], sg[3 * G], sg[4 * G],
                                        sg[5 * G], sg[6 * G], sg[7 * G]);
    for (int r = 0; r < R; r++) {
      __m256i dot = _mm256_sub_epi32(hsum8(v[r]), _mm256_set1_epi32(8 * c[r].qsum[g]));
      acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(_mm256_cvtepi32_ps(dot), scale));
    }
  }
  for (int r = 0; r < R; r++) _mm256_storeu_ps(out + r * p->N + n, acc[r]);
}

/* Outputs n..n+7 of `rows` rows over one chunk (ptec_llm_block_fn): two rows at a time. */
void ptec_llm_8da4w_block8_avx2(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c,
                                int rows, float *out) {
  int r = 0;
  for (; r + 2 <= rows; r += 2) block8(p, n, c + r, 2, out + r * p->N);
  if (r < rows) block8(p, n, c + r, 1, out + r * p->N);
}

void ptec_llm_linear_8da4w_avx2(const ptec_llm_8da4w *p, int64_t n0, int64_t n1) {
  static const ptec_llm_8da4w_variant v = {
      {8, 0}, {ptec_llm_8da4w_block8_avx2, NULL}, PTEC_LLM_ROWS, NULL, NULL};
  ptec_llm_8da4w_rows(p, n0, n1, &v);
}

#endif /* PTEC_KERNELS_X86 */
