/* ptec_kernel_fail (kernels/kernel.h): in its own object, so that a build
 * without kernels does not link it. */
#include "core/message.h"
#include "kernels/kernel.h"

ptec_status ptec_kernel_fail(ptec_kernel_context *ctx, ptec_status status,
                             const char *fmt, ...) {
  if (ctx->message == NULL || ctx->message_capacity == 0) return status;
  size_t n = ptec_format(ctx->message, ctx->message_capacity, "%s: ", ctx->op_name);
  va_list ap;
  va_start(ap, fmt);
  ptec_vformat(ctx->message + n, ctx->message_capacity - n, fmt, ap);
  va_end(ap);
  return status;
}
