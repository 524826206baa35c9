/*
 * ptec::quantized_softmax.out(Tensor input, int dim, Tensor exp_table,
 *   int multiplier, int shift, int output_zp, int activation_min,
 *   int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * Softmax of int8 codes along dim, all in integers. Softmax ignores a
 * common offset, so each row's maximum code is subtracted first: d = x - max
 * lies in [-255, 0] whatever the zero point, and exp_table[d + 255] (int32,
 * 256 entries: exp(s_in * d) * 2^bits, made by the compiler) is its
 * exponential. With S the row's sum of table values (int64) and
 * multiplier * 2^-shift = 1 / s_out:
 *
 *   r   = (T * multiplier + S / 2) / S          (division rounding half up)
 *   out = clamp(((r + 2^(shift - 1)) >> shift) + output_zp,
 *               activation_min, activation_max)
 *
 * The division makes the result independent of the table's scale 2^bits,
 * which only sets its precision: the compiler uses 2^30 (a Q15 table's
 * rounding flips about 0.1% of attention weights by one step, and a
 * transformer carries those flips on to its output). exp(0) is the largest
 * exponential, so entries must lie in [0, exp_table[255]] with
 * 0 < exp_table[255] <= 2^30; then S > 0, and as a row has fewer than 2^31
 * entries, T * multiplier + S / 2 < 2^61 + 2^60 fits int64: checked at init.
 * Any dim orders.
 */
#include "kernels/portable/common.h"
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qparams.h"

enum {
  ARG_INPUT, ARG_DIM, ARG_TABLE, ARG_MULTIPLIER, ARG_SHIFT, ARG_OUTPUT_ZP, ARG_ACT_MIN,
  ARG_ACT_MAX, ARG_OUT
};

#define EXP_TABLE_SIZE 256
/* The largest exp(0) entry: keeps T * multiplier + S / 2 within int64. */
#define EXP_ONE_MAX (1 << 30)

typedef struct softmax {
  const ptec_tensor *in, *table;
  ptec_tensor *out;
  uint32_t dim;
  int32_t multiplier, shift, out_zp, act_min, act_max;
} softmax;

static ptec_status setup(ptec_kernel_context *ctx, softmax *p) {
  p->in = ptec_arg_tensor(ctx, ARG_INPUT);
  p->table = ptec_arg_tensor(ctx, ARG_TABLE);
  p->out = ptec_arg_tensor(ctx, ARG_OUT);
  PTEC_TRY(ptec_check_dtype(ctx, p->in, PTEC_DTYPE_INT8, "input"));
  PTEC_TRY(ptec_check_dtype(ctx, p->out, PTEC_DTYPE_INT8, "out"));
  PTEC_TRY(ptec_check_same_shape(ctx, p->in, p->out, "input", "out"));
  PTEC_TRY(ptec_normalize_dim(ctx, ptec_arg_int(ctx, ARG_DIM), p->in->rank, &p->dim));
  PTEC_TRY(ptec_check_dtype(ctx, p->table, PTEC_DTYPE_INT32, "exp_table"));
  int64_t entries = EXP_TABLE_SIZE;
  PTEC_TRY(ptec_check_shape(ctx, p->table, &entries, 1, "exp_table"));
  PTEC_TRY(ptec_q_scale(ctx, ARG_MULTIPLIER, ARG_SHIFT, "output", &p->multiplier, &p->shift));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, PTEC_DTYPE_INT8, "output_zp", &p->out_zp));
  return ptec_q_activation_range(ctx, ARG_ACT_MIN, PTEC_DTYPE_INT8, &p->act_min, &p->act_max);
}

/* Checks the table's values at the phase where they are known: once at init
 * for a constant (the compiler's case), else before every run. */
static ptec_status check_table(ptec_kernel_context *ctx, const softmax *p, ptec_q_phase phase) {
  bool known = phase == PTEC_Q_PREPARE ? p->table->is_constant : !p->table->is_constant;
  if (!known) return PTEC_STATUS_OK;
  const int32_t *t = p->table->data;
  int32_t one = t[EXP_TABLE_SIZE - 1];
  PTEC_CHECK(ctx, one > 0 && one <= EXP_ONE_MAX, PTEC_STATUS_OUT_OF_RANGE,
             "exp_table[255] (exp(0)) = %ld is outside [1, 2^30]", (long)one);
  for (int i = 0; i < EXP_TABLE_SIZE; i++)
    PTEC_CHECK(ctx, t[i] >= 0 && t[i] <= one, PTEC_STATUS_OUT_OF_RANGE,
               "exp_table[%d] = %ld is outside [0, exp_table[255] = %ld]", i, (long)t[i],
               (long)one);
  return PTEC_STATUS_OK;
}

ptec_status ptec_prepare_quantized_softmax_out(ptec_kernel_context *ctx) {
  softmax p;
  PTEC_TRY(setup(ctx, &p));
  return check_table(ctx, &p, PTEC_Q_PREPARE);
}

/* exp(x - max) from the table. x <= max, unless the program placed y over x (its own
 * placement): y's first writes then change x behind max, and x - max > 0 would read past
 * the table (fuzz_pte_edit: an out offset moved 63 bytes into the input). */
static int32_t exp_of(const int32_t *t, int32_t x_minus_max) {
  return t[(x_minus_max > 0 ? 0 : x_minus_max) + EXP_TABLE_SIZE - 1];
}

static void softmax_row(const softmax *p, const int8_t *x, int64_t sx, int8_t *y, int64_t sy,
                        int64_t n, const int32_t *t) {
  int32_t max = x[0];
  for (int64_t k = 1; k < n; k++) max = x[k * sx] > max ? x[k * sx] : max;
  int64_t sum = 0;
  for (int64_t k = 0; k < n; k++) sum += exp_of(t, x[k * sx] - max);
  int64_t rounding = (int64_t)1 << (p->shift - 1);
  for (int64_t k = 0; k < n; k++) {
    int64_t r = ((int64_t)exp_of(t, x[k * sx] - max) * p->multiplier + sum / 2) / sum;
    int64_t v = ((r + rounding) >> p->shift) + p->out_zp;
    y[k * sy] = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
  }
}

ptec_status ptec_kernel_quantized_softmax_out(ptec_kernel_context *ctx) {
  softmax p;
  PTEC_TRY(setup(ctx, &p));
  PTEC_TRY(check_table(ctx, &p, PTEC_Q_EXECUTE));
  const int32_t *t = p.table->data;
  const ptec_tensor *in = p.in;
  int64_t strides[2][PTEC_MAX_RANK], sizes[PTEC_MAX_RANK];
  ptec_tensor_strides(in, strides[0]);
  ptec_tensor_strides(p.out, strides[1]);
  ptec_tensor_sizes64(in, sizes);
  bool split[PTEC_MAX_RANK] = {false};
  if (in->rank) split[p.dim] = true;
  ptec_split_iter s;
  ptec_split_iter_init(&s, in->rank, sizes, in->dim_order, split, 2,
                       (const int64_t(*)[PTEC_MAX_RANK])strides);
  const int8_t *x0 = in->data;
  int8_t *y0 = p.out->data;
  for (; !s.outer.done; ptec_iter_next(&s.outer))
    for (int64_t j = 0; j < s.outer.count; j++) {
      if (s.inner.empty) continue;
      softmax_row(&p, x0 + s.outer.offset[0] + j * s.outer.step[0], s.inner.step[0],
                  y0 + s.outer.offset[1] + j * s.outer.step[1], s.inner.step[1],
                  s.inner.count, t);
    }
  return PTEC_STATUS_OK;
}
