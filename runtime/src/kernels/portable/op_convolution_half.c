/* convolution.out on float16 / bfloat16 (half.h): 1-D, 2-D and 3-D, groups (depthwise
 * included), in one loop over three spatial dims. PyTorch's CPU convolution for these
 * dtypes (oneDNN, or im2col + cpublas gemm) accumulates in float32 and rounds once, with
 * the bias added in float32 before that rounding; so does this. */
#include "kernels/portable/half.h"

void ptec_conv_half_run(const ptec_conv_half *p) {
  int64_t OCg = p->oc / p->groups, ICg = p->c / p->groups;
  const int64_t *xs = p->xs, *ws = p->ws, *ys = p->ys;
  for (int64_t n = 0; n < p->n; n++)
    for (int64_t oc = 0; oc < p->oc; oc++) {
      int64_t xg = n * xs[0] + (oc / OCg) * ICg * xs[1], wo = oc * ws[0];
      float bv = p->b != NULL ? ptec_half_ld(p->b, oc * p->bs, p->bf) : 0.0f;
      for (int64_t od = 0; od < p->osz[0]; od++)
        for (int64_t oh = 0; oh < p->osz[1]; oh++)
          for (int64_t ow = 0; ow < p->osz[2]; ow++) {
            float acc = 0.0f;
            for (int64_t kd = 0; kd < p->k[0]; kd++) {
              int64_t id = od * p->stride[0] - p->pad[0] + kd * p->dil[0];
              if (id < 0 || id >= p->size[0]) continue;
              for (int64_t kh = 0; kh < p->k[1]; kh++) {
                int64_t ih = oh * p->stride[1] - p->pad[1] + kh * p->dil[1];
                if (ih < 0 || ih >= p->size[1]) continue;
                for (int64_t kw = 0; kw < p->k[2]; kw++) {
                  int64_t iw = ow * p->stride[2] - p->pad[2] + kw * p->dil[2];
                  if (iw < 0 || iw >= p->size[2]) continue;
                  int64_t xp = xg + id * xs[2] + ih * xs[3] + iw * xs[4];
                  int64_t wp = wo + kd * ws[2] + kh * ws[3] + kw * ws[4];
                  for (int64_t ic = 0; ic < ICg; ic++)
                    acc += ptec_half_ld(p->x, xp + ic * xs[1], p->bf) *
                           ptec_half_ld(p->w, wp + ic * ws[1], p->bf);
                }
              }
            }
            ptec_half_st(p->y, n * ys[0] + oc * ys[1] + od * ys[2] + oh * ys[3] + ow * ys[4],
                         acc + bv, p->bf);
          }
    }
}
