/* ptec::embedding_4w.out(Tensor weight, Tensor scales, Tensor indices, *,
 *   Tensor(a!) out): rows of an int4 table packed as llm_quant.h says
 * ([V, D / 2] uint8, groups of 32), one fp32 scale per row and group
 * ([V, D / 32]), dequantized as they are gathered: out = (nibble - 8) * s.
 * The same weight and scales serve a tied LM head (ptec::linear_8da4w). */
#include "kernels/llm/llm_checks.h"
#include "kernels/llm/llm_quant.h"
#include "kernels/ops_decl.h"
#include "kernels/portable/common.h"

ptec_status ptec_kernel_embedding_4w_out(ptec_kernel_context *ctx) {
  const ptec_tensor *w = ptec_arg_tensor(ctx, 0), *s = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *idx = ptec_arg_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_CHECK(ctx, s->rank == 2 && s->sizes[1] > 0, PTEC_STATUS_SHAPE_MISMATCH,
             "scales must be [V, D / %d]", PTEC_LLM_GROUP);
  int64_t G = s->sizes[1], D = G * PTEC_LLM_GROUP;
  PTEC_TRY(ptec_llm_check_embedding(ctx, w, PTEC_DTYPE_UINT8, D / 2, s, G, idx, D, out));
  const uint8_t *wd = w->data;
  const float *sd = s->data;
  float *o = out->data;
  for (size_t i = 0; i < idx->numel; i++) {
    int64_t row = ptec_load_i64(idx->data, idx->dtype, (int64_t)i);
    for (int64_t g = 0; g < G; g++) {
      const uint8_t *b = wd + row * (D / 2) + g * (PTEC_LLM_GROUP / 2);
      float scale = sd[row * G + g];
      float *dst = o + (int64_t)i * D + g * PTEC_LLM_GROUP;
      for (int j = 0; j < PTEC_LLM_GROUP / 2; j++) {
        dst[j] = (float)((b[j] & 15) - 8) * scale;
        dst[j + PTEC_LLM_GROUP / 2] = (float)((b[j] >> 4) - 8) * scale;
      }
    }
  }
  return PTEC_STATUS_OK;
}
