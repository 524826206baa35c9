/*
 * AVX2 variant of ptec::linear_8da4w (kernels/llm/op_linear_8da4w.c), equal to
 * the reference bit for bit (llm_quant.h: the integer group dots are exact,
 * the float steps are the same IEEE operations in the same order per output).
 *
 * Eight outputs at a time: for each group of 32 input channels, the eight
 * weight rows' 16 packed bytes are widened to int16 and split into nibbles
 * (0..15, no interleave: llm_quant.h's packing), multiplied with the chunk's
 * centred activations d = q - zp (int16) by VPMADDWD; a horizontal-add tree
 * turns the eight rows' lane sums into one vector of eight group dots. The
 * nibble offset 8 comes off once per group as 8 * sum(d) (the same integer:
 * sum d * (u - 8) = sum d * u - 8 * sum d). Then acc += (float)dot * scale for
 * the eight outputs at once, as the reference does for each.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>

#include "kernels/llm/llm_quant.h"

/* The lane sums of v[0..7] (8 x int32 each) as one vector: element j = sum of v[j]. */
static __m256i hsum8(const __m256i v[8]) {
  __m256i s01 = _mm256_hadd_epi32(v[0], v[1]), s23 = _mm256_hadd_epi32(v[2], v[3]);
  __m256i s45 = _mm256_hadd_epi32(v[4], v[5]), s67 = _mm256_hadd_epi32(v[6], v[7]);
  __m256i t0 = _mm256_hadd_epi32(s01, s23), t1 = _mm256_hadd_epi32(s45, s67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20),
                          _mm256_permute2x128_si256(t0, t1, 0x31));
}

/* One row's 32 weights (16 packed bytes at b) times d[0..31]: 8 int32 lanes. The
 * bytes are widened to 16 bits first (one load-and-extend), so the two nibbles are
 * one AND and one shift each: lane j holds weight j (low) and j + 16 (high). */
static __m256i group_dot(const uint8_t *b, __m256i d0, __m256i d1) {
  __m256i raw = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)b));
  __m256i lo = _mm256_and_si256(raw, _mm256_set1_epi16(15));
  __m256i hi = _mm256_srli_epi16(raw, 4);
  return _mm256_add_epi32(_mm256_madd_epi16(lo, d0), _mm256_madd_epi16(hi, d1));
}

/* Outputs n..n+7 over one chunk (ptec_llm_block_fn). */
void ptec_llm_8da4w_block8_avx2(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c,
                                float *out) {
  const int64_t G = p->K / PTEC_LLM_GROUP, row = p->K / 2;
  const uint8_t *w = p->w + n * row + c->g0 * (PTEC_LLM_GROUP / 2);
  const float *s = p->scales + n * G + c->g0;
  __m256 acc = _mm256_loadu_ps(out + n);
  for (int64_t g = 0; g < c->groups; g++) {
    __m256i d0 = _mm256_loadu_si256((const __m256i *)(c->d + g * PTEC_LLM_GROUP));
    __m256i d1 = _mm256_loadu_si256((const __m256i *)(c->d + g * PTEC_LLM_GROUP + 16));
    const uint8_t *b = w + g * (PTEC_LLM_GROUP / 2);
    __m256i v[8];
    for (int j = 0; j < 8; j++) v[j] = group_dot(b + j * row, d0, d1);
    __m256i dot = _mm256_sub_epi32(hsum8(v), _mm256_set1_epi32(8 * c->dsum[g]));
    const float *sg = s + g;
    __m256 scale = _mm256_setr_ps(sg[0], sg[G], sg[2 * G], sg[3 * G], sg[4 * G], sg[5 * G],
                                  sg[6 * G], sg[7 * G]);
    acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(dot), scale));
  }
  _mm256_storeu_ps(out + n, acc);
}

void ptec_llm_linear_8da4w_avx2(const ptec_llm_8da4w *p, int64_t n0, int64_t n1) {
  static const ptec_llm_8da4w_variant v = {{8, 0}, {ptec_llm_8da4w_block8_avx2, NULL}, NULL, NULL};
  ptec_llm_8da4w_rows(p, n0, n1, &v);
}

#endif /* PTEC_KERNELS_X86 */
