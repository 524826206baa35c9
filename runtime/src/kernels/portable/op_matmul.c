/* mm, bmm, addmm and linear, float32 (float16 and bfloat16 in op_matmul_half.c). Every
 * output element accumulates its K products in float, in order k = 0..K-1, whichever
 * loop order is used. */
#include "kernels/portable/common.h"
#include "kernels/portable/complex.h"
#include "kernels/portable/half.h"
#include "kernels/portable/iter.h"
#include "kernels/portable/variants.h"
#include "kernels/ops_decl.h"
#include "kernels/parallel.h"

/* A strided matrix view: element (r, c) is p[r * rs + c * cs]. */
typedef struct mat {
  void *p; /* float, or uint16_t for the half types */
  int64_t rs, cs;
} mat;

/* Columns of C accumulated together when B's rows are contiguous. */
#define JBLOCK 64

/*
 * C = alpha * (A @ B) + beta * D, A: MxK, B: KxN, C and D: MxN. D is
 * ignored when NULL or beta == 0 (PyTorch does not propagate its NaNs then).
 */
static void matmul_one(int dtype, mat c, mat a, mat b, int64_t M, int64_t N, int64_t K,
                       float alpha, const mat *d, float beta) {
  if (dtype != PTEC_DTYPE_FLOAT32) {
    ptec_matmul_half h = {c.p, a.p, b.p, d && beta != 0.0f ? d->p : NULL,
                          dtype == PTEC_DTYPE_BFLOAT16, c.rs, c.cs, a.rs, a.cs, b.rs, b.cs,
                          d ? d->rs : 0, d ? d->cs : 0, M, N, K, alpha, beta};
    ptec_matmul_half_run(&h);
    return;
  }
  float *cp = c.p;
  const float *ap = a.p, *bp = b.p, *dp = d ? d->p : NULL;
  ptec_matmul_f32 v = {cp, ap, bp, d && beta != 0.0f ? dp : NULL, c.rs, c.cs, a.rs, a.cs,
                       b.rs, b.cs, d ? d->rs : 0, d ? d->cs : 0, M, N, K, alpha, beta};
  if (PTEC_F_VARIANT_MATMUL(&v)) return; /* variants.h */
  for (int64_t i = 0; i < M; i++) {
    const float *arow = ap + i * a.rs;
    for (int64_t j0 = 0; j0 < N; j0 += JBLOCK) {
      int64_t nb = N - j0 < JBLOCK ? N - j0 : JBLOCK;
      float acc[JBLOCK] = {0};
      if (b.cs == 1) { /* B rows contiguous: stream them, several columns at once */
        for (int64_t k = 0; k < K; k++) {
          float x = arow[k * a.cs];
          const float *brow = bp + k * b.rs + j0;
          for (int64_t j = 0; j < nb; j++) acc[j] += x * brow[j];
        }
      } else { /* one dot product per column */
        for (int64_t j = 0; j < nb; j++) {
          const float *bcol = bp + (j0 + j) * b.cs;
          float s = 0.0f;
          for (int64_t k = 0; k < K; k++) s += arow[k * a.cs] * bcol[k * b.rs];
          acc[j] = s;
        }
      }
      for (int64_t j = 0; j < nb; j++) {
        float r = alpha == 1.0f ? acc[j] : alpha * acc[j];
        if (d && beta != 0.0f) {
          float dv = dp[i * d->rs + (j0 + j) * d->cs];
          r += beta == 1.0f ? dv : beta * dv;
        }
        cp[i * c.rs + (j0 + j) * c.cs] = r;
      }
    }
  }
}


/* The address of element i of a matrix of `dtype` (float or a 16-bit half type). */
static void *at(int dtype, const void *p, int64_t i) {
  return (char *)p + i * (dtype == PTEC_DTYPE_FLOAT32 ? 4 : 2);
}

/* The address of element i of t's data. */
static void *elem(const ptec_tensor *t, int64_t i) { return at(t->dtype, t->data, i); }

/*
 * Threads: C's columns (in units of COLS, so the vector kernels' blocks stay whole), or
 * when there are too few of them its rows (units of ROWS, the blocked kernels' height),
 * cut into one share per thread, each share a matmul_one of its own. Every variant
 * computes an element of C by the same chain of operations whichever other columns and
 * rows it is computed with (a prompt's row equals the same row alone:
 * test_llm_matmul.py), so C does not depend on the number of threads. Products under
 * MIN_PARALLEL multiply-adds stay on one thread (waking the pool costs more).
 */
#define COLS 16
#define ROWS 4
#define MIN_PARALLEL (1 << 16)

typedef struct matmul_job {
  int dtype;
  mat c, a, b, d;
  bool has_d, by_rows;
  int64_t M, N, K;
  float alpha, beta;
} matmul_job;

static void matmul_share(const void *job, int64_t u0, int64_t u1) {
  const matmul_job *j = job;
  mat c = j->c, a = j->a, b = j->b, d = j->d;
  int64_t M = j->M, N = j->N;
  if (j->by_rows) {
    int64_t i0 = u0 * ROWS, i1 = u1 * ROWS < M ? u1 * ROWS : M;
    c.p = at(j->dtype, c.p, i0 * c.rs);
    a.p = at(j->dtype, a.p, i0 * a.rs);
    d.p = j->has_d ? at(j->dtype, d.p, i0 * d.rs) : NULL;
    M = i1 - i0;
  } else {
    int64_t j0 = u0 * COLS, j1 = u1 * COLS < N ? u1 * COLS : N;
    c.p = at(j->dtype, c.p, j0 * c.cs);
    b.p = at(j->dtype, b.p, j0 * b.cs);
    d.p = j->has_d ? at(j->dtype, d.p, j0 * d.cs) : NULL;
    N = j1 - j0;
  }
  matmul_one(j->dtype, c, a, b, M, N, j->K, j->alpha, j->has_d ? &d : NULL, j->beta);
}

static void matmul(const struct ptec_parallel_for *parallel, int dtype, mat c, mat a, mat b,
                   int64_t M, int64_t N, int64_t K, float alpha, const mat *d, float beta) {
  int64_t threads = parallel != NULL ? parallel->threads : 1;
  if (threads <= 1 || (double)M * (double)N * (double)K < MIN_PARALLEL) {
    matmul_one(dtype, c, a, b, M, N, K, alpha, d, beta);
    return;
  }
  int64_t cols = (N + COLS - 1) / COLS, rows = (M + ROWS - 1) / ROWS;
  matmul_job job = {dtype, c, a, b, d != NULL ? *d : (mat){NULL, 0, 0}, d != NULL,
                    cols < threads && rows > cols, M, N, K, alpha, beta};
  ptec_parallel_range(parallel, matmul_share, &job, job.by_rows ? rows : cols);
}

static mat mat_of(const ptec_tensor *t, const int64_t *strides, uint32_t row_dim) {
  mat m = {t->data, strides[row_dim], strides[row_dim + 1]};
  return m;
}

static ptec_status check_all_float(ptec_kernel_context *ctx, const ptec_tensor *a,
                                   const ptec_tensor *b, const ptec_tensor *out) {
  PTEC_TRY(ptec_check_float_io(ctx, a, out));
  return ptec_check_dtype(ctx, b, out->dtype, "mat2");
}

/* mm.out(Tensor self, Tensor mat2, *, Tensor(a!) out) */
ptec_status ptec_kernel_mm_out(ptec_kernel_context *ctx) {
  const ptec_tensor *a = ptec_arg_tensor(ctx, 0), *b = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_TRY(check_all_float(ctx, a, b, out));
  PTEC_CHECK(ctx, a->rank == 2 && b->rank == 2 && a->sizes[1] == b->sizes[0],
             PTEC_STATUS_SHAPE_MISMATCH, "mm needs [M, K] and [K, N] matrices");
  int64_t want[2] = {a->sizes[0], b->sizes[1]};
  PTEC_TRY(ptec_check_shape(ctx, out, want, 2, "out"));
  int64_t as[PTEC_MAX_RANK], bs[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(a, as);
  ptec_tensor_strides(b, bs);
  ptec_tensor_strides(out, os);
  matmul(ctx->parallel, out->dtype, mat_of(out, os, 0), mat_of(a, as, 0), mat_of(b, bs, 0),
         want[0], want[1], a->sizes[1], 1.0f, NULL, 0.0f);
  return PTEC_STATUS_OK;
}

/* bmm.out(Tensor self, Tensor mat2, *, Tensor(a!) out) */
ptec_status ptec_kernel_bmm_out(ptec_kernel_context *ctx) {
  const ptec_tensor *a = ptec_arg_tensor(ctx, 0), *b = ptec_arg_tensor(ctx, 1);
  ptec_tensor *out = ptec_arg_tensor(ctx, 2);
  PTEC_CHECK(ctx, a->rank == 3 && b->rank == 3 && a->sizes[0] == b->sizes[0] &&
                      a->sizes[2] == b->sizes[1],
             PTEC_STATUS_SHAPE_MISMATCH, "bmm needs [B, M, K] and [B, K, N] tensors");
  int64_t want[3] = {a->sizes[0], a->sizes[1], b->sizes[2]};
  PTEC_TRY(ptec_check_shape(ctx, out, want, 3, "out"));
  if (ptec_any_complex(a, b, out)) return ptec_complex_bmm(ctx, a, b, out);
  PTEC_TRY(check_all_float(ctx, a, b, out));
  int64_t as[PTEC_MAX_RANK], bs[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(a, as);
  ptec_tensor_strides(b, bs);
  ptec_tensor_strides(out, os);
  for (int64_t n = 0; n < want[0]; n++) {
    mat ma = mat_of(a, as, 1), mb = mat_of(b, bs, 1), mo = mat_of(out, os, 1);
    ma.p = elem(a, n * as[0]);
    mb.p = elem(b, n * bs[0]);
    mo.p = elem(out, n * os[0]);
    matmul(ctx->parallel, out->dtype, mo, ma, mb, want[1], want[2], a->sizes[2], 1.0f, NULL,
           0.0f);
  }
  return PTEC_STATUS_OK;
}

/* addmm.out(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1,
 *           Tensor(a!) out): beta * self + alpha * (mat1 @ mat2), self broadcast. */
ptec_status ptec_kernel_addmm_out(ptec_kernel_context *ctx) {
  const ptec_tensor *self = ptec_arg_tensor(ctx, 0);
  const ptec_tensor *a = ptec_arg_tensor(ctx, 1), *b = ptec_arg_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  PTEC_TRY(check_all_float(ctx, a, b, out));
  PTEC_TRY(ptec_check_dtype(ctx, self, out->dtype, "self"));
  PTEC_CHECK(ctx, a->rank == 2 && b->rank == 2 && a->sizes[1] == b->sizes[0],
             PTEC_STATUS_SHAPE_MISMATCH, "addmm needs [M, K] and [K, N] matrices");
  int64_t want[2] = {a->sizes[0], b->sizes[1]};
  PTEC_TRY(ptec_check_shape(ctx, out, want, 2, "out"));
  int64_t ds[PTEC_MAX_RANK];
  PTEC_CHECK(ctx, ptec_broadcast_strides(self, 2, want, ds), PTEC_STATUS_SHAPE_MISMATCH,
             "self does not broadcast to [M, N]");
  int64_t as[PTEC_MAX_RANK], bs[PTEC_MAX_RANK], os[PTEC_MAX_RANK];
  ptec_tensor_strides(a, as);
  ptec_tensor_strides(b, bs);
  ptec_tensor_strides(out, os);
  mat d = {self->data, ds[0], ds[1]};
  matmul(ctx->parallel, out->dtype, mat_of(out, os, 0), mat_of(a, as, 0), mat_of(b, bs, 0),
         want[0], want[1], a->sizes[1], (float)ptec_arg_double(ctx, 4), &d,
         (float)ptec_arg_double(ctx, 3));
  return PTEC_STATUS_OK;
}

/* linear.out(Tensor input, Tensor weight, Tensor? bias=None, *, Tensor(a!) out):
 * input [..., K], weight [N, K], bias [N] -> out [..., N]. */
ptec_status ptec_kernel_linear_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0), *w = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *bias = ptec_arg_opt_tensor(ctx, 2);
  ptec_tensor *out = ptec_arg_tensor(ctx, 3);
  PTEC_TRY(ptec_check_float_io(ctx, in, out));
  PTEC_TRY(ptec_check_dtype(ctx, w, out->dtype, "weight"));
  PTEC_CHECK(ctx, in->rank >= 1 && w->rank == 2 && in->sizes[in->rank - 1] == w->sizes[1],
             PTEC_STATUS_SHAPE_MISMATCH, "linear needs input [..., K] and weight [N, K]");
  int64_t N = w->sizes[0], K = w->sizes[1];
  int64_t want[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, want);
  want[in->rank - 1] = N;
  PTEC_TRY(ptec_check_shape(ctx, out, want, in->rank, "out"));
  int64_t bias_stride = 0;
  if (bias) {
    PTEC_TRY(ptec_check_dtype(ctx, bias, out->dtype, "bias"));
    int64_t bsz[1] = {N}, bs[PTEC_MAX_RANK];
    PTEC_CHECK(ctx, ptec_broadcast_strides(bias, 1, bsz, bs), PTEC_STATUS_SHAPE_MISMATCH,
               "bias must broadcast to [N]");
    bias_stride = bs[0];
  }

  /* Rows of the matmul: the elements of the leading dims (runs at a constant stride). */
  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK], ws[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(out, strides[1]);
  ptec_tensor_strides(w, ws);
  ptec_tensor_sizes64(in, sizes);
  bool split[PTEC_MAX_RANK] = {false};
  split[in->rank - 1] = true;
  ptec_split_iter s;
  ptec_split_iter_init(&s, in->rank, sizes, NULL, split, 2,
                       (const int64_t(*)[PTEC_MAX_RANK])strides);
  mat b = {w->data, ws[1], ws[0]}; /* weight^T: K x N */
  mat d = {bias ? bias->data : NULL, 0, bias_stride};
  /* Each run of the outer iterator is rows at a constant stride: one matmul. */
  for (; !s.outer.done; ptec_iter_next(&s.outer)) {
    mat a = {elem(in, s.outer.offset[0]), s.outer.step[0], strides[0][in->rank - 1]};
    mat c = {elem(out, s.outer.offset[1]), s.outer.step[1], strides[1][in->rank - 1]};
    matmul(ctx->parallel, out->dtype, c, a, b, s.outer.count, N, K, 1.0f, bias ? &d : NULL,
           1.0f);
  }
  return PTEC_STATUS_OK;
}
