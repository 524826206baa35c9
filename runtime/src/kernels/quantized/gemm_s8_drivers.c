/* The convolution and fully connected drivers of the int8 GEMM variants
 * (gemm_s8.h); compiled only where an ISA supplies a rows function. */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86 || PTEC_KERNELS_NEON
#include <string.h>

#include "kernels/parallel.h"
#include "kernels/quantized/gemm_s8.h"

typedef struct conv_job {
  const ptec_qconv *p;
  ptec_gemm_s8 g;
  ptec_gemm_s8_rows_fn rows_fn;
  bool pointwise;
} conv_job;

void ptec_qconv_s8_window(const ptec_qconv *p, int64_t n, int64_t oy, int64_t ox, int8_t *dst) {
  const ptec_q_view4 X = p->x, W = p->w;
  const int8_t *xn = (const int8_t *)p->in->data + n * X.sn;
  const int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
  /* A row of taps that lies inside the image and in one run of the input
   * (dilation 1, pixels' channels adjacent) is one copy. */
  const bool runs = p->dilation[1] == 1 && X.sw == W.c && ix0 >= 0 && ix0 + W.w <= X.w;
  for (int64_t ky = 0; ky < W.h; ky++) {
    int64_t iy = iy0 + ky * p->dilation[0];
    if (runs && iy >= 0 && iy < X.h) {
      memcpy(dst, xn + iy * X.sh + ix0 * X.sw, (size_t)(W.w * W.c));
      dst += W.w * W.c;
      continue;
    }
    for (int64_t kx = 0; kx < W.w; kx++, dst += W.c) {
      int64_t ix = ix0 + kx * p->dilation[1];
      if (iy < 0 || iy >= X.h || ix < 0 || ix >= X.w)
        memset(dst, (int8_t)p->in_zp, (size_t)W.c);
      else
        memcpy(dst, xn + iy * X.sh + ix * X.sw, (size_t)W.c);
    }
  }
}

/* Output rows [r0, r1) of all images (row r = image r / OH, row r % OH). */
static void conv_rows(const void *arg, int64_t r0, int64_t r1) {
  const conv_job *job = arg;
  const ptec_qconv *p = job->p;
  const ptec_q_view4 X = p->x, Y = p->y;
  const int64_t K = job->g.k;
  const int8_t *x = p->in->data;
  int8_t *y = p->out->data;
  int8_t cols[4][PTEC_GEMM_S8_IM2COL];
  const int8_t *rows[4];
  int8_t *outs[4];
  int count = 0;
  bool pad_row = false; /* cols[3] holds a pointwise pixel in the padding */
  for (int64_t r = r0; r < r1; r++) {
    const int64_t n = r / Y.h, oy = r % Y.h;
    for (int64_t ox = 0; ox < Y.w; ox++) {
      int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
      const int8_t *xn = x + n * X.sn;
      if (job->pointwise) {
        if (iy0 >= 0 && iy0 < X.h && ix0 >= 0 && ix0 < X.w) {
          rows[count] = xn + iy0 * X.sh + ix0 * X.sw;
        } else {
          if (!pad_row) memset(cols[3], (int8_t)p->in_zp, (size_t)K);
          pad_row = true;
          rows[count] = cols[3];
        }
      } else {
        ptec_qconv_s8_window(p, n, oy, ox, cols[count]);
        rows[count] = cols[count];
      }
      outs[count] = y + n * Y.sn + oy * Y.sh + ox * Y.sw;
      if (++count == 4) {
        job->rows_fn(&job->g, rows, 4, outs, (ptrdiff_t)Y.sc);
        count = 0;
      }
    }
  }
  if (count) job->rows_fn(&job->g, rows, count, outs, (ptrdiff_t)Y.sc);
}

bool ptec_qconv_s8_gemm(const ptec_qconv *p, ptec_gemm_s8 *g) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  /* A single channel's stride is never stepped (DS-CNN's first layer: OIHW
   * weights of one input channel). */
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || p->wide ||
      p->groups != 1 || (X.sc != 1 && X.c != 1) || (W.sc != 1 && W.c != 1))
    return false;
  const int64_t K = W.c * W.h * W.w;
  if ((W.w > 1 && W.sw != W.c) || (W.h > 1 && W.sh != W.w * W.c)) return false;
  const bool pointwise = W.h == 1 && W.w == 1;
  if (K > PTEC_Q_MAX_TERMS_I32 || (!pointwise && K > PTEC_GEMM_S8_IM2COL)) return false;
  *g = (ptec_gemm_s8){
      .w = p->weight->data, .w_row = (ptrdiff_t)W.sn, .k = (int32_t)K, .n = (int32_t)Y.c,
      .in_zp = p->in_zp, .w_zp = p->w_zp,
      .q = {.bias = p->bias ? p->bias->data : NULL, .multiplier = p->multiplier->data,
            .shift = p->shift->data, .scale_step = (int32_t)p->scale_step,
            .out_zp = p->out_zp, .act_min = p->act_min, .act_max = p->act_max}};
  return true;
}

void ptec_qconv_s8_run(const ptec_qconv *p, const ptec_gemm_s8 *g, ptec_gemm_s8_rows_fn rows_fn) {
  conv_job job = {.p = p, .g = *g, .rows_fn = rows_fn, .pointwise = p->w.h == 1 && p->w.w == 1};
  /* Output rows are independent: one share of them per thread. */
  ptec_parallel_range(p->parallel, conv_rows, &job, p->y.n * p->y.h);
}

bool ptec_qconv_s8_by_rows(const ptec_qconv *p, ptec_gemm_s8_rows_fn rows_fn) {
  ptec_gemm_s8 g;
  if (!ptec_qconv_s8_gemm(p, &g)) return false;
  ptec_qconv_s8_run(p, &g, rows_fn);
  return true;
}

ptec_gemm_s8 ptec_qfc_s8_gemm(const ptec_qfc_s8 *p) {
  return (ptec_gemm_s8){
      .w = p->w, .w_row = p->w_row, .k = p->depth, .n = p->n, .in_zp = p->in_zp,
      .w_zp = p->w_zp,
      .q = {.bias = p->bias, .multiplier = p->multiplier, .shift = p->shift,
            .scale_step = p->scale_step, .out_zp = p->out_zp, .act_min = p->act_min,
            .act_max = p->act_max}};
}

void ptec_qfc_s8_run(const ptec_qfc_s8 *p, const ptec_gemm_s8 *g, ptec_gemm_s8_rows_fn rows_fn) {
  for (int32_t r0 = 0; r0 < p->rows; r0 += 4) {
    int rows = p->rows - r0 < 4 ? (int)(p->rows - r0) : 4;
    const int8_t *x[4];
    int8_t *y[4];
    for (int r = 0; r < rows; r++) {
      x[r] = p->x + (r0 + r) * p->x_row;
      y[r] = p->y + (r0 + r) * p->y_row;
    }
    rows_fn(g, x, rows, y, p->y_col);
  }
}

bool ptec_qfc_s8_by_rows(const ptec_qfc_s8 *p, ptec_gemm_s8_rows_fn rows_fn) {
  if (p->depth > PTEC_Q_MAX_TERMS_I32) return false;
  ptec_gemm_s8 g = ptec_qfc_s8_gemm(p);
  ptec_qfc_s8_run(p, &g, rows_fn);
  return true;
}

#endif /* PTEC_KERNELS_X86 || PTEC_KERNELS_NEON */
