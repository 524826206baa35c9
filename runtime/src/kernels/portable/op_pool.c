/* avg_pool2d, max_pool2d_with_indices and _adaptive_avg_pool2d, float32 (float16 and
 * bfloat16 in op_pool_half.c: the loops of pool_body.h once per element type),
 * [N, C, H, W] or [C, H, W], any dim orders. */
#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/portable/pool.h"
#include "kernels/x86/ops_f32_x86.h"
#include "kernels/ops_decl.h"

#define LD PTEC_F32_LD
#define ST PTEC_F32_ST
#define AVG_POOL avg_pool2d_f32
#define MAX_POOL max_pool2d_f32
#define ADAPTIVE_AVG_POOL adaptive_avg_pool2d_f32
#include "kernels/portable/pool_body.h"

static view4 view4_of(const ptec_tensor *t) {
  int64_t s[PTEC_MAX_RANK];
  ptec_tensor_strides(t, s);
  uint32_t o = t->rank - 3u; /* 1 for 4-D, 0 for 3-D */
  view4 v = {o ? t->sizes[0] : 1, t->sizes[o], t->sizes[o + 1], t->sizes[o + 2],
             o ? s[0] : 0,       s[o],         s[o + 1],         s[o + 2]};
  return v;
}

/* A 2-entry pooling parameter list; one entry means both, none `dflt`. */
static ptec_status pair(ptec_kernel_context *ctx, uint32_t arg, const int64_t dflt[2],
                        int64_t v[2], const char *name) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count <= 2 && (count > 0 || dflt), PTEC_STATUS_INVALID_ARGUMENT,
             "%s must have 1 or 2 entries", name);
  if (count == 0) {
    v[0] = dflt[0];
    v[1] = dflt[1];
  } else {
    v[0] = list[0];
    v[1] = list[count - 1];
  }
  return PTEC_STATUS_OK;
}

/* Parses kernel_size, stride, padding (and dilation) and checks input and
 * out: float32 or a half type, rank 3 or 4, out of the pooled shape. */
static ptec_status pool_setup(ptec_kernel_context *ctx, const ptec_tensor *in,
                              const ptec_tensor *out, int dil_arg, bool ceil_mode,
                              pool_params *pp) {
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_CHECK(ctx, in->rank == 3 || in->rank == 4, PTEC_STATUS_SHAPE_MISMATCH,
             "input must be [N, C, H, W] or [C, H, W]");
  PTEC_TRY(pair(ctx, 1, NULL, pp->k, "kernel_size"));
  PTEC_TRY(pair(ctx, 2, pp->k, pp->s, "stride"));
  PTEC_TRY(pair(ctx, 3, NULL, pp->p, "padding"));
  if (dil_arg >= 0) PTEC_TRY(pair(ctx, (uint32_t)dil_arg, NULL, pp->d, "dilation"));
  else pp->d[0] = pp->d[1] = 1;
  for (int i = 0; i < 2; i++) {
    PTEC_CHECK(ctx, pp->k[i] > 0 && pp->s[i] > 0 && pp->d[i] > 0, PTEC_STATUS_INVALID_ARGUMENT,
               "kernel_size, stride and dilation must be positive");
    /* Below 2^31 each, pool_out_size stays far inside int64. */
    PTEC_CHECK(ctx, pp->k[i] <= INT32_MAX && pp->s[i] <= INT32_MAX && pp->d[i] <= INT32_MAX,
               PTEC_STATUS_OUT_OF_RANGE, "kernel_size, stride or dilation exceeds 2^31 - 1");
    /* PyTorch's limit, on the undilated kernel size. */
    PTEC_CHECK(ctx, pp->p[i] >= 0 && pp->p[i] <= pp->k[i] / 2, PTEC_STATUS_INVALID_ARGUMENT,
               "padding must be at most half the kernel size");
  }
  pp->in = view4_of(in);
  int64_t oh = ptec_pool_out_size(pp->in.h, pp->k[0], pp->p[0], pp->s[0], pp->d[0], ceil_mode);
  int64_t ow = ptec_pool_out_size(pp->in.w, pp->k[1], pp->p[1], pp->s[1], pp->d[1], ceil_mode);
  PTEC_CHECK(ctx, oh > 0 && ow > 0, PTEC_STATUS_SHAPE_MISMATCH, "pooled output would be empty");
  int64_t want[4] = {pp->in.n, pp->in.c, oh, ow};
  PTEC_TRY(ptec_check_shape(ctx, out, in->rank == 4 ? want : want + 1, in->rank, "out"));
  pp->out = view4_of(out);
  return PTEC_STATUS_OK;
}

/* avg_pool2d.out(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0,
 *   bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None, *,
 *   Tensor(a!) out) */
ptec_status ptec_kernel_avg_pool2d_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 7);
  pool_params pp;
  PTEC_TRY(pool_setup(ctx, in, out, -1, ptec_arg_bool(ctx, 4), &pp));
  bool include_pad = ptec_arg_bool(ctx, 5);
  int64_t divisor = ptec_arg_is_none(ctx, 6) ? 0 : ptec_arg_int(ctx, 6);
  PTEC_CHECK(ctx, ptec_arg_is_none(ctx, 6) || divisor != 0, PTEC_STATUS_INVALID_ARGUMENT,
             "divisor_override must not be zero");
  if (out->dtype != PTEC_DTYPE_FLOAT32)
    ptec_avg_pool2d_half(in->data, out->data, &pp, include_pad, divisor,
                         out->dtype == PTEC_DTYPE_BFLOAT16);
  else avg_pool2d_f32(in->data, out->data, &pp, include_pad, divisor, false);
  return PTEC_STATUS_OK;
}

/* max_pool2d_with_indices.out(Tensor self, int[2] kernel_size, int[2] stride=[],
 *   int[2] padding=0, int[2] dilation=1, bool ceil_mode=False, *, Tensor(a!) out,
 *   Tensor(b!) indices): indices are flat h * W + w positions in the plane. */
ptec_status ptec_kernel_max_pool2d_with_indices_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 6), *indices = ptec_arg_tensor(ctx, 7);
  pool_params pp;
  PTEC_TRY(pool_setup(ctx, in, out, 4, ptec_arg_bool(ctx, 5), &pp));
  PTEC_TRY(ptec_check_dtype(ctx, indices, PTEC_DTYPE_INT64, "indices"));
  PTEC_TRY(ptec_check_same_shape(ctx, out, indices, "out", "indices"));
  view4 X = view4_of(indices);
  if (out->dtype != PTEC_DTYPE_FLOAT32)
    ptec_max_pool2d_half(in->data, out->data, indices->data, X, &pp,
                         out->dtype == PTEC_DTYPE_BFLOAT16);
  else if (!PTEC_F_VARIANT_MAX_POOL(in->data, out->data, indices->data, X, &pp, ctx->parallel))
    max_pool2d_f32(in->data, out->data, indices->data, X, &pp, false);
  return PTEC_STATUS_OK;
}

/* _adaptive_avg_pool2d.out(Tensor self, SymInt[2] output_size, *, Tensor(a!) out) */
ptec_status ptec_kernel_adaptive_avg_pool2d_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_CHECK(ctx, in->rank == 3 || in->rank == 4, PTEC_STATUS_SHAPE_MISMATCH,
             "input must be [N, C, H, W] or [C, H, W]");
  int64_t osz[2] = {0};
  PTEC_TRY(pair(ctx, 1, NULL, osz, "output_size"));
  PTEC_CHECK(ctx, osz[0] >= 0 && osz[1] >= 0, PTEC_STATUS_INVALID_ARGUMENT,
             "output_size must not be negative");
  view4 I = view4_of(in);
  int64_t want[4] = {I.n, I.c, osz[0], osz[1]};
  PTEC_TRY(ptec_check_shape(ctx, out, in->rank == 4 ? want : want + 1, in->rank, "out"));
  view4 O = view4_of(out);
  if (out->dtype != PTEC_DTYPE_FLOAT32)
    ptec_adaptive_avg_pool2d_half(in->data, out->data, I, O, out->dtype == PTEC_DTYPE_BFLOAT16);
  else adaptive_avg_pool2d_f32(in->data, out->data, I, O, false);
  return PTEC_STATUS_OK;
}
