/* Batch norm (inference) and layer norm on float16 / bfloat16: norm_body.h with half
 * loads and stores. Layer norm's mean and rstd outputs are in the input's dtype, as
 * PyTorch returns them. */
#include "kernels/portable/half.h"

#define LD PTEC_HALF_LD
#define ST PTEC_HALF_ST
#define CHECK_PARAM check_param_half
#define CHANNEL_VALUE channel_value_half
#define BATCH_NORM batch_norm_half
#define LAYER_NORM layer_norm_half
#include "kernels/portable/norm_body.h"

ptec_status ptec_batch_norm_half(ptec_kernel_context *ctx) { return batch_norm_half(ctx); }
ptec_status ptec_layer_norm_half(ptec_kernel_context *ctx) { return layer_norm_half(ctx); }
