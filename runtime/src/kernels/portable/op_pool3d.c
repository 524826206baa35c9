/* avg_pool3d, max_pool3d_with_indices, _adaptive_avg_pool3d and adaptive_max_pool3d,
 * float32, float16 and bfloat16 (the loops of pool3d_body.h), [N, C, D, H, W] or
 * [C, D, H, W], any dim orders (channels_last_3d). The 2-D pools are op_pool.c; these
 * take a third window axis, depth. */
#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/portable/pool.h"
#include "kernels/portable/pool3d.h"
#include "kernels/ops_decl.h"

/* Loads and stores of element type dt, dispatched per element (a predictable branch). */
#define LD(p, i) \
  (dt == PTEC_DTYPE_FLOAT32 ? PTEC_F32_LD(p, i) : ptec_half_ld((p), (i), dt == PTEC_DTYPE_BFLOAT16))
#define ST(p, i, v)                                                \
  do {                                                             \
    if (dt == PTEC_DTYPE_FLOAT32) PTEC_F32_ST(p, i, v);            \
    else ptec_half_st((p), (i), (v), dt == PTEC_DTYPE_BFLOAT16);   \
  } while (0)
#include "kernels/portable/pool3d_body.h"

static view5 view5_of(const ptec_tensor *t) {
  int64_t s[PTEC_MAX_RANK];
  ptec_tensor_strides(t, s);
  uint32_t o = t->rank - 4u; /* 1 for 5-D, 0 for 4-D */
  view5 v = {o ? t->sizes[0] : 1, t->sizes[o], t->sizes[o + 1], t->sizes[o + 2],
             t->sizes[o + 3],     o ? s[0] : 0, s[o],           s[o + 1],
             s[o + 2],            s[o + 3]};
  return v;
}

/* A 3-entry pooling parameter list; one entry means all three, none `dflt`. */
static ptec_status triple(ptec_kernel_context *ctx, uint32_t arg, const int64_t dflt[3],
                          int64_t v[3], const char *name) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count == 1 || count == 3 || (count == 0 && dflt),
             PTEC_STATUS_INVALID_ARGUMENT, "%s must have 1 or 3 entries", name);
  for (int a = 0; a < 3; a++) v[a] = count == 0 ? dflt[a] : list[count == 1 ? 0 : a];
  return PTEC_STATUS_OK;
}

static ptec_status check_rank(ptec_kernel_context *ctx, const ptec_tensor *in,
                              const ptec_tensor *out) {
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_CHECK(ctx, in->rank == 4 || in->rank == 5, PTEC_STATUS_SHAPE_MISMATCH,
             "input must be [N, C, D, H, W] or [C, D, H, W]");
  return PTEC_STATUS_OK;
}

/* Parses kernel_size, stride, padding (and dilation) and checks input and out:
 * float32 or a half type, rank 4 or 5, out of the pooled shape. */
static ptec_status pool_setup(ptec_kernel_context *ctx, const ptec_tensor *in,
                              const ptec_tensor *out, int dil_arg, bool ceil_mode,
                              pool3d_params *pp) {
  PTEC_TRY(check_rank(ctx, in, out));
  PTEC_TRY(triple(ctx, 1, NULL, pp->k, "kernel_size"));
  PTEC_TRY(triple(ctx, 2, pp->k, pp->s, "stride"));
  PTEC_TRY(triple(ctx, 3, NULL, pp->p, "padding"));
  if (dil_arg >= 0) PTEC_TRY(triple(ctx, (uint32_t)dil_arg, NULL, pp->dil, "dilation"));
  else for (int a = 0; a < 3; a++) pp->dil[a] = 1;
  pp->in = view5_of(in);
  int64_t size[3] = {pp->in.d, pp->in.h, pp->in.w}, want[5] = {pp->in.n, pp->in.c, 0, 0, 0};
  for (int a = 0; a < 3; a++) {
    PTEC_CHECK(ctx, pp->k[a] > 0 && pp->s[a] > 0 && pp->dil[a] > 0,
               PTEC_STATUS_INVALID_ARGUMENT, "kernel_size, stride and dilation must be positive");
    /* Below 2^31 each, pool_out_size stays far inside int64. */
    PTEC_CHECK(ctx, pp->k[a] <= INT32_MAX && pp->s[a] <= INT32_MAX && pp->dil[a] <= INT32_MAX,
               PTEC_STATUS_OUT_OF_RANGE, "kernel_size, stride or dilation exceeds 2^31 - 1");
    /* PyTorch's limit, on the undilated kernel size. */
    PTEC_CHECK(ctx, pp->p[a] >= 0 && pp->p[a] <= pp->k[a] / 2, PTEC_STATUS_INVALID_ARGUMENT,
               "padding must be at most half the kernel size");
    want[2 + a] =
        ptec_pool_out_size(size[a], pp->k[a], pp->p[a], pp->s[a], pp->dil[a], ceil_mode);
    PTEC_CHECK(ctx, want[2 + a] > 0, PTEC_STATUS_SHAPE_MISMATCH,
               "pooled output would be empty");
  }
  PTEC_TRY(ptec_check_shape(ctx, out, in->rank == 5 ? want : want + 1, in->rank, "out"));
  pp->out = view5_of(out);
  return PTEC_STATUS_OK;
}

/* avg_pool3d.out(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0,
 *   bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None, *,
 *   Tensor(a!) out) */
ptec_status ptec_kernel_avg_pool3d_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 7);
  pool3d_params pp;
  PTEC_TRY(pool_setup(ctx, in, out, -1, ptec_arg_bool(ctx, 4), &pp));
  bool include_pad = ptec_arg_bool(ctx, 5);
  int64_t divisor = ptec_arg_is_none(ctx, 6) ? 0 : ptec_arg_int(ctx, 6);
  PTEC_CHECK(ctx, ptec_arg_is_none(ctx, 6) || divisor != 0, PTEC_STATUS_INVALID_ARGUMENT,
             "divisor_override must not be zero");
  avg_pool3d(in->data, out->data, &pp, include_pad, divisor, out->dtype);
  return PTEC_STATUS_OK;
}

/* Checks an indices tensor: int64, of out's shape. */
static ptec_status check_indices(ptec_kernel_context *ctx, const ptec_tensor *out,
                                 const ptec_tensor *indices) {
  PTEC_TRY(ptec_check_dtype(ctx, indices, PTEC_DTYPE_INT64, "indices"));
  return ptec_check_same_shape(ctx, out, indices, "out", "indices");
}

/* max_pool3d_with_indices.out(Tensor self, int[3] kernel_size, int[3] stride=[],
 *   int[3] padding=0, int[3] dilation=1, bool ceil_mode=False, *, Tensor(a!) out,
 *   Tensor(b!) indices): indices are flat (d * H + h) * W + w positions in the volume. */
ptec_status ptec_kernel_max_pool3d_with_indices_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 6), *indices = ptec_arg_tensor(ctx, 7);
  pool3d_params pp;
  PTEC_TRY(pool_setup(ctx, in, out, 4, ptec_arg_bool(ctx, 5), &pp));
  PTEC_TRY(check_indices(ctx, out, indices));
  view5 X = view5_of(indices);
  max_pool3d(in->data, out->data, indices->data, X, &pp, out->dtype);
  return PTEC_STATUS_OK;
}

/* The checks of both adaptive pools: output_size (3 entries, or 1 for all three, none
 * negative) and out of [N,] C, od, oh, ow; the input's D, H and W not empty (each
 * window must hold a tap). */
static ptec_status adaptive_setup(ptec_kernel_context *ctx, const ptec_tensor *in,
                                  const ptec_tensor *out, view5 *I, view5 *O) {
  PTEC_TRY(check_rank(ctx, in, out));
  int64_t osz[3];
  PTEC_TRY(triple(ctx, 1, NULL, osz, "output_size"));
  *I = view5_of(in);
  PTEC_CHECK(ctx, osz[0] >= 0 && osz[1] >= 0 && osz[2] >= 0, PTEC_STATUS_INVALID_ARGUMENT,
             "output_size must not be negative");
  PTEC_CHECK(ctx, I->d > 0 && I->h > 0 && I->w > 0, PTEC_STATUS_SHAPE_MISMATCH,
             "input depth, height and width must not be empty");
  int64_t want[5] = {I->n, I->c, osz[0], osz[1], osz[2]};
  PTEC_TRY(ptec_check_shape(ctx, out, in->rank == 5 ? want : want + 1, in->rank, "out"));
  *O = view5_of(out);
  return PTEC_STATUS_OK;
}

/* Both adaptive pools after adaptive_setup; indices NULL for the average. */
static ptec_status adaptive_run(const ptec_tensor *in, ptec_tensor *out, ptec_tensor *indices,
                                view5 I, view5 O) {
  view5 X = indices ? view5_of(indices) : O;
  int64_t *yi = indices ? indices->data : NULL;
  adaptive_pool3d(in->data, out->data, yi, X, I, O, out->dtype);
  return PTEC_STATUS_OK;
}

/* _adaptive_avg_pool3d.out(Tensor self, SymInt[3] output_size, *, Tensor(a!) out) */
ptec_status ptec_kernel_adaptive_avg_pool3d_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  view5 I, O;
  PTEC_TRY(adaptive_setup(ctx, in, out, &I, &O));
  return adaptive_run(in, out, NULL, I, O);
}

/* adaptive_max_pool3d.out(Tensor self, int[3] output_size, *, Tensor(a!) out,
 *   Tensor(b!) indices) */
ptec_status ptec_kernel_adaptive_max_pool3d_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2), *indices = ptec_arg_tensor(ctx, 3);
  view5 I, O;
  PTEC_TRY(adaptive_setup(ctx, in, out, &I, &O));
  PTEC_TRY(check_indices(ctx, out, indices));
  return adaptive_run(in, out, indices, I, O);
}
