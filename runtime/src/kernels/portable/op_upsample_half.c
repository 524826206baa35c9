/* upsample_bilinear2d on float16 / bfloat16: upsample_body.h with half loads and
 * stores. */
#include "kernels/portable/half.h"

#define LD PTEC_HALF_LD
#define ST PTEC_HALF_ST
#define SOURCE_INDEX source_index
#define BILINEAR bilinear
#include "kernels/portable/upsample_body.h"

void ptec_upsample_bilinear2d_half(const void *src, void *dst, const int64_t *isz,
                                   const int64_t *osz, const int64_t *is, const int64_t *os,
                                   const float *scale, bool align, bool bf) {
  bilinear(src, dst, isz, osz, is, os, scale, align, bf);
}
