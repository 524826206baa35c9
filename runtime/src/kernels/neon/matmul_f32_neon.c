/*
 * NEON variant of op_matmul.c's matmul_f32 (mm, bmm, addmm, linear):
 * C = alpha * (A @ B) + beta * D, float32 (portable/variants.h).
 *
 * Two layouts qualify, and cover linear's weight and mm/addmm's usual
 * operands:
 *   - B's columns contiguous (b_rs == 1, linear's [N, K] weight) and A's
 *     rows contiguous: every output is a dot product; four columns at a
 *     time, two FMA accumulators of four lanes of K per column, the K % 8
 *     tail in scalar;
 *   - B's rows contiguous (b_cs == 1): four rows of C by sixteen columns,
 *     A's values broadcast, B's rows loaded, sixteen FMA accumulators
 *     (columns past the end come from a zero-padded copy of B's row).
 * The epilogue (alpha, beta, D) is the reference's, per element. Sums run
 * in another order than the reference's k = 0..K-1 with fused
 * multiply-adds, hence a tolerance (docs/kernels-cpu.md).
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_NEON
#include <arm_neon.h>
#include <string.h>

#include "kernels/portable/variants.h"

static inline void finish(const ptec_matmul_f32 *p, int64_t i, int64_t j, float acc) {
  float r = p->alpha == 1.0f ? acc : p->alpha * acc;
  if (p->d) {
    float dv = p->d[i * p->d_rs + j * p->d_cs];
    r += p->beta == 1.0f ? dv : p->beta * dv;
  }
  p->c[i * p->c_rs + j * p->c_cs] = r;
}

/* B's columns contiguous: dot products, four columns at a time. */
static void dots(const ptec_matmul_f32 *p) {
  const int64_t K = p->k, kk = K - K % 8;
  for (int64_t i = 0; i < p->m; i++) {
    const float *a = p->a + i * p->a_rs;
    for (int64_t j = 0; j < p->n; j += 4) {
      const float *b[4];
      for (int64_t t = 0; t < 4; t++) b[t] = p->b + (j + t < p->n ? j + t : j) * p->b_cs;
      float32x4_t c[4][2];
      for (int t = 0; t < 4; t++) c[t][0] = c[t][1] = vdupq_n_f32(0.0f);
      for (int64_t k = 0; k < kk; k += 8) {
        float32x4_t x0 = vld1q_f32(a + k), x1 = vld1q_f32(a + k + 4);
        for (int t = 0; t < 4; t++) {
          c[t][0] = vfmaq_f32(c[t][0], x0, vld1q_f32(b[t] + k));
          c[t][1] = vfmaq_f32(c[t][1], x1, vld1q_f32(b[t] + k + 4));
        }
      }
      for (int64_t t = 0; t < 4 && j + t < p->n; t++) {
        float s = vaddvq_f32(vaddq_f32(c[t][0], c[t][1]));
        for (int64_t k = kk; k < K; k++) s += a[k] * b[t][k];
        finish(p, i, j + t, s);
      }
    }
  }
}

/* B's rows contiguous: 4x16 blocks of C, A broadcast. */
static void panels(const ptec_matmul_f32 *p) {
  for (int64_t i0 = 0; i0 < p->m; i0 += 4) {
    int64_t mr = p->m - i0 < 4 ? p->m - i0 : 4;
    const float *a[4];
    for (int64_t r = 0; r < 4; r++) a[r] = p->a + (i0 + (r < mr ? r : 0)) * p->a_rs;
    for (int64_t j0 = 0; j0 < p->n; j0 += 16) {
      int64_t nb = p->n - j0 < 16 ? p->n - j0 : 16;
      float32x4_t c[4][4];
      for (int r = 0; r < 4; r++) c[r][0] = c[r][1] = c[r][2] = c[r][3] = vdupq_n_f32(0.0f);
      const float *b = p->b + j0;
      float pad[16];
      for (int64_t k = 0; k < p->k; k++, b += p->b_rs) {
        const float *bk = b;
        if (nb < 16) {
          memset(pad, 0, sizeof pad);
          memcpy(pad, b, sizeof(float) * (size_t)nb);
          bk = pad;
        }
        float32x4_t b0 = vld1q_f32(bk), b1 = vld1q_f32(bk + 4), b2 = vld1q_f32(bk + 8),
                    b3 = vld1q_f32(bk + 12);
        for (int r = 0; r < 4; r++) {
          float32x4_t x = vdupq_n_f32(a[r][k * p->a_cs]);
          c[r][0] = vfmaq_f32(c[r][0], x, b0);
          c[r][1] = vfmaq_f32(c[r][1], x, b1);
          c[r][2] = vfmaq_f32(c[r][2], x, b2);
          c[r][3] = vfmaq_f32(c[r][3], x, b3);
        }
      }
      for (int64_t r = 0; r < mr; r++) {
        float s[16];
        for (int q = 0; q < 4; q++) vst1q_f32(s + 4 * q, c[r][q]);
        for (int64_t j = 0; j < nb; j++) finish(p, i0 + r, j0 + j, s[j]);
      }
    }
  }
}

bool ptec_matmul_f32_neon(const ptec_matmul_f32 *p) {
  if (p->k < 8 || p->k > INT32_MAX) return false;
  if (p->b_rs == 1 && p->a_cs == 1) dots(p);
  else if (p->b_cs == 1) panels(p);
  else return false;
  return true;
}

#endif /* PTEC_KERNELS_NEON */
