/*
 * What max_pool2d_f32_avx2.c and max_pool2d_f32_avx512.c share: the calls they take
 * (rows of input, output and indices contiguous, dilation 1, stride along rows 1 or 2,
 * windows up to 16 wide, indices and tap columns inside int32) and the walk over planes, split over threads.
 * The includer defines pool_row (one output row of one plane) after including this.
 */
#ifndef PTEC_KERNELS_X86_MAX_POOL2D_F32_X86_H
#define PTEC_KERNELS_X86_MAX_POOL2D_F32_X86_H

#include "kernels/parallel.h"
#include "kernels/x86/ops_f32_x86.h"

/* Widest window taken: the AVX-512 row keeps each tap column's masks on the stack. */
#define MAX_POOL_F32_KW 16

typedef struct pool_job {
  const float *x;
  float *y;
  int64_t *yi;
  view4 X;
  const pool_params *pp;
} pool_job;

static void pool_row(const pool_job *j, const float *xp, float *yp, int64_t *ip, int64_t oh);

static void pool_planes(const void *arg, int64_t p0, int64_t p1) {
  const pool_job *j = arg;
  const view4 I = j->pp->in, O = j->pp->out, X = j->X;
  for (int64_t p = p0; p < p1; p++) {
    int64_t n = p / O.c, c = p % O.c;
    const float *xp = j->x + n * I.sn + c * I.sc;
    for (int64_t oh = 0; oh < O.h; oh++)
      pool_row(j, xp, j->y + n * O.sn + c * O.sc + oh * O.sh,
               j->yi + n * X.sn + c * X.sc + oh * X.sh, oh);
  }
}

/* Runs the pool and returns true, or returns false (nothing written) when the call does
 * not qualify. */
static bool max_pool_run(const float *x, float *y, int64_t *yi, view4 X, const pool_params *pp,
                         const struct ptec_parallel_for *par) {
  const view4 I = pp->in, O = pp->out;
  if (I.sw != 1 || O.sw != 1 || X.sw != 1 || pp->d[0] != 1 || pp->d[1] != 1) return false;
  if ((pp->s[1] != 1 && pp->s[1] != 2) || pp->k[1] > MAX_POOL_F32_KW) return false;
  /* indices in int32 lanes; columns of a vector's taps in int64 arithmetic */
  if (I.h * I.w >= INT32_MAX || I.w >= INT32_MAX / 4 || pp->k[1] > INT32_MAX / 4) return false;
  pool_job j = {x, y, yi, X, pp};
  ptec_parallel_range(par, pool_planes, &j, O.n * O.c);
  return true;
}

#endif /* PTEC_KERNELS_X86_MAX_POOL2D_F32_X86_H */
