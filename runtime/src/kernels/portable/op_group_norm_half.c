/* native_group_norm on float16 / bfloat16: group_norm_body.h with half loads and
 * stores. */
#include "kernels/portable/half.h"

#define LD PTEC_HALF_LD
#define ST PTEC_HALF_ST
#define OFFSET_OF offset_of
#define GROUP_NORM group_norm_half
#include "kernels/portable/group_norm_body.h"

ptec_status ptec_group_norm_half(ptec_kernel_context *ctx) { return group_norm_half(ctx); }
