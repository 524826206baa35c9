/* _softmax and _log_softmax rows on float16 / bfloat16: softmax_body.h with half loads
 * and stores, float32 inside (PyTorch's CPU softmax converts a row to float, computes in
 * it and rounds once). */
#include "kernels/portable/half.h"

#define NAME softmax_row
#define LD PTEC_HALF_LD
#define ST PTEC_HALF_ST
#define RND PTEC_HALF_RND
#define ROUNDS 1
#include "kernels/portable/softmax_body.h"

void ptec_softmax_row_half(const void *x, int64_t xo, int64_t sx, void *y, int64_t yo,
                           int64_t sy, int64_t n, bool log, bool last, bool bf) {
  softmax_row(x, xo, sx, y, yo, sy, n, log, last, bf);
}
