/* Shared argument checks of the kernels/llm/ operators (llm_checks.h). */
#include "kernels/llm/llm_checks.h"

#include "kernels/portable/common.h"

static ptec_status check_scales(ptec_kernel_context *ctx, const ptec_tensor *scales,
                                int64_t rows, int64_t scols) {
  int64_t want[2] = {rows, scols};
  PTEC_TRY(ptec_check_dtype(ctx, scales, PTEC_DTYPE_FLOAT32, "scales"));
  return ptec_check_shape(ctx, scales, want, scols > 0 ? 2u : 1u, "scales");
}

static bool dense(const ptec_tensor *t) { return t == NULL || ptec_tensor_is_row_major(t); }

ptec_status ptec_llm_check_linear(ptec_kernel_context *ctx, const ptec_tensor *x,
                                  const ptec_tensor *w, int wdtype, int64_t wcols,
                                  const ptec_tensor *scales, int64_t scols,
                                  const ptec_tensor *bias, const ptec_tensor *out, int64_t *M) {
  PTEC_TRY(ptec_check_f32(ctx, x, out));
  PTEC_TRY(ptec_check_dtype(ctx, w, wdtype, "weight"));
  PTEC_CHECK(ctx, w->rank == 2 && w->sizes[1] == wcols && x->rank >= 1,
             PTEC_STATUS_SHAPE_MISMATCH, "weight must be [N, %lld] for x's %d inputs",
             (long long)wcols, x->rank >= 1 ? (int)x->sizes[x->rank - 1] : 0);
  int64_t N = w->sizes[0];
  PTEC_TRY(check_scales(ctx, scales, N, scols));
  int64_t want[PTEC_MAX_RANK];
  ptec_tensor_sizes64(x, want);
  want[x->rank - 1] = N;
  PTEC_TRY(ptec_check_shape(ctx, out, want, x->rank, "out"));
  if (bias != NULL) {
    PTEC_TRY(ptec_check_dtype(ctx, bias, PTEC_DTYPE_FLOAT32, "bias"));
    PTEC_TRY(ptec_check_shape(ctx, bias, &N, 1u, "bias"));
  }
  PTEC_CHECK(ctx, dense(x) && dense(w) && dense(scales) && dense(bias) && dense(out),
             PTEC_STATUS_NOT_SUPPORTED, "tensors must be dense row-major");
  *M = 1; /* rows of x: its leading sizes (also when K is 0: out is then b or 0) */
  for (uint32_t d = 0; d + 1 < x->rank; d++) *M *= x->sizes[d];
  return PTEC_STATUS_OK;
}

ptec_status ptec_llm_check_wsum(ptec_kernel_context *ctx, const ptec_tensor *wsum, int64_t N) {
  PTEC_TRY(ptec_check_dtype(ctx, wsum, PTEC_DTYPE_FLOAT32, "wsum"));
  PTEC_TRY(ptec_check_shape(ctx, wsum, &N, 1u, "wsum"));
  PTEC_CHECK(ctx, dense(wsum), PTEC_STATUS_NOT_SUPPORTED, "wsum must be dense");
  return PTEC_STATUS_OK;
}

ptec_status ptec_llm_check_embedding(ptec_kernel_context *ctx, const ptec_tensor *w,
                                     int wdtype, int64_t wcols, const ptec_tensor *scales,
                                     int64_t scols, const ptec_tensor *idx, int64_t D,
                                     const ptec_tensor *out) {
  PTEC_TRY(ptec_check_f32(ctx, NULL, out));
  PTEC_TRY(ptec_check_dtype(ctx, w, wdtype, "weight"));
  PTEC_CHECK(ctx, w->rank == 2 && w->sizes[1] == wcols, PTEC_STATUS_SHAPE_MISMATCH,
             "weight must be [V, %lld]", (long long)wcols);
  int64_t V = w->sizes[0];
  PTEC_TRY(check_scales(ctx, scales, V, scols));
  PTEC_CHECK(ctx, idx->dtype == PTEC_DTYPE_INT64 || idx->dtype == PTEC_DTYPE_INT32,
             PTEC_STATUS_TYPE_MISMATCH, "indices must be int64 or int32, not %s",
             ptec_dtype_name(idx->dtype));
  PTEC_CHECK(ctx, idx->rank + 1u <= PTEC_MAX_RANK, PTEC_STATUS_NOT_SUPPORTED,
             "indices rank too large");
  int64_t want[PTEC_MAX_RANK];
  ptec_tensor_sizes64(idx, want);
  want[idx->rank] = D;
  PTEC_TRY(ptec_check_shape(ctx, out, want, idx->rank + 1u, "out"));
  PTEC_CHECK(ctx, dense(w) && dense(scales) && dense(idx) && dense(out),
             PTEC_STATUS_NOT_SUPPORTED, "tensors must be dense row-major");
  for (size_t i = 0; i < idx->numel; i++) {
    int64_t row = ptec_load_i64(idx->data, idx->dtype, (int64_t)i);
    PTEC_CHECK(ctx, row >= 0 && row < V, PTEC_STATUS_OUT_OF_RANGE,
               "index %lld out of range for %lld embeddings", (long long)row, (long long)V);
  }
  return PTEC_STATUS_OK;
}
