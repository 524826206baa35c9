/* ptec::linear_8da4w.out(Tensor x, Tensor weight, Tensor scales, Tensor? bias, *,
 *   Tensor(a!) out): ExecuTorch's "8da4w" linear (llm_quant.h has the arithmetic).
 * x [..., K] fp32 with K a multiple of 32, weight [N, K / 2] uint8 (int4 packed
 * two per byte), scales [N, K / 32] fp32, wsum [N] fp32 (each output's scaled weight
 * sum, the zero point's term: llm_quant.h), bias [N] or None. Each row of x is
 * quantized to int8 with its own scale and zero point, then multiplied by the
 * int4 weights in int32 per group of 32; the x86 AVX2 and the AArch64 SDOT
 * variants give the same floats bit for bit. */
#include "kernels/llm/llm_checks.h"
#include "kernels/llm/llm_quant.h"
#include "kernels/ops_decl.h"
#include "kernels/parallel.h"
#include "kernels/portable/common.h"
#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"
#endif

/* Outputs [n0, n1) of rows m0 .. m0 + rows - 1 (rows <= PTEC_LLM_ROWS): each row's dynamic
 * quantization, then per chunk `v`'s block functions on whole blocks (all the rows at
 * once: a weight block unpacked once serves them all) and the reference loop on the
 * rest, then the zero point's term, xs and b. */
static void row_block(const ptec_llm_8da4w *p, int64_t m0, int rows, int64_t n0, int64_t n1,
                      const ptec_llm_8da4w_variant *v) {
  int8_t q[PTEC_LLM_ROWS][PTEC_LLM_CHUNK];
  int32_t qsum[PTEC_LLM_ROWS][PTEC_LLM_CHUNK / PTEC_LLM_GROUP];
  ptec_llm_act_q aq[PTEC_LLM_ROWS];
  ptec_llm_chunk c[PTEC_LLM_ROWS];
  const int64_t G = p->K / PTEC_LLM_GROUP;
  float *out = p->out + m0 * p->N;
  for (int r = 0; r < rows; r++) {
    const float *x = p->x + (m0 + r) * p->K;
    aq[r] = v != NULL && v->params != NULL ? v->params(x, p->K) : ptec_llm_act_params(x, p->K);
    for (int64_t n = n0; n < n1; n++) out[r * p->N + n] = 0.0f;
  }
  for (int64_t k0 = 0; k0 < p->K; k0 += PTEC_LLM_CHUNK) {
    const int64_t len = p->K - k0 < PTEC_LLM_CHUNK ? p->K - k0 : PTEC_LLM_CHUNK;
    for (int r = 0; r < rows; r++) {
      const float *x = p->x + (m0 + r) * p->K + k0;
      c[r] = (ptec_llm_chunk){q[r], qsum[r], k0 / PTEC_LLM_GROUP, len / PTEC_LLM_GROUP};
      if (v != NULL && v->quantize != NULL) {
        v->quantize(x, len, aq[r], q[r], qsum[r]);
        continue;
      }
      ptec_llm_act_quantize(x, len, aq[r], q[r]);
      for (int64_t g = 0; g < c[r].groups; g++) {
        int32_t sq = 0;
        for (int j = 0; j < PTEC_LLM_GROUP; j++) sq += q[r][g * PTEC_LLM_GROUP + j];
        qsum[r][g] = sq;
      }
    }
    int64_t n = n0;
    for (int i = 0; i < 2; i++)
      if (v != NULL && v->block[i] > 0)
        for (; n + v->block[i] <= n1; n += v->block[i]) v->fn[i](p, n, c, rows, out);
    for (int r = 0; r < rows; r++)
      for (int64_t t = n; t < n1; t++)
        out[r * p->N + t] = ptec_llm_8da4w_chunk(p->w + t * (p->K / 2) + k0 / 2,
                                                 p->scales + t * G + c[r].g0, q[r],
                                                 c[r].groups, out[r * p->N + t]);
  }
  for (int r = 0; r < rows; r++)
    for (int64_t n = n0; n < n1; n++)
      out[r * p->N + n] = ptec_llm_8da4w_finish(out[r * p->N + n], aq[r], p->wsum[n], p->bias, n);
}

void ptec_llm_8da4w_rows(const ptec_llm_8da4w *p, int64_t n0, int64_t n1,
                         const ptec_llm_8da4w_variant *v) {
  /* Several rows (a prompt): PTEC_LLM_SPAN outputs at a time for every row, so their
   * weights come from cache for the row blocks after the first (each row's quantization
   * is redone per span: K steps against SPAN x K multiplies). */
  const int64_t span = p->M > 1 ? PTEC_LLM_SPAN : n1 - n0;
  const int R = v != NULL ? v->rows : 1;
  for (int64_t s0 = n0; s0 < n1; s0 += span) {
    const int64_t s1 = n1 - s0 < span ? n1 : s0 + span;
    for (int64_t m = 0; m < p->M; m += R)
      row_block(p, m, p->M - m < R ? (int)(p->M - m) : R, s0, s1, v);
  }
}

void ptec_llm_linear_8da4w_ref(const ptec_llm_8da4w *p, int64_t n0, int64_t n1) {
  ptec_llm_8da4w_rows(p, n0, n1, NULL);
}

/* Units [b, e) of PTEC_LLM_UNIT outputs, on this CPU's best variant. Each thread
 * quantizes the activations itself (M x K steps, small next to N x K). */
static void outputs(const void *job, int64_t b, int64_t e) {
  const ptec_llm_8da4w *p = job;
  int64_t n1 = e * PTEC_LLM_UNIT < p->N ? e * PTEC_LLM_UNIT : p->N;
#if PTEC_KERNELS_X86
  if (ptec_x86_has_avx512_vnni()) {
    ptec_llm_linear_8da4w_avx512(p, b * PTEC_LLM_UNIT, n1);
    return;
  }
  if (ptec_x86_has_avx2_fma()) {
    ptec_llm_linear_8da4w_avx2(p, b * PTEC_LLM_UNIT, n1);
    return;
  }
#elif PTEC_KERNELS_NEON_DOTPROD
  ptec_llm_linear_8da4w_dotprod(p, b * PTEC_LLM_UNIT, n1);
  return;
#endif
  ptec_llm_linear_8da4w_ref(p, b * PTEC_LLM_UNIT, n1);
}

ptec_status ptec_kernel_linear_8da4w_out(ptec_kernel_context *ctx) {
  const ptec_tensor *x = ptec_arg_tensor(ctx, 0), *w = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *s = ptec_arg_tensor(ctx, 2), *ws = ptec_arg_tensor(ctx, 3);
  const ptec_tensor *b = ptec_arg_opt_tensor(ctx, 4);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  int64_t K = x->rank >= 1 ? x->sizes[x->rank - 1] : 0;
  PTEC_CHECK(ctx, K > 0 && K % PTEC_LLM_GROUP == 0, PTEC_STATUS_SHAPE_MISMATCH,
             "x's last size %lld must be a positive multiple of %d", (long long)K,
             PTEC_LLM_GROUP);
  int64_t M = 0;
  PTEC_TRY(ptec_llm_check_linear(ctx, x, w, PTEC_DTYPE_UINT8, K / 2, s, K / PTEC_LLM_GROUP, b,
                                 out, &M));
  PTEC_TRY(ptec_llm_check_wsum(ctx, ws, w->sizes[0]));
  ptec_llm_8da4w p = {x->data, w->data, s->data, ws->data, b != NULL ? b->data : NULL,
                      out->data, M, w->sizes[0], K};
  ptec_parallel_chunks(ctx->parallel, outputs, &p, (p.N + PTEC_LLM_UNIT - 1) / PTEC_LLM_UNIT,
                       PTEC_LLM_SHARES);
  return PTEC_STATUS_OK;
}
