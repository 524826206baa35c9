/* Copies of strided views of self: narrow_copy, diagonal_copy, unfold_copy,
 * pixel_shuffle, pixel_unshuffle. Each describes the view as a block of
 * self (base and strides) and copies it into out. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* Checks out against `sizes` and copies the view `src` into it. */
static ptec_status copy_view(ptec_kernel_context *ctx, const ptec_tensor *in, ptec_tensor *out,
                             const ptec_block *src, const int64_t *sizes, uint32_t rank) {
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "self", "out"));
  PTEC_TRY(ptec_check_shape(ctx, out, sizes, rank, "out"));
  ptec_block dst;
  ptec_block_of(&dst, out);
  ptec_copy_block(&dst, src, rank, sizes, out->dim_order);
  return PTEC_STATUS_OK;
}

/* narrow_copy.out(Tensor self, int dim, SymInt start, SymInt length, *, Tensor(a!) out) */
ptec_status ptec_kernel_narrow_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, in->rank > 0, PTEC_STATUS_SHAPE_MISMATCH, "cannot narrow a 0-d tensor");
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));
  int64_t size = in->sizes[dim], start = ptec_arg_int(ctx, 2), length = ptec_arg_int(ctx, 3);
  if (start < 0) start += size;
  PTEC_CHECK(ctx, start >= 0 && length >= 0 && start <= size && length <= size - start,
             PTEC_STATUS_OUT_OF_RANGE, "narrow of %lld from %lld outside a dim of %lld",
             (long long)length, (long long)start, (long long)size);
  ptec_block src;
  ptec_block_of(&src, in);
  src.base = start * src.strides[dim];
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, sizes);
  sizes[dim] = length;
  return copy_view(ctx, in, ptec_arg_tensor(ctx, 4), &src, sizes, in->rank);
}

/* diagonal_copy.out(Tensor self, int offset=0, int dim1=0, int dim2=1, *, Tensor(a!) out):
 * the other dims in order, then the diagonal. */
ptec_status ptec_kernel_diagonal_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, in->rank >= 2, PTEC_STATUS_SHAPE_MISMATCH, "diagonal needs 2 dims or more");
  uint32_t d1, d2;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 2), in->rank, &d1));
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 3), in->rank, &d2));
  PTEC_CHECK(ctx, d1 != d2, PTEC_STATUS_INVALID_ARGUMENT, "dim1 and dim2 are the same");
  int64_t offset = ptec_arg_int(ctx, 1), s1 = in->sizes[d1], s2 = in->sizes[d2];
  PTEC_CHECK(ctx, offset > -((int64_t)1 << 40) && offset < ((int64_t)1 << 40),
             PTEC_STATUS_OUT_OF_RANGE, "offset out of range");
  int64_t len = offset >= 0 ? (s2 - offset < s1 ? s2 - offset : s1)
                            : (s1 + offset < s2 ? s1 + offset : s2);
  if (len < 0) len = 0;
  int64_t strides[PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides);
  ptec_block src;
  src.data = in->data;
  src.dtype = in->dtype;
  src.base = len == 0 ? 0 : offset >= 0 ? offset * strides[d2] : -offset * strides[d1];
  uint32_t k = 0;
  for (uint32_t d = 0; d < in->rank; d++) {
    if (d == d1 || d == d2) continue;
    sizes[k] = in->sizes[d];
    src.strides[k++] = strides[d];
  }
  sizes[k] = len;
  src.strides[k] = strides[d1] + strides[d2];
  return copy_view(ctx, in, ptec_arg_tensor(ctx, 4), &src, sizes, in->rank - 1u);
}

/* unfold_copy.out(Tensor self, int dimension, int size, int step, *, Tensor(a!) out):
 * windows of `size` every `step` along dimension, as a new last dim. */
ptec_status ptec_kernel_unfold_copy_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, in->rank > 0 && in->rank < PTEC_MAX_RANK, PTEC_STATUS_SHAPE_MISMATCH,
             "unfold needs a tensor of rank 1 to %d", PTEC_MAX_RANK - 1);
  uint32_t dim;
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, 1), in->rank, &dim));
  int64_t size = ptec_arg_int(ctx, 2), step = ptec_arg_int(ctx, 3), n = in->sizes[dim];
  PTEC_CHECK(ctx, size >= 0 && size <= n && step > 0 && step <= n + 1,
             PTEC_STATUS_INVALID_ARGUMENT, "window %lld, step %lld for a dim of %lld",
             (long long)size, (long long)step, (long long)n);
  ptec_block src;
  ptec_block_of(&src, in);
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, sizes);
  sizes[dim] = (n - size) / step + 1;
  sizes[in->rank] = size;
  src.strides[in->rank] = src.strides[dim];
  src.strides[dim] *= step;
  return copy_view(ctx, in, ptec_arg_tensor(ctx, 4), &src, sizes, in->rank + 1u);
}

/* The index space [*, C, H, r, W, r] (shuffle) or [*, C, r, r, H, W]
 * (unshuffle) over a tensor [*, C*r*r, H, W] (`packed`) and one
 * [*, C, H*r, W*r] (`spread`): their strides, leading dims included. */
static ptec_status shuffle(ptec_kernel_context *ctx, bool unshuffle) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  int64_t r = ptec_arg_int(ctx, 1);
  PTEC_CHECK(ctx, in->rank >= 3 && in->rank + 2u <= PTEC_MAX_RANK, PTEC_STATUS_SHAPE_MISMATCH,
             "needs a tensor of rank 3 or more");
  PTEC_CHECK(ctx, r > 0 && r < 65536, PTEC_STATUS_INVALID_ARGUMENT, "factor %lld",
             (long long)r);
  const ptec_tensor *packed = unshuffle ? out : in, *spread = unshuffle ? in : out;
  uint32_t lead = in->rank - 3u;
  int64_t c = unshuffle ? in->sizes[lead] : in->sizes[lead] / (r * r);
  int64_t h = unshuffle ? in->sizes[lead + 1] / r : in->sizes[lead + 1];
  int64_t w = unshuffle ? in->sizes[lead + 2] / r : in->sizes[lead + 2];
  PTEC_CHECK(ctx, unshuffle ? (h * r == in->sizes[lead + 1] && w * r == in->sizes[lead + 2])
                            : c * r * r == in->sizes[lead],
             PTEC_STATUS_SHAPE_MISMATCH, "sizes are not divisible by the factor %lld",
             (long long)r);
  int64_t out_sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, out_sizes);
  out_sizes[lead] = unshuffle ? c * r * r : c;
  out_sizes[lead + 1] = unshuffle ? h : h * r;
  out_sizes[lead + 2] = unshuffle ? w : w * r;
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "self", "out"));
  PTEC_TRY(ptec_check_shape(ctx, out, out_sizes, in->rank, "out"));
  int64_t ps[PTEC_MAX_RANK], ss[PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(packed, ps);
  ptec_tensor_strides(spread, ss);
  ptec_block p, s;
  ptec_block_of(&p, packed);
  ptec_block_of(&s, spread);
  for (uint32_t d = 0; d < lead; d++) sizes[d] = in->sizes[d];
  /* Index space [*, C, H, i, W, j]: packed[c*r*r + i*r + j, h, w] = spread[c, h*r + i, w*r + j]. */
  const int64_t n[6] = {c, h, r, w, r, 0};
  const int64_t pst[5] = {ps[lead] * r * r, ps[lead + 1], ps[lead] * r, ps[lead + 2], ps[lead]};
  const int64_t sst[5] = {ss[lead], ss[lead + 1] * r, ss[lead + 1], ss[lead + 2] * r,
                          ss[lead + 2]};
  for (uint32_t k = 0; k < 5; k++) {
    sizes[lead + k] = n[k];
    p.strides[lead + k] = pst[k];
    s.strides[lead + k] = sst[k];
  }
  ptec_copy_block(unshuffle ? &p : &s, unshuffle ? &s : &p, lead + 5u, sizes, NULL);
  return PTEC_STATUS_OK;
}

/* pixel_shuffle.out(Tensor self, int upscale_factor, *, Tensor(a!) out) */
ptec_status ptec_kernel_pixel_shuffle_out(ptec_kernel_context *ctx) {
  return shuffle(ctx, false);
}
/* pixel_unshuffle.out(Tensor self, int downscale_factor, *, Tensor(a!) out) */
ptec_status ptec_kernel_pixel_unshuffle_out(ptec_kernel_context *ctx) {
  return shuffle(ctx, true);
}
