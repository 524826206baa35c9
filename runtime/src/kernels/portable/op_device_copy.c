/* ExecuTorch's host/device copies (et_copy::_h2d_copy.out, _d2h_copy.out), which its
 * exporter puts at the boundaries of a delegate whose tensors live in device memory.
 * ptec's runtime has one memory space, so each is a copy of self into out: the same
 * dtype and shape, as ExecuTorch's kernel requires (it moves nbytes without
 * converting); dim orders may differ, the copy follows each tensor's own. */
#include "kernels/portable/common.h"
#include "kernels/portable/copy.h"
#include "kernels/ops_decl.h"

/* et_copy::_h2d_copy.out / _d2h_copy.out(Tensor self, *, Tensor(a!) out) */
static ptec_status device_copy(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0);
  ptec_tensor *out = ptec_arg_tensor(ctx, 1);
  PTEC_TRY(ptec_check_same_dtype(ctx, self, out, "self", "out"));
  PTEC_TRY(ptec_check_same_shape(ctx, self, out, "self", "out"));
  return ptec_copy_tensor(ctx, out, self);
}

ptec_status ptec_kernel_h2d_copy_out(ptec_kernel_context *ctx) { return device_copy(ctx); }
ptec_status ptec_kernel_d2h_copy_out(ptec_kernel_context *ctx) { return device_copy(ctx); }
