/* _softmax and _log_softmax rows on float16 / bfloat16: softmax_body.h with half loads
 * and stores, float32 inside (PyTorch's CPU softmax converts a row to float, computes in
 * it and rounds once); and with half loads and float32 stores for half_to_float, which
 * is then the float32 softmax of the widened input (what the export's cast + float
 * softmax computes; PyTorch's CPU kernel itself refuses half_to_float). */
#include "kernels/portable/half.h"

#define NAME softmax_row
#define LD PTEC_HALF_LD
#define ST PTEC_HALF_ST
#define RND PTEC_HALF_RND
#define ROUNDS 1
#include "kernels/portable/softmax_body.h"

#undef NAME
#undef ST
#undef RND
#undef ROUNDS
#define NAME softmax_row_to_float
#define ST PTEC_F32_ST
#define LDY PTEC_F32_LD
#define RND PTEC_F32_RND
#define ROUNDS 0
#include "kernels/portable/softmax_body.h"

void ptec_softmax_row_half_to_float(const void *x, int64_t xo, int64_t sx, void *y,
                                    int64_t yo, int64_t sy, int64_t n, bool log, bool last,
                                    bool bf) {
  softmax_row_to_float(x, xo, sx, y, yo, sy, n, log, last, bf);
}

void ptec_softmax_row_half(const void *x, int64_t xo, int64_t sx, void *y, int64_t yo,
                           int64_t sy, int64_t n, bool log, bool last, bool bf) {
  softmax_row(x, xo, sx, y, yo, sy, n, log, last, bf);
}
