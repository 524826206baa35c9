/* Batch norm (inference) and layer norm, float32 (float16 and bfloat16 in
 * op_norm_half.c): norm_body.h with float32 loads and stores. */
#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/ops_decl.h"
#include "kernels/x86/ops_f32_x86.h"

#define LD PTEC_F32_LD
#define ST PTEC_F32_ST
#define CHECK_PARAM check_param_f32
#define CHANNEL_VALUE channel_value_f32
#define BATCH_NORM batch_norm_f32
#define LAYER_NORM layer_norm_f32
#define LAYER_NORM_VARIANT layer_norm_variant_f32

/* The ISA variant when every tensor is contiguous (rows of `width` values one after the
 * other, the weight and bias one row). */
static bool layer_norm_variant_f32(const ptec_tensor *in, ptec_tensor *out, const ptec_tensor *w,
                                   const ptec_tensor *b, ptec_tensor *mean, ptec_tensor *rstd,
                                   int64_t rows, int64_t width, double eps) {
  if (!ptec_tensor_is_contiguous(in) || !ptec_tensor_is_contiguous(out) ||
      !ptec_tensor_is_contiguous(mean) || !ptec_tensor_is_contiguous(rstd) ||
      (w && !ptec_tensor_is_contiguous(w)) || (b && !ptec_tensor_is_contiguous(b)))
    return false;
  return PTEC_F_VARIANT_LAYER_NORM_ROWS(in->data, out->data, w ? w->data : NULL,
                                        b ? b->data : NULL, mean->data, rstd->data, rows, width,
                                        eps);
}
#include "kernels/portable/norm_body.h"

/* _native_batch_norm_legit_no_training.out(Tensor input, Tensor? weight, Tensor? bias,
 *   Tensor running_mean, Tensor running_var, float momentum, float eps, *,
 *   Tensor(a!) out0, Tensor(b!) out1, Tensor(c!) out2) */
ptec_status ptec_kernel_native_batch_norm_legit_no_training_out(ptec_kernel_context *ctx) {
  if (ptec_dtype_is_half(ptec_arg_tensor(ctx, 7)->dtype)) return ptec_batch_norm_half(ctx);
  return batch_norm_f32(ctx);
}

/* native_layer_norm.out(Tensor input, SymInt[] normalized_shape, Tensor? weight,
 *   Tensor? bias, float eps, *, Tensor(a!) out0, Tensor(b!) out1, Tensor(c!) out2) */
ptec_status ptec_kernel_native_layer_norm_out(ptec_kernel_context *ctx) {
  if (ptec_dtype_is_half(ptec_arg_tensor(ctx, 5)->dtype)) return ptec_layer_norm_half(ctx);
  return layer_norm_f32(ctx);
}
