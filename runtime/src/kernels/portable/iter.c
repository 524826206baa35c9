#include "kernels/portable/iter.h"

#include "kernels/portable/common.h"

void ptec_iter_init(ptec_iter *it, uint32_t rank, const int64_t *sizes, const uint8_t *order,
                    uint32_t num_operands, const int64_t (*strides)[PTEC_MAX_RANK],
                    const int64_t *base) {
  it->num_operands = num_operands;
  it->empty = false;
  /* Collect loop dims inner to outer, merging a dim into the one inside it
   * when it is contiguous with it for every operand. */
  int64_t sz[PTEC_MAX_RANK];
  int64_t st[PTEC_ITER_MAX_OPERANDS][PTEC_MAX_RANK];
  uint32_t n = 0;
  for (int k = (int)rank - 1; k >= 0; k--) {
    uint32_t d = order ? order[k] : (uint32_t)k;
    if (sizes[d] == 0) it->empty = true;
    if (sizes[d] == 1) continue;
    bool merge = n > 0;
    for (uint32_t p = 0; merge && p < num_operands; p++)
      merge = strides[p][d] == st[p][n - 1] * sz[n - 1];
    if (merge) {
      sz[n - 1] *= sizes[d];
      continue;
    }
    sz[n] = sizes[d];
    for (uint32_t p = 0; p < num_operands; p++) st[p][n] = strides[p][d];
    n++;
  }
  if (n == 0) { /* a single element */
    sz[0] = 1;
    for (uint32_t p = 0; p < num_operands; p++) st[p][0] = 0;
    n = 1;
  }
  it->rank = n;
  for (uint32_t i = 0; i < n; i++) {
    it->sizes[i] = sz[n - 1 - i];
    for (uint32_t p = 0; p < num_operands; p++) it->strides[p][i] = st[p][n - 1 - i];
  }
  it->count = it->sizes[n - 1];
  for (uint32_t p = 0; p < num_operands; p++) it->step[p] = it->strides[p][n - 1];
  ptec_iter_restart(it, base);
}

void ptec_iter_restart(ptec_iter *it, const int64_t *base) {
  for (uint32_t i = 0; i < it->rank; i++) it->index[i] = 0;
  for (uint32_t p = 0; p < it->num_operands; p++) it->offset[p] = base ? base[p] : 0;
  it->done = it->empty;
}

void ptec_iter_next(ptec_iter *it) {
  for (int d = (int)it->rank - 2; d >= 0; d--) {
    if (++it->index[d] < it->sizes[d]) {
      for (uint32_t p = 0; p < it->num_operands; p++) it->offset[p] += it->strides[p][d];
      return;
    }
    it->index[d] = 0;
    for (uint32_t p = 0; p < it->num_operands; p++)
      it->offset[p] -= it->strides[p][d] * (it->sizes[d] - 1);
  }
  it->done = true;
}

bool ptec_broadcast_strides(const ptec_tensor *in, uint32_t rank, const int64_t *sizes,
                            int64_t strides[PTEC_MAX_RANK]) {
  if (in->rank > rank) return false;
  int64_t own[PTEC_MAX_RANK];
  ptec_tensor_strides(in, own);
  uint32_t lead = rank - in->rank;
  for (uint32_t d = 0; d < rank; d++) {
    if (d < lead) {
      strides[d] = 0;
      continue;
    }
    int64_t s = in->sizes[d - lead];
    if (s == sizes[d]) strides[d] = s == 1 ? 0 : own[d - lead];
    else if (s == 1) strides[d] = 0;
    else return false;
  }
  return true;
}

ptec_status ptec_iter_broadcast(ptec_kernel_context *ctx, ptec_iter *it, const ptec_tensor *out,
                                const ptec_tensor *const *inputs, uint32_t num_inputs) {
  /* The broadcast shape of the inputs, computed independently of out so
   * that an out of the wrong (even if compatible) shape is refused. */
  uint32_t rank = 0;
  for (uint32_t k = 0; k < num_inputs; k++)
    if (inputs[k]->rank > rank) rank = inputs[k]->rank;
  int64_t shape[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < PTEC_MAX_RANK; d++) shape[d] = 1;
  for (uint32_t k = 0; k < num_inputs; k++) {
    const ptec_tensor *t = inputs[k];
    uint32_t lead = rank - t->rank;
    for (uint32_t d = 0; d < t->rank; d++) {
      int64_t s = t->sizes[d], *r = &shape[lead + d];
      if (s == *r || s == 1) continue;
      if (*r == 1) {
        *r = s;
        continue;
      }
      char a[48], b[48];
      return ptec_kernel_fail(ctx, PTEC_STATUS_SHAPE_MISMATCH,
                              "shapes %s and %s do not broadcast",
                              ptec_shape_str(inputs[0]->sizes, inputs[0]->rank, a, sizeof a),
                              ptec_shape_str(t->sizes, t->rank, b, sizeof b));
    }
  }
  PTEC_TRY(ptec_check_shape(ctx, out, shape, rank, "out"));

  int64_t strides[PTEC_ITER_MAX_OPERANDS][PTEC_MAX_RANK];
  ptec_tensor_strides(out, strides[0]);
  for (uint32_t k = 0; k < num_inputs; k++)
    ptec_broadcast_strides(inputs[k], rank, shape, strides[k + 1]);
  ptec_iter_init(it, rank, shape, out->dim_order, num_inputs + 1,
                 (const int64_t(*)[PTEC_MAX_RANK])strides, NULL);
  return PTEC_STATUS_OK;
}

void ptec_split_iter_init(ptec_split_iter *s, uint32_t rank, const int64_t *sizes,
                          const uint8_t *order, const bool *split, uint32_t num_operands,
                          const int64_t (*strides)[PTEC_MAX_RANK]) {
  /* Each half sees the other half's dims as size 1, which it drops; an
   * empty inner slice still leaves every outer element to visit. */
  int64_t outer_sizes[PTEC_MAX_RANK], inner_sizes[PTEC_MAX_RANK];
  s->inner_numel = 1;
  for (uint32_t d = 0; d < rank; d++) {
    outer_sizes[d] = split[d] ? 1 : sizes[d];
    inner_sizes[d] = split[d] ? sizes[d] : 1;
    s->inner_numel *= inner_sizes[d];
  }
  ptec_iter_init(&s->outer, rank, outer_sizes, order, num_operands, strides, NULL);
  ptec_iter_init(&s->inner, rank, inner_sizes, order, num_operands, strides, NULL);
}

void ptec_split_iter_inner(ptec_split_iter *s, int64_t j) {
  int64_t base[PTEC_ITER_MAX_OPERANDS];
  for (uint32_t p = 0; p < s->outer.num_operands; p++)
    base[p] = s->outer.offset[p] + j * s->outer.step[p];
  ptec_iter_restart(&s->inner, base);
}
