/* repeat, roll, tril and the reflection / replication pads: element
 * remappings of self (remap.h). */
#include "kernels/portable/common.h"
#include "kernels/portable/remap.h"
#include "kernels/ops_decl.h"

typedef struct remap_params {
  uint32_t rank, lead;        /* self's rank; out dims before self's (repeat) */
  int64_t sizes[PTEC_MAX_RANK]; /* self's */
  int64_t shift[PTEC_MAX_RANK]; /* roll: per dim; tril: the diagonal in [0] */
  int64_t pad[PTEC_MAX_RANK];   /* pads: padding before each dim */
  bool flat;                    /* roll over the flattened tensor */
} remap_params;

static void params_of(remap_params *p, const ptec_tensor *in) {
  *p = (remap_params){.rank = in->rank};
  ptec_tensor_sizes64(in, p->sizes);
}

static int64_t wrap(int64_t i, int64_t n) {
  int64_t m = i % n;
  return m < 0 ? m + n : m;
}

static bool repeat_map(const int64_t *o, int64_t *i, const void *vp) {
  const remap_params *p = vp;
  for (uint32_t d = 0; d < p->rank; d++) i[d] = o[d + p->lead] % p->sizes[d];
  return true;
}

/* repeat.out(Tensor self, SymInt[] repeats, *, Tensor(a!) out) */
ptec_status ptec_kernel_repeat_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  uint32_t n;
  const int64_t *reps = ptec_arg_int_list(ctx, 1, &n);
  PTEC_CHECK(ctx, n >= in->rank && n <= PTEC_MAX_RANK, PTEC_STATUS_SHAPE_MISMATCH,
             "%u repeats for a tensor of rank %u", (unsigned)n, (unsigned)in->rank);
  remap_params p;
  params_of(&p, in);
  p.lead = n - in->rank;
  int64_t sizes[PTEC_MAX_RANK];
  for (uint32_t d = 0; d < n; d++) {
    int64_t s = d < p.lead ? 1 : p.sizes[d - p.lead];
    PTEC_CHECK(ctx, reps[d] >= 0 && reps[d] < ((int64_t)1 << 31), PTEC_STATUS_INVALID_ARGUMENT,
               "repeat %lld", (long long)reps[d]);
    sizes[d] = s * reps[d];
  }
  return ptec_remap(ctx, in, ptec_arg_tensor(ctx, 2), sizes, n, repeat_map, &p);
}

static bool roll_map(const int64_t *o, int64_t *i, const void *vp) {
  const remap_params *p = vp;
  if (!p->flat) {
    for (uint32_t d = 0; d < p->rank; d++) i[d] = wrap(o[d] - p->shift[d], p->sizes[d]);
    return true;
  }
  int64_t flat = 0, numel = 1;
  for (uint32_t d = 0; d < p->rank; d++) {
    flat = flat * p->sizes[d] + o[d];
    numel *= p->sizes[d];
  }
  flat = wrap(flat - p->shift[0], numel);
  for (uint32_t d = p->rank; d-- > 0;) {
    i[d] = flat % p->sizes[d];
    flat /= p->sizes[d];
  }
  return true;
}

/* roll.out(Tensor self, SymInt[1] shifts, int[1] dims=[], *, Tensor(a!) out):
 * no dims rolls the flattened tensor; shifts add up on a repeated dim. */
ptec_status ptec_kernel_roll_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  uint32_t ns, nd;
  const int64_t *shifts = ptec_arg_int_list(ctx, 1, &ns);
  const int64_t *dims = ptec_arg_int_list(ctx, 2, &nd);
  remap_params p;
  params_of(&p, in);
  if (nd == 0) {
    PTEC_CHECK(ctx, ns == 1, PTEC_STATUS_INVALID_ARGUMENT, "roll without dims takes one shift");
    p.flat = true;
    p.shift[0] = shifts[0] % ((int64_t)in->numel > 0 ? (int64_t)in->numel : 1);
  } else {
    PTEC_CHECK(ctx, ns == nd, PTEC_STATUS_INVALID_ARGUMENT, "%u shifts for %u dims",
               (unsigned)ns, (unsigned)nd);
    for (uint32_t k = 0; k < nd; k++) {
      uint32_t d;
      PTEC_TRY(ptec_normalize_dim(ctx, dims[k], in->rank, &d));
      if (p.sizes[d] > 0) p.shift[d] = wrap(p.shift[d] + shifts[k] % p.sizes[d], p.sizes[d]);
    }
  }
  return ptec_remap(ctx, in, ptec_arg_tensor(ctx, 3), p.sizes, in->rank, roll_map, &p);
}

static bool tril_map(const int64_t *o, int64_t *i, const void *vp) {
  const remap_params *p = vp;
  for (uint32_t d = 0; d < p->rank; d++) i[d] = o[d];
  return o[p->rank - 1] - o[p->rank - 2] <= p->shift[0];
}

/* tril.out(Tensor self, SymInt diagonal=0, *, Tensor(a!) out) */
ptec_status ptec_kernel_tril_out(ptec_kernel_context *ctx) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  PTEC_CHECK(ctx, in->rank >= 2, PTEC_STATUS_SHAPE_MISMATCH, "tril needs 2 dims or more");
  remap_params p;
  params_of(&p, in);
  p.shift[0] = ptec_arg_int(ctx, 1);
  return ptec_remap(ctx, in, ptec_arg_tensor(ctx, 2), p.sizes, in->rank, tril_map, &p);
}

static bool reflect_map(const int64_t *o, int64_t *i, const void *vp) {
  const remap_params *p = vp;
  for (uint32_t d = 0; d < p->rank; d++) {
    int64_t k = o[d] - p->pad[d], n = p->sizes[d];
    if (k < 0) k = -k;
    if (k >= n) k = 2 * (n - 1) - k;
    i[d] = k;
  }
  return true;
}

static bool replicate_map(const int64_t *o, int64_t *i, const void *vp) {
  const remap_params *p = vp;
  for (uint32_t d = 0; d < p->rank; d++) {
    int64_t k = o[d] - p->pad[d];
    i[d] = k < 0 ? 0 : k >= p->sizes[d] ? p->sizes[d] - 1 : k;
  }
  return true;
}

/* <mode>_pad<n>d.out(Tensor self, SymInt[2n] padding, *, Tensor(a!) out):
 * padding is (before, after) pairs from the last dim back. Reflection
 * needs each pad below its dim's size. */
static ptec_status pad(ptec_kernel_context *ctx, uint32_t nd, bool reflect) {
  const ptec_tensor *in = ptec_arg_tensor(ctx, 0);
  uint32_t np;
  const int64_t *padding = ptec_arg_int_list(ctx, 1, &np);
  PTEC_CHECK(ctx, np == 2 * nd, PTEC_STATUS_INVALID_ARGUMENT, "padding has %u values, not %u",
             (unsigned)np, (unsigned)(2 * nd));
  PTEC_CHECK(ctx, in->rank == nd + 1 || in->rank == nd + 2, PTEC_STATUS_SHAPE_MISMATCH,
             "input of rank %u for a %ud pad", (unsigned)in->rank, (unsigned)nd);
  remap_params p;
  params_of(&p, in);
  int64_t sizes[PTEC_MAX_RANK];
  ptec_tensor_sizes64(in, sizes);
  for (uint32_t k = 0; k < nd; k++) {
    uint32_t d = in->rank - 1u - k;
    int64_t before = padding[2 * k], after = padding[2 * k + 1], n = p.sizes[d];
    PTEC_CHECK(ctx, before >= 0 && after >= 0 && before < (1 << 30) && after < (1 << 30),
               PTEC_STATUS_INVALID_ARGUMENT, "padding must be non-negative");
    PTEC_CHECK(ctx, reflect ? (before < n && after < n) : n > 0, PTEC_STATUS_INVALID_ARGUMENT,
               "padding (%lld, %lld) too large for a dim of %lld", (long long)before,
               (long long)after, (long long)n);
    p.pad[d] = before;
    sizes[d] = n + before + after;
  }
  return ptec_remap(ctx, in, ptec_arg_tensor(ctx, 2), sizes, in->rank,
                    reflect ? reflect_map : replicate_map, &p);
}

ptec_status ptec_kernel_reflection_pad1d_out(ptec_kernel_context *ctx) { return pad(ctx, 1, true); }
ptec_status ptec_kernel_reflection_pad2d_out(ptec_kernel_context *ctx) { return pad(ctx, 2, true); }
ptec_status ptec_kernel_reflection_pad3d_out(ptec_kernel_context *ctx) { return pad(ctx, 3, true); }
ptec_status ptec_kernel_replication_pad1d_out(ptec_kernel_context *ctx) {
  return pad(ctx, 1, false);
}
ptec_status ptec_kernel_replication_pad2d_out(ptec_kernel_context *ctx) {
  return pad(ctx, 2, false);
}
ptec_status ptec_kernel_replication_pad3d_out(ptec_kernel_context *ctx) {
  return pad(ctx, 3, false);
}
