/* The row loop of _softmax and _log_softmax, a template (half.h): the includer defines
 * NAME, LD, ST, RND and ROUNDS (and LDY). Max, then the exponentials summed in double, then like
 * PyTorch one multiply by 1 / sum (softmax) or x - max - log(sum) (log_softmax).
 * Softmax keeps the exponentials in the output to scale them in place, as PyTorch does
 * (for a half output along any dim but the last, where they round to the half type
 * first); a half output along the last dim recomputes them, so each element rounds
 * once, as PyTorch's last-dim kernel computes in a float32 buffer. */
#include <math.h>

/* LDY reads back the output; an includer whose output type is not the input's defines it. */
#ifndef LDY
#define LDY LD
#endif

static void NAME(const void *x, int64_t xo, int64_t sx, void *y, int64_t yo, int64_t sy,
                 int64_t n, bool log, bool last, bool bf) {
  (void)bf;
  bool keep = !ROUNDS || !last;
  float max = LD(x, xo);
  for (int64_t k = 1; k < n; k++) {
    float v = LD(x, xo + k * sx);
    max = v > max ? v : max;
  }
  double sum = 0.0;
  if (log) {
    for (int64_t k = 0; k < n; k++) sum += expf(LD(x, xo + k * sx) - max);
    /* PyTorch's last-dim log_softmax keeps the sum and its log in the element type. */
    float logsum = (float)sum;
    if (last) logsum = RND(logf(RND(logsum)));
    else logsum = logf(logsum);
    for (int64_t k = 0; k < n; k++) ST(y, yo + k * sy, LD(x, xo + k * sx) - max - logsum);
    return;
  }
  for (int64_t k = 0; k < n; k++) {
    float e = expf(LD(x, xo + k * sx) - max);
    if (keep) ST(y, yo + k * sy, e);
    sum += e;
  }
  float scale = 1.0f / (float)sum;
  for (int64_t k = 0; k < n; k++)
    ST(y, yo + k * sy, (keep ? LDY(y, yo + k * sy) : expf(LD(x, xo + k * sx) - max)) * scale);
}
#undef LDY
