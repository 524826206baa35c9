/*
 * ptec::quantized_matmul.out(Tensor a, Tensor b, int a_zp, int b_zp,
 *   int multiplier, int shift, int output_zp, *, Tensor(a!) out) -> Tensor(a!)
 *
 * a [..., M, K], b [..., K, N], out [..., M, N], all int8 (out may be
 * int32: see setup); the batch dims broadcast as in torch.matmul (both
 * operands at least 2-D). TOSA MATMUL
 * (int32 accumulator) followed by RESCALE:
 *
 *   acc[..., i, j] = sum_k (a[..., i, k] - a_zp) * (b[..., k, j] - b_zp)
 *   out = clamp(apply_scale_32(sat32(acc), multiplier, shift) + output_zp,
 *               -128, 127)
 *
 * Any dim orders; when a's rows and b's columns are contiguous along K
 * (b transposed in memory) the inner loop is an int32 dot product.
 */
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/matmul_dims.h"
#include "kernels/quantized/qparams.h"
#include "kernels/quantized/variants.h"

enum { ARG_A, ARG_B, ARG_A_ZP, ARG_B_ZP, ARG_MULTIPLIER, ARG_SHIFT, ARG_OUTPUT_ZP, ARG_OUT };

typedef struct matmul {
  const ptec_tensor *a, *b;
  ptec_tensor *out;
  uint32_t batch_rank;
  int64_t batch[PTEC_MAX_RANK];
  int64_t m, k, n;
  int32_t a_zp, b_zp, multiplier, shift, out_zp;
  uint32_t cpu_features; /* the context's, for the variant (ptec.h) */
} matmul;

static ptec_status setup(ptec_kernel_context *ctx, matmul *p) {
  p->a = ptec_arg_tensor(ctx, ARG_A);
  p->b = ptec_arg_tensor(ctx, ARG_B);
  p->out = ptec_arg_tensor(ctx, ARG_OUT);
  p->cpu_features = ctx->cpu_features;
  const ptec_tensor *a = p->a, *b = p->b;
  PTEC_TRY(ptec_check_dtype(ctx, a, PTEC_DTYPE_INT8, "a"));
  PTEC_TRY(ptec_check_dtype(ctx, b, PTEC_DTYPE_INT8, "b"));
  /* out int32 is TOSA MATMUL without its RESCALE: the caller passes the
   * identity scale (multiplier 2^30, shift 30) and output_zp 0. */
  if (p->out->dtype != PTEC_DTYPE_INT32)
    PTEC_TRY(ptec_check_dtype(ctx, p->out, PTEC_DTYPE_INT8, "out"));
  ptec_q_matmul_dims d;
  PTEC_TRY(ptec_q_matmul_dims_of(ctx, a, b, p->out, &d));
  p->batch_rank = d.batch_rank;
  for (uint32_t i = 0; i < d.batch_rank; i++) p->batch[i] = d.batch[i];
  p->m = d.m;
  p->k = d.k;
  p->n = d.n;
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_A_ZP, PTEC_DTYPE_INT8, "a_zp", &p->a_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_B_ZP, PTEC_DTYPE_INT8, "b_zp", &p->b_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, p->out->dtype, "output_zp", &p->out_zp));
  return ptec_q_scale(ctx, ARG_MULTIPLIER, ARG_SHIFT, "output", &p->multiplier, &p->shift);
}

/* The ISA variant (variants.h) over every batch of `it`, int8 out with K
 * contiguous in a's rows and b's columns; false (nothing written) when
 * there is none or it declines. */
static bool matmul_variant(const matmul *p, ptec_iter it, int64_t am, int64_t bn, int64_t ym,
                           int64_t yn) {
  if (p->out->dtype != PTEC_DTYPE_INT8) return false;
  ptec_qfc_s8 fc = {
      .multiplier = &p->multiplier, .shift = &p->shift, .rows = (int32_t)p->m,
      .depth = (int32_t)p->k, .n = (int32_t)p->n, .x_row = (ptrdiff_t)am,
      .w_row = (ptrdiff_t)bn, .y_row = (ptrdiff_t)ym, .y_col = (ptrdiff_t)yn,
      .in_zp = p->a_zp, .w_zp = p->b_zp, .out_zp = p->out_zp, .act_min = INT8_MIN,
      .act_max = INT8_MAX, .cpu_features = p->cpu_features};
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t r = 0; r < it.count; r++) {
      fc.x = (const int8_t *)p->a->data + it.offset[1] + r * it.step[1];
      fc.w = (const int8_t *)p->b->data + it.offset[2] + r * it.step[2];
      fc.y = (int8_t *)p->out->data + it.offset[0] + r * it.step[0];
      if (!PTEC_Q_VARIANT_FC(&fc)) return false; /* decided by parameters: only the first */
    }
  return true;
}

/* b with its rows along N contiguous instead ([K, N] row-major: attention's
 * probabilities @ V): each batch's b is copied transposed into a stack block
 * of TRANSPOSED bytes, which the variant then reads with K contiguous. */
enum { TRANSPOSED = 16384 };

static bool matmul_variant_transposed(const matmul *p, ptec_iter it, int64_t am, int64_t bk,
                                      int64_t ym, int64_t yn) {
  if (p->out->dtype != PTEC_DTYPE_INT8 || p->k * p->n > TRANSPOSED) return false;
  int8_t wt[TRANSPOSED];
  ptec_qfc_s8 fc = {
      .w = wt, .multiplier = &p->multiplier, .shift = &p->shift, .rows = (int32_t)p->m,
      .depth = (int32_t)p->k, .n = (int32_t)p->n, .x_row = (ptrdiff_t)am,
      .w_row = (ptrdiff_t)p->k, .y_row = (ptrdiff_t)ym, .y_col = (ptrdiff_t)yn,
      .in_zp = p->a_zp, .w_zp = p->b_zp, .out_zp = p->out_zp, .act_min = INT8_MIN,
      .act_max = INT8_MAX, .cpu_features = p->cpu_features};
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t r = 0; r < it.count; r++) {
      const int8_t *b = (const int8_t *)p->b->data + it.offset[2] + r * it.step[2];
      for (int64_t k = 0; k < p->k; k++)
        for (int64_t j = 0; j < p->n; j++) wt[j * p->k + k] = b[k * bk + j];
      fc.x = (const int8_t *)p->a->data + it.offset[1] + r * it.step[1];
      fc.y = (int8_t *)p->out->data + it.offset[0] + r * it.step[0];
      if (!PTEC_Q_VARIANT_FC(&fc)) return false; /* decided by parameters: only the first */
    }
  return true;
}

ptec_status ptec_prepare_quantized_matmul_out(ptec_kernel_context *ctx) {
  matmul p;
  return setup(ctx, &p);
}

ptec_status ptec_kernel_quantized_matmul_out(ptec_kernel_context *ctx) {
  matmul p;
  PTEC_TRY(setup(ctx, &p));
  const ptec_tensor *a = p.a, *b = p.b;
  int64_t as[PTEC_MAX_RANK], bs[PTEC_MAX_RANK], ys[PTEC_MAX_RANK];
  ptec_tensor_strides(a, as);
  ptec_tensor_strides(b, bs);
  ptec_tensor_strides(p.out, ys);
  int64_t am = as[a->rank - 2], ak = as[a->rank - 1];
  int64_t bk = bs[b->rank - 2], bn = bs[b->rank - 1];
  int64_t ym = ys[p.batch_rank], yn = ys[p.batch_rank + 1];
  int64_t strides[3][PTEC_MAX_RANK];
  for (uint32_t d = 0; d < p.batch_rank; d++) strides[0][d] = ys[d];
  ptec_q_matmul_batch_strides(a, p.batch_rank, strides[1]);
  ptec_q_matmul_batch_strides(b, p.batch_rank, strides[2]);
  ptec_iter it;
  ptec_iter_init(&it, p.batch_rank, p.batch, NULL, 3, (const int64_t(*)[PTEC_MAX_RANK])strides,
                 NULL);
  const int8_t *x = a->data, *w = b->data;
  void *y = p.out->data;
  int32_t lo, hi;
  ptec_q_dtype_range(p.out->dtype, &lo, &hi);
  const int32_t azp = p.a_zp, bzp = p.b_zp;
  bool fast = (p.k <= 1 || (ak == 1 && bk == 1)) && p.k <= PTEC_Q_MAX_TERMS_I32;
  if (fast && matmul_variant(&p, it, am, bn, ym, yn)) return PTEC_STATUS_OK;
  if (!fast && ak == 1 && bn == 1 && p.k <= PTEC_Q_MAX_TERMS_I32 &&
      matmul_variant_transposed(&p, it, am, bk, ym, yn))
    return PTEC_STATUS_OK;
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t r = 0; r < it.count; r++) {
      int64_t yo = it.offset[0] + r * it.step[0];
      int64_t ao = it.offset[1] + r * it.step[1], bo = it.offset[2] + r * it.step[2];
      for (int64_t i = 0; i < p.m; i++)
        for (int64_t j = 0; j < p.n; j++) {
          int64_t acc = 0;
          const int8_t *ap = x + ao + i * am, *bp = w + bo + j * bn;
          if (fast) {
            int32_t acc32 = 0;
            for (int64_t k = 0; k < p.k; k++)
              acc32 += ((int32_t)ap[k] - azp) * ((int32_t)bp[k] - bzp);
            acc = acc32;
          } else {
            for (int64_t k = 0; k < p.k; k++)
              acc += ((int32_t)ap[k * ak] - azp) * ((int32_t)bp[k * bk] - bzp);
          }
          ptec_q_store(y, p.out->dtype, yo + i * ym + j * yn,
                       ptec_q_requantize(acc, 0, p.multiplier, p.shift, p.out_zp, lo, hi));
        }
    }
  return PTEC_STATUS_OK;
}
