/* ptec::linear_8da4w.out(Tensor x, Tensor weight, Tensor scales, Tensor? bias, *,
 *   Tensor(a!) out): ExecuTorch's "8da4w" linear (llm_quant.h has the arithmetic).
 * x [..., K] fp32 with K a multiple of 32, weight [N, K / 2] uint8 (int4 packed
 * two per byte), scales [N, K / 32] fp32, bias [N] or None. Each row of x is
 * quantized to int8 with its own scale and zero point, then multiplied by the
 * int4 weights in int32 per group of 32; the x86 AVX2 variant gives the same
 * floats bit for bit. */
#include "kernels/llm/llm_checks.h"
#include "kernels/llm/llm_quant.h"
#include "kernels/ops_decl.h"
#include "kernels/portable/common.h"
#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"
#endif

void ptec_llm_linear_8da4w_ref(const ptec_llm_8da4w *p) {
  int16_t d[PTEC_LLM_CHUNK];
  int64_t G = p->K / PTEC_LLM_GROUP;
  for (int64_t m = 0; m < p->M; m++) {
    const float *x = p->x + m * p->K;
    float *out = p->out + m * p->N;
    ptec_llm_act_q q = ptec_llm_act_params(x, p->K);
    for (int64_t n = 0; n < p->N; n++) out[n] = 0.0f;
    for (int64_t k0 = 0; k0 < p->K; k0 += PTEC_LLM_CHUNK) {
      int64_t len = p->K - k0 < PTEC_LLM_CHUNK ? p->K - k0 : PTEC_LLM_CHUNK;
      ptec_llm_act_quantize(x + k0, len, q, d);
      for (int64_t n = 0; n < p->N; n++)
        out[n] = ptec_llm_8da4w_chunk(p->w + n * (p->K / 2) + k0 / 2,
                                      p->scales + n * G + k0 / PTEC_LLM_GROUP, d,
                                      len / PTEC_LLM_GROUP, out[n]);
    }
    for (int64_t n = 0; n < p->N; n++) out[n] = ptec_llm_8da4w_finish(out[n], q.scale, p->bias, n);
  }
}

ptec_status ptec_kernel_linear_8da4w_out(ptec_kernel_context *ctx) {
  const ptec_tensor *x = ptec_arg_tensor(ctx, 0), *w = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *s = ptec_arg_tensor(ctx, 2), *b = ptec_arg_opt_tensor(ctx, 3);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  int64_t K = x->rank >= 1 ? x->sizes[x->rank - 1] : 0;
  PTEC_CHECK(ctx, K > 0 && K % PTEC_LLM_GROUP == 0, PTEC_STATUS_SHAPE_MISMATCH,
             "x's last size %lld must be a positive multiple of %d", (long long)K,
             PTEC_LLM_GROUP);
  int64_t M = 0;
  PTEC_TRY(ptec_llm_check_linear(ctx, x, w, PTEC_DTYPE_UINT8, K / 2, s, K / PTEC_LLM_GROUP, b,
                                 out, &M));
  ptec_llm_8da4w p = {x->data, w->data, s->data, b != NULL ? b->data : NULL,
                      out->data, M, w->sizes[0], K};
#if PTEC_KERNELS_X86
  if (ptec_x86_has_avx2_fma()) {
    ptec_llm_linear_8da4w_avx2(&p);
    return PTEC_STATUS_OK;
  }
#endif
  ptec_llm_linear_8da4w_ref(&p);
  return PTEC_STATUS_OK;
}
