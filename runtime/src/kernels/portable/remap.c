#include "kernels/portable/remap.h"

#include <string.h>

#include "kernels/portable/common.h"
#include "kernels/portable/index.h"

ptec_status ptec_remap(ptec_kernel_context *ctx, const ptec_tensor *in, ptec_tensor *out,
                       const int64_t *out_sizes, uint32_t out_rank, ptec_remap_fn map,
                       const void *params) {
  PTEC_TRY(ptec_check_same_dtype(ctx, in, out, "self", "out"));
  PTEC_CHECK(ctx, ptec_dtype_is_supported(in->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported", ptec_dtype_name(in->dtype));
  PTEC_TRY(ptec_check_shape(ctx, out, out_sizes, out_rank, "out"));
  if (out->numel == 0) return PTEC_STATUS_OK;
  int64_t is[PTEC_MAX_RANK], os[PTEC_MAX_RANK], pos[PTEC_MAX_RANK] = {0}, src[PTEC_MAX_RANK];
  ptec_tensor_strides(in, is);
  ptec_tensor_strides(out, os);
  size_t esize = ptec_dtype_size(in->dtype);
  do {
    int64_t o = 0, i = 0;
    for (uint32_t d = 0; d < out_rank; d++) o += pos[d] * os[d];
    char *dst = (char *)out->data + o * (int64_t)esize;
    memset(src, 0, sizeof src);
    if (map(pos, src, params)) {
      for (uint32_t d = 0; d < in->rank; d++) i += src[d] * is[d];
      memcpy(dst, (const char *)in->data + i * (int64_t)esize, esize);
    } else {
      memset(dst, 0, esize); /* zero of every dtype */
    }
  } while (ptec_index_next(pos, out_sizes, out_rank));
  return PTEC_STATUS_OK;
}
