/* ptec::cached_attention.out(Tensor q, Tensor k_cache, Tensor v_cache,
 *   Tensor cache_position, float scale, *, Tensor(a!) out)
 *
 * q [B, H, T, D], caches [B, H, L, D], cache_position [T] (int64 or int32),
 * out [B, H, T, D], float32, dense row-major. Query t attends to cache rows
 * 0..cache_position[t]: softmax(q.k * scale) weighted sum of v over that
 * prefix only (python/ptec/llm/attention.py). One pass per query with a
 * running maximum and sum (the out row is the accumulator), so no score
 * buffer and only the filled rows are read. The (head, query) pairs are split
 * over the method's threads (kernels/parallel.h); each is computed alone, so
 * the output does not depend on the number of threads. */
#include <math.h>

#include "kernels/ops_decl.h"
#include "kernels/parallel.h"
#include "kernels/portable/common.h"

static float dot(const float *a, const float *b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Multiply-adds (of q.k and of the weighted v) under which one thread does it all. */
#define MIN_PARALLEL (1 << 16)

typedef struct attention {
  const float *q, *k, *v;
  float *out;
  const void *pos;
  int pos_dtype;
  int64_t T, D, L;
  float scale;
} attention;

/* Queries [b, e) of the heads * T (head h, query t: h * T + t). */
static void queries(const void *job, int64_t b, int64_t e) {
  const attention *a = job;
  const int64_t T = a->T, D = a->D, L = a->L;
  for (int64_t u = b; u < e; u++) {
    const int64_t h = u / T, t = u % T;
    const float *qr = a->q + u * D;
    float *acc = a->out + u * D;
    int64_t rows = ptec_load_i64(a->pos, a->pos_dtype, t) + 1;
    float m = -INFINITY, sum = 0.0f;
    for (int64_t i = 0; i < D; i++) acc[i] = 0.0f;
    for (int64_t j = 0; j < rows; j++) {
      const float *kr = a->k + (h * L + j) * D, *vr = a->v + (h * L + j) * D;
      float s = dot(qr, kr, D) * a->scale;
      if (s > m) { /* rescale what was summed under the old maximum */
        float f = expf(m - s);
        sum *= f;
        for (int64_t i = 0; i < D; i++) acc[i] *= f;
        m = s;
      }
      float w = expf(s - m);
      sum += w;
      for (int64_t i = 0; i < D; i++) acc[i] += w * vr[i];
    }
    for (int64_t i = 0; i < D; i++) acc[i] /= sum;
  }
}

ptec_status ptec_kernel_cached_attention_out(ptec_kernel_context *ctx) {
  const ptec_tensor *q = ptec_arg_tensor(ctx, 0), *k = ptec_arg_tensor(ctx, 1);
  const ptec_tensor *v = ptec_arg_tensor(ctx, 2), *pos = ptec_arg_tensor(ctx, 3);
  ptec_tensor *out = ptec_arg_tensor(ctx, 5);
  float scale = (float)ptec_arg_double(ctx, 4);
  PTEC_TRY(ptec_check_f32(ctx, q, out));
  PTEC_TRY(ptec_check_same_dtype(ctx, q, k, "q", "k_cache"));
  PTEC_TRY(ptec_check_same_dtype(ctx, q, v, "q", "v_cache"));
  PTEC_CHECK(ctx, q->rank == 4 && k->rank == 4, PTEC_STATUS_SHAPE_MISMATCH,
             "q and the caches must be [B, H, T, D] and [B, H, L, D]");
  PTEC_TRY(ptec_check_same_shape(ctx, k, v, "k_cache", "v_cache"));
  PTEC_TRY(ptec_check_same_shape(ctx, q, out, "q", "out"));
  PTEC_CHECK(ctx, k->sizes[0] == q->sizes[0] && k->sizes[1] == q->sizes[1] &&
                      k->sizes[3] == q->sizes[3],
             PTEC_STATUS_SHAPE_MISMATCH, "caches and q differ in batch, heads or head size");
  PTEC_CHECK(ctx, pos->dtype == PTEC_DTYPE_INT64 || pos->dtype == PTEC_DTYPE_INT32,
             PTEC_STATUS_TYPE_MISMATCH, "cache_position must be int64 or int32");
  PTEC_CHECK(ctx, pos->rank == 1 && pos->sizes[0] == q->sizes[2], PTEC_STATUS_SHAPE_MISMATCH,
             "cache_position must have one entry per query");
  PTEC_CHECK(ctx, ptec_tensor_is_row_major(q) && ptec_tensor_is_row_major(k) &&
                      ptec_tensor_is_row_major(v) && ptec_tensor_is_row_major(out),
             PTEC_STATUS_NOT_SUPPORTED, "tensors must be dense row-major");
  int64_t heads = (int64_t)q->sizes[0] * q->sizes[1], T = q->sizes[2], D = q->sizes[3];
  int64_t L = k->sizes[2];
  int64_t rows = 0; /* cache rows read per head */
  for (int64_t t = 0; t < T; t++) {
    int64_t p = ptec_load_i64(pos->data, pos->dtype, t);
    PTEC_CHECK(ctx, p >= 0 && p < L, PTEC_STATUS_OUT_OF_RANGE,
               "cache_position %lld is outside the cache's %lld rows", (long long)p,
               (long long)L);
    rows += p + 1;
  }
  attention job = {q->data, k->data, v->data, out->data, pos->data, pos->dtype, T, D, L, scale};
  if ((double)heads * (double)rows * (double)D < MIN_PARALLEL) /* waking threads costs more */
    queries(&job, 0, heads * T);
  else
    ptec_parallel_range(ctx->parallel, queries, &job, heads * T);
  return PTEC_STATUS_OK;
}
