/* avg_pool2d, max_pool2d_with_indices and _adaptive_avg_pool2d on float16 / bfloat16:
 * pool_body.h with half loads and stores. */
#include "kernels/portable/half.h"
#include "kernels/portable/pool.h"

#define LD PTEC_HALF_LD
#define ST PTEC_HALF_ST
#define AVG_POOL avg_pool
#define MAX_POOL max_pool
#define ADAPTIVE_AVG_POOL adaptive_avg_pool
#include "kernels/portable/pool_body.h"

void ptec_avg_pool2d_half(const void *x, void *y, const pool_params *pp, bool include_pad,
                          int64_t divisor, bool bf) {
  avg_pool(x, y, pp, include_pad, divisor, bf);
}
void ptec_max_pool2d_half(const void *x, void *y, int64_t *yi, view4 X, const pool_params *pp,
                          bool bf) {
  max_pool(x, y, yi, X, pp, bf);
}
void ptec_adaptive_avg_pool2d_half(const void *x, void *y, view4 I, view4 O, bool bf) {
  adaptive_avg_pool(x, y, I, O, bf);
}
