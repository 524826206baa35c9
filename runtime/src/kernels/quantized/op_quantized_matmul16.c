/*
 * ptec::quantized_matmul16.out(Tensor a, Tensor b, int a_zp, int b_zp,
 *   int multiplier, int shift, int output_zp, *, Tensor(a!) out) -> Tensor(a!)
 *
 * int16 x int16 -> int16: attention's q @ k^T and p @ v in a16w8 layers.
 * a [..., M, K], b [..., K, N], out [..., M, N]; the batch dims broadcast as
 * in torch.matmul (both operands at least 2-D), any dim orders. TOSA
 * EXT-INT16 MATMUL (int48 accumulator) followed by the RESCALE the TOSA
 * lowering emits after it (INT48 input, so scale16: a 16-bit multiplier,
 * one per tensor):
 *
 *   acc = sat48(sum_k (a[..., i, k] - a_zp) * (b[..., k, j] - b_zp))
 *   out = clamp(sat32((acc * multiplier + 2^(shift-1)) >> shift) + output_zp,
 *               -32768, 32767)
 *
 * multiplier in [1, 2^15), shift in [2, 62] (apply_scale_16). TOSA requires
 * zero points 0 for int16 (the TOSA lowering refuses others); the kernel
 * takes any int16 zero point. The sum is exact in int64 (each product is
 * below 2^32 in magnitude); an accumulator beyond int48 and a scaled value
 * beyond int32, both unpredictable in TOSA, saturate as the TOSA executor
 * does (runtime/src/backends/tosa/op_matmul.c, op_rescale.c), so host, TOSA
 * executor and NPU agree on every input they are defined for.
 *
 * One reference loop for every target: no ISA variant has int16 operands.
 */
#include "kernels/portable/iter.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/matmul_dims.h"
#include "kernels/quantized/qparams.h"

enum { ARG_A, ARG_B, ARG_A_ZP, ARG_B_ZP, ARG_MULTIPLIER, ARG_SHIFT, ARG_OUTPUT_ZP, ARG_OUT };

#define INT48_MIN (-((int64_t)1 << 47))
#define INT48_MAX (((int64_t)1 << 47) - 1)

typedef struct matmul16 {
  const ptec_tensor *a, *b;
  ptec_tensor *out;
  ptec_q_matmul_dims d;
  int32_t a_zp, b_zp, multiplier, shift, out_zp;
} matmul16;

static ptec_status setup(ptec_kernel_context *ctx, matmul16 *p) {
  p->a = ptec_arg_tensor(ctx, ARG_A);
  p->b = ptec_arg_tensor(ctx, ARG_B);
  p->out = ptec_arg_tensor(ctx, ARG_OUT);
  PTEC_TRY(ptec_check_dtype(ctx, p->a, PTEC_DTYPE_INT16, "a"));
  PTEC_TRY(ptec_check_dtype(ctx, p->b, PTEC_DTYPE_INT16, "b"));
  PTEC_TRY(ptec_check_dtype(ctx, p->out, PTEC_DTYPE_INT16, "out"));
  PTEC_TRY(ptec_q_matmul_dims_of(ctx, p->a, p->b, p->out, &p->d));
  /* int64 holds the exact sum of fewer than 2^31 products below 2^32 */
  PTEC_CHECK(ctx, p->d.k <= INT32_MAX, PTEC_STATUS_SHAPE_MISMATCH,
             "a has %lld columns, more than 2^31 - 1", (long long)p->d.k);
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_A_ZP, PTEC_DTYPE_INT16, "a_zp", &p->a_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_B_ZP, PTEC_DTYPE_INT16, "b_zp", &p->b_zp));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, PTEC_DTYPE_INT16, "output_zp", &p->out_zp));
  /* scale16: TOSA's RESCALE of an INT48 value takes a 16-bit multiplier. */
  int64_t m = ptec_arg_int(ctx, ARG_MULTIPLIER), s = ptec_arg_int(ctx, ARG_SHIFT);
  PTEC_CHECK(ctx, m >= 1 && m < (1 << 15), PTEC_STATUS_OUT_OF_RANGE,
             "output multiplier %lld must be in [1, 2^15) (scale16)", (long long)m);
  PTEC_CHECK(ctx, s >= 2 && s <= 62, PTEC_STATUS_OUT_OF_RANGE,
             "output shift %lld must be in [2, 62]", (long long)s);
  p->multiplier = (int32_t)m;
  p->shift = (int32_t)s;
  return PTEC_STATUS_OK;
}

/* MATMUL's int48 result through RESCALE (apply_scale_16) to int16. */
static int16_t requantize16(int64_t acc, const matmul16 *p) {
  acc = acc < INT48_MIN ? INT48_MIN : acc > INT48_MAX ? INT48_MAX : acc;
  int64_t round = (int64_t)1 << (p->shift - 1);
  /* |acc| < 2^47 and multiplier < 2^15: the product fits int64. */
  int64_t r = (int64_t)ptec_q_sat32(ptec_asr64(acc * p->multiplier + round, p->shift)) + p->out_zp;
  return (int16_t)(r < INT16_MIN ? INT16_MIN : r > INT16_MAX ? INT16_MAX : r);
}

ptec_status ptec_prepare_quantized_matmul16_out(ptec_kernel_context *ctx) {
  matmul16 p;
  return setup(ctx, &p);
}

ptec_status ptec_kernel_quantized_matmul16_out(ptec_kernel_context *ctx) {
  matmul16 p;
  PTEC_TRY(setup(ctx, &p));
  int64_t as[PTEC_MAX_RANK], bs[PTEC_MAX_RANK], ys[PTEC_MAX_RANK];
  ptec_tensor_strides(p.a, as);
  ptec_tensor_strides(p.b, bs);
  ptec_tensor_strides(p.out, ys);
  int64_t am = as[p.a->rank - 2], ak = as[p.a->rank - 1];
  int64_t bk = bs[p.b->rank - 2], bn = bs[p.b->rank - 1];
  const ptec_q_matmul_dims *d = &p.d;
  int64_t ym = ys[d->batch_rank], yn = ys[d->batch_rank + 1];
  int64_t strides[3][PTEC_MAX_RANK];
  for (uint32_t i = 0; i < d->batch_rank; i++) strides[0][i] = ys[i];
  ptec_q_matmul_batch_strides(p.a, d->batch_rank, strides[1]);
  ptec_q_matmul_batch_strides(p.b, d->batch_rank, strides[2]);
  ptec_iter it;
  ptec_iter_init(&it, d->batch_rank, d->batch, NULL, 3, (const int64_t(*)[PTEC_MAX_RANK])strides,
                 NULL);
  const int16_t *x = p.a->data, *w = p.b->data;
  int16_t *y = p.out->data;
  const int64_t azp = p.a_zp, bzp = p.b_zp;
  for (; !it.done; ptec_iter_next(&it))
    for (int64_t r = 0; r < it.count; r++) {
      const int16_t *ab = x + it.offset[1] + r * it.step[1];
      const int16_t *bb = w + it.offset[2] + r * it.step[2];
      int16_t *yb = y + it.offset[0] + r * it.step[0];
      for (int64_t i = 0; i < d->m; i++)
        for (int64_t j = 0; j < d->n; j++) {
          const int16_t *ap = ab + i * am, *bp = bb + j * bn;
          int64_t acc = 0; /* |term| <= 65535^2 < 2^32: exact below 2^31 terms */
          for (int64_t k = 0; k < d->k; k++) acc += (ap[k * ak] - azp) * (bp[k * bk] - bzp);
          yb[i * ym + j * yn] = requantize16(acc, &p);
        }
    }
  return PTEC_STATUS_OK;
}
