/* _cdist_forward and _pdist_forward: p-norm distances between rows, in
 * double (p = 0 counts differences, p = inf takes the largest). */
#include <math.h>

#include "kernels/portable/common.h"
#include "kernels/ops_decl.h"

/* The p-norm distance of rows a and b (n elements, strides sa, sb). */
static float distance(const float *a, int64_t sa, const float *b, int64_t sb, int64_t n,
                      double p) {
  double acc = 0.0;
  for (int64_t k = 0; k < n; k++) {
    double d = fabs((double)a[k * sa] - (double)b[k * sb]);
    if (p == 0.0) acc += d != 0.0;
    else if (isinf(p)) acc = d > acc ? d : acc;
    else if (p == 1.0) acc += d;
    else if (p == 2.0) acc += d * d;
    else acc += pow(d, p);
  }
  if (p == 0.0 || p == 1.0 || isinf(p)) return (float)acc;
  return (float)(p == 2.0 ? sqrt(acc) : pow(acc, 1.0 / p));
}

/* _cdist_forward.out(Tensor x1, Tensor x2, float p, int? compute_mode, *, Tensor(a!) out):
 * x1 [*, P, M], x2 [*, R, M] (same batch dims) -> [*, P, R]. */
ptec_status ptec_kernel_cdist_forward_out(ptec_kernel_context *ctx) {
  const ptec_tensor *x1 = ptec_arg_tensor(ctx, 0), *x2 = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 4);
  double p = ptec_arg_double(ctx, 2);
  PTEC_TRY(ptec_check_f32(ctx, x1, out));
  PTEC_TRY(ptec_check_dtype(ctx, x2, PTEC_DTYPE_FLOAT32, "x2"));
  PTEC_CHECK(ctx, p >= 0.0, PTEC_STATUS_INVALID_ARGUMENT, "p must be non-negative");
  PTEC_CHECK(ctx, x1->rank >= 2 && x1->rank == x2->rank, PTEC_STATUS_SHAPE_MISMATCH,
             "x1 and x2 must be [*, rows, features] of the same rank");
  uint32_t r = x1->rank;
  int64_t sizes[PTEC_MAX_RANK], batch = 1;
  for (uint32_t d = 0; d + 2 < r; d++) {
    PTEC_CHECK(ctx, x1->sizes[d] == x2->sizes[d], PTEC_STATUS_SHAPE_MISMATCH,
               "batch dims differ (no broadcasting)");
    sizes[d] = x1->sizes[d];
    batch *= sizes[d];
  }
  int64_t rows1 = x1->sizes[r - 2], rows2 = x2->sizes[r - 2], m = x1->sizes[r - 1];
  PTEC_CHECK(ctx, x2->sizes[r - 1] == m, PTEC_STATUS_SHAPE_MISMATCH, "feature sizes differ");
  sizes[r - 2] = rows1;
  sizes[r - 1] = rows2;
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, r, "out"));
  PTEC_CHECK(ctx, ptec_tensor_is_row_major(x1) && ptec_tensor_is_row_major(x2) &&
                      ptec_tensor_is_row_major(out),
             PTEC_STATUS_NOT_SUPPORTED, "tensors must be contiguous");
  const float *a = x1->data, *b = x2->data;
  float *o = out->data;
  for (int64_t n = 0; n < batch; n++)
    for (int64_t i = 0; i < rows1; i++)
      for (int64_t j = 0; j < rows2; j++)
        o[(n * rows1 + i) * rows2 + j] =
            distance(a + (n * rows1 + i) * m, 1, b + (n * rows2 + j) * m, 1, m, p);
  return PTEC_STATUS_OK;
}

/* _pdist_forward.out(Tensor self, float p=2., *, Tensor(a!) out): self [N, M] ->
 * the N (N - 1) / 2 distances of rows i < j, in that order. */
ptec_status ptec_kernel_pdist_forward_out(ptec_kernel_context *ctx) {
  const ptec_tensor *x = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  double p = ptec_arg_double(ctx, 1);
  PTEC_TRY(ptec_check_f32(ctx, x, out));
  PTEC_CHECK(ctx, p >= 0.0, PTEC_STATUS_INVALID_ARGUMENT, "p must be non-negative");
  PTEC_CHECK(ctx, x->rank == 2, PTEC_STATUS_SHAPE_MISMATCH, "self must be [N, M]");
  int64_t n = x->sizes[0], m = x->sizes[1];
  int64_t size[1] = {n * (n - 1) / 2};
  PTEC_TRY(ptec_check_shape(ctx, out, size, 1, "out"));
  int64_t xs[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(x, xs);
  ptec_tensor_strides(out, os);
  const float *a = x->data;
  float *o = out->data;
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = i + 1; j < n; j++, k++)
      o[k * os[0]] = distance(a + i * xs[0], xs[1], a + j * xs[0], xs[1], m, p);
  return PTEC_STATUS_OK;
}
