/* ptec::linear_int8w.out(Tensor x, Tensor weight, Tensor scales, Tensor? bias, *,
 *   Tensor(a!) out): int8 weight-only linear (llm_quant.h). x [..., K] fp32,
 * weight [N, K] int8, scales [N] fp32 (one per output channel), bias [N] or None.
 * out[m, n] = (sum_k x[m, k] * w[n, k]) * s[n] + b[n]. The dot is in fp32; the
 * AVX2 and NEON variants sum in lanes with FMA, so they differ by rounding
 * (tests/python/test_llm_quant.py states the tolerance). */
#include "kernels/llm/llm_checks.h"
#include "kernels/llm/llm_quant.h"
#include "kernels/ops_decl.h"
#include "kernels/parallel.h"
#include "kernels/portable/common.h"
#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"
#endif

void ptec_llm_int8w_rows(const ptec_llm_int8w *p, int64_t n0, int64_t n1,
                         ptec_llm_int8w_dots_fn dots) {
  float sums[4];
  for (int64_t m = 0; m < p->M; m++) {
    const float *x = p->x + m * p->K;
    float *out = p->out + m * p->N;
    for (int64_t n = n0; n < n1;) {
      int rows = n + 4 <= n1 ? 4 : 1;
      dots(x, p->w + n * p->K, p->K, rows, sums);
      for (int r = 0; r < rows; r++, n++) {
        float v = sums[r] * p->scales[n];
        out[n] = p->bias != NULL ? v + p->bias[n] : v;
      }
    }
  }
}

static void dots_ref(const float *x, const int8_t *w, int64_t K, int rows, float *sums) {
  for (int r = 0; r < rows; r++) {
    float acc = 0.0f;
    for (int64_t k = 0; k < K; k++) acc += x[k] * (float)w[r * K + k];
    sums[r] = acc;
  }
}

void ptec_llm_linear_int8w_ref(const ptec_llm_int8w *p, int64_t n0, int64_t n1) {
  ptec_llm_int8w_rows(p, n0, n1, dots_ref);
}

/* Units [b, e) of PTEC_LLM_UNIT outputs, on this CPU's best variant. */
static void outputs(const void *job, int64_t b, int64_t e) {
  const ptec_llm_int8w *p = job;
  int64_t n1 = e * PTEC_LLM_UNIT < p->N ? e * PTEC_LLM_UNIT : p->N;
#if PTEC_KERNELS_X86
  if (ptec_x86_has_avx512_vnni()) {
    ptec_llm_linear_int8w_avx512(p, b * PTEC_LLM_UNIT, n1);
    return;
  }
  if (ptec_x86_has_avx2_fma()) {
    ptec_llm_linear_int8w_avx2(p, b * PTEC_LLM_UNIT, n1);
    return;
  }
#elif PTEC_KERNELS_NEON
  ptec_llm_linear_int8w_neon(p, b * PTEC_LLM_UNIT, n1);
  return;
#endif
  ptec_llm_linear_int8w_ref(p, b * PTEC_LLM_UNIT, n1);
}

ptec_status ptec_kernel_linear_int8w_out(ptec_kernel_context *ctx) {
  const ptec_tensor *x = ptec_arg_tensor(ctx, 0), *w = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *s = ptec_arg_tensor(ctx, 2), *b = ptec_arg_opt_tensor(ctx, 3);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  int64_t M = 0;
  int64_t K = x->rank >= 1 ? x->sizes[x->rank - 1] : 0;
  PTEC_TRY(ptec_llm_check_linear(ctx, x, w, PTEC_DTYPE_INT8, K, s, 0, b, out, &M));
  ptec_llm_int8w p = {x->data, w->data, s->data, b != NULL ? b->data : NULL,
                      out->data, M, w->sizes[0], K};
  ptec_parallel_chunks(ctx->parallel, outputs, &p, (p.N + PTEC_LLM_UNIT - 1) / PTEC_LLM_UNIT,
                       PTEC_LLM_SHARES);
  return PTEC_STATUS_OK;
}
