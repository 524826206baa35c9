/* native_dropout.out in eval mode: out0 = input, mask (out1) all true, as PyTorch's
 * native_dropout with train=False. Training mode (train true or None) draws random
 * numbers no C generator reproduces bit for bit; the compiler refuses such graphs
 * (python/ptec/passes/out_variants.py) and this kernel reports it if a program asks. */
#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"

/* native_dropout.out(Tensor input, float p, bool? train, *, Tensor(a!) out0,
 *   Tensor(b!) out1) -> (Tensor(a!), Tensor(b!)) */
ptec_status ptec_kernel_native_dropout_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3), *mask = ptec_arg_tensor(ctx, 4);
  const ptec_value *train = ptec_arg(ctx, 2);
  /* 'S' admits int and double too; the schema says bool? */
  PTEC_CHECK(ctx, train->tag == PTEC_VALUE_BOOL || train->tag == PTEC_VALUE_NONE,
             PTEC_STATUS_INVALID_ARGUMENT, "train must be a bool or None");
  PTEC_CHECK(ctx, train->tag == PTEC_VALUE_BOOL && !train->u.b, PTEC_STATUS_NOT_SUPPORTED,
             "training-mode dropout needs random numbers (no generator bit-equal to "
             "PyTorch's)");
  double p = ptec_arg_double(ctx, 1);
  PTEC_CHECK(ctx, p >= 0.0 && p <= 1.0, PTEC_STATUS_INVALID_ARGUMENT,
             "dropout probability %g is not in [0, 1]", p);
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(in->dtype));
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "input", "out0"));
  PTEC_TRY(ptec_check_same_shape(ctx, in, out, "input", "out0"));
  PTEC_TRY(ptec_check_dtype(ctx, mask, PTEC_DTYPE_BOOL, "out1"));
  PTEC_TRY(ptec_check_same_shape(ctx, in, mask, "input", "out1"));

  memset(mask->data, 1, mask->numel); /* all true, whatever its dim order */
  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(out, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  ptec_iter it;
  ptec_iter_init(&it, in->rank, sizes, in->dim_order, 2, (const int64_t(*)[PTEC_MAX_RANK])strides,
                 NULL);
  int64_t esize = (int64_t)ptec_dtype_size(in->dtype);
  const char *x = in->data;
  char *y = out->data;
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t j = 0; j < it.count; j++)
      memcpy(y + (it.offset[1] + j * it.step[1]) * esize,
             x + (it.offset[0] + j * it.step[0]) * esize, (size_t)esize);
  return PTEC_STATUS_OK;
}
