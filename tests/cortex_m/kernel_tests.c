/*
 * kernel-tests: the ISA variants of the fused integer kernels against the
 * reference kernels, bit for bit, on seeded random cases; and, with
 * --bench, instruction ticks of model layers for both.
 *
 *   kernel-tests [--seed S] [--cases N]     N random cases per kernel
 *   kernel-tests --bench layers.txt         one line per layer (see bench())
 *
 * For each case the same kernel call (ptec_kernel_context) runs three ways:
 *   ref       ref_kernel_quantized_*  (the reference sources compiled with
 *             PTEC_KERNELS_REFERENCE_ONLY, see CMakeLists.txt)
 *   dispatch  ptec_kernel_quantized_* (the runtime's kernel: variant when it
 *             qualifies, reference otherwise)
 *   variant   this ISA's variant called directly (variants.h); when it
 *             declines it must leave the output untouched. On x86-64 the
 *             dispatch takes the AVX-512 VNNI variants where the CPU has
 *             them, so this column runs the AVX2 ones (X86_VARIANT below):
 *             both are checked on such a CPU.
 * Outputs start filled with a pattern so that unwritten bytes show.
 *
 * Lines: "kernel-tests: <kernel> cases C variant V mismatches M" and a last
 * "kernel-tests: total mismatches M"; exit status 0 only when M == 0.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "semihost.h"
#include "core/value.h"
#include "kernels/isa.h"
#include "kernels/kernel.h"
#include "kernels/quantized/variants.h"
#include "ptec/platform.h"

/* The reference kernels under their renamed entry points. */
ptec_status ref_kernel_quantized_conv2d_out(ptec_kernel_context *ctx);
ptec_status ref_kernel_quantized_linear_out(ptec_kernel_context *ctx);
ptec_status ref_kernel_quantized_matmul_out(ptec_kernel_context *ctx);
ptec_status ref_kernel_quantized_add_out(ptec_kernel_context *ctx);
ptec_status ref_kernel_quantized_mul_out(ptec_kernel_context *ctx);
ptec_status ref_kernel_quantized_avg_pool2d_out(ptec_kernel_context *ctx);
ptec_status ref_kernel_quantized_max_pool2d_out(ptec_kernel_context *ctx);
ptec_status ptec_kernel_quantized_conv2d_out(ptec_kernel_context *ctx);
ptec_status ptec_kernel_quantized_linear_out(ptec_kernel_context *ctx);
ptec_status ptec_kernel_quantized_matmul_out(ptec_kernel_context *ctx);
ptec_status ptec_kernel_quantized_add_out(ptec_kernel_context *ctx);
ptec_status ptec_kernel_quantized_mul_out(ptec_kernel_context *ctx);
ptec_status ptec_kernel_quantized_avg_pool2d_out(ptec_kernel_context *ctx);
ptec_status ptec_kernel_quantized_max_pool2d_out(ptec_kernel_context *ctx);

#define PATTERN 0x5A

/* ------------------------------------------------------------ memory */

static uint8_t *arena_base;
static size_t arena_size, arena_used;

/* The board's largest region (QEMU models them all as RAM). */
static void arena_init(void) {
  for (size_t i = 0; i < board.num_regions; i++)
    if (board.regions[i].size > arena_size) {
      arena_base = (uint8_t *)board.regions[i].base;
      arena_size = board.regions[i].size;
    }
}

static void *arena_alloc(size_t bytes) {
  size_t at = (arena_used + 15u) & ~(size_t)15u;
  if (at + bytes > arena_size) {
    printf("kernel-tests: out of memory (%u bytes)\n", (unsigned)bytes);
    fflush(stdout);
    semihost_exit(3);
  }
  arena_used = at + bytes;
  return arena_base + at;
}

/* ------------------------------------------------------------ random */

static uint64_t rng;

static uint32_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Uniform in [lo, hi]. */
static int32_t range(int32_t lo, int32_t hi) {
  return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static bool chance(int percent) { return (int)(rnd() % 100u) < percent; }

static void fill_s8(int8_t *p, size_t n) {
  /* Mostly uniform; sometimes all extremes (the accumulators' worst case). */
  int mode = range(0, 9);
  for (size_t i = 0; i < n; i++)
    p[i] = mode == 0 ? (int8_t)-128 : mode == 1 ? (int8_t)(rnd() & 1 ? 127 : -128)
                                                : (int8_t)(rnd() & 0xFF);
}

static int8_t *random_s8(size_t n) {
  int8_t *p = arena_alloc(n ? n : 1);
  fill_s8(p, n);
  return p;
}

/* A multiplier in [1, 2^31) (usually normalised, >= 2^30) and its shift. */
static void random_scale(int32_t *m, int32_t *s, int32_t smin, int32_t smax) {
  *m = chance(85) ? (int32_t)(0x40000000u | (rnd() & 0x3FFFFFFFu))
                  : (int32_t)(1u + rnd() % 0x7FFFFFFFu);
  *s = range(smin, smax);
}

/* ------------------------------------------------------- kernel calls */

enum { MAX_VALUES = 24, MAX_TENSORS = 8, MAX_LISTS = 6 };

typedef struct call {
  ptec_value v[MAX_VALUES];
  int32_t args[MAX_VALUES];
  uint32_t n;
  ptec_tensor t[MAX_TENSORS];
  int32_t sizes[MAX_TENSORS][4];
  uint8_t order[MAX_TENSORS][4];
  uint32_t nt;
  int64_t lists[MAX_LISTS][4];
  uint32_t nl;
  char msg[256];
} call;

static size_t dtype_size(int dtype) {
  return dtype == PTEC_DTYPE_INT8 ? 1 : dtype == PTEC_DTYPE_INT16 ? 2
                                      : dtype == PTEC_DTYPE_INT32 ? 4 : 8;
}

static ptec_tensor *arg_tensor(call *c, int dtype, void *data, uint32_t rank,
                               const int32_t *sizes, const uint8_t *order, bool constant) {
  ptec_tensor *t = &c->t[c->nt];
  size_t numel = 1;
  for (uint32_t d = 0; d < rank; d++) {
    c->sizes[c->nt][d] = sizes[d];
    c->order[c->nt][d] = order ? order[d] : (uint8_t)d;
    numel *= (size_t)sizes[d];
  }
  *t = (ptec_tensor){data, c->sizes[c->nt], c->order[c->nt], numel, numel * dtype_size(dtype),
                     (uint8_t)dtype, (uint8_t)rank, constant, false, NULL,
                     numel * dtype_size(dtype)};
  c->nt++;
  c->v[c->n] = (ptec_value){.tag = PTEC_VALUE_TENSOR, .u.tensor = t};
  c->args[c->n] = (int32_t)c->n;
  c->n++;
  return t;
}

static void arg_int(call *c, int64_t x) {
  c->v[c->n] = (ptec_value){.tag = PTEC_VALUE_INT, .u.i = x};
  c->args[c->n] = (int32_t)c->n;
  c->n++;
}

static void arg_list(call *c, uint32_t count, int64_t a, int64_t b, int64_t x, int64_t y) {
  int64_t *l = c->lists[c->nl++];
  l[0] = a, l[1] = b, l[2] = x, l[3] = y;
  c->v[c->n] = (ptec_value){.tag = PTEC_VALUE_INT_LIST, .count = count, .u.int_list = l};
  c->args[c->n] = (int32_t)c->n;
  c->n++;
}

static void arg_none(call *c) {
  c->v[c->n] = (ptec_value){.tag = PTEC_VALUE_NONE};
  c->args[c->n] = (int32_t)c->n;
  c->n++;
}

/* The context, with the return slot (= the out argument, the last one). */
static ptec_kernel_context context(call *c, const char *op) {
  c->args[c->n] = (int32_t)c->n - 1;
  return (ptec_kernel_context){c->v, c->args, c->n + 1, op, NULL, 0, c->msg, sizeof c->msg, NULL, 0};
}

/* ---------------------------------------------------- case bookkeeping */

typedef struct stats {
  const char *name;
  int cases, variant, mismatches;
} stats;

static uint32_t case_id; /* printed with failures: seed + case replay the run */

static int first_diff(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i]) return (int)i;
  return -1;
}

static bool untouched(const void *p, size_t n) {
  const uint8_t *x = p;
  for (size_t i = 0; i < n; i++)
    if (x[i] != PATTERN) return false;
  return true;
}

/*
 * Runs one call three ways (ref, dispatch, variant) and records the
 * outcome. `variant` runs the ISA variant with the out tensor's data
 * already pointing at its buffer and returns whether it ran.
 */
static void check(stats *st, call *c, ptec_tensor *out, ptec_kernel_fn ref, ptec_kernel_fn kernel,
                  bool (*variant)(void *), void *variant_arg, const char *what) {
  size_t bytes = out->nbytes;
  uint8_t *want = arena_alloc(bytes), *got = arena_alloc(bytes), *direct = arena_alloc(bytes);
  memset(want, PATTERN, bytes);
  memset(got, PATTERN, bytes);
  memset(direct, PATTERN, bytes);
  ptec_kernel_context ctx = context(c, st->name);
  out->data = want;
  ptec_status s1 = ref(&ctx);
  out->data = got;
  ptec_status s2 = kernel(&ctx);
  out->data = direct;
  bool ran = variant ? variant(variant_arg) : false;
  st->cases++;
  st->variant += ran;
  int d1 = first_diff(want, got, bytes);
  int d2 = ran ? first_diff(want, direct, bytes) : (untouched(direct, bytes) ? -1 : 0);
  if (s1 != PTEC_STATUS_OK || s2 != PTEC_STATUS_OK || d1 >= 0 || d2 >= 0) {
    st->mismatches++;
    if (st->mismatches <= 3) {
      printf("kernel-tests: MISMATCH %s case %u (%s): status %d/%d, dispatch diff at %d",
             st->name, (unsigned)case_id, what, (int)s1, (int)s2, d1);
      if (d1 >= 0) printf(" (%d vs %d)", (int8_t)want[d1], (int8_t)got[d1]);
      printf(", variant %s diff at %d", ran ? "ran" : "declined", d2);
      if (ran && d2 >= 0) printf(" (%d vs %d)", (int8_t)want[d2], (int8_t)direct[d2]);
      printf(" %s\n", s1 != PTEC_STATUS_OK ? c->msg : "");
    }
  }
}

/* --------------------------------------------------------------- conv */

typedef struct conv_shape {
  int32_t n, c, h, w, o, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups;
} conv_shape;

typedef struct conv_case {
  call c;
  ptec_tensor *out;
  ptec_qconv p;
  bool depthwise;
} conv_case;

#if PTEC_KERNELS_X86
#define X86_CONV(p) (ptec_x86_has_avx2_fma() && ptec_qconv_s8_avx2(p))
#define X86_DEPTHWISE(p) (ptec_x86_has_avx2_fma() && ptec_qconv_depthwise_s8_avx2(p))
#define X86_FC(p) (ptec_x86_has_avx2_fma() && ptec_qfc_s8_avx2(p))
#else
#define X86_CONV(p) PTEC_Q_VARIANT_CONV(p)
#define X86_DEPTHWISE(p) PTEC_Q_VARIANT_DEPTHWISE(p)
#define X86_FC(p) PTEC_Q_VARIANT_FC(p)
#endif

static bool conv_variant(void *arg) {
  conv_case *k = arg;
  return k->depthwise ? X86_DEPTHWISE(&k->p) : X86_CONV(&k->p);
}

static const uint8_t NCHW[4] = {0, 1, 2, 3}, NHWC[4] = {0, 2, 3, 1}, HWCM[4] = {1, 2, 3, 0};

static int32_t window_out(int32_t in, int32_t lo, int32_t hi, int32_t k, int32_t s, int32_t d) {
  int32_t span = in + lo + hi - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

/*
 * Builds a conv call on `k`. Layouts: `nhwc` for input and output, weights
 * OHWI (HWCM for depthwise) when `w_fast`. Quantization: realistic unless
 * `wild` (any zero points, shifts down to 20, huge biases).
 */
static void conv_build(conv_case *k, const conv_shape *s, bool nhwc, bool w_fast, bool wild,
                       bool per_channel) {
  call *c = &k->c;
  memset(c, 0, sizeof *c);
  int32_t oh = window_out(s->h, s->pt, s->pb, s->kh, s->sh, s->dh);
  int32_t ow = window_out(s->w, s->pl, s->pr, s->kw, s->sw, s->dw);
  int32_t wc = s->c / s->groups;
  k->depthwise = s->groups == s->c && wc == 1;
  int32_t xs[4] = {s->n, s->c, s->h, s->w}, ws[4] = {s->o, wc, s->kh, s->kw};
  int32_t ys[4] = {s->n, s->o, oh, ow}, os[1] = {s->o}, one[1] = {1};
  size_t xn = (size_t)s->n * s->c * s->h * s->w, wn = (size_t)s->o * wc * s->kh * s->kw;
  const ptec_tensor *in = arg_tensor(c, PTEC_DTYPE_INT8, random_s8(xn), 4, xs,
                                     nhwc ? NHWC : NCHW, false);
  const ptec_tensor *w = arg_tensor(c, PTEC_DTYPE_INT8, random_s8(wn), 4, ws,
                                    w_fast ? (k->depthwise ? HWCM : NHWC) : NCHW, true);
  int32_t *bias = NULL;
  if (chance(85)) {
    bias = arena_alloc((size_t)s->o * 4);
    for (int32_t i = 0; i < s->o; i++)
      bias[i] = wild && chance(30) ? (int32_t)rnd() : range(-100000, 100000);
    arg_tensor(c, PTEC_DTYPE_INT32, bias, 1, os, NULL, true);
  } else {
    arg_none(c);
  }
  arg_list(c, 2, s->sh, s->sw, 0, 0);
  arg_list(c, 4, s->pt, s->pb, s->pl, s->pr);
  arg_list(c, 2, s->dh, s->dw, 0, 0);
  arg_int(c, s->groups);
  int32_t izp = chance(20) ? 0 : chance(30) ? -128 : range(-128, 127);
  int32_t wzp = wild && chance(25) ? range(-128, 127) : 0;
  int32_t ozp = range(-128, 127);
  arg_int(c, izp);
  arg_int(c, wzp);
  int32_t nscale = per_channel ? s->o : 1;
  int32_t *m = arena_alloc((size_t)nscale * 4), *sh = arena_alloc((size_t)nscale * 4);
  for (int32_t i = 0; i < nscale; i++)
    random_scale(&m[i], &sh[i], wild ? (chance(50) ? 20 : 31) : 31, chance(20) ? 31 : 45);
  const ptec_tensor *mt = arg_tensor(c, PTEC_DTYPE_INT32, m, 1, per_channel ? os : one, NULL, true);
  const ptec_tensor *st = arg_tensor(c, PTEC_DTYPE_INT32, sh, 1, per_channel ? os : one, NULL, true);
  int32_t lo = -128, hi = 127;
  if (chance(40)) lo = ozp; /* ReLU */
  if (chance(20)) hi = range(lo, 127);
  arg_int(c, ozp);
  arg_int(c, lo);
  arg_int(c, hi);
  k->out = arg_tensor(c, PTEC_DTYPE_INT8, NULL, 4, ys, nhwc ? NHWC : NCHW, false);
  /* The checked parameters, as setup() in op_quantized_conv2d.c makes them. */
  ptec_qconv *p = &k->p;
  memset(p, 0, sizeof *p);
  p->in = in, p->weight = w, p->bias = bias ? &c->t[2] : NULL, p->multiplier = mt,
  p->shift = st, p->out = k->out;
  p->x = ptec_q_view4_of(in), p->w = ptec_q_view4_of(w), p->y = ptec_q_view4_of(k->out);
  p->stride[0] = s->sh, p->stride[1] = s->sw, p->dilation[0] = s->dh, p->dilation[1] = s->dw;
  p->pad[0] = s->pt, p->pad[1] = s->pb, p->pad[2] = s->pl, p->pad[3] = s->pr;
  p->groups = s->groups, p->scale_step = per_channel ? 1 : 0;
  p->in_zp = izp, p->w_zp = wzp, p->out_zp = ozp, p->act_min = lo, p->act_max = hi;
}

static int32_t pick_kernel(void) {
  static const int32_t ks[] = {1, 1, 1, 3, 3, 3, 2, 5};
  return ks[rnd() % 8u];
}

static void random_conv_shape(conv_shape *s, bool depthwise) {
  s->n = chance(15) ? 2 : 1;
  s->kh = pick_kernel();
  s->kw = chance(70) ? s->kh : pick_kernel();
  if (chance(5)) s->kh = 10, s->kw = 4; /* DS-CNN's first layer */
  if (chance(3)) s->kh = s->kw = 9;       /* more taps than the fast paths keep */
  s->sh = chance(70) ? 1 : 2;
  s->sw = chance(80) ? s->sh : 3 - s->sh;
  s->dh = chance(85) ? 1 : 2;
  s->dw = chance(85) ? 1 : 2;
  s->pt = range(0, s->kh - 1), s->pb = range(0, s->kh - 1);
  s->pl = range(0, s->kw - 1), s->pr = range(0, s->kw - 1);
  s->h = range(1, 11);
  s->w = range(1, 11);
  if (window_out(s->h, s->pt, s->pb, s->kh, s->sh, s->dh) <= 0) s->h = s->dh * (s->kh - 1) + 1;
  if (window_out(s->w, s->pl, s->pr, s->kw, s->sw, s->dw) <= 0) s->w = s->dw * (s->kw - 1) + 1;
  if (depthwise) {
    s->c = chance(50) ? range(1, 40) : 16 * range(1, 3);
    s->o = chance(10) ? 2 * s->c : s->c;
    if (chance(15)) s->c = 1, s->o = range(1, 70); /* a first layer on one channel */
    s->groups = s->c;
  } else {
    s->c = chance(50) ? range(1, 40) : 16 * range(1, 4);
    s->o = range(1, 21);
    s->groups = 1;
    if (chance(8) && s->c % 2 == 0 && s->o % 2 == 0 && s->c > 2) s->groups = 2;
  }
}

static void test_conv(stats *st, bool depthwise) {
  conv_shape s;
  random_conv_shape(&s, depthwise);
  conv_case *k = arena_alloc(sizeof *k);
  conv_build(k, &s, chance(85), chance(85), chance(25), chance(80));
  check(st, &k->c, k->out, ref_kernel_quantized_conv2d_out, ptec_kernel_quantized_conv2d_out,
        conv_variant, k, depthwise ? "depthwise conv" : "conv");
}

/* ----------------------------------------------------- linear, matmul */

typedef struct fc_case {
  call c;
  ptec_tensor *out;
  ptec_qfc_s8 fc;
} fc_case;

static bool fc_variant(void *arg) {
  fc_case *k = arg;
  k->fc.y = k->out->data;
  return X86_FC(&k->fc);
}

static void linear_build(fc_case *k, int32_t rows, int32_t depth, int32_t n, bool wild) {
  call *c = &k->c;
  memset(c, 0, sizeof *c);
  int32_t xs[2] = {rows, depth}, ws[2] = {n, depth}, ys[2] = {rows, n}, ns[1] = {n};
  const ptec_tensor *x = arg_tensor(c, PTEC_DTYPE_INT8, random_s8((size_t)rows * depth), 2, xs,
                                    NULL, false);
  const ptec_tensor *w = arg_tensor(c, PTEC_DTYPE_INT8, random_s8((size_t)n * depth), 2, ws,
                                    NULL, true);
  int32_t *bias = NULL;
  if (chance(85)) {
    bias = arena_alloc((size_t)n * 4);
    for (int32_t i = 0; i < n; i++) bias[i] = wild && chance(30) ? (int32_t)rnd() : range(-50000, 50000);
    arg_tensor(c, PTEC_DTYPE_INT32, bias, 1, ns, NULL, true);
  } else {
    arg_none(c);
  }
  int32_t izp = chance(20) ? 0 : range(-128, 127), wzp = wild && chance(40) ? range(-128, 127) : 0;
  int32_t ozp = range(-128, 127), lo = chance(40) ? ozp : -128, hi = 127;
  arg_int(c, izp);
  arg_int(c, wzp);
  bool per_channel = chance(70);
  int32_t nscale = per_channel ? n : 1, one[1] = {1};
  int32_t *m = arena_alloc((size_t)nscale * 4), *sh = arena_alloc((size_t)nscale * 4);
  for (int32_t i = 0; i < nscale; i++)
    random_scale(&m[i], &sh[i], wild && chance(50) ? 20 : 31, chance(20) ? 31 : 45);
  arg_tensor(c, PTEC_DTYPE_INT32, m, 1, per_channel ? ns : one, NULL, true);
  arg_tensor(c, PTEC_DTYPE_INT32, sh, 1, per_channel ? ns : one, NULL, true);
  arg_int(c, ozp);
  arg_int(c, lo);
  arg_int(c, hi);
  k->out = arg_tensor(c, PTEC_DTYPE_INT8, NULL, 2, ys, NULL, false);
  k->fc = (ptec_qfc_s8){.x = x->data, .w = w->data, .bias = bias, .multiplier = m,
                        .shift = sh, .rows = rows, .depth = depth, .n = n, .x_row = depth,
                        .w_row = depth, .y_row = n, .y_col = 1,
                        .scale_step = per_channel ? 1 : 0, .in_zp = izp, .w_zp = wzp,
                        .out_zp = ozp, .act_min = lo, .act_max = hi};
}

static void test_linear(stats *st) {
  fc_case *k = arena_alloc(sizeof *k);
  int32_t depth = chance(50) ? range(1, 80) : chance(95) ? range(1, 400) : range(2040, 2100);
  linear_build(k, range(1, 4), depth, chance(85) ? range(1, 37) : range(60, 140), chance(30));
  check(st, &k->c, k->out, ref_kernel_quantized_linear_out, ptec_kernel_quantized_linear_out,
        fc_variant, k, "linear");
}

static void test_matmul(stats *st) {
  fc_case *k = arena_alloc(sizeof *k);
  call *c = &k->c;
  memset(c, 0, sizeof *c);
  /* The direct variant call covers one batch, so it runs when b == 1. */
  int32_t b = chance(70) ? 1 : range(2, 3), m = range(1, 9), depth = range(1, 70);
  int32_t n = range(1, 19);
  int32_t as[3] = {b, m, depth}, bs[3] = {b, depth, n}, ys[3] = {b, m, n};
  static const uint8_t transposed[3] = {0, 2, 1}; /* b's K innermost: the int32 path */
  bool fast_b = chance(85);
  const ptec_tensor *ta = arg_tensor(c, PTEC_DTYPE_INT8, random_s8((size_t)b * m * depth), 3,
                                     as, NULL, false);
  const ptec_tensor *tb = arg_tensor(c, PTEC_DTYPE_INT8, random_s8((size_t)b * depth * n), 3,
                                     bs, fast_b ? transposed : NULL, false);
  int32_t azp = range(-128, 127), bzp = chance(50) ? 0 : range(-128, 127), ozp = range(-128, 127);
  int32_t *scale = arena_alloc(8);
  random_scale(&scale[0], &scale[1], chance(10) ? 25 : 31, 45);
  arg_int(c, azp);
  arg_int(c, bzp);
  arg_int(c, scale[0]);
  arg_int(c, scale[1]);
  arg_int(c, ozp);
  k->out = arg_tensor(c, PTEC_DTYPE_INT8, NULL, 3, ys, NULL, false);
  k->fc = (ptec_qfc_s8){.x = ta->data, .w = tb->data, .multiplier = &scale[0],
                        .shift = &scale[1], .rows = m, .depth = depth, .n = n, .x_row = depth,
                        .w_row = depth, .y_row = n, .y_col = 1, .in_zp = azp, .w_zp = bzp,
                        .out_zp = ozp, .act_min = -128, .act_max = 127};
  bool direct = fast_b && b == 1;
  check(st, c, k->out, ref_kernel_quantized_matmul_out, ptec_kernel_quantized_matmul_out,
        direct ? fc_variant : NULL, k, "matmul");
}

/* --------------------------------------------------------- add, mul */

typedef struct ew_case {
  call c;
  ptec_tensor *out;
  bool is_add;
  ptec_qadd_params add;
  ptec_qmul_params mul;
  const int8_t *a, *b;
  ptrdiff_t sa, sb;
  int32_t count;
} ew_case;

static bool ew_variant(void *arg) {
  ew_case *k = arg;
  int8_t *y = k->out->data;
  if (k->is_add) return PTEC_Q_VARIANT_ADD(&k->add, k->a, k->sa, k->b, k->sb, y, k->count);
  return PTEC_Q_VARIANT_MUL(&k->mul, k->a, k->sa, k->b, k->sb, y, k->count);
}

static void test_elementwise(stats *st, bool is_add) {
  ew_case *k = arena_alloc(sizeof *k);
  call *c = &k->c;
  memset(c, 0, sizeof *c);
  k->is_add = is_add;
  int32_t count = chance(50) ? range(1, 40) : range(1, 700);
  int shape = range(0, 4); /* 0..2 same shape, 3: b broadcast, 4: a broadcast */
  int32_t full[1] = {count}, one[1] = {1};
  k->a = random_s8(shape == 4 ? 1 : (size_t)count);
  k->b = random_s8(shape == 3 ? 1 : (size_t)count);
  k->sa = shape == 4 ? 0 : 1, k->sb = shape == 3 ? 0 : 1, k->count = count;
  arg_tensor(c, PTEC_DTYPE_INT8, (void *)k->a, 1, shape == 4 ? one : full, NULL, false);
  arg_tensor(c, PTEC_DTYPE_INT8, (void *)k->b, 1, shape == 3 ? one : full, NULL, false);
  int32_t lo = -128, hi = 127, ozp = range(-128, 127);
  if (chance(30)) lo = ozp;
  if (is_add) {
    ptec_qadd_params *p = &k->add;
    p->a_zp = range(-128, 127), p->b_zp = range(-128, 127), p->out_zp = ozp;
    random_scale(&p->a_m, &p->a_s, chance(10) ? 4 : 9, chance(10) ? 35 : 20);
    random_scale(&p->b_m, &p->b_s, chance(10) ? 4 : 9, chance(10) ? 35 : 20);
    random_scale(&p->out_m, &p->out_s, chance(10) ? 25 : 31, 55);
    p->act_min = lo, p->act_max = hi;
    arg_int(c, p->a_zp), arg_int(c, p->a_m), arg_int(c, p->a_s);
    arg_int(c, p->b_zp), arg_int(c, p->b_m), arg_int(c, p->b_s);
    arg_int(c, p->out_zp), arg_int(c, p->out_m), arg_int(c, p->out_s);
  } else {
    ptec_qmul_params *p = &k->mul;
    p->a_zp = range(-128, 127), p->b_zp = range(-128, 127), p->out_zp = ozp;
    random_scale(&p->m, &p->s, chance(10) ? 10 : 16, 50);
    p->act_min = lo, p->act_max = hi;
    arg_int(c, p->a_zp), arg_int(c, p->b_zp), arg_int(c, p->m), arg_int(c, p->s);
    arg_int(c, p->out_zp);
  }
  arg_int(c, lo);
  arg_int(c, hi);
  k->out = arg_tensor(c, PTEC_DTYPE_INT8, NULL, 1, full, NULL, false);
  if (is_add)
    check(st, c, k->out, ref_kernel_quantized_add_out, ptec_kernel_quantized_add_out, ew_variant,
          k, "add");
  else
    check(st, c, k->out, ref_kernel_quantized_mul_out, ptec_kernel_quantized_mul_out, ew_variant,
          k, "mul");
}

/* -------------------------------------------------------------- pools */

typedef struct pool_case {
  call c;
  ptec_tensor *out;
  ptec_qpool w;
  bool avg;
  int32_t izp, ozp, lo, hi;
} pool_case;

static bool pool_variant(void *arg) {
  pool_case *k = arg;
  if (k->avg) return PTEC_Q_VARIANT_AVG_POOL(&k->w, k->izp, k->ozp, k->lo, k->hi);
  return PTEC_Q_VARIANT_MAX_POOL(&k->w, k->lo, k->hi);
}

typedef struct pool_shape {
  int32_t n, c, h, w, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw;
} pool_shape;

static void pool_build(pool_case *k, const pool_shape *s, bool avg, bool nhwc) {
  call *c = &k->c;
  memset(c, 0, sizeof *c);
  k->avg = avg;
  int32_t oh = window_out(s->h, s->pt, s->pb, s->kh, s->sh, s->dh);
  int32_t ow = window_out(s->w, s->pl, s->pr, s->kw, s->sw, s->dw);
  int32_t xs[4] = {s->n, s->c, s->h, s->w}, ys[4] = {s->n, s->c, oh, ow};
  const ptec_tensor *in = arg_tensor(c, PTEC_DTYPE_INT8, random_s8((size_t)s->n * s->c * s->h * s->w),
                                     4, xs, nhwc ? NHWC : NCHW, false);
  arg_list(c, 2, s->kh, s->kw, 0, 0);
  arg_list(c, 2, s->sh, s->sw, 0, 0);
  arg_list(c, 4, s->pt, s->pb, s->pl, s->pr);
  k->izp = range(-128, 127), k->ozp = avg ? range(-128, 127) : 0;
  k->lo = chance(70) ? -128 : range(-128, 0), k->hi = chance(70) ? 127 : range(0, 127);
  if (avg) {
    arg_int(c, k->izp);
    arg_int(c, k->ozp);
  } else {
    arg_list(c, 2, s->dh, s->dw, 0, 0);
  }
  arg_int(c, k->lo);
  arg_int(c, k->hi);
  k->out = arg_tensor(c, PTEC_DTYPE_INT8, NULL, 4, ys, nhwc ? NHWC : NCHW, false);
  ptec_qpool *w = &k->w;
  memset(w, 0, sizeof *w);
  w->in = in, w->out = k->out, w->x = ptec_q_view4_of(in), w->y = ptec_q_view4_of(k->out);
  w->kernel[0] = s->kh, w->kernel[1] = s->kw, w->stride[0] = s->sh, w->stride[1] = s->sw;
  w->pad[0] = s->pt, w->pad[1] = s->pb, w->pad[2] = s->pl, w->pad[3] = s->pr;
  w->dilation[0] = s->dh, w->dilation[1] = s->dw;
}

static void test_pool(stats *st, bool avg) {
  pool_shape s;
  s.n = chance(15) ? 2 : 1;
  s.c = chance(50) ? range(1, 40) : 16 * range(1, 3);
  s.kh = range(1, 4), s.kw = chance(70) ? s.kh : range(1, 4);
  s.h = range(1, 12), s.w = range(1, 12);
  if (chance(15)) s.kh = s.h, s.kw = s.w; /* global pooling */
  if (avg && chance(5)) s.h = s.kh = 17, s.w = s.kw = 16; /* 272 elements: int16 sums won't do */
  s.sh = range(1, 2), s.sw = range(1, 2);
  s.dh = s.dw = 1;
  if (!avg && chance(15)) s.dh = 2, s.dw = range(1, 2);
  s.pt = range(0, s.kh - 1), s.pb = range(0, s.kh - 1);
  s.pl = range(0, s.kw - 1), s.pr = range(0, s.kw - 1);
  if (window_out(s.h, s.pt, s.pb, s.kh, s.sh, s.dh) <= 0) s.h = s.dh * (s.kh - 1) + 1;
  if (window_out(s.w, s.pl, s.pr, s.kw, s.sw, s.dw) <= 0) s.w = s.dw * (s.kw - 1) + 1;
  pool_case *k = arena_alloc(sizeof *k);
  pool_build(k, &s, avg, chance(85));
  check(st, &k->c, k->out, avg ? ref_kernel_quantized_avg_pool2d_out : ref_kernel_quantized_max_pool2d_out,
        avg ? ptec_kernel_quantized_avg_pool2d_out : ptec_kernel_quantized_max_pool2d_out,
        pool_variant, k, avg ? "avg_pool2d" : "max_pool2d");
}

/* ---------------------------------------------------------- benchmark */

/*
 * One layer per line of the file:
 *   conv NAME N H W C O KH KW SH SW PT PB PL PR GROUPS
 *   fc   NAME ROWS K N
 *   add  NAME COUNT
 *   avgpool NAME H W C KH KW SH SW
 * Each runs with realistic quantization (input zero point -128, symmetric
 * per-channel weights, shifts 35-40) through the reference kernel and the
 * runtime's kernel (the variant). Prints
 *   "bench NAME MACS REF_TICKS VARIANT_TICKS SAME" (SAME: outputs equal)
 * and "bench-clock INSTRUCTIONS_PER_TICK_x1000".
 */
static int bench_one(call *c, ptec_tensor *out, ptec_kernel_fn ref, ptec_kernel_fn kernel,
                     const char *name, uint64_t macs) {
  size_t bytes = out->nbytes;
  uint8_t *want = arena_alloc(bytes), *got = arena_alloc(bytes);
  memset(want, PATTERN, bytes);
  memset(got, PATTERN, bytes);
  ptec_kernel_context ctx = context(c, name);
  out->data = want;
  uint64_t t0 = ptec_platform_ticks();
  ptec_status s1 = ref(&ctx);
  uint64_t t1 = ptec_platform_ticks();
  out->data = got;
  ptec_status s2 = kernel(&ctx);
  uint64_t t2 = ptec_platform_ticks();
  bool same = s1 == PTEC_STATUS_OK && s2 == PTEC_STATUS_OK && memcmp(want, got, bytes) == 0;
  printf("bench %s %llu %llu %llu %d\n", name, (unsigned long long)macs,
         (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1), same ? 1 : 0);
  return same ? 0 : 1;
}

/* Realistic quantization for a benchmark layer: input zero point -128
 * (after ReLU), symmetric weights, normalised multipliers, shifts 35-40. */
static void set_realistic_conv(conv_case *k, int32_t o) {
  call *c = &k->c; /* args: 7 input_zp, 8 weight_zp, 9 multiplier, 10 shift */
  c->v[7].u.i = -128, c->v[8].u.i = 0;
  int32_t *m = c->v[9].u.tensor->data, *s = c->v[10].u.tensor->data;
  for (int32_t i = 0; i < o; i++) {
    m[i] = (int32_t)(0x40000000u | (rnd() & 0x3FFFFFFFu));
    s[i] = range(35, 40);
  }
  c->v[12].u.i = -128, c->v[13].u.i = 127; /* activation range */
}

static int read_ints(FILE *f, int *v, int count) {
  int got = 0;
  while (got < count && fscanf(f, "%d", &v[got]) == 1) got++;
  return got;
}

static int bench(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("kernel-tests: cannot open %s\n", path);
    return 1;
  }
  printf("bench-clock %u\n", (unsigned)(1000000000000ull / ptec_platform_ticks_per_second()));
  char kind[16], name[64];
  int failures = 0;
  while (fscanf(f, "%15s %63s", kind, name) == 2) {
    size_t mark = arena_used;
    if (strcmp(kind, "conv") == 0) {
      int v[14];
      if (read_ints(f, v, 14) != 14) break;
      conv_shape s = {v[0], v[3], v[1], v[2], v[4], v[5], v[6], v[7], v[8],
                      v[9], v[10], v[11], v[12], 1, 1, v[13]};
      s.dh = s.dw = 1;
      conv_case *k = arena_alloc(sizeof *k);
      uint64_t saved = rng;
      rng = 12345;
      /* The compiler's layouts: OIHW for 1x1 weights, OHWI for others, HWCM for depthwise. */
      conv_build(k, &s, true, !(s.kh == 1 && s.kw == 1 && s.groups == 1), false, true);
      set_realistic_conv(k, s.o);
      rng = saved;
      int32_t oh = (int32_t)k->p.y.h, ow = (int32_t)k->p.y.w;
      uint64_t macs = (uint64_t)s.n * oh * ow * s.o * (s.c / s.groups) * s.kh * s.kw;
      failures += bench_one(&k->c, k->out, ref_kernel_quantized_conv2d_out,
                            ptec_kernel_quantized_conv2d_out, name, macs);
    } else if (strcmp(kind, "fc") == 0) {
      int v[3];
      if (read_ints(f, v, 3) != 3) break;
      int32_t rows = v[0], depth = v[1], n = v[2];
      fc_case *k = arena_alloc(sizeof *k);
      linear_build(k, rows, depth, n, false);
      k->c.v[3].u.i = -128, k->c.v[4].u.i = 0;
      failures += bench_one(&k->c, k->out, ref_kernel_quantized_linear_out,
                            ptec_kernel_quantized_linear_out, name, (uint64_t)rows * depth * n);
    } else if (strcmp(kind, "add") == 0) {
      int v[1];
      if (read_ints(f, v, 1) != 1) break;
      int32_t count = v[0];
      ew_case *k = arena_alloc(sizeof *k);
      call *c = &k->c;
      memset(c, 0, sizeof *c);
      int32_t full[1] = {count};
      arg_tensor(c, PTEC_DTYPE_INT8, random_s8((size_t)count), 1, full, NULL, false);
      arg_tensor(c, PTEC_DTYPE_INT8, random_s8((size_t)count), 1, full, NULL, false);
      /* S = 2 max(s_a, s_b) / 2^20: input shifts near 11, output near 49. */
      arg_int(c, -3), arg_int(c, 0x5A000000), arg_int(c, 11);
      arg_int(c, 7), arg_int(c, 0x40000000), arg_int(c, 11);
      arg_int(c, -5), arg_int(c, 0x6B000000), arg_int(c, 49);
      arg_int(c, -128), arg_int(c, 127);
      ptec_tensor *out = arg_tensor(c, PTEC_DTYPE_INT8, NULL, 1, full, NULL, false);
      failures += bench_one(c, out, ref_kernel_quantized_add_out, ptec_kernel_quantized_add_out,
                            name, (uint64_t)count);
    } else if (strcmp(kind, "avgpool") == 0) {
      int v[7];
      if (read_ints(f, v, 7) != 7) break;
      pool_shape s = {1, v[2], v[0], v[1], v[3], v[4], v[5], v[6], 0, 0, 0, 0, 1, 1};
      pool_case *k = arena_alloc(sizeof *k);
      pool_build(k, &s, true, true);
      int32_t oh = (int32_t)k->w.y.h, ow = (int32_t)k->w.y.w;
      failures += bench_one(&k->c, k->out, ref_kernel_quantized_avg_pool2d_out,
                            ptec_kernel_quantized_avg_pool2d_out, name,
                            (uint64_t)oh * ow * s.c * s.kh * s.kw);
    } else {
      printf("kernel-tests: unknown layer kind %s\n", kind);
      failures++;
      break;
    }
    arena_used = mark;
  }
  fclose(f);
  printf("bench-done %d\n", failures);
  return failures ? 1 : 0;
}

/* --------------------------------------------------------------- main */

int main(int argc, char **argv) {
  uint64_t seed = 1;
  int cases = 60;
  const char *bench_file = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
    else if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc) cases = atoi(argv[++i]);
    else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) bench_file = argv[++i];
    else {
      printf("usage: kernel-tests [--seed S] [--cases N] [--bench layers.txt]\n");
      return 1;
    }
  }
  arena_init();
  printf("kernel-tests: board %s isa %s seed %llu cases %d\n", board.name,
         PTEC_KERNELS_ISA_NAME, (unsigned long long)seed, cases);
#if PTEC_KERNELS_X86
  printf("kernel-tests: x86 dispatch %s, variant column avx2\n",
         ptec_x86_has_avx512_vnni() ? "avx512-vnni" : "avx2");
#endif
  rng = seed;
  if (bench_file) return bench(bench_file);

  stats all[] = {{"conv2d", 0, 0, 0},   {"depthwise_conv2d", 0, 0, 0}, {"linear", 0, 0, 0},
                 {"matmul", 0, 0, 0},   {"add", 0, 0, 0},              {"mul", 0, 0, 0},
                 {"avg_pool2d", 0, 0, 0}, {"max_pool2d", 0, 0, 0}};
  int total = 0;
  for (int kind = 0; kind < 8; kind++) {
    for (int i = 0; i < cases; i++) {
      size_t mark = arena_used;
      case_id = (uint32_t)(kind * 100000 + i);
      switch (kind) {
        case 0: test_conv(&all[0], false); break;
        case 1: test_conv(&all[1], true); break;
        case 2: test_linear(&all[2]); break;
        case 3: test_matmul(&all[3]); break;
        case 4: test_elementwise(&all[4], true); break;
        case 5: test_elementwise(&all[5], false); break;
        case 6: test_pool(&all[6], true); break;
        default: test_pool(&all[7], false); break;
      }
      arena_used = mark;
    }
    stats *st = &all[kind];
    printf("kernel-tests: %s cases %d variant %d mismatches %d\n", st->name, st->cases,
           st->variant, st->mismatches);
    total += st->mismatches;
  }
  printf("kernel-tests: total mismatches %d\n", total);
  return total ? 2 : 0;
}
