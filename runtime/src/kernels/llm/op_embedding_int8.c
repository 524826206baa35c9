/* ptec::embedding_int8.out(Tensor weight, Tensor scales, Tensor indices, *,
 *   Tensor(a!) out): rows of an int8 table [V, D] with one fp32 scale per row
 * ([V]), dequantized as they are gathered: out[..., j] = w[i, j] * s[i]. The
 * same weight and scales serve a tied LM head (ptec::linear_int8w). */
#include "kernels/llm/llm_checks.h"
#include "kernels/ops_decl.h"
#include "kernels/portable/common.h"

ptec_status ptec_kernel_embedding_int8_out(ptec_kernel_context *ctx) {
  const ptec_tensor *w = ptec_arg_tensor(ctx, 0), *s = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *idx = ptec_arg_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  int64_t D = w->rank == 2 ? w->sizes[1] : 0;
  PTEC_TRY(ptec_llm_check_embedding(ctx, w, PTEC_DTYPE_INT8, D, s, 0, idx, D, out));
  const int8_t *wd = w->data;
  const float *sd = s->data;
  float *o = out->data;
  for (size_t i = 0; i < idx->numel; i++) {
    int64_t row = ptec_load_i64(idx->data, idx->dtype, (int64_t)i);
    const int8_t *src = wd + row * D;
    for (int64_t j = 0; j < D; j++) o[(int64_t)i * D + j] = (float)src[j] * sd[row];
  }
  return PTEC_STATUS_OK;
}
