/* native_group_norm, float32 (float16 and bfloat16 in op_group_norm_half.c):
 * group_norm_body.h with float32 loads and stores. */
#include "kernels/portable/common.h"
#include "kernels/portable/half.h"
#include "kernels/ops_decl.h"

#define LD PTEC_F32_LD
#define ST PTEC_F32_ST
#define OFFSET_OF offset_of
#define GROUP_NORM group_norm_f32
#include "kernels/portable/group_norm_body.h"

/* native_group_norm.out(Tensor input, Tensor? weight, Tensor? bias, SymInt N, SymInt C,
 *   SymInt HxW, int group, float eps, *, Tensor(a!) out0, Tensor(b!) out1,
 *   Tensor(c!) out2) -> (normalised, mean [N, group], rstd [N, group]) */
ptec_status ptec_kernel_native_group_norm_out(ptec_kernel_context *ctx) {
  if (ptec_dtype_is_half(ptec_arg_tensor(ctx, 8)->dtype)) return ptec_group_norm_half(ctx);
  return group_norm_f32(ctx);
}
