/* Window parameters of the quantized pooling kernels (see pool2d.h). */
#include "kernels/quantized/pool2d.h"

ptec_status ptec_qpool_setup(ptec_kernel_context *ctx, ptec_qpool *p, int dilation_arg,
                             uint32_t out_arg) {
  p->in = ptec_arg_tensor(ctx, 0);
  p->out = ptec_arg_tensor(ctx, out_arg);
  const ptec_tensor *in = p->in;
  PTEC_TRY(ptec_q_check_activation_dtype(ctx, in, "input"));
  PTEC_TRY(ptec_check_same_dtype(ctx, in, p->out, "input", "out"));
  PTEC_CHECK(ctx, in->rank == 3 || in->rank == 4, PTEC_STATUS_SHAPE_MISMATCH,
             "input must be [N, C, H, W] or [C, H, W], got rank %u", (unsigned)in->rank);
  PTEC_TRY(ptec_q_pair(ctx, 1, NULL, p->kernel, "kernel"));
  PTEC_TRY(ptec_q_pair(ctx, 2, p->kernel, p->stride, "stride"));
  PTEC_TRY(ptec_q_padding(ctx, 3, p->pad));
  p->dilation[0] = p->dilation[1] = 1;
  if (dilation_arg >= 0) PTEC_TRY(ptec_q_pair(ctx, (uint32_t)dilation_arg, NULL, p->dilation,
                                              "dilation"));
  PTEC_CHECK(ctx, p->pad[0] < p->kernel[0] && p->pad[1] < p->kernel[0] &&
                      p->pad[2] < p->kernel[1] && p->pad[3] < p->kernel[1],
             PTEC_STATUS_INVALID_ARGUMENT, "padding must be smaller than the kernel");
  p->x = ptec_q_view4_of(in);
  int64_t oh = ptec_q_window_out(p->x.h, p->pad[0], p->pad[1], p->kernel[0], p->stride[0],
                                 p->dilation[0]);
  int64_t ow = ptec_q_window_out(p->x.w, p->pad[2], p->pad[3], p->kernel[1], p->stride[1],
                                 p->dilation[1]);
  PTEC_CHECK(ctx, oh > 0 && ow > 0, PTEC_STATUS_SHAPE_MISMATCH,
             "the kernel is larger than the padded input");
  int64_t want[4] = {p->x.n, p->x.c, oh, ow};
  PTEC_TRY(ptec_check_shape(ctx, p->out, in->rank == 4 ? want : want + 1, in->rank, "out"));
  p->y = ptec_q_view4_of(p->out);
  return PTEC_STATUS_OK;
}
