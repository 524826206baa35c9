/* avg_pool3d, max_pool3d_with_indices, _adaptive_avg_pool3d and adaptive_max_pool3d on
 * float16 / bfloat16: pool3d_body.h with half loads and stores. */
#include "kernels/portable/half.h"
#include "kernels/portable/pool3d.h"

#define LD PTEC_HALF_LD
#define ST PTEC_HALF_ST
#define AVG_POOL3D avg_pool3d
#define MAX_POOL3D max_pool3d
#define ADAPTIVE_POOL3D adaptive_pool3d
#include "kernels/portable/pool3d_body.h"

void ptec_avg_pool3d_half(const void *x, void *y, const pool3d_params *pp, bool include_pad,
                          int64_t divisor, bool bf) {
  avg_pool3d(x, y, pp, include_pad, divisor, bf);
}
void ptec_max_pool3d_half(const void *x, void *y, int64_t *yi, view5 X,
                          const pool3d_params *pp, bool bf) {
  max_pool3d(x, y, yi, X, pp, bf);
}
void ptec_adaptive_pool3d_half(const void *x, void *y, int64_t *yi, view5 X, view5 I, view5 O,
                               bool bf) {
  adaptive_pool3d(x, y, yi, X, I, O, bf);
}
